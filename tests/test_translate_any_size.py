"""Translation at the input's own size: padding, batching, tiles, files, CLI, imports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scoring_support import generators_checkpoint, write_images
from torch import nn
from training_support import AVX2_CPU
from typer.testing import CliRunner

from translkit import get_registry
from translkit.cli import app
from translkit.errors import TranslkitError
from translkit.inference import Translator, pad_to_multiple, translate_checkpoint

runner = CliRunner()


def _net(name: str = "resnet_6blocks", **options) -> nn.Module:
    torch.manual_seed(0)
    return get_registry().generators.create(name, ngf=4, **options).eval()


@pytest.mark.parametrize(("name", "options"), [("resnet_6blocks", {}), ("unet", {"num_downs": 5})])
def test_odd_and_non_square_inputs_keep_their_size(name: str, options: dict) -> None:
    net = _net(name, **options)
    x = torch.rand(2, 3, 37, 53) * 2 - 1
    y = Translator(net)(x)
    assert y.shape == x.shape and torch.isfinite(y).all()


def test_pad_reflects_and_repeats_when_pad_exceeds_the_image() -> None:
    x = torch.arange(15.0).reshape(1, 1, 3, 5)
    padded = pad_to_multiple(x, 4)
    assert padded.shape[-2:] == (4, 8)
    assert torch.equal(padded[..., :3, :5], x)
    assert torch.equal(padded[0, 0, 0, 5:], torch.tensor([3.0, 2.0, 1.0]))  # reflection
    assert pad_to_multiple(x, 16).shape[-2:] == (16, 16)  # 13 > 2: reflected repeatedly


def test_batched_and_channels_last_match_single_contiguous() -> None:
    net = _net()
    x = torch.rand(4, 3, 29, 35) * 2 - 1
    one = Translator(net, batch_size=1, channels_last=False, precision="fp32")(x)
    batched = Translator(_net(), batch_size=4, channels_last=False, precision="fp32")(x)
    cl = Translator(_net(), batch_size=4, channels_last=True, precision="fp32")(x)
    assert torch.allclose(one, batched, atol=1e-5)
    assert torch.allclose(one, cl, atol=1e-5)


class _Pointwise(nn.Module):
    """A per-pixel network: tiling it must reproduce the whole-image result."""

    size_multiple = 8

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[-1] % 8 == 0 and x.shape[-2] % 8 == 0
        return torch.tanh(self.conv(x))


def test_tiles_blend_back_to_the_whole_image() -> None:
    x = torch.rand(1, 3, 70, 101) * 2 - 1
    net = _Pointwise()
    whole = Translator(net, precision="fp32")(x)
    tiled = Translator(net, tile=30, overlap=8, batch_size=3, precision="fp32")
    assert tiled.tile == 32  # rounded up to the multiple
    assert torch.allclose(tiled(x), whole, atol=1e-6)
    y = Translator(_net(), tile=24, overlap=6)(x)
    assert y.shape == x.shape and torch.isfinite(y).all()


def test_bad_settings_are_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TranslkitError, match="overlap 40 must be smaller"):
        Translator(_Pointwise(), tile=32, overlap=40)
    with pytest.raises(TranslkitError, match="not a precision"):
        Translator(_Pointwise(), precision="bf61", device="cpu")  # type: ignore[arg-type]
    monkeypatch.setattr("translkit.precision.cpu_info", lambda: AVX2_CPU)
    with pytest.raises(TranslkitError, match="--precision = 'bf16'.*no AMX-BF16"):
        Translator(_Pointwise(), precision="bf16", device="cpu")
    assert Translator(_Pointwise(), device="cpu").precision == "fp32"  # auto


def _rotated_jpeg(path: Path) -> None:
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed: 40×30 stored, 30×40 shown
    img.save(path, exif=exif)


def _inputs(root: Path) -> None:
    write_images(root, 2, [(37, 53), (37, 53)])
    (root / "sub").mkdir()
    Image.new("L", (21, 16), 128).save(root / "sub" / "gray.jpg")
    Image.new("RGBA", (18, 18), (255, 0, 0, 100)).save(root / "sub" / "alpha.png")
    Image.new("P", (19, 23)).save(root / "palette.gif")
    _rotated_jpeg(root / "rotated.jpg")
    (root / "broken.png").write_bytes(b"not an image")


def test_folder_is_translated_recursively_at_each_size(tmp_path: Path) -> None:
    ckpt = generators_checkpoint(tmp_path / "g.pt", ngf=4)
    src, out = tmp_path / "in", tmp_path / "out"
    _inputs(src)
    report = translate_checkpoint(ckpt, src, out, get_registry(), device="cpu", batch_size=2)
    assert [p.name for p, _ in report.failed] == ["broken.png"]
    assert len(report.written) == 6
    expected = {
        "000.png": (37, 53),
        "001.png": (37, 53),
        "sub/gray.jpg": (21, 16),
        "sub/alpha.png": (18, 18),
        "palette.png": (19, 23),
        "rotated.jpg": (30, 40),
    }
    for rel, size in expected.items():
        with Image.open(out / rel) as img:
            assert (img.size, img.mode) == (size, "RGB"), rel
    assert not list(out.rglob(".*.tmp"))  # atomic writes leave nothing behind


def test_cli_translates_and_exits_1_when_a_file_failed(tmp_path: Path) -> None:
    ckpt = generators_checkpoint(tmp_path / "g.pt", ngf=4)
    src = tmp_path / "in"
    _inputs(src)
    result = runner.invoke(
        app,
        [
            "translate",
            str(ckpt),
            str(src),
            str(tmp_path / "o"),
            "--direction",
            "b2a",
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 1
    assert "broken.png" in result.output and "6 written" in result.output
    (src / "broken.png").unlink()
    single = runner.invoke(
        app,
        [
            "translate",
            str(ckpt),
            str(src / "000.png"),
            str(tmp_path / "one.png"),
            "--tile",
            "16",
            "--overlap",
            "4",
        ],
    )
    assert single.exit_code == 0, single.output
    assert Image.open(tmp_path / "one.png").size == (37, 53)


def test_scale_down_shrinks_the_shorter_side_only_when_longer() -> None:
    from translkit.inference.files import scale_down

    img = Image.new("RGB", (300, 200))
    assert scale_down(img, 100).size == (150, 100)
    assert scale_down(Image.new("RGB", (200, 301)), 100).size == (100, 150)
    assert scale_down(img, 200) is img and scale_down(img, 500) is img  # never up
    assert scale_down(img, 0) is img
    with pytest.raises(TranslkitError, match="resize must be ≥ 0 pixels"):
        scale_down(img, -1)


def test_cli_resize_translates_large_images_at_the_given_scale(tmp_path: Path) -> None:
    ckpt = generators_checkpoint(tmp_path / "g.pt", ngf=4)
    src, out = tmp_path / "in", tmp_path / "out"
    write_images(src, 2, [(120, 80), (30, 20)])
    result = runner.invoke(app, ["translate", str(ckpt), str(src), str(out), "--resize", "40"])
    assert result.exit_code == 0, result.output
    assert Image.open(out / "000.png").size == (60, 40)  # shorter side 80 → 40, aspect kept
    assert Image.open(out / "001.png").size == (30, 20)  # already smaller: its own size
    kept = runner.invoke(app, ["translate", str(ckpt), str(src), str(tmp_path / "o2")])
    assert kept.exit_code == 0 and Image.open(tmp_path / "o2" / "000.png").size == (120, 80)
    bad = runner.invoke(
        app, ["translate", str(ckpt), str(src), str(tmp_path / "o3"), "--resize", "-5"]
    )
    assert bad.exit_code == 2 and "--resize" in bad.output and not (tmp_path / "o3").exists()


def test_cli_passes_its_options_through(tmp_path: Path, monkeypatch) -> None:
    import translkit.inference.files as files

    seen = {}

    def fake(checkpoint, source, output, registries, **kw):
        seen.update(kw, checkpoint=checkpoint)
        return files.TranslateReport()

    monkeypatch.setattr(files, "translate_checkpoint", fake)
    args = [
        "translate",
        "c.pt",
        "in",
        "out",
        "-d",
        "b2a",
        "-b",
        "3",
        "--tile",
        "256",
        "--overlap",
        "16",
        "--device",
        "cpu",
        "--no-channels-last",
        "--compile",
    ]
    assert runner.invoke(app, args).exit_code == 0
    assert seen["direction"] == "b2a" and seen["batch_size"] == 3 and seen["tile"] == 256
    assert seen["overlap"] == 16 and seen["channels_last"] is False and seen["device"] == "cpu"
    assert seen["compile"] is True and seen["resize"] is None  # None: a model's own size
    assert runner.invoke(app, [*args[:-1], "--no-compile"]).exit_code == 0
    assert seen["compile"] is False
    assert runner.invoke(app, args[:-1]).exit_code == 0
    assert seen["compile"] == "auto"  # the default: decided by the recorded pace


def test_compile_wraps_the_optimised_copy(monkeypatch) -> None:
    wrapped = []

    def fake_compile(module):
        wrapped.append(module)
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    translator = Translator(_net(), compile=True)
    assert wrapped == [translator.net]
    assert translator(torch.rand(1, 3, 20, 24)).shape == (1, 3, 20, 24)


def test_auto_compiles_a_folder_only_where_the_recorded_pace_pays(
    tmp_path: Path, monkeypatch
) -> None:
    """Every translation records its pace; ``auto`` compiles when the recorded compiled
    pace earns one compilation per image size back twice over the folder's work."""
    from translkit import runtime as R

    monkeypatch.setenv("TRANSLKIT_CACHE", str(tmp_path / "cache"))
    compiled = []
    monkeypatch.setattr(torch, "compile", lambda module: compiled.append(module) or module)
    ckpt = generators_checkpoint(tmp_path / "g.pt", ngf=4)
    write_images(tmp_path / "in", 3, (24, 20))

    def run(out: str) -> str:
        report = translate_checkpoint(
            ckpt, tmp_path / "in", tmp_path / out, get_registry(), batch_size=1
        )
        return report.runtime

    first = run("out1")  # nothing recorded: eager, and its pace is recorded
    assert not compiled and "eager (auto: no finished run" in first
    (key,) = json.loads((tmp_path / "cache" / R.STEPS_FILE).read_text())
    eager = R.step_times(key)["eager_s"]
    assert eager > 0
    R.record_step_times(key, compiled_s=eager / 4, compile_s=1e6)  # far too slow to compile
    assert "compiled" not in run("out2").split("eager")[0] and not compiled
    eager = R.step_times(key)["eager_s"]  # out2 recorded its own (eager) pace
    R.record_step_times(key, compiled_s=eager / 4, compile_s=1e-9)
    assert "; compiled (auto: compiled " in run("out3") and len(compiled) == 1


