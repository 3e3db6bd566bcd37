"""Files are data, never code: no checkpoint, export, run directory or recipe stored in one
chooses what is imported — through any entry point (issue: "a checkpoint must never choose
code to import")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from scoring_support import generators_checkpoint, write_images
from training_support import tiny_recipe
from typer.testing import CliRunner

import translkit
from translkit.artifacts import load_checkpoint, save_checkpoint
from translkit.cli import app
from translkit.errors import CheckpointError

EVIL = "evilmod"


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A working directory holding ``evilmod.py`` (it would create ``marker`` on import) and
    files that all name it: a run directory, a generators file and a safetensors export."""
    marker = tmp_path / "marker"
    (tmp_path / f"{EVIL}.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # as `python -m translkit` run from here is
    recipe = tiny_recipe(tmp_path, optim={"epochs": 1}, train={"sample_every": 0})
    result = translkit.train(recipe, progress=False)
    run = result.run_dir
    latest = run / "checkpoints" / "latest.pt"
    ckpt = load_checkpoint(latest)
    ckpt["recipe"]["plugins"] = [EVIL]
    for info in ckpt["components"].values():
        info["module"] = EVIL
    save_checkpoint(ckpt, latest)
    (run / "checkpoints" / "best.pt").unlink(missing_ok=True)
    toml = (run / "recipe.resolved.toml").read_text()
    (run / "recipe.resolved.toml").write_text(toml.replace("plugins = []", f'plugins = ["{EVIL}"]'))
    gens = load_checkpoint(generators_checkpoint(tmp_path / "g.pt", ngf=4))
    gens["plugins"] = [EVIL]
    for spec in gens["generators"].values():
        spec["module"] = EVIL
    save_checkpoint(gens, tmp_path / "g.pt")
    _safetensors_naming_evil(tmp_path / "g.pt", tmp_path / "g.safetensors")
    write_images(tmp_path / "in", 2, (24, 20))
    return {
        "run": run,
        "gens": tmp_path / "g.pt",
        "st": tmp_path / "g.safetensors",
        "marker": marker,
    }


def _safetensors_naming_evil(src: Path, dst: Path) -> None:
    from safetensors.torch import save_file

    from translkit.artifacts import SAFETENSORS_FORMAT

    spec = load_checkpoint(src)["generators"]["a2b"]
    meta = {
        "format": SAFETENSORS_FORMAT,
        "direction": "a2b",
        "generator": spec["name"],
        "options": json.dumps(spec["options"]),
        "plugin_module": EVIL,
        "plugins": json.dumps([EVIL]),  # what translkit 0.1 wrote (and imported)
    }
    save_file({k: v.contiguous() for k, v in spec["state_dict"].items()}, str(dst), metadata=meta)


def test_no_entry_point_imports_a_module_a_file_names(planted: dict[str, Path]) -> None:
    run, gens, st = planted["run"], planted["gens"], planted["st"]
    reg = translkit.get_registry()
    translkit.load_generators(run, reg)
    translkit.load_generators(gens, reg)
    translkit.load_generators(st, reg)
    translkit.load_model(run, reg)
    from translkit.inference.export import load_safetensors

    load_safetensors(st, reg)
    runner = CliRunner()
    commands = [
        ["translate", str(run), "in", "out1"],
        ["translate", str(gens), "in", "out2"],
        ["translate", str(st), "in", "out3"],
        ["export", str(run), "-f", "safetensors", "-o", "e.safetensors"],
        ["export", str(gens), "-f", "torchscript", "-o", "e.ts"],
        ["score", str(run), "-m", "objective", "--json"],
        ["report", str(run)],
        ["run", str(run), "--resume", "latest", "--dry-run"],
        ["demo", str(run), "--export", "app"],
    ]
    for args in commands:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    assert EVIL not in sys.modules and not planted["marker"].exists()


@pytest.mark.slow
def test_python_m_translkit_from_that_directory_imports_nothing(planted: dict[str, Path]) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for source in (planted["run"], planted["gens"], planted["st"]):
        out = subprocess.run(
            [sys.executable, "-m", "translkit", "translate", str(source), "in", "out"],
            cwd=planted["run"].parents[1],
            capture_output=True,
            text=True,
            env=env,
        )
        assert out.returncode == 0, out.stderr
    assert not planted["marker"].exists()


def test_a_missing_component_names_its_plugin_and_how_to_load_it(planted) -> None:
    ckpt = load_checkpoint(planted["gens"])
    ckpt["generators"]["a2b"]["name"] = "evil_gen"
    save_checkpoint(ckpt, planted["gens"])
    result = CliRunner().invoke(app, ["translate", str(planted["gens"]), "in", "out"])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert "needs generator 'evil_gen'" in message and f"--plugin {EVIL}" in message
    assert "Traceback" not in result.output and not planted["marker"].exists()
    with pytest.raises(CheckpointError, match=f"made with plugin module '{EVIL}'"):
        translkit.load_generators(planted["gens"], translkit.get_registry())


def test_the_plugin_option_loads_a_module_deliberately(planted, make_module) -> None:
    module = make_module(
        "trusted_gen_plugin",
        """
import translkit
from torch import nn

class Flip(nn.Module):
    '''Mirrors the image.'''
    def __init__(self, width: int = 1):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(width))
    def forward(self, x):
        return x.flip(-1)

import torch

@translkit.hookimpl
def translkit_register(registry):
    registry.generators.add("trusted_flip", Flip)
""",
    )
    ckpt = {
        "format": "translkit.generators/1",
        "generators": {
            "a2b": {
                "name": "trusted_flip",
                "options": {"width": 1},
                "state_dict": {"scale": torch.ones(1)},
                "module": module,
            }
        },
    }
    save_checkpoint(ckpt, Path("flip.pt"))
    refused = CliRunner().invoke(app, ["translate", "flip.pt", "in", "o1"])
    assert refused.exit_code == 1 and f"--plugin {module}" in " ".join(refused.output.split())
    loaded = CliRunner().invoke(app, ["translate", "flip.pt", "in", "o2", "--plugin", module])
    assert loaded.exit_code == 0, loaded.output
    assert sorted(p.name for p in Path("o2").iterdir()) == ["000.png", "001.png"]
