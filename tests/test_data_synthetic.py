"""The synthetic leather↔denim benchmark: layout, determinism, materials, twins, atomicity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from translkit.data import make_synthetic
from translkit.data import synthetic as synth_mod
from translkit.data.synthetic import render_pair, sample_scene
from translkit.data.synthetic_draw import GARMENTS
from translkit.errors import DataError


def _arr(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_synthetic(tmp_path_factory.mktemp("s") / "bench", size=48, train=6, test=4, seed=3)


def test_layout_names_and_manifest(bench: Path) -> None:
    names = {p.name: sorted(q.name for q in p.iterdir()) for p in bench.iterdir() if p.is_dir()}
    assert set(names) == {"trainA", "trainB", "testA", "testB", "testA_truth", "testB_truth"}
    assert names["trainA"] == [f"{i:06d}.png" for i in range(6)]
    assert names["testA"] == names["testA_truth"] == names["testB"] == names["testB_truth"]
    assert len(names["testB"]) == 4
    meta = json.loads((bench / "synthetic.json").read_text())
    assert meta["size"] == 48 and meta["seed"] == 3
    assert sum(meta["garments"]["trainB"].values()) == 6
    assert _arr(bench / "trainB" / "000005.png").shape == (48, 48, 3)


def test_deterministic_for_a_seed_and_prefix_stable(tmp_path: Path, bench: Path) -> None:
    again = make_synthetic(tmp_path / "again", size=48, train=3, test=4, seed=3)
    for split in ("trainA", "testB", "testB_truth"):
        for p in sorted((again / split).iterdir()):
            assert p.read_bytes() == (bench / split / p.name).read_bytes()
    other = make_synthetic(tmp_path / "other", size=48, train=1, test=0, seed=4)
    assert (other / "trainA" / "000000.png").read_bytes() != (
        bench / "trainA" / "000000.png"
    ).read_bytes()


def test_train_domains_are_unpaired(bench: Path) -> None:
    a = _arr(bench / "trainA" / "000000.png")
    b = _arr(bench / "trainB" / "000000.png")
    assert (np.abs(a - b).sum(-1) < 1).mean() < 0.5  # different scenes, not twins


def _scene_stats(seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    scene = sample_scene(np.random.default_rng(seed))
    leather, denim = (x.astype(np.float32) for x in render_pair(scene, 64))
    garment = np.abs(leather - denim).sum(-1) > 30  # where the twins differ: the garment
    return leather[garment], denim[garment], float((~garment).mean())


def test_materials_are_distinguishable_and_twins_share_the_scene() -> None:
    dark, light = [], []
    for seed in range(12):
        leather, denim, same = _scene_stats(seed)
        assert same > 0.4  # background, figure and pose identical in both twins
        assert np.median(denim[:, 2] - denim[:, 0]) > 25  # denim is blue
        assert np.median(leather[:, 2] - leather[:, 0]) < 10  # leather is not
        dark.append(leather.mean())
        light.append(denim.mean())
    assert np.mean(dark) < np.mean(light) - 20  # leather is dark


def test_garments_vary() -> None:
    scenes = [sample_scene(np.random.default_rng(s)) for s in range(60)]
    assert {s.garment for s in scenes} == set(GARMENTS)
    assert any(s.figure for s in scenes) and not all(s.figure for s in scenes)
    assert len({round(s.scale, 2) for s in scenes}) > 20


def test_twin_of_a_test_image_is_the_other_material(bench: Path) -> None:
    leather = _arr(bench / "testA" / "000001.png")
    twin = _arr(bench / "testA_truth" / "000001.png")
    changed = np.abs(leather - twin).sum(-1) > 30
    assert 0.05 < changed.mean() < 0.8
    assert twin[changed].mean() > leather[changed].mean()


def test_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    out = make_synthetic(tmp_path / "s", size=32, train=1, test=1)
    with pytest.raises(DataError, match="already exists"):
        make_synthetic(out, size=32, train=2, test=1)
    make_synthetic(out, size=32, train=2, test=1, overwrite=True)
    assert len(list((out / "trainA").iterdir())) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # nothing left aside


def test_interrupted_run_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = synth_mod._write_range

    def failing(tmp, split, *args):
        if split == "testA":
            raise KeyboardInterrupt
        return real(tmp, split, *args)

    monkeypatch.setattr(synth_mod, "_write_range", failing)
    with pytest.raises(KeyboardInterrupt):
        make_synthetic(tmp_path / "s", size=32, train=2, test=2, workers=1)
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="size"):
        make_synthetic(tmp_path / "x", size=8, train=1, test=1)


@pytest.mark.slow
def test_process_pool_gives_the_same_files(tmp_path: Path) -> None:
    one = make_synthetic(tmp_path / "one", size=32, train=140, test=0, seed=1, workers=1)
    two = make_synthetic(tmp_path / "two", size=32, train=140, test=0, seed=1, workers=2)
    for p in sorted((one / "trainB").iterdir()):
        assert p.read_bytes() == (two / "trainB" / p.name).read_bytes()
