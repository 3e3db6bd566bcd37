"""Evaluation during training: the method's test objective plus the recipe's metrics.

The objective comes from :func:`translkit.evaluation.test_objective` and the metrics from
:func:`translkit.scoring.score_generators` — the same code ``translkit score`` runs.
"""

from __future__ import annotations

from typing import Any

import torch

from translkit.contracts import KEY_OBJECTIVE
from translkit.errors import RecipeError, suggest
from translkit.evaluation import test_objective
from translkit.recipe import Recipe
from translkit.registry import Registries
from translkit.rundir import RunDir

__all__ = ["evaluate_engine", "selection_goal"]


def evaluate_engine(
    engine: Any, run: RunDir, epoch: int, registries: Registries
) -> dict[str, float]:
    """Test objective (EMA generators when enabled) plus ``eval.metrics`` for a live engine.

    Metric translations go to ``run/eval/epoch_NNNN/<direction>/``. When ``eval.select``
    names a bare metric key (``fid``), the mean of its directions is added under that key.
    """
    recipe = engine.recipe
    model = engine.eval_model()
    with torch.random.fork_rng(devices=[]):
        record = test_objective(model, recipe.data, device=engine.device)
        metrics = [m for m in recipe.eval.metrics if m != KEY_OBJECTIVE]
        if metrics:
            from translkit.scoring import score_generators

            engine.train_mode(False)
            try:
                result = score_generators(
                    model.generators(),
                    recipe.data,
                    metrics,
                    registries,
                    out_dir=run.eval_outputs(epoch),
                    device=str(engine.device),
                    inception_weights=recipe.eval.inception_weights or None,
                )
            finally:
                engine.train_mode(True)
            record.update(result.values)
    select = recipe.eval.select
    if select not in record:
        parts = [v for k, v in record.items() if k.endswith(f"/{select}")]
        if parts:
            record[select] = sum(parts) / len(parts)
    return record


def selection_goal(recipe: Recipe, registries: Registries) -> str:
    """``"min"`` or ``"max"`` for ``eval.select``; a :class:`RecipeError` if nothing yields it."""
    select = recipe.eval.select
    if select == KEY_OBJECTIVE or select.startswith(f"{KEY_OBJECTIVE}/"):
        return "min"
    goals: dict[str, str] = {}
    for name in recipe.eval.metrics:
        if name != KEY_OBJECTIVE:
            goals.update(registries.metrics.create(name).goals)
    key = select.split("/", 1)[1] if select.startswith(("a2b/", "b2a/")) else select
    if key in goals:
        return goals[key]
    choices = [KEY_OBJECTIVE, *goals, *(f"{d}/{k}" for d in ("a2b", "b2a") for k in goals)]
    raise RecipeError(
        f"recipe {recipe.source}: eval.select = {select!r} is not produced by the evaluation"
        f"{suggest(select, choices)}; choose one of {', '.join(choices)} (add its metric to "
        "eval.metrics)"
    )
