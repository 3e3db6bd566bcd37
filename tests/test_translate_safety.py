"""translate never writes over an input, works for every image of at least 1×1, and one
failing file never stops the others."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scoring_support import generators_checkpoint
from torch import nn
from typer.testing import CliRunner

from translkit import get_registry
from translkit.cli import app
from translkit.errors import TranslkitError
from translkit.inference import Translator, translate_checkpoint
from translkit.inference.files import translate_files
from translkit.inference.plan import plan_translation

runner = CliRunner()
TINY_SIZES = [(1, 1), (3, 2), (4, 4), (2000, 3), (3, 2000), (7, 1)]  # (width, height)


def _image(path: Path, size: tuple[int, int], seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def _translate(*args: str):
    """The CLI at a width where no summary wraps (tests/test_cli_width.py checks 80)."""
    return runner.invoke(app, ["translate", *args, "--device", "cpu"], env={"COLUMNS": "300"})


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return generators_checkpoint(tmp_path_factory.mktemp("ckpt") / "g.pt", ngf=4)


@pytest.mark.parametrize(
    ("name", "options"),
    [("resnet_6blocks", {}), ("resnet_9blocks", {"padding": "zeros"}), ("unet", {"num_downs": 5})],
)
def test_translator_runs_on_every_size_from_1x1(name, options) -> None:
    net = get_registry().generators.create(name, ngf=4, **options).eval()
    translator = Translator(net)
    for w, h in TINY_SIZES:
        x = torch.rand(2, 3, h, w) * 2 - 1
        y = translator(x)
        assert y.shape == x.shape and torch.isfinite(y).all(), (name, w, h)


class _NaNUnderAutocast(nn.Module):
    """A generator whose reduced-precision kernels fail (as some CPU bf16 kernels do)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_autocast_enabled(x.device.type):
            return torch.full_like(x, float("nan"))
        return -x


def test_a_non_finite_reduced_precision_pass_is_redone_in_fp32(monkeypatch) -> None:
    from translkit import runtime as runtime_module
    from translkit.precision import Choice

    bf16 = Choice("bf16", torch.bfloat16, "test")
    monkeypatch.setattr(runtime_module, "choose_precision", lambda *a, **k: bf16)
    translator = Translator(_NaNUnderAutocast().eval(), precision="bf16")
    x = torch.rand(2, 3, 8, 8)
    torch.testing.assert_close(translator(x), -x)
    assert translator.fp32_fallbacks == 1


