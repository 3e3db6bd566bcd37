"""Shortening a run is the most common override: ``--set optim.epochs=N`` alone scales the
recipe's ``decay_start`` with it and says so in one line; a ``decay_start`` set by hand that
does not fit still fails in one line."""

from __future__ import annotations

import tomllib
from pathlib import Path

from typer.testing import CliRunner

from translkit.cli import app
from translkit.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = str(ROOT / "recipes" / "quickstart.toml")
runner = CliRunner()


def _dry_run(*sets: str):  # type: ignore[no-untyped-def]
    args = ["run", QUICKSTART, "--dry-run"]
    for item in sets:
        args += ["--set", item]
    return runner.invoke(app, args)


def test_quickstart_with_one_epoch_dry_runs_and_says_what_it_scaled() -> None:
    result = _dry_run("optim.epochs=1")
    assert result.exit_code == 0, result.output
    optim = tomllib.loads(result.stdout)["optim"]
    assert optim["epochs"] == 1 and optim["decay_start"] == 0
    (line,) = result.stderr.splitlines()
    assert "optim.decay_start 3 → 0" in line and "optim.epochs 6 → 1" in line


def test_longer_run_keeps_the_recipe_proportion() -> None:
    recipe = load_recipe(QUICKSTART, ["optim.epochs=12"])
    assert recipe.optim.decay_start == 6 and len(recipe.notes) == 1


def test_unchanged_epochs_or_explicit_decay_start_is_left_alone() -> None:
    assert load_recipe(QUICKSTART, ["optim.epochs=6"]).notes == []
    recipe = load_recipe(QUICKSTART, ["optim.epochs=4", "optim.decay_start=4"])
    assert recipe.optim.decay_start == 4 and recipe.notes == []


def test_explicit_decay_start_after_the_last_epoch_fails_in_one_line() -> None:
    result = _dry_run("optim.epochs=1", "optim.decay_start=3")
    assert result.exit_code == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "optim.decay_start (3) is after the last epoch" in line


def test_other_schedules_do_not_read_decay_start() -> None:
    recipe = load_recipe(QUICKSTART, ["optim.epochs=1", "optim.schedule=cosine"])
    assert recipe.notes == [] and recipe.optim.decay_start == 3
