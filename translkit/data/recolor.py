"""The recolour transform of the deterministic-truth benchmark (dataset ``synthetic_recolor``).

Domain B of that benchmark is domain A's leather garments passed through one fixed,
pixel-wise colour transform, so the ideal translation is known exactly and a perfect
translator scores unbounded PSNR (the leather ↔ denim benchmark's truth is partly random:
the denim weave is not a function of the leather image).

:func:`recolor` (A → B) swaps the red and blue channels, then lifts the shadows of green
and blue with the curve ``f_k(v) = (1 + k) v / (1 + k v)`` on ``v`` in [0, 1] (``k`` =
:data:`LIFT` per output channel; ``f_k`` is a bijection of [0, 1] fixing 0 and 1, with
slope ``1 + k`` at 0). Brown and oxblood leather turn navy, black turns blue-black,
white stays white. :func:`unrecolor` (B → A) applies the inverse curves
``f_k⁻¹(w) = w / (1 + k − k w)`` and swaps back.

Both are 256-entry lookup tables per channel on uint8 pixels, rounded to the nearest
level, so each is an exact function of its input image: ``testA_truth = recolor(testA)``
and ``testB_truth = unrecolor(testB)`` byte for byte. Rounding makes them inverse up to
a couple of levels only where a curve compresses (highlights of the lifted channels).
"""

from __future__ import annotations

from functools import cache

import numpy as np

__all__ = ["CHANNELS", "LIFT", "recolor", "recolor_lut", "unrecolor", "unrecolor_lut"]

#: Output channel ``c`` of :func:`recolor` reads input channel ``CHANNELS[c]`` (R ↔ B).
CHANNELS = (2, 1, 0)
#: Shadow lift ``k`` of the curve applied to each output channel (R, G, B).
LIFT = (0.0, 0.3, 1.0)


def _levels() -> np.ndarray:
    return np.arange(256, dtype=np.float64) / 255.0


def _quantise(values: np.ndarray) -> np.ndarray:
    return np.floor(np.clip(values, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


@cache
def recolor_lut() -> np.ndarray:
    """``(3, 256)`` uint8: the curve of output channel ``c`` at each input level."""
    v = _levels()
    return np.stack([_quantise((1 + k) * v / (1 + k * v)) for k in LIFT])


@cache
def unrecolor_lut() -> np.ndarray:
    """``(3, 256)`` uint8: the inverse curve of channel ``c`` at each level of B."""
    w = _levels()
    return np.stack([_quantise(w / (1 + k - k * w)) for k in LIFT])


def _check(img: np.ndarray) -> None:
    if img.dtype != np.uint8 or img.ndim < 1 or img.shape[-1] != 3:
        raise ValueError(f"expected a uint8 RGB array (..., 3), got {img.dtype} {img.shape}")


def recolor(img: np.ndarray) -> np.ndarray:
    """Domain A → B: an RGB uint8 array ``(..., 3)`` recoloured (same shape)."""
    _check(img)
    lut = recolor_lut()
    return np.stack([lut[c][img[..., CHANNELS[c]]] for c in range(3)], axis=-1)


def unrecolor(img: np.ndarray) -> np.ndarray:
    """Domain B → A: the inverse of :func:`recolor` up to rounding (same shape)."""
    _check(img)
    lut = unrecolor_lut()
    curved = [lut[c][img[..., c]] for c in range(3)]  # input channel CHANNELS[c], curve undone
    source = np.argsort(CHANNELS)  # input channel j came out as channel source[j]
    return np.stack([curved[source[j]] for j in range(3)], axis=-1)
