"""pyproject.toml lists every package and entry point that exists, and nothing else."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_folder_is_listed() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "translkit").rglob("__init__.py")
    }
    found |= {
        "translkit_plugins" + "".join("." + x for x in p.parent.relative_to(ROOT / "plugins").parts)
        for p in (ROOT / "plugins").rglob("__init__.py")
    }
    assert found == listed


def test_builtin_plugins_are_entry_points_that_import() -> None:
    eps = PYPROJECT["project"]["entry-points"]["translkit"]
    assert eps, "built-ins must register through the translkit entry-point group"
    for name, module in eps.items():
        assert name.startswith("translkit.")
        assert hasattr(importlib.import_module(module), "translkit_register")


def test_no_generic_top_level_plugins_package() -> None:
    assert "plugins" not in PYPROJECT["tool"]["setuptools"]["packages"]
    assert PYPROJECT["tool"]["setuptools"]["package-dir"]["translkit_plugins"] == "plugins"


def test_torch_is_not_pinned_above_the_local_builds() -> None:
    deps = PYPROJECT["project"]["dependencies"]
    assert any(d.startswith("torch>") and "<=2.14.1" in d for d in deps)
    assert any(d.startswith("torchvision") and "<=0.29.1" in d for d in deps)
