"""What the core expects of each kind of component a plugin registers.

- **generators** — ``factory(**options) -> nn.Module`` mapping ``(N, 3, H, W)`` in
  ``[-1, 1]`` to the same shape. It may set ``size_multiple`` (an int) when inputs must be
  divisible by it (UNet: ``2 ** num_downs``); inference pads to it and crops back. It may
  set ``min_size`` (an int), the smallest side it runs on (ResNet: 8, where the bottleneck
  is 2×2); inference pads smaller images up to it. Without it inference finds the
  smallest working size by trying ``size_multiple``·2^k once per network.
- **discriminators** — ``factory(**options) -> nn.Module`` mapping images to logits of
  any shape (a patch map or a scalar per image).
- **losses** — ``factory(**options)`` returning either a :class:`GANLoss` (adversarial:
  generator and discriminator forms may differ, as in hinge or WGAN-GP) or a
  :class:`PixelLoss` (cycle, identity: ``loss(output, target)``, already weighted).
- **metrics** — ``factory(**options) -> Metric``, called with :class:`MetricInputs` and
  returning ``{key: float}``; ``goals`` says whether each key is better low or high. An
  optional int ``min_images`` (default 1) is the fewest translated images it can score;
  :func:`translkit.scoring.score_folders` refuses smaller folders with one line, and
  refuses any result that is not a finite number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import torch
from torch import nn

__all__ = ["GANLoss", "Metric", "MetricInputs", "PixelLoss", "is_gan_loss"]


@runtime_checkable
class GANLoss(Protocol):
    """An adversarial objective. Both methods return scalar tensors."""

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """Loss of the generator given the discriminator's logits on generated images."""
        ...

    def discriminator_loss(
        self, real_logits: torch.Tensor, fake_logits: torch.Tensor
    ) -> torch.Tensor:
        """Loss of the discriminator (halved as in Zhu et al.: ``0.5 * (real + fake)``)."""
        ...

    def penalty(
        self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor
    ) -> torch.Tensor | None:
        """An extra discriminator term needing the network itself (WGAN-GP), or ``None``."""
        ...


@runtime_checkable
class PixelLoss(Protocol):
    """A weighted reconstruction loss (cycle, identity). ``weight == 0`` disables it."""

    weight: float

    def __call__(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...


def is_gan_loss(obj: Any) -> bool:
    return callable(getattr(obj, "generator_loss", None)) and callable(
        getattr(obj, "discriminator_loss", None)
    )


@dataclass
class MetricInputs:
    """What a metric is given: folders of images (PNG/JPEG) and context.

    ``fake`` holds translated images; ``real`` real images of the target domain;
    ``truth`` (optional) the ground-truth twins of ``fake`` under the same file names.
    """

    fake: Path
    real: Path
    truth: Path | None = None
    device: str = "cpu"
    batch_size: int = 32
    cache_dir: Path | None = None
    inception_weights: Path | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Metric(Protocol):
    #: For each result key, whether lower (``"min"``) or higher (``"max"``) is better.
    goals: Mapping[str, Literal["min", "max"]]

    def __call__(self, inputs: MetricInputs) -> dict[str, float]: ...
