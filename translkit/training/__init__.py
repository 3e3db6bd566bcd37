"""The training engine behind ``translkit run``.

Public API: :func:`train` (what the CLI calls) and :class:`TrainResult`;
:class:`~translkit.training.engine.Engine` holds one process's model and step.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from translkit.recipe import Recipe

if TYPE_CHECKING:  # the annotations only: importing these would load torch
    from translkit.plugin_manager import PluginSet
    from translkit.registry import Registries
    from translkit.training.trainer import EvaluationCallback, TrainResult

__all__ = ["TrainResult", "train"]


def __getattr__(name: str) -> Any:  # keep `import translkit.training` light
    if name == "TrainResult":
        from translkit.training.trainer import TrainResult

        return TrainResult
    raise AttributeError(name)


def train(
    recipe: Recipe,
    *,
    registries: Registries | None = None,
    plugins: PluginSet | None = None,
    resume: str | None = None,
    overwrite: bool = False,
    nproc: int = 1,
    progress: bool | None = None,
    on_evaluation: EvaluationCallback | None = None,
) -> TrainResult:
    """Train the model a resolved ``recipe`` describes; return a :class:`TrainResult`.

    :param registries: where components come from (default: the installed plugins plus the
        recipe's ``plugins``, loaded here — this is an entry point).
    :param plugins: the :class:`~translkit.plugin_manager.PluginSet` behind ``registries``,
        recorded in the run directory's ``environment.json``.
    :param resume: ``None``; ``"latest"`` (the run directory's ``checkpoints/latest.pt``); or a
        checkpoint path.
    :param overwrite: replace an existing run directory instead of refusing.
    :param nproc: processes on this machine; above 1 this launches ``torch.distributed.run``
        (gloo on CPU, NCCL on CUDA) unless already started by ``torchrun``.
    :param progress: draw the rich live display (default: when stderr is a terminal).
    :param on_evaluation: called on rank 0 with each evaluation's record (``epoch``,
        ``step``, the ``eval.jsonl`` values); a non-empty string it returns stops the run
        cleanly with that reason (checkpoint kept, ``summary.json``'s ``stopped``). In this
        process only: not with ``nproc > 1`` (start such a job with ``torchrun`` instead).
    """
    from translkit.rundir import RunDir
    from translkit.training.distributed import cleanup, is_launched, launch, setup
    from translkit.training.engine import training_device
    from translkit.training.trainer import Trainer, TrainResult

    if registries is None:
        from translkit.plugin_manager import load_plugins

        plugins = load_plugins(recipe.plugins)
        registries = plugins.registries
    if nproc > 1 and not is_launched():
        if on_evaluation is not None:
            raise ValueError("on_evaluation needs the training in this process: nproc = 1")
        with RunDir(recipe.run_dir).lock():
            pass  # fail now, not in every worker, when another run holds the directory
        launch(recipe, nproc, resume=resume, overwrite=overwrite)
        from translkit.artifacts import RunSummary

        run = RunDir(recipe.run_dir)
        record = RunSummary.read(run.summary_file)
        summary = record.to_dict() if record is not None else {}
        return TrainResult(
            run.path,
            summary.get("epochs", 0),
            summary.get("steps", 0),
            bool(summary.get("finished")),
            int(summary.get("signal") or 0),
            summary,
        )
    device = training_device(recipe.train)
    info = setup(device.type)
    device = training_device(recipe.train, info)
    if device.type == "cuda":
        import torch

        torch.cuda.set_device(device)
    if progress is None:
        progress = sys.stderr.isatty()
    trainer = None
    lock = RunDir(recipe.run_dir).lock() if info.is_main else _no_lock()
    try:
        with lock:
            trainer = Trainer(
                recipe,
                device,
                info,
                registries,
                resume=resume,
                overwrite=overwrite,
                show=progress and info.is_main,
                plugins=plugins,
                on_evaluation=on_evaluation,
            )
            return trainer.run_loop()
    finally:
        if trainer is not None:
            trainer.close()
        cleanup(info)


def _no_lock() -> Any:
    from contextlib import nullcontext

    return nullcontext()
