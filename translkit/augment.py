"""Differentiable augmentation of every discriminator input (Zhao, Liu, Lin, Zhu, Han,
"Differentiable Augmentation for Data-Efficient GAN Training", NeurIPS 2020).

With ``[train] diffaug = "color,translation,cutout"`` the engine makes every discriminator
call of a training step — real and fake images, in the discriminators' update and in the
generators' — see randomly transformed images. The transforms are differentiable, so the
generators learn through them; each image of a batch draws its own parameters, and real
and fake batches are transformed independently (as in the paper). Evaluation and the test
objective see the images unchanged.

The policies are the paper's (``mit-han-lab/data-efficient-gans``, ``DiffAugment_pytorch.py``),
on images in ``[-1, 1]``:

- ``color``: brightness ``+ U(-0.5, 0.5)``, then saturation (distance from the pixel's
  channel mean) ``× U(0, 2)``, then contrast (distance from the image mean) ``× U(0.5, 1.5)``;
- ``translation``: a shift by a whole number of pixels up to ⅛ of the side (rounded) in
  each direction, zero-filled;
- ``cutout``: one square of half the side (rounded) set to zero at a random centre
  (clipped at the borders).

Random numbers come from torch's global generator (on the images' device), which
checkpoints keep, so a resumed run continues the same stream.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from translkit.errors import suggest

__all__ = [
    "POLICIES",
    "Augmented",
    "DiffAugment",
    "PolicyNames",
    "brightness",
    "contrast",
    "cutout",
    "parse_policy",
    "saturation",
    "translation",
]

Transform = Callable[[torch.Tensor], torch.Tensor]


def _uniform(x: torch.Tensor) -> torch.Tensor:
    """One ``U(0, 1)`` per image, shaped to broadcast over ``(N, C, H, W)``."""
    return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device)


def brightness(x: torch.Tensor) -> torch.Tensor:
    """Add ``U(-0.5, 0.5)`` to every pixel of each image."""
    return x + (_uniform(x) - 0.5)


def saturation(x: torch.Tensor) -> torch.Tensor:
    """Scale each pixel's distance from its channel mean by ``U(0, 2)``."""
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (_uniform(x) * 2) + mean


def contrast(x: torch.Tensor) -> torch.Tensor:
    """Scale each image's distance from its mean by ``U(0.5, 1.5)``."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x) + 0.5) + mean


def _shifted_index(size: int, shift: torch.Tensor) -> torch.Tensor:
    """Per image, the source index of each output position in a 1-zero-padded axis:
    positions shifted out of range read the padding (index 0 or ``size + 1``)."""
    positions = torch.arange(size, device=shift.device)[None] + shift[:, None] + 1
    return positions.clamp(0, size + 1)


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its side in each direction; zeros fill in."""
    n, c, h, w = x.shape
    dy, dx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    shift_y = torch.randint(-dy, dy + 1, (n,), device=x.device)
    shift_x = torch.randint(-dx, dx + 1, (n,), device=x.device)
    padded = F.pad(x, (1, 1, 1, 1))
    rows = _shifted_index(h, shift_y)[:, None, :, None].expand(n, c, h, w + 2)
    out = padded.gather(2, rows)
    cols = _shifted_index(w, shift_x)[:, None, None, :].expand(n, c, h, w)
    return out.gather(3, cols)


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero one ``ratio``-of-the-side rectangle per image at a random centre."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    # centres as the reference draws them: an even-sized cut can start one step further
    top = torch.randint(0, h + (1 - ch % 2), (n, 1), device=x.device) - ch // 2
    left = torch.randint(0, w + (1 - cw % 2), (n, 1), device=x.device) - cw // 2
    ys, xs = torch.arange(h, device=x.device)[None], torch.arange(w, device=x.device)[None]
    in_rows = (ys >= top) & (ys < top + ch)
    in_cols = (xs >= left) & (xs < left + cw)
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])
    return x * keep[:, None].to(x.dtype)


#: Policy name -> its transforms, applied in order (the paper's three).
POLICIES: dict[str, tuple[Transform, ...]] = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}


def parse_policy(text: str) -> tuple[str, ...]:
    """``"color,translation"`` -> ``("color", "translation")`` (blanks ignored; ``""`` is
    off); a :class:`ValueError` names an unknown policy and the nearest known one."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    for name in names:
        if name not in POLICIES:
            raise ValueError(
                f"names unknown augmentation policy {name!r}{suggest(name, POLICIES)}; use "
                f"a comma-separated list of {', '.join(POLICIES)} (empty: off)"
            )
    if len(set(names)) != len(names):
        raise ValueError("names a policy twice; name each once")
    return names


class DiffAugment:
    """The transforms of ``policies`` in order, as one callable on ``(N, 3, H, W)`` images."""

    def __init__(self, policies: Sequence[str] | str) -> None:
        names = parse_policy(policies) if isinstance(policies, str) else tuple(policies)
        parse_policy(",".join(names))
        self.policies = names
        self.transforms = [t for name in names for t in POLICIES[name]]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for transform in self.transforms:
            x = transform(x)
        return x

    def __repr__(self) -> str:
        return f"DiffAugment({','.join(self.policies)!r})"


class Augmented:
    """A discriminator that augments every input first: what a method's ``context.run``
    holds for a discriminator role while ``train.diffaug`` is on."""

    def __init__(self, net: Callable[..., Any], augment: Callable[[torch.Tensor], torch.Tensor]):
        self.net, self.augment = net, augment

    def __call__(self, images: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        return self.net(self.augment(images), *args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # the module's attributes (penalties read them)
        if name in ("net", "augment"):  # not set yet (copying, unpickling)
            raise AttributeError(name)
        return getattr(self.net, name)


class PolicyNames:
    """Recipe bound: a comma-separated list of known policies (or ``""`` for off)."""

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        try:
            parse_policy(value)
        except ValueError as err:
            return str(err)
        return None

    def describe(self) -> str:
        return f"comma-separated: {', '.join(POLICIES)}; empty = off"
