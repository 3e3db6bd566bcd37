"""`train.max_minutes`, `optim.schedule_by = "time"` and the trainer's evaluation callback
(the seam `translkit sweep` prunes through)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from training_support import tiny_recipe

from translkit.errors import RecipeError
from translkit.recipe import OptimSection, recipe_from_dict
from translkit.training import train
from translkit.training.schedules import lr_factor


def _evals(run_dir: Path) -> list[dict]:
    lines = (run_dir / "eval.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_callback_stops_the_run_cleanly(tmp_path: Path) -> None:
    recipe = tiny_recipe(tmp_path, optim={"epochs": 4})
    seen: list[dict] = []

    def prune(record: dict) -> str | None:
        seen.append(record)
        return "pruned at epoch 2" if record["epoch"] == 2 else None

    result = train(recipe, on_evaluation=prune, progress=False)
    assert [r["epoch"] for r in seen] == [1, 2]
    assert "objective" in seen[0]
    assert result.stopped == "pruned at epoch 2" and not result.finished
    assert result.epochs == 2
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["stopped"] == "pruned at epoch 2" and summary["finished"] is False
    assert (result.run_dir / "checkpoints" / "latest.pt").is_file()
    # the stopped run resumes like any other and runs to the end
    again = train(recipe, resume="latest", progress=False)
    assert again.finished and again.epochs == 4 and not again.stopped


def test_max_minutes_stops_with_checkpoint_and_final_evaluation(tmp_path: Path) -> None:
    recipe = tiny_recipe(
        tmp_path, optim={"epochs": 50}, train={"max_minutes": 0.0001}, eval={"every": 10}
    )
    result = train(recipe, progress=False)
    assert result.epochs < 50 and result.steps >= 1
    assert result.finished and result.stopped == "train.max_minutes = 0.0001 spent"
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["stopped"] == result.stopped
    assert (result.run_dir / "checkpoints" / "latest.pt").is_file()
    evals = _evals(result.run_dir)
    assert len(evals) == 1 and evals[0]["step"] == result.steps  # the final evaluation


def test_schedule_by_time_needs_a_budget() -> None:
    with pytest.raises(RecipeError, match='schedule_by = "time" follows train.max_minutes'):
        recipe_from_dict({"optim": {"schedule_by": "time"}})
    recipe_from_dict({"optim": {"schedule_by": "time"}, "train": {"max_minutes": 5}})


def test_time_schedule_runs_on_a_fractional_epoch() -> None:
    optim = OptimSection(epochs=10, schedule="linear", decay_start=5, schedule_by="time")
    assert lr_factor(optim, 2.5) == 1.0
    assert lr_factor(optim, 7.5) == pytest.approx(1 - 3.5 / 6)
    assert lr_factor(optim, 10.0) == pytest.approx(0.0)
