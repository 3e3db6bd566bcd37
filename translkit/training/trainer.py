"""The training loop behind ``translkit run``: run directory, resume, loop, evaluation, snapshots.

Named steps in the spirit of StyleGAN2-ADA's loop: :meth:`Trainer._prepare_run_dir`,
:meth:`Trainer._restore`, :meth:`Trainer._train_epoch`, :meth:`Trainer._end_of_epoch`,
:meth:`Trainer._evaluate`, :meth:`Trainer._snapshot`, :meth:`Trainer._log`. Rank 0 alone
writes; every process takes part in the collectives (:class:`DistInfo`). SIGINT/SIGTERM
finish the current step, write ``latest.pt`` with the exact data position, and return with
``interrupted`` set to the signal. ``summary.json`` is rewritten with every ``latest.pt``,
so the two always agree.

Two clean stops besides the signals, both ending with a checkpoint and ``stopped`` (why) in
the summary: ``train.max_minutes`` spent (a final evaluation first), and an
``on_evaluation`` callback — called on rank 0 with each evaluation's record — returning a
reason to stop (``translkit sweep`` prunes trials this way).
"""

from __future__ import annotations

import contextlib
import enum
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from translkit.artifacts import (
    Environment,
    RankState,
    RunSummary,
    TrainingSnapshot,
    component_provenance,
    generator_index,
)
from translkit.compile_trial import SETTLE, CompileTrial, steady_pace
from translkit.contracts import MetricSetup
from translkit.errors import CheckpointError, MetricUnavailable, TranslkitError
from translkit.fileio import remove_stale_temporaries
from translkit.metric_adapter import AdaptedMetric, build_metrics
from translkit.recipe import Recipe
from translkit.registry import Registries
from translkit.rundir import RunDir, environment_info
from translkit.training import snapshots as snap
from translkit.training.distributed import DistInfo
from translkit.training.engine import Engine
from translkit.training.logs import RunLog, truncate_jsonl
from translkit.training.schedules import lr_factor

#: The loss plots are redrawn after an epoch at most this often (and at the run's end).
PLOT_EVERY_S = 60.0

__all__ = ["EvaluationCallback", "Stop", "TrainResult", "Trainer"]

#: Called on rank 0 after each evaluation with its record (``epoch``, ``step`` and the
#: ``eval.jsonl`` values); a non-empty string it returns stops the run cleanly with that
#: reason (checkpoint kept, ``summary.json``'s ``stopped``).
EvaluationCallback = Callable[[dict[str, Any]], "str | None"]


class Stop(enum.Enum):
    """Why the loop leaves an epoch early (``NONE``: it reached the epoch's end)."""

    NONE = "none"
    #: SIGINT/SIGTERM: snapshot at the exact data position, ``interrupted`` set.
    SIGNAL = "signal"
    #: ``train.max_steps`` reached: a finished run.
    MAX_STEPS = "max_steps"
    #: ``train.max_minutes`` spent, or the evaluation callback asked: ``stopped`` says which.
    REQUESTED = "requested"


@dataclass
class TrainResult:
    """What :func:`translkit.training.train` returns (on every process).

    ``interrupted`` is the signal number that stopped the run (``signal.SIGINT``,
    ``signal.SIGTERM``), or 0; ``stopped`` says why a run ended before its last epoch
    (``train.max_minutes`` spent, or the evaluation callback's reason), else it is empty.
    """

    run_dir: Path
    epochs: int = 0
    steps: int = 0
    finished: bool = False
    interrupted: int = 0
    summary: dict[str, Any] = field(default_factory=dict)
    stopped: str = ""


