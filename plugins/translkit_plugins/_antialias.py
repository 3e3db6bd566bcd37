"""Anti-aliased resampling (Zhang, "Making Convolutional Networks Shift-Invariant Again",
ICML 2019), as CUT's reference generator uses it by default.

Both layers hold a fixed binomial filter as a buffer called ``filt`` (one copy per
channel), so state-dict keys equal the reference's (``taesungp/contrastive-unpaired-
translation``, ``models/networks.py``: ``Downsample`` and ``Upsample``). Neither has
parameters: an anti-aliased network has the parameter count of its plain twin.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BlurDownsample", "BlurUpsample", "binomial_filter"]


def binomial_filter(size: int) -> torch.Tensor:
    """The normalised 2-D binomial filter of side ``size`` (``[1, 2, 1]``-outer for 3)."""
    coeffs = [1.0]
    for _ in range(size - 1):
        coeffs = [a + b for a, b in zip([0.0, *coeffs], [*coeffs, 0.0], strict=True)]
    row = torch.tensor(coeffs)
    filt = row[:, None] * row[None, :]
    return filt / filt.sum()


class BlurDownsample(nn.Module):
    """×½ downsampling: reflect-pad by 1, blur with the 3×3 binomial filter, stride 2."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.register_buffer("filt", binomial_filter(3)[None, None].repeat(channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
        return F.conv2d(padded, self.filt.to(x.dtype), stride=2, groups=x.shape[1])


class BlurUpsample(nn.Module):
    """×2 upsampling: replicate-pad by 1, transposed blur with the 4×4 binomial filter
    (scaled by 4, so a constant image stays constant), cropped to exactly twice the size."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.register_buffer("filt", (binomial_filter(4) * 4)[None, None].repeat(channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
        out = F.conv_transpose2d(
            padded, self.filt.to(x.dtype), stride=2, padding=2, groups=x.shape[1]
        )
        return out[:, :, 1:-1, 1:-1]
