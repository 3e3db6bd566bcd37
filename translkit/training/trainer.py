"""The training loop behind ``translkit run``: run directory, resume, loop, evaluation, snapshots.

Named steps in the spirit of StyleGAN2-ADA's loop: :meth:`Trainer._prepare_run_dir`,
:meth:`Trainer._restore`, :meth:`Trainer._train_epoch`, :meth:`Trainer._evaluate`,
:meth:`Trainer._snapshot`, :meth:`Trainer._log`. Rank 0 alone writes; every process
takes part in collective operations. SIGINT/SIGTERM finish the current step, write
``latest.pt`` with the exact data position, and return with ``interrupted=True``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from translkit.errors import RecipeError
from translkit.fileio import write_text_atomic
from translkit.recipe import Recipe
from translkit.training import checkpoints as ck
from translkit.training.distributed import DistInfo
from translkit.training.engine import Engine
from translkit.training.logs import RunLog, truncate_jsonl
from translkit.training.schedules import apply_lr, lr_factor

__all__ = ["TrainResult", "Trainer"]


@dataclass
class TrainResult:
    """What :func:`translkit.training.train` returns (on every process)."""

    run_dir: Path
    epochs: int = 0
    steps: int = 0
    finished: bool = False
    interrupted: bool = False
    summary: dict[str, Any] = field(default_factory=dict)


class _StopFlag:
    """Set by SIGINT/SIGTERM; a second SIGINT aborts at once."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._old: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signal is not None and signum == signal.SIGINT:
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
    """One process's share of a run (see :func:`translkit.training.train`)."""

    def __init__(
        self,
        recipe: Recipe,
        device: torch.device,
        info: DistInfo,
        *,
        resume: str | None,
        overwrite: bool,
        show: bool,
    ) -> None:
        self.recipe, self.device, self.info = recipe, device, info
        self.run_dir = recipe.run_dir
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.log: RunLog | None = None
        self.stop = _StopFlag()
        self.threads = _thread_governor(recipe)
        self._configure_torch()
        self._prepare_data()
        ckpt = self._prepare_run_dir(resume, overwrite)
        _seed_everything(recipe.run.seed + info.rank)
        self.engine = Engine(recipe, device, info)
        self.epoch, self.batch, self.step = 0, 0, 0
        self.best: dict[str, Any] | None = None
        self.elapsed = 0.0
        if ckpt is not None:
            self._restore(ckpt)
        self._goal = self._selection_goal()
        if info.is_main:
            from translkit.rundir import write_run_metadata

            write_run_metadata(self.run_dir, recipe, precision=self.engine.precision.to_dict())
            total = recipe.optim.epochs * self.batches_per_epoch
            if recipe.train.max_steps:
                total = min(total, recipe.train.max_steps)
            self.log = RunLog(
                self.run_dir,
                total_steps=total,
                start_step=self.step,
                show=show,
                tensorboard=recipe.train.tensorboard,
            )
            self.log.print(self._header())
        self.samples = self._fixed_samples()

    def _header(self) -> str:
        """The first line of the progress display: where, in what precision and why."""
        procs = f", {self.info.world_size} processes" if self.info.enabled else ""
        return (
            f"training on {self.device}{procs}, {self.threads.describe()}; "
            f"{self.engine.precision.describe()}"
        )

    # -- set-up --------------------------------------------------------------------------
    def _configure_torch(self) -> None:
        if self.recipe.run.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=self.device.type == "cuda")
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
            if self.device.type == "cuda":
                os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        elif self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

    def _prepare_data(self) -> None:
        from translkit.data import build_train_loader, check_trainable, ensure_dataset

        data = self.recipe.data
        if self.info.is_main:
            if data.synthetic and not Path(data.root).expanduser().exists():
                n = 2 * (data.synthetic_train + data.synthetic_test)
                print(
                    f"generating the synthetic benchmark at {data.root} ({n} images)",
                    file=sys.stderr,
                )
            root = ensure_dataset(data)
            if data.check:
                check_trainable(root, data)
        _barrier(self.info)
        if not self.info.is_main:
            ensure_dataset(data)
        loader = build_train_loader(
            data,
            batch_size=self.recipe.optim.batch_size,
            seed=self.recipe.run.seed,
            epoch=0,
            rank=self.info.rank,
            world_size=self.info.world_size,
        )
        self.batches_per_epoch = len(loader)

    def _prepare_run_dir(self, resume: str | None, overwrite: bool) -> dict[str, Any] | None:
        run_dir = self.run_dir
        used = run_dir.is_dir() and any(run_dir.iterdir())
        if used and resume is None and not overwrite:
            raise RecipeError(
                f"run directory {run_dir} already exists; continue it with --resume, replace it "
                "with --overwrite, or choose another run.name"
            )
        ckpt = ck.resolve_resume(resume, run_dir) if resume is not None else None
        _barrier(self.info)
        if self.info.is_main:
            if overwrite and used and resume is None:
                shutil.rmtree(run_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
            if ckpt is not None:
                for name in ("metrics.jsonl", "eval.jsonl"):
                    truncate_jsonl(run_dir / name, ckpt["step"])
        _barrier(self.info)
        return ckpt

    def _restore(self, ckpt: dict[str, Any]) -> None:
        """Weights, optimisers, schedule position, pools and RNG states from a snapshot."""
        self.engine.load_state_dict(ckpt)
        self.epoch, self.batch, self.step = ckpt["epoch"], ckpt["batch"], ckpt["step"]
        self.best, self.elapsed = ckpt.get("best"), float(ckpt.get("elapsed", 0.0))
        written_by, world = len(ckpt["ranks"]), self.info.world_size
        mine = ck.reshard_ranks(ckpt["ranks"], world)[self.info.rank]
        self.engine.load_pool_states(mine["pools"])
        if mine["rng"] is not None:
            ck.restore_rng(mine["rng"])
        else:  # a rank the snapshot did not have: a fresh stream for this rank and step
            _seed_everything(self.recipe.run.seed + self.info.rank + 7919 * self.step)
        if self.info.is_main:
            print(f"resumed from {ckpt['_path']} at epoch {self.epoch + 1}, step {self.step}")
            if written_by != world:
                print(
                    f"note: the checkpoint was written by {written_by} process(es), this run "
                    f"has {world}: history pools re-sharded and RNG streams re-derived, so "
                    f"the continuation is not bit-identical to one with {written_by}",
                    file=sys.stderr,
                )

    def _fixed_samples(self) -> dict[str, torch.Tensor] | None:
        if not self.info.is_main or self.recipe.eval.num_samples <= 0:
            return None
        from translkit.training.samples import fixed_samples

        return fixed_samples(self.recipe.data, self.recipe.eval.num_samples)

    def _selection_goal(self) -> str:
        from translkit.training.evaluate import selection_goal

        return selection_goal(self.recipe)

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> TrainResult:
        optim, train = self.recipe.optim, self.recipe.train
        self.stop.install()
        self._t0 = time.perf_counter() - self.elapsed
        interrupted = max_reached = False
        try:
            while self.epoch < optim.epochs and not (interrupted or max_reached):
                interrupted, max_reached = self._train_epoch()
                if self.batch == self.batches_per_epoch:  # the epoch is complete
                    self.epoch, self.batch = self.epoch + 1, 0
                    self._end_of_epoch()
            if interrupted or (max_reached and self.batch):
                self._snapshot(epoch_file=False, best=False)
        finally:
            self.stop.restore()
        finished = self.epoch >= optim.epochs or bool(max_reached and train.max_steps)
        return self._finish(finished=finished and not interrupted, interrupted=interrupted)

    def _train_epoch(self) -> tuple[bool, bool]:
        """Train from the current data position to the end of the epoch (or a stop)."""
        from translkit.data import build_train_loader

        recipe, engine = self.recipe, self.engine
        factor = lr_factor(recipe.optim, self.epoch)
        self.lr = {
            "G": apply_lr(engine.opt_G, engine.base_lr["G"], factor),
            "D": apply_lr(engine.opt_D, engine.base_lr["D"], factor),
        }
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
            terms = engine.train_step(batch, self.step + 1)
            self.step += 1
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
            if self._stop_requested():
                return True, False
            if recipe.train.max_steps and self.step >= recipe.train.max_steps:
                return False, True
        return False, False

    def _stop_requested(self) -> bool:
        flag = self.stop.signal is not None
        if self.info.enabled:
            import torch.distributed as dist

            t = torch.tensor([1.0 if flag else 0.0], device=self.device)
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
            flag = bool(t.item())
        return flag

    def _log(self) -> None:
        from translkit.training.distributed import all_reduce_mean

        n = max(1, self._window_n)
        names = sorted(self._window)
        values = all_reduce_mean(
            torch.stack([self._window[k] for k in names]) / n, self.info
        ).tolist()
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
            "lr/G": self.lr["G"],
            "lr/D": self.lr["D"],
        }
        record.update({f"loss/{k}": float(v) for k, v in zip(names, values, strict=True)})
        self.log.step(record)

    # -- epoch end: evaluation, plots, snapshots ----------------------------------------
    def _end_of_epoch(self) -> None:
        recipe = self.recipe
        last = self.epoch >= recipe.optim.epochs
        is_best = False
        every = recipe.eval.every
        if every and (self.epoch % every == 0 or last):
            is_best = self._evaluate()
        if self.info.is_main:
            from translkit.training.plots import write_plots

            write_plots(self.run_dir)
        due = self.epoch % max(1, recipe.train.checkpoint_every) == 0 or last
        if due or is_best:
            self._snapshot(epoch_file=due, best=is_best)

    def _evaluate(self) -> bool:
        """Evaluate on rank 0; return whether this is the best so far (on every rank)."""
        from translkit.training.evaluate import evaluate_engine

        better = torch.zeros(1)
        if self.info.is_main:
            record = {"epoch": self.epoch, "step": self.step}
            record.update(evaluate_engine(self.engine, self.run_dir, self.epoch))
            assert self.log is not None
            self.log.evaluation(record)
            value = record.get(self.recipe.eval.select)
            if value is not None and _improves(value, self.best, self._goal):
                self.best = {"metric": self.recipe.eval.select, "value": value, "epoch": self.epoch}
                better[0] = 1
        if self.info.enabled:
            import torch.distributed as dist

            better = better.to(self.device)
            dist.broadcast(better, 0)
        return bool(better.item())

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
        save_grid(grid, self.run_dir / "samples" / f"step_{self.step:07d}.png")
        if self.log is not None:
            self.log.image("samples", grid, self.step)

    def _snapshot(self, *, epoch_file: bool, best: bool) -> None:
        own = {"pools": self.engine.pool_states(), "rng": ck.capture_rng()}
        ranks = [own]
        if self.info.enabled:
            import torch.distributed as dist

            ranks = [None] * self.info.world_size
            dist.all_gather_object(ranks, own)
        if not self.info.is_main:
            return
        snapshot = {
            "recipe": self.recipe.to_dict(),
            **self.engine.state_dict(),
            "schedulers": {k: {"epoch": self.epoch, "lr": v} for k, v in self.lr.items()},
            "epoch": self.epoch,
            "batch": self.batch,
            "step": self.step,
            "world_size": self.info.world_size,
            "ranks": ranks,
            "best": self.best,
            "elapsed": time.perf_counter() - self._t0,
        }
        ck.write_snapshot(
            self.ckpt_dir,
            snapshot,
            epoch_file=epoch_file,
            best=best,
            keep_last=self.recipe.train.keep_last,
        )

    def _finish(self, *, finished: bool, interrupted: bool) -> TrainResult:
        seconds = time.perf_counter() - self._t0
        summary = {
            "epochs": self.epoch,
            "steps": self.step,
            "seconds": round(seconds, 3),
            "images_per_s": round(self.step * self.recipe.optim.batch_size / max(seconds, 1e-9), 3),
            "device": str(self.device),
            "precision": self.engine.precision.to_dict(),
            "threads": {"last": self.threads.threads, "changes": self.threads.changes},
            "world_size": self.info.world_size,
            "finished": finished,
            "interrupted": interrupted,
            "best": self.best,
            "run_dir": str(self.run_dir),
        }
        if self.info.is_main:
            write_text_atomic(self.run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
            if self.log is not None:
                self.log.close(summary)
                self.log = None
        return TrainResult(self.run_dir, self.epoch, self.step, finished, interrupted, summary)

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None


def _thread_governor(recipe: Recipe) -> Any:
    """Thread count within this process's share of the cores; fixed when deterministic."""
    from translkit.threads import ThreadGovernor, loader_workers, thread_budget

    budget = thread_budget(loader_workers=loader_workers(recipe.data.num_workers))
    return ThreadGovernor(budget, adaptive=not recipe.run.deterministic)


def _improves(value: float, best: dict[str, Any] | None, goal: str) -> bool:
    if best is None:
        return True
    return value < best["value"] if goal == "min" else value > best["value"]


def _barrier(info: DistInfo) -> None:
    if info.enabled:
        import torch.distributed as dist

        dist.barrier()
