"""Learning-rate schedules by epoch: constant, linear decay (Zhu et al.), cosine, step.

Each schedule is a pure function of the epoch, so resuming needs only the epoch number
(with ``optim.schedule_by = "time"`` the trainer passes a fractional epoch: the share of
``train.max_minutes`` spent times ``optim.epochs``);
:func:`apply_lr` writes the learning rate into an optimiser's parameter groups.
"""

from __future__ import annotations

import math

import torch

from translkit.recipe import OptimSection

__all__ = ["apply_lr", "lr_factor"]


def lr_factor(optim: OptimSection, epoch: float) -> float:
    """Multiplier of the base learning rate during 0-based ``epoch`` (an int, or a
    fractional epoch for a schedule that follows the time budget).

    - ``constant``: 1.
    - ``linear``: 1 until ``decay_start`` (default ``epochs // 2``), then linearly towards 0
      as in Zhu et al.: ``1 - max(0, epoch + 1 - decay_start) / (epochs - decay_start + 1)``.
    - ``cosine``: ``0.5 * (1 + cos(pi * epoch / epochs))``.
    - ``step``: ``gamma ** (epoch // step_size)``.
    """
    total = max(1, optim.epochs)
    if optim.schedule == "constant":
        return 1.0
    if optim.schedule == "linear":
        start = optim.decay_start if optim.decay_start is not None else total // 2
        return 1.0 - max(0, epoch + 1 - start) / float(total - start + 1)
    if optim.schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(epoch, total) / total))
    if optim.schedule == "step":
        return optim.gamma ** (epoch // max(1, optim.step_size))
    raise ValueError(f"unknown schedule {optim.schedule!r}")  # the recipe type forbids this


def apply_lr(optimizer: torch.optim.Optimizer, base_lr: float, factor: float) -> float:
    """Set every group of ``optimizer`` to ``base_lr * factor``; return that rate."""
    lr = base_lr * factor
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr
