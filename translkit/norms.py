"""Exact rewrites of normalisation layers into faster equivalents.

Instance normalisation (Ulyanov et al. 2016, in every CycleGAN generator) is group
normalisation (Wu & He 2018) with one channel per group: both normalise each channel of
each image over its height and width, with the same ``eps`` and optional affine. On the
CPU, PyTorch's ``instance_norm`` runs through a reshaped batch-norm kernel that is slower
than ``group_norm`` (``benchmarks/translate.py``, ``benchmarks/train_step.py``), so
inference and CPU training swap one for the other. Instance norms that track running
statistics are left alone: in eval mode they use those statistics, which group norm cannot.
Neither layer holds buffers, and affine weights keep their names, so state dicts and
checkpoints are unchanged by the swap.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["instance_norm_as_group_norm", "swap_instance_norms"]


def instance_norm_as_group_norm(norm: nn.InstanceNorm2d) -> nn.GroupNorm | None:
    """The ``GroupNorm`` computing what ``norm`` computes, or ``None`` if there is none."""
    if norm.track_running_stats and norm.running_mean is not None:
        return None
    channels = norm.num_features
    gn = nn.GroupNorm(channels, channels, eps=norm.eps, affine=norm.affine)
    if norm.affine:
        with torch.no_grad():
            gn.weight.copy_(norm.weight)
            gn.bias.copy_(norm.bias)
    return gn.to(device=_device_of(norm))


def _device_of(module: nn.Module) -> torch.device:
    for t in module.parameters():
        return t.device
    return torch.device("cpu")


def swap_instance_norms(net: nn.Module) -> int:
    """Replace, in place, every instance norm of ``net`` that has an exact group-norm twin.

    :returns: how many layers were replaced.
    """
    swapped = 0
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.InstanceNorm2d):
                replacement = instance_norm_as_group_norm(child)
                if replacement is not None:
                    replacement.train(child.training)
                    setattr(parent, name, replacement)
                    swapped += 1
    return swapped