def test_checkpoint_imported_from_the_reference_code(tmp_path: Path) -> None:
    from translkit.importing import import_generators

    torch.manual_seed(1)
    zhu = get_registry().generators.create("resnet_6blocks", ngf=4)
    state = {f"module.{k}": v for k, v in zhu.state_dict().items()}  # DataParallel names
    torch.save(state, tmp_path / "latest_net_G_A.pth")
    ckpt = import_generators(
        "junyanz",
        tmp_path / "latest_net_G_A.pth",
        tmp_path / "zhu.pt",
        get_registry(),
        generator="resnet_6blocks",
        options={"ngf": 4},
    )
    write_images(tmp_path / "in", 1, (45, 31))
    report = translate_checkpoint(
        ckpt, tmp_path / "in", tmp_path / "out", get_registry(), device="cpu"
    )
    assert report.ok and Image.open(tmp_path / "out" / "000.png").size == (45, 31)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(Translator(zhu.eval(), precision="fp32")(x), zhu(x), atol=1e-6)
    with pytest.raises(TranslkitError, match="translates only a2b, not b2a"):
        translate_checkpoint(
            ckpt, tmp_path / "in", tmp_path / "o2", get_registry(), direction="b2a"
        )


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_half_precision_on_cuda_is_close_to_fp32(precision: str) -> None:
    net = _net()
    x = torch.rand(3, 3, 61, 47) * 2 - 1
    ref = Translator(net, device="cuda", precision="fp32")(x)
    half = Translator(_net(), device="cuda", precision=precision)(x)
    assert half.shape == x.shape and half.dtype == torch.float32
    assert (half - ref).abs().max() < 0.05


