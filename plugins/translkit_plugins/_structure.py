"""How much of its input's structure a translation keeps: its edges against its input's.

The domain classifiers say whether a translation looks like the target domain, not whether
it is still the input's picture: a dark, featureless blob is "leather" to a classifier
that learnt leather as the dark, smooth domain. This measure pairs each translation with
its input (same file stem), turns both grey (ITU-R 601), scales them so that the shorter
side is :data:`SIDE` pixels (area averaging: outlines, seams, faces and backgrounds stay,
fine weave and grain — what a texture translation is meant to change — mostly go), and
correlates their Sobel gradient magnitudes (Pearson, over pixels). 1: every edge kept (a
copy, a recolouring); ~0: unrelated pictures. Gradient *magnitudes* make it blind to
polarity, so a garment that turns from black to light keeps its score.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from translkit.data.io import load_rgb

__all__ = ["LUMA", "SIDE", "edge_correlation", "pair_by_stem", "structure_kept", "unrelated_pairs"]

#: Shorter side, in pixels, at which edges are compared (the domain classifiers' size).
SIDE = 96
#: ITU-R 601 weights of R, G, B in grey (the domain metric's texture view uses them too).
LUMA = (0.299, 0.587, 0.114)
_LUMA = np.array(LUMA, dtype=np.float32)
_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8


def _grey(path: Path, size: tuple[int, int] | None = None) -> torch.Tensor:
    """``(1, 1, H, W)`` float grey image in [0, 1], resized to ``size`` (W, H) if given."""
    img = load_rgb(path)
    if size is not None and img.size != size:
        img = img.resize(size, Image.Resampling.BICUBIC)
    grey = (np.asarray(img, dtype=np.float32) / 255) @ _LUMA
    return torch.from_numpy(grey)[None, None]


def _edges(grey: torch.Tensor, side: int) -> torch.Tensor:
    """Sobel gradient magnitude after area-scaling the shorter side down to ``side``."""
    h, w = grey.shape[-2:]
    scale = min(1.0, side / min(h, w))
    if scale < 1.0:
        size = (max(3, round(h * scale)), max(3, round(w * scale)))
        grey = F.interpolate(grey, size=size, mode="area")
    gx = F.conv2d(grey, _SOBEL_X.view(1, 1, 3, 3))
    gy = F.conv2d(grey, _SOBEL_X.t().reshape(1, 1, 3, 3))
    return (gx.square() + gy.square()).sqrt().flatten()


def edge_correlation(translated: Path, source: Path, side: int = SIDE) -> float:
    """Correlation of the two images' edge maps, the source scaled to the translation's
    size first; 0 where either is flat."""
    out = _grey(translated)
    src = _grey(source, (out.shape[-1], out.shape[-2]))
    a, b = _edges(out, side), _edges(src, side)
    a, b = a - a.mean(), b - b.mean()
    denom = float(a.norm() * b.norm())
    return float((a * b).sum()) / denom if denom > 1e-12 else 0.0


def pair_by_stem(translated: Sequence[Path], sources: Sequence[Path]) -> list[tuple[Path, Path]]:
    """``(translation, its input)`` for each translation whose stem names a source file
    (``translkit translate`` and ``translkit score`` keep the input's stem)."""
    by_stem = {p.stem: p for p in sources}
    return [(t, by_stem[t.stem]) for t in translated if t.stem in by_stem]


def unrelated_pairs(
    sources: Sequence[Path], targets: Sequence[Path], seed: int = 0
) -> list[tuple[Path, Path]]:
    """Each source paired with a real target-domain image drawn at random: what a model
    that ignores its input and draws perfect target images would score."""
    pick = np.random.default_rng(seed).integers(0, len(targets), len(sources))
    return [(targets[i], s) for s, i in zip(sources, pick.tolist(), strict=True)]


def structure_kept(pairs: Sequence[tuple[Path, Path]], side: int = SIDE) -> float:
    """Mean :func:`edge_correlation` over ``(translation, source)`` pairs."""
    return float(np.mean([edge_correlation(t, s, side) for t, s in pairs]))