class _StopFlag:
    """Set by SIGINT/SIGTERM; a second SIGINT aborts at once."""

    def __init__(self) -> None:
        self.signal: int = 0
        self._old: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signal and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum

    def restore(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Trainer:
    """One process's share of a run (see :func:`translkit.training.train`).

    The caller holds the run directory's lock (rank 0) for the trainer's whole life.
    """

    def __init__(
        self,
        recipe: Recipe,
        device: torch.device,
        info: DistInfo,
        registries: Registries,
        *,
        resume: str | None,
        overwrite: bool,
        show: bool,
        plugins: Any = None,
        on_evaluation: EvaluationCallback | None = None,
    ) -> None:
        self.recipe, self.device, self.info = recipe, device, info
        self.on_evaluation = on_evaluation
        self.stopped = ""  # why the run stops early: time budget, or the callback's reason
        self._requested_stop = ""
        self.registries = registries
        self.run = RunDir(recipe.run_dir)
        self.log: RunLog | None = None
        self.stop = _StopFlag()
        self.threads = _thread_governor(recipe)
        self._configure_torch()
        self._prepare_data()
        self._check_metrics()
        ckpt = self._prepare_run_dir(resume, overwrite)
        _seed_everything(recipe.run.seed + info.rank)
        total = recipe.optim.epochs * self.batches_per_epoch
        self.last_step = min(total, recipe.train.max_steps or total)
        steps = self.last_step - (ckpt.step if ckpt else 0)
        self.engine = Engine(recipe, device, registries, info, steps=max(steps, 0))
        self.threads.cap(self.engine.runtime.threads)  # fewer where they measured faster
        self.pace = _Pace()
        self.trial = self._compile_trial()
        self._check_disk()
        self.epoch, self.batch, self.step = 0, 0, 0
        self.best: dict[str, Any] | None = None
        self.elapsed = 0.0
        self.lr = self.engine.set_lr_factor(1.0)
        if ckpt is not None:
            self._restore(ckpt)
        from translkit.training.evaluate import selection_goal

        self._goal = selection_goal(recipe, registries)
        if info.is_main:
            self._open_log(show, plugins)
        self.samples = self._fixed_samples()

    # -- set-up --------------------------------------------------------------------------
    def _configure_torch(self) -> None:
        if self.recipe.run.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=self.device.type == "cuda")
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
            if self.device.type == "cuda":
                import os

                os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        elif self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

    def _prepare_data(self) -> None:
        from translkit.data import build_train_loader, check_trainable, ensure_dataset

        data, registries = self.recipe.data, self.registries
        if self.info.is_main:  # generates a missing synthetic set; never downloads
            if data.synthetic and not Path(data.root).expanduser().exists():
                n = 2 * (data.synthetic_train + data.synthetic_test)
                print(
                    f"generating the synthetic benchmark at {data.root} ({n} images)",
                    file=sys.stderr,
                )
            root = ensure_dataset(data, registries=registries)
            if data.check:
                check_trainable(root, data, batch_size=self.recipe.optim.batch_size)
        self.info.barrier()
        if not self.info.is_main:
            ensure_dataset(data, registries=registries)
        loader = build_train_loader(
            data,
            batch_size=self.recipe.optim.batch_size,
            seed=self.recipe.run.seed,
            epoch=0,
            rank=self.info.rank,
            world_size=self.info.world_size,
        )
        self.batches_per_epoch = len(loader)

    def _check_metrics(self) -> None:
        """Preflight, cheap: everything evaluation will need (e.g. a metric's weights file)
        exists now. The metrics are built here once and kept for every evaluation."""
        self.metrics: dict[str, AdaptedMetric] = {}
        if not (self.info.is_main and self.recipe.eval.every):
            return
        from translkit.scoring import preflight_metrics

        eval_ = self.recipe.eval
        names = [m for m in eval_.metrics if m != "objective"]
        self.metrics = build_metrics(names, self.registries)
        setup = MetricSetup(
            weights=Path(eval_.metric_weights) if eval_.metric_weights else None,
            data_root=Path(self.recipe.data.root).expanduser(),
        )
        try:  # configured on purpose: a metric that cannot run here is an error, not a skip
            preflight_metrics(self.metrics, setup, required=names)
        except MetricUnavailable as err:
            raise MetricUnavailable(
                f"recipe {self.recipe.source}: [eval] metrics: {err} (or remove it from "
                "eval.metrics)"
            ) from None

    def _prepare_metric_data(self) -> None:
        """The metrics' long work on the dataset (e.g. training their own classifiers), as
        a step of its own before step 1, so that evaluation does not stall mid-run."""
        preparing = [m for m in self.metrics.values() if m.prepares_data]
        if not preparing:
            return
        from translkit.cache import cache_dir

        root = Path(self.recipe.data.root).expanduser()
        names = ", ".join(m.name for m in preparing)
        if self.log is not None:
            self.log.print(f"preparing the data of metric {names} on {root}")
        for metric in preparing:
            metric.prepare_data(root, cache_dir("metrics"), progress=True)

    def _check_disk(self) -> None:
        """Preflight: room for the checkpoints ``keep_last`` implies (plus best, latest and
        one being written)."""
        if not self.info.is_main:
            return
        import shutil

        size = self.engine.state_dict().nbytes()
        files = max(self.recipe.train.keep_last, 0) + 3
        free = shutil.disk_usage(self.run.path).free
        if size * files > free:
            raise TranslkitError(
                f"not enough free disk for {self.run.path}: its checkpoints need about "
                f"{size * files / 1e9:.2f} GB ({files} files of {size / 1e6:.0f} MB: "
                f"train.keep_last = {self.recipe.train.keep_last} plus best, latest and one "
                f"being written) but {free / 1e9:.2f} GB are free; free space, lower "
                "train.keep_last, or set run.output_dir elsewhere"
            )

    def _prepare_run_dir(self, resume: str | None, overwrite: bool) -> TrainingSnapshot | None:
        run = self.run
        used = run.path.is_dir() and any(p.name != RunDir.LOCK for p in run.path.iterdir())
        if used and resume is None and not overwrite:
            hint = (
                "continue it with --resume, replace it with --overwrite"
                if run.latest.is_file()
                else "it has no checkpoint to resume from: replace it with --overwrite"
            )
            raise TranslkitError(
                f"run directory {run.path} already exists; {hint}, or choose another run.name"
            )
        ckpt = snap.resolve_resume(resume, run) if resume is not None else None
        self.info.barrier()
        if self.info.is_main:
            if overwrite and used and resume is None:
                _clear(run)
            run.path.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(run.path)  # the torn writes of a killed run
            if ckpt is not None:
                for path in (run.metrics_file, run.eval_file):
                    truncate_jsonl(path, ckpt.step)
        self.info.barrier()
        return ckpt

    def _restore(self, ckpt: TrainingSnapshot) -> None:
        """Weights, optimisers, schedule position, method state and RNG states."""
        try:
            self.engine.load_state_dict(ckpt.state)
        except (CheckpointError, KeyError, RuntimeError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
            raise CheckpointError(
                f"--resume {ckpt.path}: the checkpoint does not fit this recipe's model "
                f"({first}); resume with the recipe it was trained with: "
                f"translkit run {self.run.path} --resume"
            ) from None
        self.epoch, self.batch, self.step = ckpt.epoch, ckpt.batch, ckpt.step
        self.best, self.elapsed = ckpt.best, ckpt.elapsed
        written_by, world = len(ckpt.ranks), self.info.world_size
        mine = ckpt.rank_state(self.info.rank)
        self.engine.load_method_state(mine.method)
        if mine.rng is not None:
            snap.restore_rng(mine.rng)
        else:  # a rank the snapshot did not have: a fresh stream for this rank and step
            _seed_everything(self.recipe.run.seed + self.info.rank + 7919 * self.step)
        if self.info.is_main:
            print(f"resumed from {ckpt.path} at epoch {self.epoch + 1}, step {self.step}")
            if written_by != world:
                print(
                    f"note: the checkpoint was written by {written_by} process(es), this run "
                    f"has {world}: each process continues an old one's method state (history "
                    f"pools) and new ranks get fresh RNG streams, so "
                    f"the continuation is not bit-identical to one with {written_by}",
                    file=sys.stderr,
                )

    def _open_log(self, show: bool, plugins: Any) -> None:
        recipe = self.recipe
        self.run.write_recipe(recipe)
        decisions = {"precision": self.engine.precision.to_dict()}
        Environment(**environment_info(plugins), decisions=decisions).save(
            self.run.environment_file
        )
        total = recipe.optim.epochs * self.batches_per_epoch
        if recipe.train.max_steps:
            total = min(total, recipe.train.max_steps)
        self.log = RunLog(
            self.run,
            total_steps=total,
            start_step=self.step,
            show=show,
            tensorboard=recipe.train.tensorboard,
        )
        self.log.print(self._header())

    def _header(self) -> str:
        """The first line of the progress display: the runtime's choices and why."""
        procs = f", {self.info.world_size} processes" if self.info.enabled else ""
        where = f"{self.device}{procs}"
        return f"training on {self.engine.runtime.describe(self.threads.describe(), where)}"

    def _fixed_samples(self) -> dict[str, torch.Tensor] | None:
        if not self.info.is_main or self.recipe.eval.num_samples <= 0:
            return None
        from translkit.training.samples import fixed_samples

        return fixed_samples(self.recipe.data, self.recipe.eval.num_samples)

    # -- the loop ------------------------------------------------------------------------
    def run_loop(self) -> TrainResult:
        optim, train = self.recipe.optim, self.recipe.train
        self.stop.install()
        self._prepare_metric_data()
        self._t0 = time.perf_counter() - self.elapsed
        self._plotted = (self.step, time.perf_counter())  # (step, when) of the last drawing
        why = Stop.NONE
        try:
            while self.epoch < optim.epochs and why is Stop.NONE:
                why = self._train_epoch()
                if self.batch == self.batches_per_epoch:  # the epoch is complete
                    self.epoch, self.batch = self.epoch + 1, 0
                    self._end_of_epoch()
                elif why is Stop.REQUESTED:  # time spent mid-epoch: checkpoint, evaluation
                    evaluating = bool(self.recipe.eval.every)
                    self._checkpoint_and_evaluate(due=False, evaluating=evaluating)
                if self.stopped:  # the budget, or the callback at the end of the epoch
                    why = Stop.REQUESTED
            if why is Stop.SIGNAL or (why is Stop.MAX_STEPS and self.batch):
                self._snapshot(epoch_file=False)
        finally:
            self.stop.restore()
        finished = (
            self.epoch >= optim.epochs
            or (why is Stop.MAX_STEPS and bool(train.max_steps))
            or self.stopped.startswith("train.max_minutes")
        )
        # the signal number; 0 on a rank that stops because another rank was signalled
        interrupted = self.stop.signal if why is Stop.SIGNAL else 0
        return self._finish(finished=finished and why is not Stop.SIGNAL, interrupted=interrupted)

    def _spent_minutes(self) -> float:
        """Training minutes so far, resumes included; the same number on every process."""
        seconds = torch.tensor([time.perf_counter() - self._t0], dtype=torch.float64)
        return float(self.info.mean(seconds).item()) / 60.0

    def _follow_budget(self) -> None:
        """``train.max_minutes``: stop when spent; ``schedule_by = "time"``: set the rate."""
        optim, budget = self.recipe.optim, self.recipe.train.max_minutes
        if not budget:
            return
        spent = self._spent_minutes()
        if optim.schedule_by == "time":
            progress = optim.epochs * min(1.0, spent / budget)
            self.lr = self.engine.set_lr_factor(lr_factor(optim, progress))
        if spent >= budget and not self.stopped:
            self.stopped = f"train.max_minutes = {budget:g} spent"

    def _train_epoch(self) -> Stop:
        """Train from the current data position to the end of the epoch, or to a stop."""
        from translkit.data import build_train_loader

        recipe, engine = self.recipe, self.engine
        self.lr = engine.set_lr_factor(lr_factor(recipe.optim, self.epoch))
        self._follow_budget()
        if self.stopped:  # resumed with the budget already spent
            return Stop.REQUESTED
        loader = build_train_loader(
            recipe.data,
            batch_size=recipe.optim.batch_size,
            seed=recipe.run.seed,
            epoch=self.epoch,
            rank=self.info.rank,
            world_size=self.info.world_size,
            skip_batches=self.batch,
            pin_memory=self.device.type == "cuda",
        )
        self._window: dict[str, torch.Tensor] = {}
        self._window_n, self._window_t = 0, time.perf_counter()
        for batch in loader:
            self.threads.tick()  # follow the free cores (translkit.threads)
            with self.pace.step():
                terms = engine.train_step(batch, self.step + 1)
            self.step += 1
            if self.trial is not None and not self.trial.done:
                self._follow_trial(self.pace.times[-1])
            self.batch += 1
            for k, v in terms.items():
                self._window[k] = self._window[k] + v if k in self._window else v
            self._window_n += 1
            if (
                self.step % max(1, recipe.train.log_every) == 0
                or self.batch == self.batches_per_epoch
            ):
                self._log()
            if recipe.train.sample_every and self.step % recipe.train.sample_every == 0:
                self._sample()
            if self.info.any_true(bool(self.stop.signal)):
                return Stop.SIGNAL
            if recipe.train.max_steps and self.step >= recipe.train.max_steps:
                return Stop.MAX_STEPS
            self._follow_budget()
            if self.stopped:
                return Stop.REQUESTED
        return Stop.NONE

    def _compile_trial(self) -> CompileTrial | None:
        """``train.compile = "auto"`` without a recorded compiled pace: tried in this run
        where the runtime planned it (:mod:`translkit.compile_trial`)."""
        if not self.engine.runtime.compile_trial:
            return None
        from translkit.runtime import record_step_times, step_key

        key = step_key(self.recipe, self.engine.runtime)

        def record(**seconds: float) -> None:
            if self.info.is_main:
                record_step_times(key, **seconds)

        # planned only where nothing compiled, so no compile time, was recorded here
        return CompileTrial(
            switch=self.engine.set_compiled, agree=self.info.all_true, record=record
        )

    def _follow_trial(self, seconds: float) -> None:
        assert self.trial is not None
        line = self.trial.after_step(seconds, self.last_step - self.step)
        if self.trial.done:
            self.engine.set_compiled(self.trial.kept, self.trial.reason)
        if line and self.log is not None:
            self.log.print(line)

    def _log(self) -> None:
        n = max(1, self._window_n)
        names = sorted(self._window)
        values = self.info.mean(torch.stack([self._window[k] for k in names]) / n).tolist()
        now = time.perf_counter()
        rate = n * self.recipe.optim.batch_size / max(now - self._window_t, 1e-9)
        self._window, self._window_n, self._window_t = {}, 0, now
        if self.log is None:
            return
        record: dict[str, Any] = {
            "step": self.step,
            "epoch": self.epoch + 1,
            "time": round(now - self._t0, 3),
            "images_per_s": round(rate, 3),
            **{f"lr/{k}": v for k, v in self.lr.items()},
        }
        record.update({f"loss/{k}": float(v) for k, v in zip(names, values, strict=True)})
        self.log.step(record)

    # -- epoch end: snapshot, then evaluation, plots ----------------------------------------
    def _end_of_epoch(self) -> None:
        """Checkpoint first, so a failing evaluation never costs the epoch it evaluates."""
        recipe = self.recipe
        last = self.epoch >= recipe.optim.epochs or bool(self.stopped)
        due = self.epoch % max(1, recipe.train.checkpoint_every) == 0 or last
        every = recipe.eval.every
        evaluating = bool(every) and (self.epoch % every == 0 or last)
        self._checkpoint_and_evaluate(due=due, evaluating=evaluating)

    def _checkpoint_and_evaluate(self, *, due: bool, evaluating: bool) -> None:
        if due or evaluating or self.stopped:
            snapshot = self._snapshot(epoch_file=due)
            if evaluating and self._evaluate():  # record the new best in latest.pt as well
                self._write(snapshot.with_best(self.best), epoch_file=False, best=True)
            if evaluating and self.info.main_says(bool(self._requested_stop)):
                self.stopped = self.stopped or self._requested_stop or "stopped by the callback"
                self._write_summary(finished=False, interrupted=0)
        self._plot(final=False)

    def _plot(self, *, final: bool) -> None:
        """Redraw the loss plots (rank 0) if steps were taken since the last drawing: at the
        run's end, and otherwise (after an epoch) at most every :data:`PLOT_EVERY_S` seconds.
        Drawing the five figures takes about 0.7 s: after every epoch of the quick start
        (15 s epochs) that was 5 % of its training."""
        stale = self._plotted[0] != self.step
        due = final or time.perf_counter() - self._plotted[1] >= PLOT_EVERY_S
        if self.info.is_main and stale and due:
            from translkit.training.plots import write_plots

            write_plots(self.run)
            self._plotted = (self.step, time.perf_counter())

    def _evaluate(self) -> bool:
        """Evaluate on rank 0; return whether this is the best so far (on every rank)."""
        from translkit.training.evaluate import evaluate_engine

        better = False
        self._requested_stop = ""
        if self.info.is_main:
            record = {"epoch": self.epoch, "step": self.step}
            record.update(
                evaluate_engine(self.engine, self.run, self.epoch, self.registries, self.metrics)
            )
            assert self.log is not None
            self.log.evaluation(record)
            if self.on_evaluation is not None:
                self._requested_stop = self.on_evaluation(dict(record)) or ""
            value = record.get(self.recipe.eval.select)
            if value is not None and _improves(value, self.best, self._goal):
                self.best = {"metric": self.recipe.eval.select, "value": value, "epoch": self.epoch}
                better = True
        return self.info.main_says(better)

    def _sample(self) -> None:
        if self.samples is None:
            return
        from translkit.training.samples import render_grid, save_grid

        engine = self.engine
        with torch.random.fork_rng(devices=[]):
            engine.train_mode(False)
            try:
                grid = render_grid(engine.generators(), self.samples, self.device)
            finally:
                engine.train_mode(True)
        save_grid(grid, self.run.sample_grid(self.step))
        if self.log is not None:
            self.log.image("samples", grid, self.step)

    def _snapshot(self, *, epoch_file: bool) -> TrainingSnapshot:
        """Gather every process's state and write ``latest.pt`` (rank 0); return it."""
        ranks = self.info.gather({"method": self.engine.method_state(), "rng": snap.capture_rng()})
        snapshot = TrainingSnapshot(
            recipe=self.recipe.to_dict(),
            components=component_provenance(self.recipe, self.registries),
            generators=generator_index(self.engine.model, self.registries),
            state=self.engine.state_dict(),
            schedulers={k: {"epoch": self.epoch, "lr": v} for k, v in self.lr.items()},
            epoch=self.epoch,
            batch=self.batch,
            step=self.step,
            world_size=self.info.world_size,
            ranks=tuple(RankState(r["method"], r["rng"]) for r in ranks),
            best=self.best,
            elapsed=time.perf_counter() - self._t0,
        )
        self._write(snapshot, epoch_file=epoch_file, best=False)
        return snapshot

    def _write(self, snapshot: TrainingSnapshot, *, epoch_file: bool, best: bool) -> None:
        if not self.info.is_main:
            return
        snap.write_snapshot(
            self.run,
            snapshot,
            epoch_file=epoch_file,
            best=best,
            keep_last=self.recipe.train.keep_last,
        )
        self._write_summary(finished=False, interrupted=0)

    def _summary(self, *, finished: bool, interrupted: int) -> RunSummary:
        seconds = time.perf_counter() - self._t0
        return RunSummary(
            method=self.recipe.method.name,
            directions=list(self.engine.model.directions),
            epochs=self.epoch,
            steps=self.step,
            seconds=round(seconds, 3),
            images_per_s=round(self.step * self.recipe.optim.batch_size / max(seconds, 1e-9), 3),
            device=str(self.device),
            precision=self.engine.precision.to_dict(),
            runtime=self.engine.runtime.to_dict(),
            threads={"last": self.threads.threads, "changes": self.threads.changes},
            world_size=self.info.world_size,
            process_group=self.info.backend or None,
            finished=finished,
            interrupted=bool(interrupted),
            signal=interrupted or None,
            stopped=self.stopped or None,
            best=self.best,
            run_dir=str(self.run.path),
        )

    def _write_summary(self, *, finished: bool, interrupted: int) -> dict[str, Any]:
        summary = self._summary(finished=finished, interrupted=interrupted)
        if self.info.is_main:
            summary.save(self.run.summary_file)
        return summary.to_dict()

    def _finish(self, *, finished: bool, interrupted: int) -> TrainResult:
        self._plot(final=True)
        if self.trial is None or not self.trial.recorded:  # else the trial recorded both
            self.pace.record(self.recipe, self.engine.runtime)
        summary = self._write_summary(finished=finished, interrupted=interrupted)
        if self.log is not None:
            self.log.close(summary)
            self.log = None
        return TrainResult(
            self.run.path, self.epoch, self.step, finished, interrupted, summary, self.stopped
        )

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None


class _Pace:
    """How long this process's training steps take: the first :data:`SETTLE` (where a
    compiled runtime compiles) and the steady pace after them, for ``train.compile =
    "auto"`` in later runs here (:func:`translkit.runtime.record_step_times`)."""

    MIN_STEADY = 5  # steady steps needed to record anything

    clock: Callable[[], float] = staticmethod(time.perf_counter)  # tests: a fake clock

    def __init__(self) -> None:
        self.times: list[float] = []

    @contextlib.contextmanager
    def step(self) -> Iterator[None]:
        start = self.clock()
        yield
        self.times.append(self.clock() - start)

    def record(self, recipe: Recipe, runtime: Any) -> None:
        if len(self.times) - SETTLE < self.MIN_STEADY:
            return
        from translkit.runtime import record_step_times, step_key

        pace, extra = steady_pace(self.times)
        if runtime.compile:
            record_step_times(step_key(recipe, runtime), compiled_s=pace, compile_s=extra)
        else:
            record_step_times(step_key(recipe, runtime), eager_s=pace)


def _clear(run: RunDir) -> None:
    """Empty a run directory for ``--overwrite``, keeping the lock file we hold."""
    import shutil

    for path in run.path.iterdir():
        if path.name == RunDir.LOCK:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _thread_governor(recipe: Recipe) -> Any:
    """Thread count within this process's share of the cores; fixed when deterministic."""
    from translkit.threads import ThreadGovernor, loader_workers, thread_budget

    budget = thread_budget(loader_workers=loader_workers(recipe.data.num_workers))
    return ThreadGovernor(budget, adaptive=not recipe.run.deterministic)


def _improves(value: float, best: dict[str, Any] | None, goal: str) -> bool:
    if best is None:
        return True
    return value < best["value"] if goal == "min" else value > best["value"]
