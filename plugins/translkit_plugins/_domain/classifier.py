"""The domain classifiers: their settings, network, test-time views of images, embeddings."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image
from torch import nn

from translkit.data.io import load_rgb
from translkit_plugins._structure import LUMA as _LUMA

__all__ = [
    "FLAT",
    "VERSION",
    "VIEWS",
    "ClassifierSettings",
    "DomainNet",
    "Features",
    "View",
    "embed",
    "load_folder",
    "new_net",
    "patch_grid",
    "view_input",
]

View = Literal["colour", "texture"]
VIEWS: tuple[View, ...] = ("colour", "texture")
#: Bumped whenever training or the network changes: old cache files are then ignored.
VERSION = 3
#: A patch whose grey values (in [0, 1]) deviate less than this is flat: no texture to judge.
FLAT = 0.025


@dataclass(frozen=True)
class ClassifierSettings:
    """Everything that decides a trained classifier (part of its cache key)."""

    view: View = "colour"
    size: int = 96
    width: int = 24
    epochs: int = 24
    batch_size: int = 32
    lr: float = 3e-3
    seed: int = 0
    #: Strength of the texture view's photometric randomisation (1: the documented ranges).
    photometric: float = 0.5
    #: Side of the patches the network judges (0: the whole ``size`` crop).
    patch: int = 0

    def key(self) -> str:
        fields = asdict(self)
        if self.view == "colour":
            del fields["photometric"]  # the colour view has no photometric randomisation
        return json.dumps({**fields, "version": VERSION}, sort_keys=True)


class DomainNet(nn.Module):
    """A small CNN: stride-2 stem, three stages of (stride-2 conv, conv), each conv with
    batch norm and ReLU, global average pooling to ``4 * width`` features, a linear head
    (2 logits: domain A, domain B). About 0.05 GMAC at 96×96 with width 24."""

    def __init__(
        self, in_channels: int, width: int = 24, *, polarity_invariant: bool = False
    ) -> None:
        super().__init__()
        self.polarity_invariant = polarity_invariant

        def conv(cin: int, cout: int, stride: int) -> list[nn.Module]:
            return [
                nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            ]

        widths = [width, 2 * width, 4 * width, 4 * width]
        layers = conv(in_channels, widths[0], 2)
        for cin, cout in itertools.pairwise(widths):
            layers += conv(cin, cout, 2) + conv(cout, cout, 1)
        self.body = nn.Sequential(*layers)
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(widths[-1], 2)
        self.feature_dim = widths[-1]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features ``(N, 4 * width)``; with ``polarity_invariant`` the
        mean of those of ``x`` and ``-x`` (a standardised grey image and its negative)."""
        if not self.polarity_invariant:
            return self.body(x).mean(dim=(2, 3))
        return self.body(torch.cat([x, -x])).mean(dim=(2, 3)).view(2, len(x), -1).mean(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


def new_net(settings: ClassifierSettings) -> DomainNet:
    """An untrained classifier for ``settings``: the texture view's sees one grey channel
    and is polarity-invariant (a negative image gets the same features)."""
    if settings.view == "texture":
        return DomainNet(1, settings.width, polarity_invariant=True)
    return DomainNet(3, settings.width)


# -- images --------------------------------------------------------------------------------
def _load_size(size: int) -> int:
    """Side images are stored at before the (random or central) crop to ``size``."""
    return size + size // 8


def load_folder(
    files: Sequence[Path], size: int, tick: Callable[[], None] | None = None
) -> torch.Tensor:
    """``(N, 3, S, S)`` uint8, each image squashed to ``S = size + size // 8`` (bicubic)."""
    side = _load_size(size)
    out = torch.empty((len(files), 3, side, side), dtype=torch.uint8)
    for i, path in enumerate(files):
        img = load_rgb(path).resize((side, side), Image.Resampling.BICUBIC)
        out[i] = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)
        if tick is not None:
            tick()
    return out


def _standardise(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = x.std(dim=(1, 2, 3), keepdim=True).clamp_min(0.02)
    return (x - mean) / std


def _centre(images: torch.Tensor, size: int) -> torch.Tensor:
    top = (images.shape[-1] - size) // 2
    return images[..., top : top + size, top : top + size].float() / 255


def _grey(x: torch.Tensor) -> torch.Tensor:
    return (x * torch.tensor(_LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)


def view_input(images: torch.Tensor, view: View, size: int) -> torch.Tensor:
    """The test-time network input of uint8 images: centre crop, then the view."""
    x = _centre(images, size)
    return x * 2 - 1 if view == "colour" else _standardise(_grey(x))


def patch_grid(images: torch.Tensor, size: int, patch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The test-time input of a patch classifier: the grey ``patch``-sided squares of each
    image's centre ``size`` crop at half-patch steps, standardised, ``(N * K, 1, p, p)``,
    and which of them are textured (``(N, K)`` bool; all of an image's when none is)."""
    x = _grey(_centre(images, size))
    step = max(1, patch // 2)
    tiles = x.unfold(2, patch, step).unfold(3, patch, step)  # N, 1, rows, cols, p, p
    n = len(x)
    tiles = tiles.permute(0, 2, 3, 1, 4, 5).reshape(-1, 1, patch, patch)
    textured = (tiles.std(dim=(1, 2, 3)) >= FLAT).view(n, -1)
    textured[~textured.any(1)] = True
    return _standardise(tiles), textured


@dataclass
class Features:
    """Penultimate-layer features and target-domain (B) probabilities of some images."""

    features: np.ndarray
    prob_b: np.ndarray


@torch.no_grad()
def embed(net: DomainNet, images: torch.Tensor, settings: ClassifierSettings) -> Features:
    """Each image's mirror-averaged features and target-domain probability; a patch
    classifier's are the means over the image's textured patches."""
    feats, probs = [], []
    for start in range(0, len(images), 64):
        batch = images[start : start + 64]
        if settings.patch:
            x, textured = patch_grid(batch, settings.size, settings.patch)
        else:
            x = view_input(batch, settings.view, settings.size)
            textured = torch.ones(len(batch), 1, dtype=torch.bool)
        f = (net.features(x) + net.features(x.flip(-1))) / 2  # mirror-averaged
        p = net.head(f).softmax(1)[:, 1]
        w = textured.float() / textured.sum(1, keepdim=True)  # (N, K), rows sum to 1
        feats.append(torch.einsum("nk,nkf->nf", w, f.view(*w.shape, -1)))
        probs.append((w * p.view(w.shape)).sum(1))
    return Features(torch.cat(feats).double().numpy(), torch.cat(probs).double().numpy())
