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

Under bf16/fp16 autocast, normalisation is not on autocast's list of fp32 operations on
the CPU: a batch, instance or group norm fed by a bf16 convolution would run in bf16.
:func:`float32_norms` makes every normalisation layer of a network upcast its input and
run (and return) in fp32; it changes no parameter or buffer either.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["NORM_TYPES", "float32_norms", "instance_norm_as_group_norm", "swap_instance_norms"]

#: The normalisation layers :func:`float32_norms` covers (batch, instance, sync batch norm
#: derive from ``_NormBase``).
NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm, nn.LocalResponseNorm)


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


def _upcast_inputs(module: nn.Module, args: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(
        a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in args
    )


def float32_norms(net: nn.Module) -> int:
    """Make every normalisation layer of ``net`` compute in fp32 under autocast.

    A forward pre-hook upcasts the layer's input (a no-op for fp32 inputs); the layer's
    own parameters are fp32, so it computes and returns fp32. Idempotent.

    :returns: how many layers were covered (newly or before).
    """
    count = 0
    for module in net.modules():
        if isinstance(module, NORM_TYPES):
            if not getattr(module, "_translkit_fp32", False):
                module.register_forward_pre_hook(_upcast_inputs)
                module._translkit_fp32 = True  # type: ignore[assignment]
            count += 1
    return count
