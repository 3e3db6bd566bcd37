"""An example translkit plugin, packaged on its own as a third party would.

Registers ``tiny`` (generator), ``tiny_d`` (discriminator) and ``softplus_gan``
(a non-saturating GAN loss written as softplus), all small enough for a laptop CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import translkit

__all__ = ["SoftplusGANLoss", "TinyDiscriminator", "TinyGenerator"]


class TinyGenerator(nn.Module):
    """A three-conv residual generator for smoke tests and demos."""

    size_multiple = 1

    def __init__(self, channels: int = 3, width: int = 8) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1, padding_mode="reflect"),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1, padding_mode="reflect"),
            nn.ReLU(),
            nn.Conv2d(width, channels, 3, padding=1, padding_mode="reflect"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x + self.body(x))


class TinyDiscriminator(nn.Module):
    """A two-conv patch discriminator returning a logit map."""

    def __init__(self, channels: int = 3, width: int = 8) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 1, 4, stride=1, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class SoftplusGANLoss:
    """Non-saturating GAN loss in softplus form (generator and discriminator forms differ)."""

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake_logits).mean()

    def discriminator_loss(
        self, real_logits: torch.Tensor, fake_logits: torch.Tensor
    ) -> torch.Tensor:
        return 0.5 * (F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean())

    def penalty(self, discriminator, real, fake):
        return None


@translkit.hookimpl
def translkit_register(registry):
    registry.generators.add("tiny", TinyGenerator)
    registry.discriminators.add("tiny_d", TinyDiscriminator)
    registry.losses.add("softplus_gan", SoftplusGANLoss)
