"""Docs stay true: every hook documented with its exact signature and tested; the recipe
reference matches the code; the plugin guide's examples run."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from translkit import hookspecs
from translkit.recipe_docs import render

ROOT = Path(__file__).resolve().parents[1]
PLUGINS_MD = ROOT / "docs" / "plugins.md"


def hooks() -> list[str]:
    return [
        n
        for n, f in inspect.getmembers(hookspecs, inspect.isfunction)
        if n.startswith("translkit_")
    ]


@pytest.mark.parametrize("hook", hooks())
def test_every_hook_is_documented_with_its_signature(hook: str) -> None:
    fn = getattr(hookspecs, hook)
    params = ", ".join(inspect.signature(fn).parameters)
    assert f"### `{hook}({params})`" in PLUGINS_MD.read_text()
    assert fn.__doc__, f"{hook} needs a docstring"


@pytest.mark.parametrize("hook", hooks())
def test_every_hook_is_called_with_its_documented_arguments(hook: str, make_module) -> None:
    """A plugin implementing the hook with every documented parameter is called with them."""
    params = list(inspect.signature(getattr(hookspecs, hook)).parameters)
    source = (
        "import translkit\nCALLS = []\n\n@translkit.hookimpl\n"
        f"def {hook}({', '.join(params)}):\n    CALLS.append(({', '.join(params)},))\n"
    )
    name = make_module(f"hook_probe_{hook}", source)
    import importlib

    from translkit.plugin_manager import load_plugins
    from translkit.registry import Registries

    loaded = load_plugins([name])
    (call,) = importlib.import_module(name).CALLS
    expected = {"registry": Registries}
    for param, value in zip(params, call, strict=True):
        assert isinstance(value, expected[param]), f"{hook}: {param} is {type(value)}"
    assert loaded.registered_by(name) == {}


def test_recipe_reference_matches_the_code() -> None:
    committed = (ROOT / "docs" / "recipes.md").read_text()
    assert committed == render(), (
        "docs/recipes.md is stale: python -m translkit.recipe_docs > docs/recipes.md"
    )


@pytest.mark.slow
def test_plugin_guide_examples_run(tmp_path: Path) -> None:
    text = PLUGINS_MD.read_text()
    files = re.findall(r"<!-- file: (\S+) -->\n```python\n(.*?)```", text, re.S)
    runs = re.findall(r"<!-- run -->\n```python\n(.*?)```", text, re.S)
    assert files and runs
    for name, code in files:
        (tmp_path / name).write_text(code)
    for code in runs:
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        )
        assert out.returncode == 0, out.stderr
