"""A run trained with a training-only plugin (here: a discriminator) is translated,
exported, demoed and scored without that plugin; only what needs every network (resume,
the test objective) asks for it, in one line naming it (issue 21, finding 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w
import torch
from scoring_support import write_images
from training_support import tiny_recipe
from typer.testing import CliRunner

import translkit
from translkit.artifacts import load_checkpoint, load_model, save_checkpoint
from translkit.cli import app
from translkit.errors import MissingComponentError
from translkit.pretrained import load_generators

PLUGIN = "third_party_disc"
SOURCE = '''
"""A third party's discriminator: only training needs it."""
import torch
from torch import nn

import translkit


class TinyCritic(nn.Module):
    def __init__(self, ndf: int = 4) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2),
                                 nn.Conv2d(ndf, 1, 3, 1, 1))

    def forward(self, x):
        return self.net(x)


@translkit.hookimpl
def translkit_register(registry):
    registry.discriminators.add("tiny_critic", TinyCritic)
'''

runner = CliRunner()


def _one_line(result) -> str:
    """The one error line (a command may say what it starts before it)."""
    lines = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.fixture
def run_dir(tmp_path: Path, make_module, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny run whose discriminator came from a plugin module the recipe names."""
    make_module(PLUGIN, SOURCE)
    monkeypatch.chdir(tmp_path)
    raw = tiny_recipe(
        tmp_path, optim={"epochs": 1}, train={"sample_every": 0}, eval={"every": 0}
    ).to_dict()
    raw["plugins"] = [PLUGIN]
    raw["discriminator"] = {"name": "tiny_critic", "ndf": 4}
    raw["eval"]["metrics"] = ["objective", "psnr"]  # the run's own scoring defaults
    Path("recipe.toml").write_text(tomli_w.dumps(raw))
    result = runner.invoke(app, ["run", "recipe.toml"])
    assert result.exit_code == 0, result.output
    write_images(tmp_path / "in", 2, (24, 20))
    return tmp_path / "runs" / "run"


def test_generators_load_without_the_training_only_plugin(run_dir: Path) -> None:
    ckpt = load_checkpoint(run_dir / "checkpoints" / "latest.pt")
    assert ckpt["components"]["discriminator"]["module"] == PLUGIN
    assert ckpt["generators"]["a2b"]["role"] == "G_AB"  # the generator's own spec
    registries = translkit.get_registry()  # the plugin is not loaded
    assert "tiny_critic" not in registries.discriminators
    assert set(load_generators(run_dir, registries).nets) == {"a2b", "b2a"}
    with pytest.raises(MissingComponentError, match=f"--plugin {PLUGIN}"):
        load_model(run_dir, registries)
    model, _, _ = load_model(run_dir, translkit.load_plugins([PLUGIN]).registries)
    assert {"D_A", "D_B"} <= set(model.nets)
    del ckpt["generators"]  # written before the spec was stored: the method's direction map
    save_checkpoint(ckpt, run_dir / "checkpoints" / "old.pt")  # and [generator] suffice
    old = load_generators(run_dir / "checkpoints" / "old.pt", registries)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    new = load_generators(run_dir, registries)
    assert torch.equal(old.nets["b2a"](x), new.nets["b2a"](x))


def test_translate_export_score_and_demo_work_without_it(run_dir: Path) -> None:
    for args in (
        ["translate", str(run_dir), "in", "out"],
        ["export", str(run_dir), "-f", "safetensors", "-o", "g.safetensors"],
        ["export", str(run_dir), "-f", "torchscript", "-o", "g.ts"],
        ["score", str(run_dir), "-m", "psnr,ssim,l1", "--json"],
        ["demo", str(run_dir), "--export", "app"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    assert len(list(Path("out").iterdir())) == 2
    from translkit.demo.model import load_demo_model

    translators, info = load_demo_model(run_dir, translkit.get_registry(), device="cpu")
    assert set(translators) == {"a2b", "b2a"} and info["method"] == "cyclegan"


def test_the_objective_is_skipped_in_one_line_unless_named(run_dir: Path) -> None:
    result = runner.invoke(app, ["score", str(run_dir), "--json"])  # eval.metrics: objective, psnr
    assert result.exit_code == 0, result.output
    import json

    out = json.loads(result.stdout)
    assert "a2b/psnr" in out["scores"] and "objective" not in out["scores"]
    assert set(out["skipped"]) == {"objective"} and PLUGIN in out["skipped"]["objective"]
    (skip_line,) = [ln for ln in result.stderr.splitlines() if ln.startswith("not scored")]
    assert "objective" in skip_line and f"--plugin {PLUGIN}" in skip_line
    named = runner.invoke(app, ["score", str(run_dir), "-m", "objective"])
    assert named.exit_code == 1
    line = _one_line(named)
    assert "discriminator 'tiny_critic'" in line and f"--plugin {PLUGIN}" in line
    loaded = runner.invoke(app, ["score", str(run_dir), "-m", "objective", "--plugin", PLUGIN])
    assert loaded.exit_code == 0, loaded.output


def test_resume_without_the_plugin_names_it_in_one_line(run_dir: Path) -> None:
    for args in (
        ["run", str(run_dir), "--resume", "latest"],
        ["run", str(run_dir), "--resume", "latest", "--dry-run"],
        ["run", "recipe.toml", "--resume", "latest", "--set", "plugins=[]"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        line = _one_line(result)
        assert "discriminator 'tiny_critic'" in line and f"--plugin {PLUGIN}" in line, line
    args = ["run", str(run_dir), "--resume", "latest", "--dry-run", "--plugin", PLUGIN]
    dry = runner.invoke(app, args)
    assert dry.exit_code == 0, dry.output
