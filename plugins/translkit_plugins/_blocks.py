"""Shared building blocks of the built-in networks: norms, padding, weight init, presets.

The conventions are those of Zhu et al.'s CycleGAN reference implementation
(``networks.py`` of junyanz/pytorch-CycleGAN-and-pix2pix): instance norm without affine
parameters or running statistics, batch norm with both, conv biases only where no batch
norm follows, and ``N(0, 0.02)`` weights (``init="normal"``, ``init_gain=0.02``).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable
from typing import Any, Literal

import torch
from torch import nn

from translkit.errors import ComponentError, suggest

__all__ = [
    "INITS",
    "NORMS",
    "PADDINGS",
    "UPSAMPLES",
    "Init",
    "Norm",
    "Padding",
    "Upsample",
    "check_choice",
    "conv_bias",
    "dropout_rate",
    "init_weights",
    "make_norm",
    "make_pad",
    "preset",
]

# Option types of the built-in networks; recipes are checked against them at resolve time.
Norm = Literal["instance", "batch", "none"]
Padding = Literal["reflect", "zeros"]
Upsample = Literal["transposed", "resize_conv", "bilinear"]
Init = Literal["normal", "xavier", "kaiming", "orthogonal"]
NORMS: tuple[str, ...] = typing.get_args(Norm)
PADDINGS: tuple[str, ...] = typing.get_args(Padding)
UPSAMPLES: tuple[str, ...] = typing.get_args(Upsample)
INITS: tuple[str, ...] = typing.get_args(Init)


def check_choice(what: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``; else raise a :class:`ComponentError`."""
    choices = tuple(choices)
    if value not in choices:
        raise ComponentError(
            f"option {what}={value!r} is not valid{suggest(str(value), choices)}; "
            f"choose one of {', '.join(choices)}"
        )
    return value


def dropout_rate(value: bool | float) -> float:
    """``dropout`` as a probability: ``True`` → 0.5 (Zhu's), ``False`` → 0, else itself
    (its bounds, [0, 1), are the factory's annotation)."""
    if isinstance(value, bool):
        return 0.5 if value else 0.0
    return float(value)


def make_norm(norm: str, channels: int) -> nn.Module:
    """The normalisation layer for ``norm`` (``none`` gives ``nn.Identity`` to keep indices)."""
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if norm == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if norm == "none":
        return nn.Identity()
    check_choice("norm", norm, NORMS)
    raise AssertionError("unreachable")  # pragma: no cover


def conv_bias(norm: str) -> bool:
    """Whether a conv followed by ``norm`` carries a bias (not before batch norm)."""
    return norm != "batch"


def make_pad(padding: str, amount: int) -> nn.Module:
    """A padding module (reflect or zeros), so layer indices do not depend on the choice."""
    if padding == "reflect":
        return nn.ReflectionPad2d(amount)
    if padding == "zeros":
        return nn.ZeroPad2d(amount)
    check_choice("padding", padding, PADDINGS)
    raise AssertionError("unreachable")  # pragma: no cover


_INITIALISERS: dict[str, Callable[[torch.Tensor, float], Any]] = {
    "normal": lambda w, gain: nn.init.normal_(w, 0.0, gain),
    "xavier": lambda w, gain: nn.init.xavier_normal_(w, gain=gain),
    "kaiming": lambda w, gain: nn.init.kaiming_normal_(w, a=0, mode="fan_in"),
    "orthogonal": lambda w, gain: nn.init.orthogonal_(w, gain=gain),
}


def init_weights(net: nn.Module, init: str = "normal", gain: float = 0.02) -> nn.Module:
    """Initialise conv/linear weights by ``init`` (biases 0) and batch norms ``N(1, gain)``.

    ``normal`` is ``N(0, gain)``; ``xavier`` and ``orthogonal`` use ``gain``; ``kaiming``
    is fan-in He init (``gain`` unused), all as in Zhu et al.'s ``init_weights``. Both are
    the factories' options, checked against their annotations (``Init``, ``init_gain``).
    """
    initialise = _INITIALISERS[init]
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            initialise(m.weight, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return net


def preset(factory: Callable[..., Any], fixed: dict[str, Any], doc: str) -> Callable[..., Any]:
    """A factory for a named preset: ``factory`` with the options in ``fixed`` pinned.

    The returned callable's signature lists only the remaining options (so recipes and
    ``translkit run --dry-run`` show them) and its docstring is ``doc``.
    """
    sig = inspect.signature(factory, eval_str=True)  # real types, for resolve-time checks
    params = [p for name, p in sig.parameters.items() if name not in fixed]

    def build(**options: Any) -> Any:  # a pinned option is refused by Registry.create
        return factory(**fixed, **options)

    build.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    build.__doc__ = doc
    build.__module__ = factory.__module__
    build.__qualname__ = build.__name__ = f"{factory.__name__}_preset"
    return build
