"""Export: ONNX Runtime and TorchScript outputs equal PyTorch's; safetensors round trip."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from scoring_support import generators_checkpoint
from typer.testing import CliRunner

from translkit import get_registry
from translkit.cli import app
from translkit.errors import TranslkitError
from translkit.inference import Translator
from translkit.inference.export import export_generator, load_safetensors
from translkit.pretrained import load_generators

runner = CliRunner()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generators_checkpoint(tmp_path_factory.mktemp("ckpt") / "g.pt", ngf=4)


def _reference(ckpt: Path, direction: str, x: torch.Tensor) -> torch.Tensor:
    return Translator(load_generators(ckpt, get_registry()).nets[direction], precision="fp32")(x)


@pytest.mark.slow
def test_onnx_runtime_matches_pytorch_on_non_square_inputs(checkpoint: Path, tmp_path) -> None:
    import onnxruntime as ort

    path = export_generator(
        checkpoint, tmp_path / "g.onnx", get_registry(), format="onnx", direction="b2a"
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert [o.name for o in session.get_outputs()] == ["translated"]
    for shape in [(1, 3, 37, 53), (2, 3, 64, 40)]:  # dynamic batch, height and width
        x = torch.rand(*shape) * 2 - 1
        (out,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
        ref = _reference(checkpoint, "b2a", x)
        assert out.shape == shape
        assert (torch.from_numpy(out) - ref).abs().max() < 1e-4


@pytest.mark.slow
def test_torchscript_matches_pytorch(checkpoint: Path, tmp_path: Path) -> None:
    path = export_generator(checkpoint, tmp_path / "g.ts", get_registry(), format="torchscript")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = torch.jit.load(str(path))
    x = torch.rand(2, 3, 45, 31) * 2 - 1
    with torch.no_grad():
        out = module(x)
    assert out.shape == x.shape
    assert (out - _reference(checkpoint, "a2b", x)).abs().max() < 1e-4


def test_safetensors_round_trip(checkpoint: Path, tmp_path: Path) -> None:
    path = export_generator(
        checkpoint,
        tmp_path / "g.safetensors",
        get_registry(),
        format="safetensors",
        direction="b2a",
    )
    net = load_safetensors(path, get_registry())
    original = load_generators(checkpoint, get_registry()).nets["b2a"]
    for key, value in original.state_dict().items():
        assert torch.equal(net.state_dict()[key], value), key
    x = torch.rand(1, 3, 32, 36) * 2 - 1
    assert torch.equal(
        Translator(net, precision="fp32")(x), Translator(original, precision="fp32")(x)
    )


def test_cli_export_and_errors(checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "w.safetensors"
    ok = runner.invoke(app, ["export", str(checkpoint), "--format", "safetensors", "-o", str(out)])
    assert ok.exit_code == 0, ok.output
    assert out.is_file() and "wrote" in ok.output
    bad = runner.invoke(app, ["export", str(checkpoint), "--format", "tflite", "-o", "x"])
    assert bad.exit_code == 1 and "onnx, torchscript, safetensors" in bad.output
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(1)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(TranslkitError, match="not exported by translkit"):
        load_safetensors(tmp_path / "foreign.safetensors", get_registry())


def test_cli_passes_options_through(monkeypatch, tmp_path: Path) -> None:
    import translkit.inference.export as export

    seen = {}

    def fake(checkpoint, output, registries, **kw):
        seen.update(kw)
        Path(output).write_bytes(b"x")
        return Path(output)

    monkeypatch.setattr(export, "export_generator", fake)
    out = tmp_path / "m.onnx"
    result = runner.invoke(
        app, ["export", "c.pt", "-f", "onnx", "-d", "b2a", "--opset", "18", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert seen == {
        "format": "onnx",
        "direction": "b2a",
        "opset": 18,
        "half": False,
        "ema": True,
    }


def test_export_ema_or_raw_weights_of_a_training_checkpoint(tmp_path: Path) -> None:
    """`--no-ema` exports the last step's raw weights; the default, the EMA average."""
    from safetensors.torch import load_file
    from training_support import tiny_recipe

    from translkit.artifacts import load_checkpoint
    from translkit.training import train

    run = train(tiny_recipe(tmp_path, train={"ema": 0.5}, eval={"every": 0})).run_dir
    ckpt = load_checkpoint(run / "checkpoints" / "latest.pt")
    written = {}
    for flag in ("--ema", "--no-ema"):
        out = tmp_path / f"b2a{flag}.safetensors"
        args = ["export", str(run), "-f", "safetensors", "-d", "b2a", flag, "-o", str(out)]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        written[flag] = load_file(str(out))
    for flag, weights in (("--ema", ckpt["ema"]["G_BA"]), ("--no-ema", ckpt["models"]["G_BA"])):
        assert written[flag].keys() == weights.keys()
        assert all(torch.equal(written[flag][k], weights[k]) for k in weights), flag
    assert any(not torch.equal(ckpt["ema"]["G_BA"][k], ckpt["models"]["G_BA"][k]) for k in weights)
