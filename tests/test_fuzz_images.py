"""Hostile image files, fuzzed (Hypothesis): random bytes with and without a format's magic,
PNG/JPEG/WebP/TIFF/GIF/BMP seeds in odd modes (CMYK, 16-bit, palette with transparency,
1-bit, multi-frame, EXIF-rotated) truncated and bit-flipped at random, decompression bombs
and zero-size files — through the decoder, the demo's upload route, `translate`, `data
check` and training's loader. Each ends as a one-line refusal naming the file or a correct
translation; no traceback; nothing declaring more than MAX_PIXELS is ever decoded."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from fuzz_support import (
    SEEDS,
    _exif_jpeg,
    asgi_post,
    bombs,
    decoded_sizes,
    gif_bomb,
    hostile_files,
    jpeg_bomb,
    png_bomb,
)
from hypothesis import HealthCheck, given, settings
from PIL import Image, ImageOps
from torch import nn
from typer.testing import CliRunner

from translkit.cli import app
from translkit.data.check import check_dataset
from translkit.data.io import MAX_PIXELS, inspect_image, load_rgb
from translkit.data.unpaired import UnpairedPairs, _transform, check_trainable
from translkit.errors import DataError
from translkit.inference import Translator
from translkit.inference.files import translate_files
from translkit.recipe import DataSection

pytest.importorskip("starlette")
from translkit.demo.server import Limits, create_app


def fuzz(examples: int) -> settings:
    """``examples`` cases, no per-example deadline (the shared CI machine is slow)."""
    return settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))


class _Negate(nn.Module):
    """A generator stand-in: exact, instant, and visibly not the identity."""

    size_multiple = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -x


TRANSLATOR = Translator(_Negate(), device="cpu", precision="fp32", optimize=False)
DEMO = create_app(
    {"a2b": TRANSLATOR}, {"name": "negate"}, limits=Limits(max_bytes=2**20, max_pixels=512**2)
)


def _one_line(message: str) -> None:
    assert message and "\n" not in message and "Traceback" not in message, message


def _expected(data: bytes) -> Image.Image | None:
    try:
        return load_rgb(io.BytesIO(data))
    except DataError:
        return None


@fuzz(300)
@given(hostile_files)
def test_the_decoder_decodes_to_rgb_or_refuses_in_one_line(data: bytes) -> None:
    with decoded_sizes() as seen:
        try:
            img = load_rgb(io.BytesIO(data), name="upload.png")
        except DataError as err:
            _one_line(str(err))
            assert "upload.png" in str(err)
        else:
            assert img.mode == "RGB" and img.width * img.height <= MAX_PIXELS
        _size, _mode, problem = inspect_image(io.BytesIO(data))  # data check's probe: no raise
    assert all(w * h <= MAX_PIXELS for w, h in seen)  # nothing huge was ever decoded
    if problem is None:  # what `data check` passes, training's loader must read
        load_rgb(io.BytesIO(data), draft=32)
    else:
        _one_line(problem)


@fuzz(60)
@given(bombs)
def test_decompression_bombs_are_refused_from_the_header(data: bytes) -> None:
    with decoded_sizes() as seen:
        with pytest.raises(DataError, match="guard against decompression bombs"):
            load_rgb(io.BytesIO(data))
        assert inspect_image(io.BytesIO(data))[2].startswith("too large")
        status, _, body = asgi_post(DEMO, "/api/translate/a2b", data)
    assert status == 413 and "over the demo's limit" in json.loads(body)["error"]
    assert seen == []  # not one pixel decoded


@fuzz(200)
@given(hostile_files)
def test_the_demo_upload_route_answers_a_translation_or_a_json_refusal(data: bytes) -> None:
    status, headers, body = asgi_post(DEMO, "/api/translate/a2b", data)
    expected = _expected(data)
    if status == 200:
        assert expected is not None
        got = Image.open(io.BytesIO(body))
        assert got.format == "PNG" and got.size == expected.size
        want = 255 - np.asarray(expected, dtype=np.int16)  # negation, to within rounding
        assert np.abs(np.asarray(got.convert("RGB"), dtype=np.int16) - want).max() <= 1
    else:
        assert status in (400, 413, 415, 422), (status, body)
        assert headers["content-type"] == "application/json"
        _one_line(json.loads(body)["error"])


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@fuzz(80)
@given(data=hostile_files)
def test_translate_writes_a_correct_image_or_records_one_line(work: Path, data: bytes) -> None:
    src, dst = work / "in.png", work / "out.png"
    src.write_bytes(data)
    dst.unlink(missing_ok=True)
    report = translate_files(TRANSLATOR, [(src, dst)])
    expected = _expected(data)
    if expected is None:
        assert report.written == [] and not dst.exists()
        [(path, reason)] = report.failed
        assert path == src
        _one_line(reason)
    else:
        assert report.written == [dst] and report.failed == []
        assert Image.open(dst).size == expected.size


def _dataset(root: Path, data: bytes) -> Path:
    for split in ("trainA", "trainB"):
        (root / split).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((40, 36, 3), 90, np.uint8)).save(root / split / "good.png")
    (root / "trainA" / "odd.png").write_bytes(data)
    return root


@fuzz(60)
@given(data=hostile_files)
def test_data_check_and_the_training_loader_agree_on_every_file(work: Path, data: bytes) -> None:
    """What `data check` and training's preflight pass, the loader reads; what they
    refuse, they name in one line, before any step is trained."""
    root = _dataset(work / "set", data)
    report = check_dataset(root)
    named = [u["path"] for u in report.splits["trainA"].unreadable]
    section = DataSection(root=str(root), load_size=32, crop_size=32, resize="square")
    try:
        check_trainable(root, section)
    except DataError as err:
        _one_line(str(err))
        assert "odd.png" in str(err) and named == ["trainA/odd.png"]
        assert not report.ok
        return
    assert named == []
    paths = [root / "trainA" / "good.png", root / "trainA" / "odd.png"]
    pairs = UnpairedPairs(paths, paths[:1], _transform(section, train=True), seed=0, epoch=0)
    for i in range(len(pairs)):
        item = pairs[i]
        assert item["A"].shape == item["B"].shape == (3, 32, 32)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_on_every_path(orientation: int, work: Path) -> None:
    data = _exif_jpeg(orientation)
    want = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).size
    assert want == ((16, 24) if orientation >= 5 else (24, 16))
    assert load_rgb(io.BytesIO(data)).size == want
    status, _headers, body = asgi_post(DEMO, "/api/translate/a2b", data)
    assert status == 200 and Image.open(io.BytesIO(body)).size == want
    src, dst = work / f"exif{orientation}.jpg", work / f"exif{orientation}.png"
    src.write_bytes(data)
    assert translate_files(TRANSLATOR, [(src, dst)]).written == [dst]
    assert Image.open(dst).size == want


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_every_odd_mode_and_format_translates(name: str) -> None:
    status, _, body = asgi_post(DEMO, "/api/translate/a2b", SEEDS[name])
    assert status == 200, body
    assert Image.open(io.BytesIO(body)).size == load_rgb(io.BytesIO(SEEDS[name])).size


def test_hostile_files_through_the_cli(tmp_path: Path) -> None:
    """`translate` and `data check` at the command line: each bad file one line, counted."""
    from scoring_support import generators_checkpoint

    ckpt = generators_checkpoint(tmp_path / "g.pt", "resnet_6blocks", ngf=4)
    bad = {
        "bomb.png": png_bomb(40_000, 40_000),
        "bomb.gif": gif_bomb(60_000, 60_000),
        "bomb.jpg": jpeg_bomb(65_000, 65_000),
        "empty.png": b"",
        "noise.webp": b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(range(40)),
        "cut.tif": SEEDS["tiff cmyk deflate"][:300],
    }
    good = {"frames.gif": SEEDS["gif animated"], "deep.png": SEEDS["png 16-bit"]}
    root = tmp_path / "set"
    for split in ("trainA", "trainB"):
        (root / split).mkdir(parents=True)
        for name, data in {**bad, **good}.items():
            (root / split / name).write_bytes(data)
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "translate",
            str(ckpt),
            str(root / "trainA"),
            str(tmp_path / "out"),
            "--device",
            "cpu",
        ],
    )
    text = result.output
    assert result.exit_code == 1 and "Traceback" not in text, text
    for name in bad:
        assert sum(name in line for line in text.splitlines()) >= 1, (name, text)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["deep.png", "frames.png"]
    result = runner.invoke(app, ["data", "check", str(root)])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    flat = " ".join(result.output.split())
    assert "6 unreadable" in flat, result.output
