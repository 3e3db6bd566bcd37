"""``translkit demo CKPT --export DIR``: a self-contained app folder that starts and
translates, written atomically, never over a folder the user did not give up."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from demo_support import (
    decode,
    http,
    png_bytes,
    start_process,
    stop_process,
    tiny_checkpoint,
    tiny_run_dir,
)
from typer.testing import CliRunner

from translkit import get_registry
from translkit.cli import app
from translkit.demo.export import export_demo
from translkit.demo.model import load_demo_model, load_examples
from translkit.errors import CheckpointError, DataError, TranslkitError
from translkit.inference.export import load_safetensors

runner = CliRunner()


def test_the_folder_holds_app_weights_requirements_and_a_space_readme(tmp_path: Path) -> None:
    out = export_demo(tiny_run_dir(tmp_path), tmp_path / "space", get_registry(), examples=True)
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    assert names == [
        "Dockerfile",
        "README.md",
        "a2b.safetensors",
        "app.py",
        "b2a.safetensors",
        "examples",
        "examples/a2b-0.png",
        "examples/a2b-1.png",
        "examples/a2b-2.png",
        "examples/b2a-0.png",
        "examples/b2a-1.png",
        "model.json",
        "requirements.txt",
    ]
    readme = (out / "README.md").read_text()
    front = readme.split("---\n")[1]
    assert "sdk: docker\n" in front and "app_port: 7860\n" in front
    assert 'title: "tiny-run (translkit demo)"' in front
    assert "translkit[demo]==" in (out / "requirements.txt").read_text()
    assert '"--port", "7860"' in (out / "Dockerfile").read_text()
    described = json.loads((out / "model.json").read_text())
    assert described["info"]["name"] == "tiny-run" and described["info"]["epoch"] == 1
    net = load_safetensors(out / "b2a.safetensors", get_registry())
    assert type(net).__name__ and not list(tmp_path.glob(".space.*"))  # staging removed


def test_the_exported_folder_loads_like_the_checkpoint(tmp_path: Path) -> None:
    ckpt = tiny_checkpoint(tmp_path)
    out = export_demo(ckpt, tmp_path / "app", get_registry(), directions=["b2a"])
    assert not (out / "a2b.safetensors").exists() and not (out / "examples").exists()
    translators, info = load_demo_model(out, get_registry(), device="cpu")
    original, _ = load_demo_model(ckpt, get_registry(), device="cpu", directions=["b2a"])
    assert list(translators) == ["b2a"] and info["generator"] == "resnet_6blocks"
    x = torch.rand(1, 3, 20, 28) * 2 - 1
    assert torch.equal(translators["b2a"](x), original["b2a"](x))
    assert load_examples(out, ["b2a"]) == {}


def test_the_app_keeps_its_resize_and_refuses_a_bad_one(tmp_path: Path) -> None:
    """An exported app scales uploads as its source did (a model's input size, or
    --resize); model.json is data, so a bad value there is one clear error."""
    out = export_demo(tiny_checkpoint(tmp_path), tmp_path / "app", get_registry(), resize=12)
    assert load_demo_model(out, get_registry(), device="cpu")[1]["resize"] == 12
    assert load_demo_model(out, get_registry(), device="cpu", resize=0)[1]["resize"] == 0
    described = json.loads((out / "model.json").read_text())
    described["info"]["resize"] = "big"
    (out / "model.json").write_text(json.dumps(described))
    with pytest.raises(CheckpointError, match="resize must be a whole number of pixels"):
        load_demo_model(out, get_registry(), device="cpu")
    (out / "model.json").write_text(json.dumps({**described, "format": "translkit.scores/2"}))
    with pytest.raises(CheckpointError, match=r"model\.json"):
        load_demo_model(out, get_registry(), device="cpu")
    (out / "model.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"model\.json is not valid JSON"):
        load_demo_model(out, get_registry(), device="cpu")


def test_a_non_empty_folder_is_refused_unless_overwrite(tmp_path: Path) -> None:
    ckpt = tiny_checkpoint(tmp_path)
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="already exists and is not empty.*--overwrite"):
        export_demo(ckpt, out, get_registry())
    assert (out / "notes.txt").read_text() == "mine"
    export_demo(ckpt, out, get_registry(), overwrite=True)
    assert (out / "app.py").is_file() and not (out / "notes.txt").exists()
    (tmp_path / "empty").mkdir()
    assert (export_demo(ckpt, tmp_path / "empty", get_registry()) / "app.py").is_file()


def test_a_failed_export_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args, **kwargs):
        raise TranslkitError("disk full (simulated)")

    monkeypatch.setattr("translkit.demo.export.export_generator", broken)
    with pytest.raises(TranslkitError, match="simulated"):
        export_demo(tiny_checkpoint(tmp_path), tmp_path / "app", get_registry())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.pt"]


def test_cli_exports_and_refuses_an_app_folder_as_source(tmp_path: Path) -> None:
    ckpt = tiny_checkpoint(tmp_path)
    result = runner.invoke(app, ["demo", str(ckpt), "--export", str(tmp_path / "app")])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and (tmp_path / "app" / "app.py").is_file()
    again = runner.invoke(app, ["demo", str(ckpt), "--export", str(tmp_path / "app")])
    assert again.exit_code == 1 and "--overwrite" in again.output
    nested = runner.invoke(app, ["demo", str(tmp_path / "app"), "--export", str(tmp_path / "b")])
    assert nested.exit_code == 1 and "already an exported demo app" in nested.output


@pytest.mark.slow
def test_the_exported_app_starts_and_translates(tmp_path: Path) -> None:
    out = export_demo(tiny_run_dir(tmp_path), tmp_path / "space", get_registry(), examples=True)
    proc, base = start_process(
        [sys.executable, "app.py", "--port", "0", "--device", "cpu"], cwd=out
    )
    try:
        info = json.loads(http(base + "api/info")[2])
        assert info["model"]["name"] == "tiny-run" and info["examples"] == {"a2b": 3, "b2a": 2}
        status, _, body = http(base + "api/translate/a2b", png_bytes(45, 29))
        assert status == 200 and decode(body).size == (45, 29)
        assert http(base)[0] == 200
    finally:
        code, _, err = stop_process(proc)
    assert code == 0, err
