"""Shapes of the synthetic benchmark: vectorised primitives and garment outlines.

Everything is evaluated at arrays of points in a garment frame: x to the right, centred on
the garment, y down from its top (0) to its hem (1). A garment is a union of convex
polygons and tapered capsules, plus the seam segments and stud positions its materials
decorate (:mod:`translkit.data.synthetic_draw`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Seg",
    "Shape",
    "blur",
    "capsule",
    "disc",
    "figure_masks",
    "garment_shape",
    "poly",
    "segment",
    "value_noise",
]

Seg = tuple[tuple[float, float], tuple[float, float]]


def poly(x: np.ndarray, y: np.ndarray, pts: list[tuple[float, float]]) -> np.ndarray:
    """Inside a convex polygon (either winding): on the same side of every edge."""
    left = np.ones(x.shape, dtype=bool)
    right = np.ones(x.shape, dtype=bool)
    for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True):
        cross = (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)
        left &= cross >= 0
        right &= cross <= 0
    return left | right


def segment(x: np.ndarray, y: np.ndarray, seg: Seg) -> tuple[np.ndarray, np.ndarray, float]:
    """Distance to a segment, the position along it (0..1) and its length."""
    (x0, y0), (x1, y1) = seg
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy or 1e-12
    t = np.clip(((x - x0) * dx + (y - y0) * dy) / length2, 0.0, 1.0)
    return np.hypot(x - x0 - t * dx, y - y0 - t * dy), t, float(np.sqrt(length2))


def capsule(x: np.ndarray, y: np.ndarray, seg: Seg, r0: float, r1: float) -> np.ndarray:
    d, t, _ = segment(x, y, seg)
    return d < r0 + (r1 - r0) * t


def disc(x: np.ndarray, y: np.ndarray, c: tuple[float, float], r: float) -> np.ndarray:
    return (x - c[0]) ** 2 + (y - c[1]) ** 2 < r * r


def blur(img: np.ndarray, r: int) -> np.ndarray:
    """Two passes of a separable box filter of radius ``r`` (≈ Gaussian), edge-clamped."""
    if r < 1:
        return img
    out = img.astype(np.float32)
    for _ in range(2):
        for axis in (0, 1):
            pad = [(0, 0)] * out.ndim
            pad[axis] = (r + 1, r)
            c = np.cumsum(np.pad(out, pad, mode="edge"), axis=axis)
            hi = np.take(c, np.arange(2 * r + 1, c.shape[axis]), axis=axis)
            lo = np.take(c, np.arange(0, c.shape[axis] - 2 * r - 1), axis=axis)
            out = (hi - lo) / (2 * r + 1)
    return out


def value_noise(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, cells: int) -> np.ndarray:
    """Smooth noise in [0, 1] over the frame region x∈[-1,1], y∈[-0.6,1.6]."""
    grid = rng.random((cells + 2, cells + 2)).astype(np.float32)
    gx = np.clip((x + 1.0) / 2.0 * cells, 0, cells - 1e-6)
    gy = np.clip((y + 0.6) / 2.2 * cells, 0, cells - 1e-6)
    ix, iy = gx.astype(np.intp), gy.astype(np.intp)
    fx, fy = gx - ix, gy - iy
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    flat, row = grid.ravel(), cells + 2
    i = iy * row + ix
    top = flat.take(i) * (1 - fx) + flat.take(i + 1) * fx
    bot = flat.take(i + row) * (1 - fx) + flat.take(i + row + 1) * fx
    return top * (1 - fy) + bot * fy


# -- garments ------------------------------------------------------------------------------
@dataclass
class Shape:
    mask: np.ndarray
    seams: list[Seg]
    studs: list[tuple[float, float]]
    opening: np.ndarray | None = None  # inside the outline but showing what is beneath


def _mirror(seg: Seg) -> Seg:
    (x0, y0), (x1, y1) = seg
    return ((-x0, y0), (-x1, y1))


def _leg_centre(s: dict[str, float]) -> float:
    """x of a trouser leg's hem centre: legs always part below the crotch."""
    return max(s["w"] * 0.55 + s["spread"], s["hem"] + 0.03)


def _trousers(x: np.ndarray, y: np.ndarray, s: dict[str, float]) -> Shape:
    w, rise, hem = s["w"], s["rise"], s["hem"]
    hip = w * 1.08
    cx = _leg_centre(s)
    mask = poly(x, y, [(-w, 0.0), (w, 0.0), (hip, rise), (-hip, rise)])
    seams: list[Seg] = [
        ((-w, 0.06), (w, 0.06)),
        ((0.03, 0.06), (0.03, rise - 0.05)),
        ((0.03, rise - 0.05), (0.0, rise)),
    ]
    for sgn in (-1.0, 1.0):
        leg = [
            (sgn * hip, rise - 0.02),
            (0.0, rise - 0.02),
            (sgn * (cx - hem), 1.0),
            (sgn * (cx + hem), 1.0),
        ]
        mask |= poly(x, y, leg)
        side = [
            ((-hip + 0.015, rise), (-cx - hem + 0.015, 0.985)),
            ((-0.012, rise + 0.02), (-cx + hem - 0.012, 0.985)),
            ((-cx - hem + 0.01, 0.965), (-cx + hem - 0.01, 0.965)),
            ((-w * 0.55, 0.065), (-w * 1.02, 0.17)),
        ]
        seams += side if sgn < 0 else [_mirror(seg) for seg in side]
    return Shape(mask, seams, [(0.0, 0.03)])


