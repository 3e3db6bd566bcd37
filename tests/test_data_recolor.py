"""The deterministic-truth benchmark (dataset ``synthetic_recolor``): the transform is exact,
the truth folders are functions of the test images, the set is deterministic and unpaired,
copying the input scores ~21 dB and a perfect translator the metric's cap — through the
Python API, the dataset plugin, recipes and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import translkit
from translkit.cli import app
from translkit.data import ensure_dataset, make_synthetic
from translkit.data.recolor import recolor, recolor_lut, unrecolor, unrecolor_lut
from translkit.data.synthetic import _rng, sample_scene
from translkit.data.synthetic_draw import draw_scene
from translkit.recipe import DataSection
from translkit.scoring import score_folders


def _arr(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("r") / "bench"
    return make_synthetic(out, size=48, train=4, test=6, seed=3, domain_b="recolor")


# -- the transform -----------------------------------------------------------------------
def test_recolor_is_a_fixed_lookup_with_known_colours() -> None:
    pixels = np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0], [51, 28, 15]], dtype=np.uint8)
    out = recolor(pixels)
    assert out[0].tolist() == [0, 0, 0] and out[1].tolist() == [255, 255, 255]
    assert out[2].tolist() == [0, 0, 255]  # red and blue swap
    brown = out[3].astype(int)
    assert brown[2] > 2 * brown[0]  # brown leather turns blue (lifted shadows: 51 -> 85)
    assert brown[2] == recolor_lut()[2][51] == 85
    for lut in (recolor_lut(), unrecolor_lut()):
        assert lut.shape == (3, 256) and (np.diff(lut.astype(int), axis=1) >= 0).all()


def test_unrecolor_inverts_recolor_within_a_level_on_every_colour() -> None:
    levels = np.arange(256, dtype=np.uint8)
    cube = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    back = unrecolor(recolor(cube)).astype(int)
    assert np.abs(back - cube).max() <= 1
    assert (back == cube).all(-1).mean() > 0.75  # exact but where a curve compresses highlights
    with pytest.raises(ValueError, match="uint8 RGB"):
        recolor(cube.astype(np.float32))


# -- the dataset -------------------------------------------------------------------------
def test_truth_folders_are_the_transform_of_the_test_images_exactly(bench: Path) -> None:
    for split in ("trainA", "trainB", "testA", "testB", "testA_truth", "testB_truth"):
        assert _names(bench / split) == [
            f"{i:06d}.png" for i in range(4 if "train" in split else 6)
        ]
    for name in _names(bench / "testA"):
        a = _arr(bench / "testA" / name)
        assert np.array_equal(_arr(bench / "testA_truth" / name), recolor(a))
        b = _arr(bench / "testB" / name)
        assert np.array_equal(_arr(bench / "testB_truth" / name), unrecolor(b))
    meta = json.loads((bench / "synthetic.json").read_text())
    assert meta["recolor"] == {"channels": [2, 1, 0], "lift": [0.0, 0.3, 1.0]}
    assert meta["domains"]["A"] == "leather" and "recolor" in meta["domains"]["B"]


def test_domains_are_the_renderer_leather_and_its_recolouring_of_other_scenes(
    bench: Path,
) -> None:
    for split, i in (("trainA", 0), ("trainB", 2), ("testA", 5)):
        leather = draw_scene(sample_scene(_rng(3, split, i)), 48, "leather")
        expected = leather if split.endswith("A") else recolor(leather)
        assert np.array_equal(_arr(bench / split / f"{i:06d}.png"), expected)
    b_source = unrecolor(_arr(bench / "trainB" / "000000.png")).astype(int)
    a = _arr(bench / "trainA" / "000000.png").astype(int)
    assert (np.abs(a - b_source).sum(-1) <= 3).mean() < 0.5  # other scenes: unpaired


def test_deterministic_for_a_seed(tmp_path: Path, bench: Path) -> None:
    again = make_synthetic(tmp_path / "a", size=48, train=2, test=6, seed=3, domain_b="recolor")
    for split in ("trainB", "testA_truth", "testB", "testB_truth"):
        for p in sorted((again / split).iterdir()):
            assert p.read_bytes() == (bench / split / p.name).read_bytes()
    other = make_synthetic(tmp_path / "o", size=48, train=1, test=0, seed=4, domain_b="recolor")
    assert (other / "trainB" / "000000.png").read_bytes() != (
        bench / "trainB" / "000000.png"
    ).read_bytes()


def _score(fake: Path, bench: Path, direction: str) -> dict[str, float]:
    registries = translkit.get_registry()
    real, truth = ("trainB", "testA_truth") if direction == "a2b" else ("trainA", "testB_truth")
    res = score_folders(fake, bench / real, ["psnr", "ssim"], registries, truth=bench / truth)
    return res.values


def test_identity_scores_about_21_db_and_the_transform_the_cap(tmp_path: Path, bench: Path) -> None:
    identity_a2b = _score(bench / "testA", bench, "a2b")
    identity_b2a = _score(bench / "testB", bench, "b2a")
    assert 17 < identity_a2b["psnr"] < 25 and 17 < identity_b2a["psnr"] < 25
    perfect = tmp_path / "perfect"
    perfect.mkdir()
    for p in (bench / "testA").iterdir():
        Image.fromarray(recolor(_arr(p))).save(perfect / p.name)
    scores = _score(perfect, bench, "a2b")
    assert scores["psnr"] == 100.0 and scores["ssim"] == pytest.approx(1.0)


# -- as a user meets it: dataset plugin, recipes, CLI ---------------------------------------
def test_a_recipe_naming_the_dataset_generates_it_at_load_size(tmp_path: Path) -> None:
    data = DataSection(
        dataset="synthetic_recolor",
        root=str(tmp_path / "rc"),
        load_size=32,
        crop_size=32,
        synthetic_train=2,
        synthetic_test=1,
    )
    root = ensure_dataset(data, registries=translkit.get_registry())
    assert _arr(root / "trainB" / "000001.png").shape == (32, 32, 3)
    a = _arr(root / "testA" / "000000.png")
    assert np.array_equal(_arr(root / "testA_truth" / "000000.png"), recolor(a))


def test_cli_synth_download_list_and_a_bad_choice(tmp_path: Path) -> None:
    run = CliRunner().invoke
    out = tmp_path / "synth"
    res = run(app, ["data", "synth", str(out), "--domain-b", "recolor", "--size", "32",
                    "--train", "2", "--test", "1"])  # fmt: skip
    assert res.exit_code == 0, res.output
    a = _arr(out / "testA" / "000000.png")
    assert np.array_equal(_arr(out / "testA_truth" / "000000.png"), recolor(a))
    root = tmp_path / "dl"
    res = run(app, ["data", "download", "synthetic_recolor", "--root", str(root),
                    "-o", "size=32", "-o", "train=1", "-o", "test=1"])  # fmt: skip
    assert res.exit_code == 0, res.output
    for split in ("trainA", "trainB", "testA", "testB"):  # same scenes, same bytes
        assert (root / split / "000000.png").read_bytes() == (
            out / split / "000000.png"
        ).read_bytes()
    listed = json.loads(run(app, ["list", "datasets", "--json"]).output)["datasets"]
    assert "synthetic_recolor" in {e["name"] for e in listed}
    bad = run(app, ["data", "synth", str(tmp_path / "bad"), "--domain-b", "blue"])
    assert bad.exit_code == 1
    assert "domain_b must be one of denim, recolor, got 'blue'" in bad.output
    assert not (tmp_path / "bad").exists()
