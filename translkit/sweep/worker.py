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


class _Trial:
    """One Optuna trial seen from its worker: what it reports, and how it ends."""

    def __init__(self, args: argparse.Namespace) -> None:
        from translkit.sweep.study import (
            ENV_STORAGE,
            make_pruner,
            make_sampler,
            open_storage,
            optuna_module,
        )

        self.optuna = optuna = optuna_module()
        self.number = args.trial
        self.config = config = json.loads(args.config)
        self.storage = open_storage(os.environ[ENV_STORAGE])
        self.constraints = config.get("constraints") or {}
        sampler = config.get("sampler")  # its constraints_func stores them as the trial ends
        self.study = optuna.load_study(
            study_name=args.study,
            storage=self.storage,
            pruner=make_pruner(config["pruner"]),
            sampler=make_sampler(sampler, constrained=bool(self.constraints)) if sampler else None,
        )
        self.trial_id = self.storage.get_trial_id_from_study_id_trial_number(
            self.study._study_id, args.trial
        )
        self.trial = optuna.trial.Trial(self.study, self.trial_id)
        self.metric, self.direction = config["metric"], config["direction"]
        #: per evaluated epoch, the [constraints] values (≤ 0 where met)
        self.violations: dict[int, list[float]] = {}

    def on_evaluation(self, record: dict[str, Any]) -> str | None:
        """The trainer's callback: report the objective; a reason to stop when pruned."""
        from translkit.sweep.spec import violations

        if self.constraints:
            self.violations[int(record["epoch"])] = violations(self.constraints, record)
        value = record.get(self.metric)
        if value is None or not math.isfinite(float(value)):
            return None
        self.trial.report(float(value), int(record["epoch"]))
        if self.trial.should_prune():
            return f"pruned at epoch {record['epoch']} ({self.metric} {float(value):.4g})"
        return None

    def fail(self, reason: str) -> int:
        from translkit.sweep.study import ATTR_REASON

        self.trial.set_user_attr(ATTR_REASON, reason)
        self.study.tell(self.number, state=self.optuna.trial.TrialState.FAIL, skip_if_finished=True)
        print(f"error: {reason}", file=sys.stderr)
        return 1

    def prune(self, recipe: Any, result: Any, minutes: float) -> int:
        """Pruned: record the minutes the whole trial would have taken, for the report."""
        from translkit.sweep.study import ATTR_PROJECTED, ATTR_REASON

        projected = minutes * recipe.optim.epochs / max(result.epochs, 1)
        if recipe.train.max_minutes:
            projected = min(projected, recipe.train.max_minutes)
        self.trial.set_user_attr(ATTR_PROJECTED, round(max(projected, minutes), 3))
        self.trial.set_user_attr(ATTR_REASON, result.stopped)
        self.study.tell(
            self.number, state=self.optuna.trial.TrialState.PRUNED, skip_if_finished=True
        )
        return 0

    def complete(self, result: Any) -> int:
        """Finished: the best evaluation is the trial's value (constraints judged there)."""
        from translkit.sweep.study import ATTR_CONSTRAINTS, ATTR_REASON

        if result.stopped:
            self.trial.set_user_attr(ATTR_REASON, result.stopped)
        values = self.storage.get_trial(self.trial_id).intermediate_values
        value = best_value(values, self.direction)
        if value is None:
            return self.fail(f"no finite {self.metric} in any evaluation")
        if self.constraints:  # judged at the evaluation the objective picks (best.pt)
            epoch = next(e for e, v in sorted(values.items()) if v == value)
            self.trial.set_user_attr(ATTR_CONSTRAINTS, self.violations.get(epoch, [1e9]))
        self.study.tell(self.number, value, skip_if_finished=True)
        return 0


def _train(args: argparse.Namespace, trial: _Trial) -> tuple[Any, Any]:
    """Train the trial's recipe as ``translkit run`` would (resuming when asked)."""
    from translkit.plugin_manager import load_plugins
    from translkit.recipe import load_recipe, resolve_recipe
    from translkit.training import train

    recipe = load_recipe(args.recipe)
    plugins = load_plugins([*recipe.plugins, *trial.config.get("plugins", [])])
    recipe = resolve_recipe(recipe, plugins.registries)
    latest = recipe.run_dir / "checkpoints" / "latest.pt"
    resume = "latest" if args.resume and latest.is_file() else None
    result = train(
        recipe,
        registries=plugins.registries,
        plugins=plugins,
        resume=resume,
        overwrite=resume is None,
        progress=False,
        on_evaluation=trial.on_evaluation,
    )
    return recipe, result


def run_trial(args: argparse.Namespace) -> int:
    from translkit.sweep.study import ATTR_EPOCHS, ATTR_MINUTES

    trial = _Trial(args)
    try:
        recipe, result = _train(args, trial)
    except Exception as err:
        traceback.print_exc()
        return trial.fail(one_line(err))
    if result.interrupted:
        print(
            f"trial {args.trial} interrupted; it resumes when the sweep runs again", file=sys.stderr
        )
        return 128 + result.interrupted
    minutes = float(result.summary.get("seconds", 0.0)) / 60.0
    trial.trial.set_user_attr(ATTR_MINUTES, round(minutes, 3))
    trial.trial.set_user_attr(ATTR_EPOCHS, result.epochs)
    if result.stopped.startswith("pruned"):
        return trial.prune(recipe, result, minutes)
    return trial.complete(result)


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
