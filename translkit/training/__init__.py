"""The training engine behind ``translkit run`` (CycleGAN, Zhu et al. 2017).

Public API: :func:`train` (what the CLI calls), :class:`TrainResult`,
:class:`~translkit.training.engine.Engine` (one process's networks and step) and
:func:`~translkit.training.evaluate.test_objective` (the study's yardstick on a checkpoint).
"""

from __future__ import annotations

import json
import os
from typing import Any

from translkit.recipe import Recipe

__all__ = ["TrainResult", "train"]


def __getattr__(name: str) -> Any:  # keep `import translkit.training` light
    if name == "TrainResult":
        from translkit.training.trainer import TrainResult

        return TrainResult
    raise AttributeError(name)


def train(
    recipe: Recipe,
    *,
    resume: str | None = None,
    overwrite: bool = False,
    nproc: int = 1,
    progress: bool | None = None,
) -> Any:
    """Train the model a resolved ``recipe`` describes; return a ``TrainResult``.

    :param resume: ``None``; ``"latest"`` (the run directory's ``checkpoints/latest.pt``); or a
        checkpoint path.
    :param overwrite: replace an existing run directory instead of refusing.
    :param nproc: processes on this machine; above 1 this launches ``torch.distributed.run``
        (DDP: gloo on CPU, NCCL on CUDA) unless already started by ``torchrun``.
    :param progress: draw the rich live display (default: when stderr is a terminal).
    """
    from translkit.training.distributed import cleanup, is_launched, launch, setup
    from translkit.training.engine import resolve_device
    from translkit.training.trainer import Trainer, TrainResult

    if nproc > 1 and not is_launched():
        launch(recipe, nproc, resume=resume, overwrite=overwrite)
        summary_path = recipe.run_dir / "summary.json"
        summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
        return TrainResult(
            recipe.run_dir,
            summary.get("epochs", 0),
            summary.get("steps", 0),
            bool(summary.get("finished")),
            bool(summary.get("interrupted")),
            summary,
        )
    if os.environ.get("TRANSLKIT_RECIPE_SOURCE"):
        recipe.source = os.environ["TRANSLKIT_RECIPE_SOURCE"]
    device = resolve_device(recipe.train)
    info = setup(device.type)
    device = resolve_device(recipe.train, info)
    if device.type == "cuda":
        import torch

        torch.cuda.set_device(device)
    if progress is None:
        import sys

        progress = sys.stderr.isatty()
    trainer = None
    try:
        trainer = Trainer(
            recipe, device, info, resume=resume, overwrite=overwrite, show=progress and info.is_main
        )
        return trainer.run()
    finally:
        if trainer is not None:
            trainer.close()
        cleanup(info)