class _NoMinSize(nn.Module):
    """A ResNet without the ``min_size`` attribute: the Translator finds it by trying."""

    size_multiple = 4

    def __init__(self) -> None:
        super().__init__()
        self.net = get_registry().generators.create("resnet_6blocks", ngf=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def test_minimum_size_is_found_when_a_generator_does_not_declare_it() -> None:
    translator = Translator(_NoMinSize().eval())
    assert translator.min_size == 8
    assert translator(torch.zeros(1, 3, 1, 1)).shape == (1, 3, 1, 1)
    tiled = Translator(_NoMinSize().eval(), tile=2, overlap=1)
    assert tiled.tile == 8 and tiled(torch.zeros(1, 3, 20, 3)).shape == (1, 3, 20, 3)


def test_cli_translates_tiny_and_thin_images(tmp_path, ckpt) -> None:
    src = tmp_path / "in"
    for w, h in TINY_SIZES:
        _image(src / f"{w}x{h}.png", (w, h))
    result = _translate(str(ckpt), str(src), str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert f"{len(TINY_SIZES)} written" in result.output
    for w, h in TINY_SIZES:
        with Image.open(tmp_path / "out" / f"{w}x{h}.png") as img:
            assert img.size == (w, h)


class _FailsOnWidth(nn.Module):
    """Translates anything except images 5 pixels wide (a stand-in for any torch error)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == 5:
            raise ValueError("Expected more than 1 value per channel when training")
        return x


def test_one_failing_file_never_stops_the_others(tmp_path) -> None:
    pairs = []
    for i, size in enumerate([(5, 5), (6, 6), (5, 5), (9, 4)]):
        src = _image(tmp_path / "in" / f"{i}.png", size, seed=i)
        pairs.append((src, tmp_path / "out" / f"{i}.png"))
    report = translate_files(Translator(_FailsOnWidth(), batch_size=4), pairs)
    assert sorted(p.name for p in report.written) == ["1.png", "3.png"]
    assert sorted(p.name for p, _ in report.failed) == ["0.png", "2.png"]
    assert all("ValueError" in reason for _, reason in report.failed)


def test_output_equal_to_the_input_file_is_refused(tmp_path, ckpt) -> None:
    src = _image(tmp_path / "photo.png", (12, 10))
    before = src.read_bytes()
    result = _translate(str(ckpt), str(src), str(src))
    assert result.exit_code == 1
    assert "is the input file" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert src.read_bytes() == before
    folder_out = _translate(str(ckpt), str(src), str(tmp_path))  # into the folder: same file
    assert folder_out.exit_code == 1 and src.read_bytes() == before


def test_output_folder_equal_to_the_input_folder_is_refused(tmp_path, ckpt) -> None:
    src = tmp_path / "photos"
    _image(src / "a.png", (12, 10))
    before = (src / "a.png").read_bytes()
    result = _translate(str(ckpt), str(src), str(tmp_path / "photos" / "." / "sub" / ".."))
    assert result.exit_code == 1
    assert "is the input folder" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (src / "a.png").read_bytes() == before
    assert sorted(p.name for p in src.iterdir()) == ["a.png"]


def test_output_folder_inside_the_input_is_left_out_and_reruns_are_idempotent(
    tmp_path, ckpt
) -> None:
    src = tmp_path / "photos"
    _image(src / "a.png", (12, 10))
    _image(src / "sub" / "b.jpg", (9, 7), seed=1)
    out = src / "translated"
    first = _translate(str(ckpt), str(src), str(out))
    assert first.exit_code == 0, first.output
    assert "2 written" in first.output
    again = _translate(str(ckpt), str(src), str(out))
    assert again.exit_code == 0 and "0 written" in again.output and "2 skipped" in again.output
    replaced = _translate(str(ckpt), str(src), str(out), "--overwrite")
    assert replaced.exit_code == 0 and "2 written" in replaced.output
    written = sorted(str(p.relative_to(src)) for p in src.rglob("*") if p.is_file())
    assert written == ["a.png", "sub/b.jpg", "translated/a.png", "translated/sub/b.jpg"]


def test_output_that_would_land_on_an_input_is_refused(tmp_path, ckpt) -> None:
    src = tmp_path / "p" / "a"
    _image(src / "a" / "x.png", (8, 8))  # p/a/a/x.png would be written to p/a/x.png
    result = _translate(str(ckpt), str(src), str(tmp_path / "p"))
    assert result.exit_code == 1
    assert "inside the input" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (src / "x.png").exists()
    with pytest.raises(TranslkitError, match="inside the input"):
        plan_translation(src, tmp_path / "p")


def test_existing_outputs_are_kept_unless_overwrite(tmp_path, ckpt) -> None:
    src = _image(tmp_path / "in.png", (12, 10))
    out = tmp_path / "out.png"
    out.write_bytes(b"mine")
    kept = _translate(str(ckpt), str(src), str(out))
    assert kept.exit_code == 0 and "1 skipped (already there; --overwrite replaces them)" in (
        kept.output
    )
    assert out.read_bytes() == b"mine"
    report = translate_checkpoint(ckpt, src, out, get_registry(), device="cpu")
    assert report.skipped == [out] and not report.written
    replaced = _translate(str(ckpt), str(src), str(out), "--overwrite")
    assert replaced.exit_code == 0 and "1 written" in replaced.output
    assert Image.open(out).size == (12, 10)


def test_help_says_what_happens_to_existing_outputs() -> None:
    text = runner.invoke(app, ["translate", "--help"], terminal_width=200).output
    assert "--overwrite" in text and "skipped" in text and "never written over" in text


def test_non_images_are_counted_and_animations_noted(tmp_path, ckpt) -> None:
    src = tmp_path / "in"
    _image(src / "a.png", (12, 10))
    (src / "notes.txt").write_text("hello")
    (src / "data.csv").write_text("1,2")
    frames = [Image.new("RGB", (10, 8), (i * 80, 0, 0)) for i in range(3)]
    frames[0].save(src / "anim.gif", save_all=True, append_images=frames[1:])
    result = _translate(str(ckpt), str(src), str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "2 written" in result.output and "2 not images (left alone)" in result.output
    assert "anim.gif: 3 frames; the first frame was translated" in result.output
    report = translate_checkpoint(ckpt, src, tmp_path / "out2", get_registry(), device="cpu")
    assert sorted(p.name for p in report.not_images) == ["data.csv", "notes.txt"]
    assert [(p.name, n) for p, n in report.notes] == [
        ("anim.gif", "3 frames; the first frame was translated")
    ]


def test_two_inputs_with_one_output_name_fail_one_file_only(tmp_path, ckpt) -> None:
    src = tmp_path / "in"
    _image(src / "a.png", (8, 8))
    Image.new("P", (8, 8)).save(src / "a.gif")  # would also become a.png
    report = translate_checkpoint(ckpt, src, tmp_path / "out", get_registry(), device="cpu")
    assert len(report.written) == 1 and len(report.failed) == 1
    assert "is also the output of" in report.failed[0][1]
