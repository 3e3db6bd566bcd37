"""The command line starts talking at once: no torch import before the first words."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from translkit.cli import app

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def test_importing_the_cli_does_not_import_torch():
    code = "import sys, translkit.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_run_says_what_it_does_before_importing_torch(monkeypatch: pytest.MonkeyPatch):
    seen: list[str] = []

    def load(modules):  # the first slow step: importing the plugins, hence torch
        seen.append("load")
        raise SystemExit(3)

    monkeypatch.setattr("translkit.plugin_manager.load_plugins", load)
    result = CliRunner().invoke(app, ["run", str(RECIPES / "quickstart.toml")])
    assert seen == ["load"] and result.exit_code == 3
    assert "→ runs/quickstart: importing torch and the plugins" in result.stderr


def test_dry_run_prints_only_the_recipe():
    result = CliRunner().invoke(app, ["run", str(RECIPES / "quickstart.toml"), "--dry-run"])
    assert result.exit_code == 0 and "importing torch" not in result.stderr
    assert 'precision = "auto"' in result.stdout