def test_group_norm_rewrite_keeps_the_function_and_the_callers_net() -> None:
    from translkit.inference.optimize import optimize_for_inference

    net = _net()
    fast = optimize_for_inference(net)
    assert not any(isinstance(m, nn.InstanceNorm2d) for m in fast.modules())
    assert any(isinstance(m, nn.InstanceNorm2d) for m in net.modules())  # original untouched
    assert fast.size_multiple == net.size_multiple
    x = torch.rand(2, 3, 36, 28) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(fast(x), net(x), atol=1e-5)
    affine = nn.Sequential(nn.InstanceNorm2d(3, affine=True))
    nn.init.normal_(affine[0].weight)
    assert torch.allclose(optimize_for_inference(affine)(x), affine.eval()(x), atol=1e-5)
    tracked = nn.Sequential(nn.InstanceNorm2d(3, track_running_stats=True)).eval()
    assert isinstance(optimize_for_inference(tracked)[0], nn.InstanceNorm2d)


def test_cpu_passes_hold_a_bounded_number_of_pixels() -> None:
    from translkit.inference.translate import CPU_PIXELS_PER_PASS

    class Recording(_Pointwise):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.batches.append(x.shape[0])
            return super().forward(x)

    net = Recording()
    translator = Translator(net, batch_size=8, precision="fp32", optimize=False)
    translator.net.batches = []
    side = int(CPU_PIXELS_PER_PASS**0.5)
    translator(torch.rand(3, 3, side, side))
    translator(torch.rand(8, 3, side // 2, side // 2))
    translator(torch.rand(8, 3, 16, 16))
    assert translator.net.batches == [1, 1, 1, 4, 4, 8]
