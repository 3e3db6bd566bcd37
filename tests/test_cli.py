"""The CLI shell: version, help, plugins, list, run --dry-run and error reporting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import translkit
from translkit.cli import _normalise_argv, app

runner = CliRunner()

TEST_PLUGIN = """
import translkit

class Gen:
    '''Tiny test generator.'''
    def __init__(self, ngf: int = 4, norm: str = "instance"):
        pass

class Disc:
    '''Tiny test discriminator.'''
    def __init__(self, ndf: int = 4):
        pass

class Loss:
    '''A test pixel loss.'''
    def __init__(self, weight: float = 1.0):
        self.weight = weight
    def __call__(self, output, target):
        return 0.0

class GanLoss:
    '''A test adversarial loss.'''
    def generator_loss(self, fake_logits):
        return 0.0
    def discriminator_loss(self, real_logits, fake_logits):
        return 0.0

@translkit.hookimpl
def translkit_register(registry):
    registry.generators.add("cli_gen", Gen)
    registry.discriminators.add("cli_disc", Disc)
    registry.losses.add("cli_gan", GanLoss)
    for name in ("cli_cycle", "cli_idt"):
        registry.losses.add(name, Loss)
"""


@pytest.fixture
def recipe_file(tmp_path: Path, make_module) -> Path:
    module = make_module("cli_test_plugin", TEST_PLUGIN)
    path = tmp_path / "recipe.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            plugins = ["{module}"]
            [run]
            name = "cli"
            output_dir = "{tmp_path / "runs"}"
            [generator]
            name = "cli_gen"
            [discriminator]
            name = "cli_disc"
            [loss.gan]
            name = "cli_gan"
            [loss.cycle]
            name = "cli_cycle"
            weight = 10
            [loss.identity]
            name = "cli_idt"
            weight = 0
            """
        )
    )
    return path


def test_version_and_help() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"translkit {translkit.__version__}"
    for args in (["-h"], ["--help"], ["run", "-h"], ["list", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, args
        assert "Usage" in result.stdout


def test_python_dash_m_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "translkit", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"translkit {translkit.__version__}"


def test_plugins_lists_builtins_as_json() -> None:
    result = runner.invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    names = {p["name"]: p for p in data["plugins"]}
    assert names["translkit.generators"]["distribution"] == "translkit"
    assert "registered" in names["translkit.generators"]


def test_plugins_table_is_printed() -> None:
    result = runner.invoke(app, ["plugins"])
    assert result.exit_code == 0
    assert "translkit.losses" in result.stdout and "distribution" in result.stdout


def test_list_filters_by_kind_and_pattern(monkeypatch, make_module) -> None:
    module = make_module("cli_list_plugin", TEST_PLUGIN)
    loaded = translkit.load_plugins([module])
    monkeypatch.setattr("translkit.cli.list_cmd.load_plugins", lambda: loaded)
    result = runner.invoke(app, ["list", "generators", "cli_*", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert list(data) == ["generators"]
    assert data["generators"] == [
        {"name": "cli_gen", "plugin": module, "summary": "Tiny test generator."}
    ]
    table = runner.invoke(app, ["list"])
    assert "cli_disc" in table.stdout and "Tiny test discriminator." in table.stdout


def test_list_unknown_kind_is_one_clean_error() -> None:
    result = runner.invoke(app, ["list", "generator"])
    assert result.exit_code == 1
    assert "unknown component kind 'generator'" in result.stderr
    assert "did you mean 'generators'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_run_dry_run_prints_resolved_recipe_with_overrides(recipe_file: Path) -> None:
    result = runner.invoke(
        app,
        ["run", str(recipe_file), "--dry-run", "--set", "optim.lr=1e-4", "-s", "generator.ngf=8"],
    )
    assert result.exit_code == 0, result.stderr
    import tomllib

    resolved = tomllib.loads(result.stdout)
    assert resolved["optim"]["lr"] == 1e-4
    assert resolved["generator"] == {"name": "cli_gen", "ngf": 8, "norm": "instance"}
    assert resolved["discriminator"] == {"name": "cli_disc", "ndf": 4}
    assert resolved["train"]["precision"] == "auto"
    assert not (recipe_file.parent / "runs").exists()


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("optim.bettas=[0.5,0.9]", "unknown key 'bettas' (did you mean 'betas'?)"),
        ("optim.lr=fast", "optim.lr must be float, got 'fast'"),
        ("generator.name=cli_gen2", "unknown generator 'cli_gen2' (did you mean 'cli_gen'?)"),
        ("generator.nfg=3", "has no option 'nfg' (did you mean 'ngf'?)"),
    ],
)
def test_run_errors_are_one_line_exit_1_and_write_nothing(
    recipe_file: Path, override: str, expected: str
) -> None:
    before = sorted(p.name for p in recipe_file.parent.iterdir())
    result = runner.invoke(app, ["run", str(recipe_file), "--dry-run", "--set", override])
    assert result.exit_code == 1
    assert expected in " ".join(result.stderr.split())
    assert result.stderr.startswith("error:")
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in recipe_file.parent.iterdir()) == before


def test_run_missing_recipe_is_clean_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(tmp_path / "nope.toml"), "--dry-run"])
    assert result.exit_code == 1 and "does not exist" in result.stderr


def test_console_script_reports_errors_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[optim]\nlrr = 1\n")
    exe = Path(sys.executable).with_name("translkit")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "translkit"]
    out = subprocess.run(
        [*cmd, "run", str(bad), "--dry-run"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert out.returncode == 1
    assert "unknown key 'lrr'" in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == ""


def test_resume_flag_without_value_means_latest() -> None:
    assert _normalise_argv(["run", "r.toml", "--resume"]) == ["run", "r.toml", "--resume", "latest"]
    assert _normalise_argv(["run", "r.toml", "--resume", "--overwrite"])[3] == "latest"
    assert _normalise_argv(["run", "r.toml", "--resume", "c.pt"]) == [
        "run",
        "r.toml",
        "--resume",
        "c.pt",
    ]
