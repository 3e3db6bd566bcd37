"""Distributed data-parallel training: process setup, collectives, synchronised batch norm.

``torchrun --nproc_per_node N -m translkit run RECIPE`` starts the workers itself;
``translkit run --nproc N`` calls :func:`launch`, which drives torch's own launcher
(``torch.distributed.run``) on the training entry point :mod:`translkit.training.worker`
with the resolved recipe file. Each worker calls :func:`setup` (NCCL on CUDA, gloo on CPU)
and finishes with :func:`cleanup` (barrier, then ``destroy_process_group``: gloo may abort
at exit otherwise). Every collective the trainer needs is a method of :class:`DistInfo`,
a no-op in a single process. Gradients are averaged after each phase's backward pass
(:meth:`DistInfo.average_gradients`), which is what DDP does, for any method's networks
however often they are called. torch's ``SyncBatchNorm`` runs on GPUs only, so on CPU
batch norm is replaced by :class:`CPUSyncBatchNorm`, which synchronises the statistics
through a differentiable all-reduce.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from translkit.errors import TranslkitError
from translkit.recipe import Recipe

__all__ = [
    "CPUSyncBatchNorm",
    "DistInfo",
    "cleanup",
    "convert_sync_batchnorm",
    "is_launched",
    "launch",
    "setup",
]


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job (``world_size`` 1 when not distributed; ``backend``
    the process group's, ``nccl`` or ``gloo``, when torchrun started it, even alone)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # -- collectives (no-ops in a single process) ------------------------------------------
    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def all_true(self, flag: bool) -> bool:
        """Whether ``flag`` holds on every process."""
        return self._reduce_flag(flag, dist.ReduceOp.MIN) if self.enabled else flag

    def any_true(self, flag: bool) -> bool:
        """Whether ``flag`` holds on some process."""
        return self._reduce_flag(flag, dist.ReduceOp.MAX) if self.enabled else flag

    def main_says(self, flag: bool) -> bool:
        """Rank 0's ``flag``, on every process."""
        if not self.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self._device())
        dist.broadcast(t, 0)
        return bool(t.item())

    def gather(self, obj: Any) -> list[Any]:
        """Every process's ``obj`` (picklable, plain data), in rank order."""
        if not self.enabled:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def mean(self, tensor: torch.Tensor) -> torch.Tensor:
        """Mean of ``tensor`` over all processes (the tensor itself when not distributed)."""
        if not self.enabled:
            return tensor
        out = tensor.clone()
        dist.all_reduce(out)
        return out / self.world_size

    def average_gradients(self, params: Sequence[torch.nn.Parameter]) -> None:
        """Replace each gradient by its mean over all processes (one flat all-reduce)."""
        if not self.enabled:
            return
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()

    def _reduce_flag(self, flag: bool, op: Any) -> bool:
        t = torch.tensor([1.0 if flag else 0.0], device=self._device())
        dist.all_reduce(t, op=op)
        return bool(t.item())

    def _device(self) -> torch.device:
        backend = dist.get_backend() if dist.is_initialized() else "gloo"
        return (
            torch.device("cuda", torch.cuda.current_device())
            if backend == "nccl"
            else torch.device("cpu")
        )


def is_launched() -> bool:
    """Whether this process was started by torchrun: ``RANK`` set, and ``WORLD_SIZE`` above 1
    or torchrun's own ``TORCHELASTIC_RUN_ID`` (a 1-process torchrun job, which still joins
    a process group: the quickest check that NCCL works on a single GPU)."""
    if "RANK" not in os.environ:
        return False
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 or "TORCHELASTIC_RUN_ID" in os.environ


def setup(device_type: str) -> DistInfo:
    """Join the process group torchrun describes (gloo on CPU, NCCL on CUDA)."""
    if not is_launched():
        return DistInfo()
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return DistInfo(rank, world, local, str(dist.get_backend()))


def cleanup(info: DistInfo) -> None:
    """Barrier then destroy the process group (gloo can abort at exit otherwise)."""
    if dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


class CPUSyncBatchNorm(_BatchNorm):
    """Batch norm whose batch statistics span every process, for CPU (gloo) training.

    Sums are all-reduced with ``torch.distributed.nn.functional.all_reduce``, whose
    backward all-reduces the gradients, so both passes equal one process holding the
    whole batch.
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        import warnings

        from torch.distributed.nn.functional import all_reduce

        dims = [0, *range(2, x.dim())]
        count = torch.tensor([x.numel() / x.shape[1]], dtype=x.dtype, device=x.device)
        stats = torch.cat([x.sum(dims), (x * x).sum(dims), count])
        with warnings.catch_warnings():  # the autograd-aware all-reduce is what we need here
            warnings.simplefilter("ignore", FutureWarning)
            stats = all_reduce(stats)
        c = x.shape[1]
        n = stats[-1]
        mean, var = stats[:c] / n, stats[c : 2 * c] / n - (stats[:c] / n) ** 2
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                momentum = 0.1 if self.momentum is None else self.momentum
                unbiased = var * n / (n - 1).clamp(min=1)
                self.running_mean.lerp_(mean.detach(), momentum)
                self.running_var.lerp_(unbiased.detach(), momentum)
                self.num_batches_tracked += 1
        shape = [1, c] + [1] * (x.dim() - 2)
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


def convert_sync_batchnorm(module: nn.Module, device_type: str) -> nn.Module:
    """Batch norm → synchronised batch norm (torch's on CUDA, :class:`CPUSyncBatchNorm` on CPU)."""
    if device_type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if isinstance(module, _BatchNorm) and not isinstance(module, CPUSyncBatchNorm):
        new = CPUSyncBatchNorm(
            module.num_features,
            module.eps,
            module.momentum,
            module.affine,
            module.track_running_stats,
        )
        new.load_state_dict(module.state_dict())
        new.train(module.training)
        return new
    for name, child in module.named_children():
        module.add_module(name, convert_sync_batchnorm(child, device_type))
    return module


def launch(recipe: Recipe, nproc: int, *, resume: str | None, overwrite: bool) -> None:
    """Train ``recipe`` in ``nproc`` processes on this machine (``torch.distributed.run``).

    The resolved recipe goes to a temporary file that each worker reads through the
    training entry point (:mod:`translkit.training.worker`); rank 0 writes the run
    directory. Raises :class:`TranslkitError` when a worker fails.
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    with tempfile.TemporaryDirectory(prefix="translkit-ddp-") as tmp:
        path = Path(tmp) / "recipe.toml"
        path.write_text(recipe.to_toml(), encoding="utf-8")
        args = ["--standalone", "--nproc-per-node", str(nproc), "-m", "translkit.training.worker"]
        args += [str(path), "--source", recipe.source]
        if resume is not None:
            args += ["--resume", resume]
        if overwrite:
            args.append("--overwrite")
        from translkit.threads import launcher_env

        threads = launcher_env(nproc, recipe.data.num_workers)  # each worker's share
        os.environ.update(threads)
        try:
            run(parse_args(args))
        except ChildFailedError as err:
            failures = "; ".join(  # the failures are keyed by global rank
                f"rank {rank} {_ended(f.exitcode)}" for rank, f in sorted(err.failures.items())
            )
            raise TranslkitError(
                f"distributed training with {nproc} processes failed ({failures}); "
                "the workers' messages are printed above"
            ) from None
        finally:
            for key in threads:
                os.environ.pop(key, None)
    sys.stdout.flush()


def _ended(exitcode: int) -> str:
    """How a worker ended: ``exit code 1`` or ``killed by SIGKILL``."""
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"
