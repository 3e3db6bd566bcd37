"""One trial of a sweep, in a process of its own: ``python -m translkit.sweep.worker``.

The sweep process starts one per trial (``--jobs`` at a time) with the trial's recipe file.
The worker trains it as ``translkit run`` would, reports each evaluation's objective to
Optuna through the trainer's ``on_evaluation`` callback, stops cleanly when the pruner
says so, and tells Optuna how the trial ended: complete (its best evaluation), pruned, or
failed with a one-line reason. Interrupted (SIGINT/SIGTERM, or its sweep process gone) it
checkpoints and leaves the trial running, for the next ``translkit sweep`` to resume.
The storage URL comes in the environment (:data:`~translkit.sweep.study.ENV_STORAGE`),
never on the command line where ``ps`` would show a password.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

from translkit.errors import TranslkitError


def _die_with_parent(parent: int) -> None:
    """SIGTERM this process when the sweep process dies, even by kill -9 (Linux)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before we asked
        os.kill(os.getpid(), signal.SIGTERM)


def one_line(err: BaseException) -> str:
    """A failure as one line: translkit's own message, or the exception's class and first line."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    if isinstance(err, TranslkitError):
        return text
    if isinstance(err, MemoryError):
        return "out of memory"
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def best_value(values: dict[int, float], direction: str) -> float | None:
    finite = [v for v in values.values() if math.isfinite(v)]
    if not finite:
        return None
    return max(finite) if direction == "maximize" else min(finite)


def run_trial(args: argparse.Namespace) -> int:
    from translkit.sweep.spec import violations as constraint_values
    from translkit.sweep.study import (
        ATTR_CONSTRAINTS,
        ATTR_EPOCHS,
        ATTR_MINUTES,
        ATTR_PROJECTED,
        ATTR_REASON,
        ENV_STORAGE,
        make_pruner,
        make_sampler,
        open_storage,
        optuna_module,
    )

    optuna = optuna_module()
    config = json.loads(args.config)
    storage = open_storage(os.environ[ENV_STORAGE])
    constraints = config.get("constraints") or {}
    sampler = config.get("sampler")  # its constraints_func stores them as the trial ends
    study = optuna.load_study(
        study_name=args.study,
        storage=storage,
        pruner=make_pruner(config["pruner"]),
        sampler=make_sampler(sampler, constrained=bool(constraints)) if sampler else None,
    )
    trial_id = storage.get_trial_id_from_study_id_trial_number(study._study_id, args.trial)
    trial = optuna.trial.Trial(study, trial_id)
    metric, direction = config["metric"], config["direction"]
    #: per evaluated epoch, the [constraints] values (≤ 0 where met)
    violations: dict[int, list[float]] = {}

    def fail(reason: str) -> int:
        trial.set_user_attr(ATTR_REASON, reason)
        study.tell(args.trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
        print(f"error: {reason}", file=sys.stderr)
        return 1

    try:
        from translkit.plugin_manager import load_plugins
        from translkit.recipe import load_recipe, resolve_recipe
        from translkit.training import train

        recipe = load_recipe(args.recipe)
        plugins = load_plugins([*recipe.plugins, *config.get("plugins", [])])
        recipe = resolve_recipe(recipe, plugins.registries)

        def on_evaluation(record: dict[str, Any]) -> str | None:
            if constraints:
                violations[int(record["epoch"])] = constraint_values(constraints, record)
            value = record.get(metric)
            if value is None or not math.isfinite(float(value)):
                return None
            trial.report(float(value), int(record["epoch"]))
            if trial.should_prune():
                return f"pruned at epoch {record['epoch']} ({metric} {float(value):.4g})"
            return None

        run_dir = recipe.run_dir
        resume = (
            "latest" if args.resume and (run_dir / "checkpoints" / "latest.pt").is_file() else None
        )
        result = train(
            recipe,
            registries=plugins.registries,
            plugins=plugins,
            resume=resume,
            overwrite=resume is None,
            progress=False,
            on_evaluation=on_evaluation,
        )
    except Exception as err:
        traceback.print_exc()
        return fail(one_line(err))
    if result.interrupted:
        print(
            f"trial {args.trial} interrupted; it resumes when the sweep runs again", file=sys.stderr
        )
        return 128 + result.interrupted
    minutes = float(result.summary.get("seconds", 0.0)) / 60.0
    trial.set_user_attr(ATTR_MINUTES, round(minutes, 3))
    trial.set_user_attr(ATTR_EPOCHS, result.epochs)
    values = storage.get_trial(trial_id).intermediate_values
    if result.stopped.startswith("pruned"):
        total = recipe.optim.epochs
        projected = minutes * total / max(result.epochs, 1)
        if recipe.train.max_minutes:
            projected = min(projected, recipe.train.max_minutes)
        trial.set_user_attr(ATTR_PROJECTED, round(max(projected, minutes), 3))
        trial.set_user_attr(ATTR_REASON, result.stopped)
        study.tell(args.trial, state=optuna.trial.TrialState.PRUNED, skip_if_finished=True)
        return 0
    if result.stopped:
        trial.set_user_attr(ATTR_REASON, result.stopped)
    value = best_value(values, direction)
    if value is None:
        return fail(f"no finite {metric} in any evaluation")
    if constraints:  # judged at the evaluation the objective picks (the trial's best.pt)
        epoch = next(e for e, v in sorted(values.items()) if v == value)
        trial.set_user_attr(ATTR_CONSTRAINTS, violations.get(epoch, [1e9]))
    study.tell(args.trial, value, skip_if_finished=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m translkit.sweep.worker")
    parser.add_argument("--study", required=True)
    parser.add_argument("--trial", type=int, required=True)
    parser.add_argument("--recipe", type=Path, required=True)
    parser.add_argument("--config", required=True, help="JSON: metric, direction, pruner")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--parent", type=int, default=0)
    args = parser.parse_args(argv)
    if args.parent:
        _die_with_parent(args.parent)
    return run_trial(args)


if __name__ == "__main__":
    sys.exit(main())
