"""Evaluation during training: the method's test objective plus the recipe's metrics.

The objective comes from :func:`translkit.evaluation.held_out_objective` and the metrics from
:func:`translkit.scoring.score_generators` — the same code ``translkit score`` runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from translkit.contracts import KEY_OBJECTIVE
from translkit.evaluation import held_out_objective
from translkit.metric_adapter import AdaptedMetric, build_metrics
from translkit.recipe import selection_goal
from translkit.registry import Registries
from translkit.rundir import RunDir

__all__ = ["evaluate_engine", "selection_goal"]


def evaluate_engine(
    engine: Any,
    run: RunDir,
    epoch: int,
    registries: Registries,
    metrics: Mapping[str, AdaptedMetric] | None = None,
) -> dict[str, float]:
    """Test objective (EMA generators when enabled) plus ``eval.metrics`` for a live engine.

    ``metrics``: the ``eval.metrics`` already built (the trainer keeps them, and their
    caches, for the whole run); built here when not given.

    Metric translations go to ``run/eval/epoch_NNNN/<direction>/``. When ``eval.select``
    names a bare metric key (``fid``), the mean of its directions is added under that key.
    """
    recipe = engine.recipe
    model = engine.eval_model()
    with torch.random.fork_rng(devices=[]):
        record = held_out_objective(model, recipe.data, device=engine.device)
        if metrics is None:
            metrics = build_metrics(
                [m for m in recipe.eval.metrics if m != KEY_OBJECTIVE], registries
            )
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
                    metric_weights=recipe.eval.metric_weights or None,
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
