"""``translkit demo``'s model side: what a checkpoint, run directory or app folder becomes,
and that the page's path gives exactly what ``translkit translate`` writes."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from demo_support import decode, png_bytes, tiny_checkpoint, tiny_run_dir
from PIL import Image
from typer.testing import CliRunner

from translkit import get_registry
from translkit.artifacts import load_checkpoint, save_checkpoint
from translkit.cli import app
from translkit.data.io import load_rgb
from translkit.demo.model import load_demo_model, load_examples
from translkit.errors import DataError, TranslkitError
from translkit.rundir import RunDir

runner = CliRunner()


def test_a_checkpoint_gives_one_translator_per_direction_and_its_description(
    tmp_path: Path,
) -> None:
    translators, info = load_demo_model(tiny_checkpoint(tmp_path), get_registry(), device="cpu")
    assert list(translators) == ["a2b", "b2a"]
    assert info["method"] == "—" and info["generator"] == "resnet_6blocks"  # no method recorded
    assert info["generator_options"] == {"ngf": 4}
    chosen = translators["a2b"].choice.name  # auto: bf16 where the CPU has it natively
    assert (info["device"], info["precision"], info["tile"]) == ("cpu", chosen, 1024)
    assert info["epoch"] is None and info["checkpoint"] == "tiny.pt"
    x = torch.rand(1, 3, 24, 36) * 2 - 1
    assert translators["a2b"](x).shape == x.shape


def test_a_run_directory_uses_best_then_latest(tmp_path: Path) -> None:
    run = tiny_run_dir(tmp_path)
    ckpt = RunDir(run).checkpoint("best")
    assert ckpt.name == "latest.pt"
    translators, info = load_demo_model(run, get_registry(), device="cpu", directions=["b2a"])
    assert list(translators) == ["b2a"]
    assert (info["name"], info["epoch"], info["checkpoint"]) == ("tiny-run", 1, "latest.pt")
    assert info["weights"] == "trained"
    best = load_checkpoint(ckpt)
    best["epoch"] = 7
    save_checkpoint(best, run / "checkpoints" / "best.pt")
    assert load_demo_model(run, get_registry(), device="cpu")[1]["epoch"] == 7
    with pytest.raises(TranslkitError, match=r"not a run directory"):
        load_demo_model(tmp_path / "data", get_registry())


def test_directions_the_model_lacks_are_named(tmp_path: Path) -> None:
    ckpt = load_checkpoint(tiny_checkpoint(tmp_path))
    del ckpt["generators"]["b2a"]
    one = save_checkpoint(ckpt, tmp_path / "one.pt")
    with pytest.raises(TranslkitError, match=r"translates only a2b, not b2a"):
        load_demo_model(one, get_registry(), directions=["b2a"])
    with pytest.raises(TranslkitError, match="must be one of a2b, b2a, got 'sideways'"):
        load_demo_model(one, get_registry(), directions=["sideways"])


def test_plugins_named_in_a_checkpoint_are_never_imported(tmp_path: Path, make_module) -> None:
    marker = tmp_path / "imported"
    name = make_module("demo_evil_plugin", f"open({str(marker)!r}, 'w').close()\n")
    ckpt = load_checkpoint(tiny_checkpoint(tmp_path))
    ckpt["plugins"] = [name]
    path = save_checkpoint(ckpt, tmp_path / "evil.pt")
    translators, _ = load_demo_model(path, get_registry(), device="cpu")
    assert translators and not marker.exists() and name not in sys.modules


def test_examples_come_from_the_runs_test_set(tmp_path: Path) -> None:
    run = tiny_run_dir(tmp_path)
    examples = load_examples(run, ["a2b", "b2a"], limit=2)
    assert [len(examples[d]) for d in ("a2b", "b2a")] == [2, 2]
    assert decode(examples["a2b"][0]).size == (40, 32)
    assert decode(examples["b2a"][0]).size == (32, 40)
    assert load_examples(run, ["a2b"], max_pixels=100) == {}  # larger than the limit
    assert load_examples(tiny_checkpoint(tmp_path), ["a2b"]) == {}  # a file has none


def test_load_rgb_reads_an_upload_held_in_memory() -> None:
    img = load_rgb(io.BytesIO(png_bytes(7, 5)))
    assert (img.size, img.mode) == ((7, 5), "RGB")
    with pytest.raises(DataError, match="the upload is not an image PIL can read"):
        load_rgb(io.BytesIO(b"hello"), name="the upload")


@pytest.mark.parametrize(("resize", "size"), [(0, (70, 45)), (30, (47, 30))])
def test_the_page_and_translkit_translate_give_identical_pixels(
    tmp_path: Path, resize: int, size: tuple[int, int]
) -> None:
    """Same decoding, same scaling, same Translator, same options: the same image, to the
    bit."""
    from translkit.demo.server import translate_upload

    ckpt = tiny_checkpoint(tmp_path)
    src = tmp_path / "photo.jpg"
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (45, 70, 3), dtype=np.uint8)).save(src, quality=90)
    options = ["-d", "b2a", "--device", "cpu", "--tile", "32", "--overlap", "8"]
    options += ["--resize", str(resize)]
    result = runner.invoke(
        app, ["translate", str(ckpt), str(src), str(tmp_path / "cli.png"), *options]
    )
    assert result.exit_code == 0, result.output
    translators, info = load_demo_model(
        ckpt, get_registry(), device="cpu", directions=["b2a"], tile=32, overlap=8, resize=resize
    )
    page = decode(translate_upload(translators["b2a"], src.read_bytes(), info["resize"]))
    cli = Image.open(tmp_path / "cli.png").convert("RGB")
    assert page.size == cli.size == size
    assert np.array_equal(np.asarray(page), np.asarray(cli))
