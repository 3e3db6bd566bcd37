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
run (and return) in fp32; it changes no parameter or buffer either. Group norms (which
instance norms become on the CPU) do it without keeping an fp32 copy of their input for
the backward pass: they keep the reduced-precision input and recompute the cheap forward
(:class:`Float32GroupNorm`; −120 MB at 128 px for ResNet-9 + PatchGAN).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "NORM_TYPES",
    "Float32GroupNorm",
    "float32_norms",
    "instance_norm_as_group_norm",
    "swap_instance_norms",
]

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


class _GroupNormFloat32(torch.autograd.Function):
    """``group_norm(x.float(), ...)`` that saves ``x`` as it came (bf16: half the memory
    of the fp32 copy) and recomputes the forward in the backward pass."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, groups: int, weight: Any, bias: Any, eps: float):
        ctx.groups, ctx.eps = groups, eps
        ctx.save_for_backward(x, weight, bias)
        return F.group_norm(x.float(), groups, weight, bias, eps)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        x, weight, bias = ctx.saved_tensors
        need_x, _, need_w, need_b = ctx.needs_input_grad[:4]
        with torch.enable_grad():
            xf = x.detach().float().requires_grad_(need_x)
            w = weight.detach().requires_grad_(need_w) if weight is not None else None
            b = bias.detach().requires_grad_(need_b) if bias is not None else None
            y = F.group_norm(xf, ctx.groups, w, b, ctx.eps)
            wanted = [t for t in (xf, w, b) if t is not None and t.requires_grad]
            grads = iter(torch.autograd.grad(y, wanted, grad) if wanted else ())
        gx = next(grads).to(x.dtype) if need_x else None
        gw = next(grads) if need_w else None
        gb = next(grads) if need_b else None
        return gx, None, gw, gb, None


class Float32GroupNorm(nn.GroupNorm):
    """A ``GroupNorm`` that computes in fp32 whatever its input's precision (same
    parameters and state dict); see the module docstring for its memory."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float32 or not torch.is_grad_enabled():
            return F.group_norm(x.float(), self.num_groups, self.weight, self.bias, self.eps)
        return _GroupNormFloat32.apply(x, self.num_groups, self.weight, self.bias, self.eps)


def _as_float32_group_norm(norm: nn.GroupNorm) -> Float32GroupNorm:
    new = Float32GroupNorm(norm.num_groups, norm.num_channels, norm.eps, affine=False)
    new.affine = norm.affine
    new.weight, new.bias = norm.weight, norm.bias  # the same Parameter objects
    return new.train(norm.training)


def float32_norms(net: nn.Module) -> int:
    """Make every normalisation layer of ``net`` compute (and return) fp32 under autocast.

    Group norms become :class:`Float32GroupNorm` (sharing their parameters); any other
    normalisation layer gets a forward pre-hook that upcasts its input (a no-op for fp32
    inputs; its own parameters are fp32). State dicts are unchanged. Idempotent.

    :returns: how many layers were covered (newly or before).
    """
    count = 0
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.GroupNorm:
                setattr(parent, name, _as_float32_group_norm(child))
    for module in net.modules():
        if isinstance(module, Float32GroupNorm):
            count += 1
        elif isinstance(module, NORM_TYPES):
            if not getattr(module, "_translkit_fp32", False):
                module.register_forward_pre_hook(_upcast_inputs)
                module._translkit_fp32 = True  # type: ignore[assignment]
            count += 1
    return count
