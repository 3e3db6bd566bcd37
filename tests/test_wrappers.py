"""A wrapper declares the component it wraps (``translkit.registry.Inner``): the recipe
resolver — ``run --dry-run`` — checks the inner name and the options passed through to it,
and building hands the wrapper the built inner component (issue 21, finding 7). The wrapper
is the DiffAugment example of docs/plugins.md, taken from the page itself."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import pytest
import tomli_w
import torch
from training_support import tiny_recipe
from typer.testing import CliRunner

import translkit
from translkit.artifacts import load_checkpoint
from translkit.cli import app
from translkit.errors import ComponentError
from translkit.registry import Inner, Registries

PLUGINS_MD = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
runner = CliRunner()


def _doc_module() -> str:
    found = re.search(
        r"<!-- file: diffaug_plugin.py -->\n```python\n(.*?)```", PLUGINS_MD.read_text(), re.S
    )
    assert found, "docs/plugins.md lost its DiffAugment wrapper example"
    return found.group(1)


@pytest.fixture
def recipe_file(tmp_path: Path, make_module, monkeypatch: pytest.MonkeyPatch):
    make_module("diffaug_plugin", _doc_module())
    monkeypatch.chdir(tmp_path)
    raw = tiny_recipe(
        tmp_path, optim={"epochs": 1}, train={"sample_every": 0}, eval={"every": 0}
    ).to_dict()
    raw["plugins"] = ["diffaug_plugin"]

    def write(**discriminator: Any) -> Path:
        raw["discriminator"] = {"name": "diffaug", **discriminator}
        Path("recipe.toml").write_text(tomli_w.dumps(raw))
        return Path("recipe.toml")

    return write


def _error_line(result) -> str:
    lines = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return " ".join(lines[0].split())


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"inner": "patchgun", "ndf": 4},
            "unknown discriminator 'patchgun' (did you mean 'patchgan'?)",
        ),
        ({"inner": "patchgan", "ndff": 3}, "has no option 'ndff' (did you mean 'ndf'?)"),
        ({"inner": "patchgan", "ndf": 0}, "discriminator.ndf must be ≥ 1, got 0"),
        ({"inner": "patchgan", "ndf": "wide"}, "discriminator.ndf must be int"),
        ({"inner": 3}, "discriminator.inner must name a registered discriminator"),
    ],
)
def test_dry_run_checks_the_inner_component(recipe_file, options, expected) -> None:
    path = recipe_file(**options)
    line = _error_line(runner.invoke(app, ["run", str(path), "--dry-run"]))
    assert expected in line and line.startswith("error: recipe recipe.toml: "), line


def test_dry_run_fills_the_inner_defaults_and_training_uses_the_wrapper(recipe_file) -> None:
    path = recipe_file(inner="patchgan", ndf=4, n_layers=2)
    dry = runner.invoke(app, ["run", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    table = dry.output.split("[discriminator]")[1].split("\n[")[0]
    for line in (
        'name = "diffaug"',
        'inner = "patchgan"',
        "ndf = 4",
        "n_layers = 2",
        'policy = "color,translation"',
        'norm = "instance"',
    ):
        assert line in table, table
    trained = runner.invoke(app, ["run", str(path)])
    assert trained.exit_code == 0, trained.output
    ckpt = load_checkpoint(Path("runs/run/checkpoints/latest.pt"))
    assert ckpt["step"] > 0 and ckpt["components"]["discriminator"]["module"] == "diffaug_plugin"
    assert any(k.startswith("inner.model.0.") for k in ckpt["models"]["D_A"])
    translated = runner.invoke(app, ["translate", "runs/run", "data/testA", "out"])  # no plugin
    assert translated.exit_code == 0, translated.output


def test_registry_builds_the_inner_component_and_checks_it() -> None:
    registries = translkit.get_registry()
    seen = {}

    def wrap(inner: Annotated[Any, Inner("discriminators")] = "pixel", scale: float = 1.0):
        seen["inner"] = inner
        return inner

    own = Registries()
    own.discriminators.add("pixel", registries.discriminators.get("pixel").factory)
    own.discriminators.add("wrap", wrap)
    net = own.discriminators.create("wrap", ndf=3)
    assert isinstance(seen["inner"], torch.nn.Module) and net is seen["inner"]
    assert next(net.parameters()).shape[0] == 3  # ndf went to pixel
    with pytest.raises(ComponentError, match="did you mean 'pixel'"):
        own.discriminators.create("wrap", inner="pixl")
    with pytest.raises(ComponentError, match="no option 'nfd'"):
        own.discriminators.check_options("wrap", {"nfd": 3})
    own.generators.add("gwrap", wrap)  # a generator wrapping a discriminator: any kind
    assert own.generators.get("gwrap").inner() == ("inner", Inner("discriminators"))
