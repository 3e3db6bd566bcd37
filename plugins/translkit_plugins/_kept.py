"""How much a translation changes what is not the garment: the studio background and skin.

A garment translation should leave the person and the background alone. Without a
segmentation network (nothing may be downloaded), two documented colour rules pick those
pixels **in the input photo**, and the measure is the mean absolute change of those pixels
(RGB, 0–1) from the input to its translation (the input scaled to the translation's size;
pairs by file stem, as for ``domain_structure``):

- **background**: near-white, low-saturation pixels, the studio backdrop of catalogue
  photos: every channel ≥ :data:`WHITE` and max − min ≤ :data:`GREY_SPREAD` (0–255);
- **skin**: the YCbCr skin-colour rule of Chai & Ngan (IEEE TCSVT 1999): 77 ≤ Cb ≤ 127 and
  133 ≤ Cr ≤ 173, with luma Y ≥ :data:`MIN_LUMA` (shadows are not skin).

The skin rule is a colour rule: **brown and tan leather satisfy it too**, so in leather →
denim it also counts garment pixels, which a translation must change (docs/scoring.md gives
how many). It is sound where the input's garments are not skin-coloured (denim → leather).
An image counts only where its mask covers at least :data:`MIN_SHARE` of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from translkit.data.io import load_rgb

__all__ = [
    "GREY_SPREAD",
    "MIN_LUMA",
    "MIN_SHARE",
    "WHITE",
    "background_mask",
    "change_in",
    "skin_mask",
]

WHITE = 215
GREY_SPREAD = 25
MIN_LUMA = 60
#: Least share of an image a mask must cover for the image to count.
MIN_SHARE = 0.005


def background_mask(rgb: np.ndarray) -> np.ndarray:
    """Near-white, low-saturation pixels of an ``(H, W, 3)`` uint8 image."""
    lo, hi = rgb.min(axis=2), rgb.max(axis=2)
    return (lo >= WHITE) & ((hi.astype(np.int16) - lo) <= GREY_SPREAD)


def skin_mask(rgb: np.ndarray) -> np.ndarray:
    """Skin-coloured pixels by Chai & Ngan's YCbCr bounds (ITU-R 601 conversion)."""
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return (y >= MIN_LUMA) & (cb >= 77) & (cb <= 127) & (cr >= 133) & (cr <= 173)


def changes(
    pairs: Sequence[tuple[Path, Path]], masks: Sequence[str] = ("background", "skin")
) -> dict[str, tuple[float | None, int, float]]:
    """For each mask (``"background"``, ``"skin"``): the mean absolute change (0–1) of
    those pixels of each input in its translation, averaged over the images where the mask
    covers :data:`MIN_SHARE`, the number of such images and the mean share it covers. Each
    pair is read once (the input scaled to the translation's size)."""
    picks = {name: {"background": background_mask, "skin": skin_mask}[name] for name in masks}
    found: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in masks}
    for translated, source in pairs:
        out = load_rgb(translated)
        src = load_rgb(source)
        if src.size != out.size:
            src = src.resize(out.size, Image.Resampling.BICUBIC)
        a = np.asarray(src, dtype=np.uint8)
        b = np.asarray(out, dtype=np.float32)
        for name, pick in picks.items():
            m = pick(a)
            values, shares = found[name]
            shares.append(float(m.mean()))
            if m.mean() >= MIN_SHARE:
                values.append(float(np.abs(b[m] - a[m].astype(np.float32)).mean() / 255))
    return {
        name: (
            float(np.mean(values)) if values else None,
            len(values),
            float(np.mean(shares)) if shares else 0.0,
        )
        for name, (values, shares) in found.items()
    }


def change_in(pairs: Sequence[tuple[Path, Path]], mask: str) -> tuple[float | None, int, float]:
    """:func:`changes` for one mask."""
    return changes(pairs, (mask,))[mask]