def _skirt(x: np.ndarray, y: np.ndarray, s: dict[str, float]) -> Shape:
    w, hem = s["w"], s["hem"]
    mask = poly(x, y, [(-w, 0.0), (w, 0.0), (hem, 1.0), (-hem, 1.0)])
    seams: list[Seg] = [((-w, 0.08), (w, 0.08)), ((-hem + 0.01, 0.96), (hem - 0.01, 0.96))]
    panels = int(s["panels"])
    if panels == 0:
        seams.append(((0.0, 0.08), (0.0, 1.0)))
    for k in range(1, panels + 1):
        f = k / (panels + 1)
        seams += [((-w * f, 0.08), (-hem * f, 1.0)), ((w * f, 0.08), (hem * f, 1.0))]
    return Shape(mask, seams, [(0.0, 0.04)])


def _top(x: np.ndarray, y: np.ndarray, s: dict[str, float], jacket: bool) -> Shape:
    sw, hw = s["sw"], s["sw"] * s["flare"]
    mask = poly(x, y, [(-0.07, 0.0), (0.07, 0.0), (sw, 0.06), (hw, 1.0), (-hw, 1.0), (-sw, 0.06)])
    seams: list[Seg] = [((-hw + 0.01, 0.965), (hw - 0.01, 0.965))]
    studs: list[tuple[float, float]] = []
    a, length, r = s["arm_angle"], s["sleeve"], s["radius"]
    for sgn in (-1.0, 1.0):
        start = (sgn * (sw - 0.03), 0.1)
        end = (start[0] + sgn * math.sin(a) * length, 0.1 + math.cos(a) * length)
        mask |= capsule(x, y, (start, end), r, r * 0.8)
        cuff = 0.85 if length > 0.4 else 0.8
        cx, cy = start[0] + (end[0] - start[0]) * cuff, 0.1 + (end[1] - 0.1) * cuff
        nx, ny = math.cos(a) * r * 0.8, -sgn * math.sin(a) * r * 0.8
        seams += [
            ((cx - nx, cy - ny), (cx + nx, cy + ny)),
            ((sgn * (sw - 0.07), 0.05), (sgn * (sw - 0.07), 0.22)),
        ]
    opening = None
    if jacket:
        opening = poly(x, y, [(-0.07, -0.01), (0.07, -0.01), (0.0, 0.3)]) & (y > 0)
        seams += [
            ((0.0, 0.3), (0.0, 1.0)),
            ((-0.07, 0.0), (-0.15, 0.34)),
            ((0.07, 0.0), (0.15, 0.34)),
            ((-hw, 0.88), (hw, 0.88)),
        ]
        if s["pocket"]:
            seams += [((-0.19, 0.62), (-0.1, 0.7)), ((0.19, 0.62), (0.1, 0.7))]
        studs += [(0.0, 0.3), (0.0, 0.94)]
    else:
        mask &= ~disc(x, y, (0.0, -0.03), 0.08)
        seams.append(((0.025, 0.05), (0.025, 1.0)))
        studs += [(0.045, 0.12 + k * 0.16) for k in range(6)]
        if s["pocket"]:
            seams += [
                ((-0.17, 0.24), (-0.08, 0.24)),
                ((-0.17, 0.24), (-0.17, 0.35)),
                ((-0.08, 0.24), (-0.08, 0.35)),
                ((-0.17, 0.35), (-0.08, 0.35)),
            ]
    return Shape(mask, seams, studs, opening)


def garment_shape(x: np.ndarray, y: np.ndarray, garment: str, s: dict[str, float]) -> Shape:
    """Outline, seams and studs of ``garment`` with proportions ``s`` at frame points (x, y)."""
    if garment == "trousers":
        return _trousers(x, y, s)
    if garment == "skirt":
        return _skirt(x, y, s)
    return _top(x, y, s, jacket=garment == "jacket")


def figure_masks(
    x: np.ndarray, y: np.ndarray, garment: str, s: dict[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the simple figure wearing the garment: (skin, other clothes)."""
    if garment in ("shirt", "jacket"):
        skin = disc(x, y, (0.0, -0.2), 0.12) | capsule(x, y, ((0, -0.1), (0, 0.05)), 0.05, 0.05)
        a, length = s["arm_angle"], s["sleeve"]
        for sgn in (-1.0, 1.0):
            start = (sgn * (s["sw"] - 0.03), 0.1)
            hand = (
                start[0] + sgn * math.sin(a) * (length + 0.08),
                0.1 + math.cos(a) * (length + 0.08),
            )
            skin |= capsule(x, y, (start, hand), 0.045, 0.04) | disc(x, y, hand, 0.05)
        clothes = capsule(x, y, ((-0.1, 0.9), (-0.11, 1.8)), 0.075, 0.06)
        clothes |= capsule(x, y, ((0.1, 0.9), (0.11, 1.8)), 0.075, 0.06)
        return skin, clothes
    w = s["w"]
    clothes = poly(x, y, [(-w * 1.1, -0.6), (w * 1.1, -0.6), (w, 0.02), (-w, 0.02)])
    if garment == "skirt":
        skin = capsule(x, y, ((-w * 0.45, 0.8), (-w * 0.45, 2.2)), 0.07, 0.05)
        skin |= capsule(x, y, ((w * 0.45, 0.8), (w * 0.45, 2.2)), 0.07, 0.05)
        return skin, clothes
    cx = _leg_centre(s)
    shoes = disc(x, y, (-cx - 0.02, 1.03), 0.07) | disc(x, y, (cx + 0.02, 1.03), 0.07)
    return np.zeros_like(clothes), clothes | shoes
