"""Vectorised drawing of the synthetic benchmark's scenes (garment shapes, figure, materials).

All shapes live in a garment frame: x to the right centred on the garment, y down from
its top (0) to its hem (1). :func:`draw_scene` maps every pixel of a 2× supersampled
grid into that frame, evaluates the shapes and material there (so textures move with
the garment), and averages 2×2 blocks down to the output size.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["GARMENTS", "Scene", "draw_scene"]

GARMENTS = ("trousers", "skirt", "shirt", "jacket")
_SS = 2  # supersampling factor
_Seg = tuple[tuple[float, float], tuple[float, float]]
_LEATHER = {  # base colours (linear-ish RGB in [0, 1])
    "black": (0.055, 0.055, 0.065),
    "brown": (0.20, 0.11, 0.06),
    "oxblood": (0.22, 0.05, 0.06),
    "chestnut": (0.27, 0.14, 0.07),
}
_SCALE = {
    "trousers": (0.68, 0.88),
    "skirt": (0.42, 0.6),
    "shirt": (0.55, 0.75),
    "jacket": (0.58, 0.8),
}


@dataclass
class Scene:
    """Everything random about one image except the material it is rendered in."""

    garment: str
    shape: dict[str, float]
    centre: tuple[float, float]
    scale: float
    angle: float
    background: tuple[tuple[float, float, float], tuple[float, float, float]]
    figure: bool
    skin: tuple[float, float, float]
    outfit: tuple[float, float, float]
    folds: tuple[float, float, float]
    leather: str
    sheen: float
    wash: float
    texture_seed: int
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Scene:
        garment = str(rng.choice(GARMENTS))
        scale = float(rng.uniform(*_SCALE[garment]))
        figure = bool(rng.random() < 0.4)
        return cls(
            garment=garment,
            shape=_sample_shape(garment, rng),
            centre=(0.5 + rng.uniform(-0.07, 0.07), 0.5 + rng.uniform(-0.06, 0.06)),
            scale=scale,
            angle=float(rng.uniform(-0.17, 0.17)),
            background=_sample_background(rng),
            figure=figure,
            skin=_hsv(rng.uniform(0.03, 0.09), rng.uniform(0.25, 0.55), rng.uniform(0.35, 0.95)),
            outfit=_hsv(rng.random(), rng.uniform(0.0, 0.2), rng.uniform(0.55, 0.95)),
            folds=(
                float(rng.uniform(0.001, 0.006)),
                float(rng.uniform(3, 8)),
                float(rng.uniform(0, 1)),
            ),
            leather=str(rng.choice(list(_LEATHER), p=[0.45, 0.3, 0.15, 0.1])),
            sheen=float(rng.uniform(0.5, 1.0)),
            wash=float(rng.uniform(0.0, 0.75)),
            texture_seed=int(rng.integers(2**31)),
        )


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    r, g, b = colorsys.hsv_to_rgb(float(h) % 1.0, float(s), float(v))
    return (r, g, b)


def _sample_background(rng: np.random.Generator) -> tuple[tuple[float, ...], tuple[float, ...]]:
    if rng.random() < 0.5:  # white studio background
        top = (float(rng.uniform(0.93, 1.0)),) * 3
    else:  # plain, muted colour
        top = _hsv(rng.random(), rng.uniform(0.03, 0.3), rng.uniform(0.55, 0.93))
    shade = float(rng.uniform(0.85, 1.0))
    return top, tuple(c * shade for c in top)


def _sample_shape(garment: str, rng: np.random.Generator) -> dict[str, float]:
    def u(lo: float, hi: float) -> float:
        return float(rng.uniform(lo, hi))

    if garment == "trousers":
        return {
            "w": u(0.15, 0.2),
            "spread": u(0.0, 0.11),
            "hem": u(0.055, 0.1),
            "rise": u(0.27, 0.34),
        }
    if garment == "skirt":
        w = u(0.2, 0.32)
        return {"w": w, "hem": w * u(1.05, 1.8), "panels": float(rng.integers(0, 3))}
    long = garment == "jacket" or rng.random() < 0.5
    return {
        "sw": u(0.24, 0.3) if garment == "jacket" else u(0.2, 0.26),
        "flare": u(0.9, 1.05),
        "sleeve": u(0.55, 0.72) if long else u(0.2, 0.3),
        "arm_angle": u(0.12, 0.6) if garment == "jacket" else u(0.25, 0.9),
        "radius": u(0.06, 0.08),
        "pocket": float(rng.random() < 0.6),
    }


# -- primitives ------------------------------------------------------------------------
def _poly(x: np.ndarray, y: np.ndarray, pts: list[tuple[float, float]]) -> np.ndarray:
    """Inside a convex polygon (either winding)."""
    sign = np.zeros(x.shape, dtype=np.int8)
    inside = np.ones(x.shape, dtype=bool)
    for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True):
        cross = np.sign((x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)).astype(np.int8)
        inside &= (cross * sign) >= 0
        sign = np.where(sign == 0, cross, sign)
    return inside


def _segment(x: np.ndarray, y: np.ndarray, seg: _Seg) -> tuple[np.ndarray, np.ndarray, float]:
    """Distance to a segment, the position along it (0..1) and its length."""
    (x0, y0), (x1, y1) = seg
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy or 1e-12
    t = np.clip(((x - x0) * dx + (y - y0) * dy) / length2, 0.0, 1.0)
    return np.hypot(x - x0 - t * dx, y - y0 - t * dy), t, float(np.sqrt(length2))


def _capsule(x: np.ndarray, y: np.ndarray, seg: _Seg, r0: float, r1: float) -> np.ndarray:
    d, t, _ = _segment(x, y, seg)
    return d < r0 + (r1 - r0) * t


def _disc(x: np.ndarray, y: np.ndarray, c: tuple[float, float], r: float) -> np.ndarray:
    return (x - c[0]) ** 2 + (y - c[1]) ** 2 < r * r


def _blur(img: np.ndarray, r: int) -> np.ndarray:
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


def _value_noise(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, cells: int) -> np.ndarray:
    """Smooth noise in [0, 1] over the frame region x∈[-1,1], y∈[-0.6,1.6]."""
    grid = rng.random((cells + 2, cells + 2)).astype(np.float32)
    gx = np.clip((x + 1.0) / 2.0 * cells, 0, cells - 1e-6)
    gy = np.clip((y + 0.6) / 2.2 * cells, 0, cells - 1e-6)
    ix, iy = gx.astype(np.int64), gy.astype(np.int64)
    fx, fy = gx - ix, gy - iy
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    top = grid[iy, ix] * (1 - fx) + grid[iy, ix + 1] * fx
    bot = grid[iy + 1, ix] * (1 - fx) + grid[iy + 1, ix + 1] * fx
    return top * (1 - fy) + bot * fy


# -- garments ------------------------------------------------------------------------------
@dataclass
class _Shape:
    mask: np.ndarray
    seams: list[_Seg]
    studs: list[tuple[float, float]]
    opening: np.ndarray | None = None  # inside the outline but showing what is beneath


def _mirror(seg: _Seg) -> _Seg:
    (x0, y0), (x1, y1) = seg
    return ((-x0, y0), (-x1, y1))


def _leg_centre(s: dict[str, float]) -> float:
    """x of a trouser leg's hem centre: legs always part below the crotch."""
    return max(s["w"] * 0.55 + s["spread"], s["hem"] + 0.03)


def _trousers(x: np.ndarray, y: np.ndarray, s: dict[str, float]) -> _Shape:
    w, rise, hem = s["w"], s["rise"], s["hem"]
    hip = w * 1.08
    cx = _leg_centre(s)
    mask = _poly(x, y, [(-w, 0.0), (w, 0.0), (hip, rise), (-hip, rise)])
    seams: list[_Seg] = [
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
        mask |= _poly(x, y, leg)
        side = [
            ((-hip + 0.015, rise), (-cx - hem + 0.015, 0.985)),
            ((-0.012, rise + 0.02), (-cx + hem - 0.012, 0.985)),
            ((-cx - hem + 0.01, 0.965), (-cx + hem - 0.01, 0.965)),
            ((-w * 0.55, 0.065), (-w * 1.02, 0.17)),
        ]
        seams += side if sgn < 0 else [_mirror(seg) for seg in side]
    return _Shape(mask, seams, [(0.0, 0.03)])


def _skirt(x: np.ndarray, y: np.ndarray, s: dict[str, float]) -> _Shape:
    w, hem = s["w"], s["hem"]
    mask = _poly(x, y, [(-w, 0.0), (w, 0.0), (hem, 1.0), (-hem, 1.0)])
    seams: list[_Seg] = [((-w, 0.08), (w, 0.08)), ((-hem + 0.01, 0.96), (hem - 0.01, 0.96))]
    panels = int(s["panels"])
    if panels == 0:
        seams.append(((0.0, 0.08), (0.0, 1.0)))
    for k in range(1, panels + 1):
        f = k / (panels + 1)
        seams += [((-w * f, 0.08), (-hem * f, 1.0)), ((w * f, 0.08), (hem * f, 1.0))]
    return _Shape(mask, seams, [(0.0, 0.04)])


def _top(x: np.ndarray, y: np.ndarray, s: dict[str, float], jacket: bool) -> _Shape:
    sw, hw = s["sw"], s["sw"] * s["flare"]
    mask = _poly(x, y, [(-0.07, 0.0), (0.07, 0.0), (sw, 0.06), (hw, 1.0), (-hw, 1.0), (-sw, 0.06)])
    seams: list[_Seg] = [((-hw + 0.01, 0.965), (hw - 0.01, 0.965))]
    studs: list[tuple[float, float]] = []
    a, length, r = s["arm_angle"], s["sleeve"], s["radius"]
    for sgn in (-1.0, 1.0):
        start = (sgn * (sw - 0.03), 0.1)
        end = (start[0] + sgn * math.sin(a) * length, 0.1 + math.cos(a) * length)
        mask |= _capsule(x, y, (start, end), r, r * 0.8)
        cuff = 0.85 if length > 0.4 else 0.8
        cx, cy = start[0] + (end[0] - start[0]) * cuff, 0.1 + (end[1] - 0.1) * cuff
        nx, ny = math.cos(a) * r * 0.8, -sgn * math.sin(a) * r * 0.8
        seams += [
            ((cx - nx, cy - ny), (cx + nx, cy + ny)),
            ((sgn * (sw - 0.07), 0.05), (sgn * (sw - 0.07), 0.22)),
        ]
    opening = None
    if jacket:
        opening = _poly(x, y, [(-0.07, -0.01), (0.07, -0.01), (0.0, 0.3)]) & (y > 0)
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
        mask &= ~_disc(x, y, (0.0, -0.03), 0.08)
        seams.append(((0.025, 0.05), (0.025, 1.0)))
        studs += [(0.045, 0.12 + k * 0.16) for k in range(6)]
        if s["pocket"]:
            seams += [
                ((-0.17, 0.24), (-0.08, 0.24)),
                ((-0.17, 0.24), (-0.17, 0.35)),
                ((-0.08, 0.24), (-0.08, 0.35)),
                ((-0.17, 0.35), (-0.08, 0.35)),
            ]
    return _Shape(mask, seams, studs, opening)


def _garment(x: np.ndarray, y: np.ndarray, scene: Scene) -> _Shape:
    if scene.garment == "trousers":
        return _trousers(x, y, scene.shape)
    if scene.garment == "skirt":
        return _skirt(x, y, scene.shape)
    return _top(x, y, scene.shape, jacket=scene.garment == "jacket")


def _figure(x: np.ndarray, y: np.ndarray, scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the simple figure wearing the garment: (skin, other clothes)."""
    s = scene.shape
    if scene.garment in ("shirt", "jacket"):
        skin = _disc(x, y, (0.0, -0.2), 0.12) | _capsule(x, y, ((0, -0.1), (0, 0.05)), 0.05, 0.05)
        a, length = s["arm_angle"], s["sleeve"]
        for sgn in (-1.0, 1.0):
            start = (sgn * (s["sw"] - 0.03), 0.1)
            hand = (
                start[0] + sgn * math.sin(a) * (length + 0.08),
                0.1 + math.cos(a) * (length + 0.08),
            )
            skin |= _capsule(x, y, (start, hand), 0.045, 0.04) | _disc(x, y, hand, 0.05)
        clothes = _capsule(x, y, ((-0.1, 0.9), (-0.11, 1.8)), 0.075, 0.06)
        clothes |= _capsule(x, y, ((0.1, 0.9), (0.11, 1.8)), 0.075, 0.06)
        return skin, clothes
    w = s["w"]
    clothes = _poly(x, y, [(-w * 1.1, -0.6), (w * 1.1, -0.6), (w, 0.02), (-w, 0.02)])
    if scene.garment == "skirt":
        skin = _capsule(x, y, ((-w * 0.45, 0.8), (-w * 0.45, 2.2)), 0.07, 0.05)
        skin |= _capsule(x, y, ((w * 0.45, 0.8), (w * 0.45, 2.2)), 0.07, 0.05)
        return skin, clothes
    cx = _leg_centre(s)
    shoes = _disc(x, y, (-cx - 0.02, 1.03), 0.07) | _disc(x, y, (cx + 0.02, 1.03), 0.07)
    return np.zeros_like(clothes), clothes | shoes


# -- materials and composition ---------------------------------------------------------------
_LIGHT = np.array([-0.45, -0.55, 0.7], dtype=np.float32)
_LIGHT /= np.linalg.norm(_LIGHT)
_HALF = _LIGHT + np.array([0, 0, 1], dtype=np.float32)
_HALF /= np.linalg.norm(_HALF)
_GOLD = np.array([0.86, 0.62, 0.26], dtype=np.float32)
_METAL = np.array([0.74, 0.72, 0.68], dtype=np.float32)


@dataclass
class _Surface:
    """Per-pixel geometry of the garment shared by both materials."""

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    inset: np.ndarray  # blurred mask: 1 well inside, ~0.5 on the outline
    normal: np.ndarray  # (H, W, 3)
    seam_d: np.ndarray  # distance to the nearest seam
    seam_s: np.ndarray  # arc length along that seam
    opx: float  # one output pixel in frame units


def _surface(x: np.ndarray, y: np.ndarray, shape: _Shape, scene: Scene, size: int) -> _Surface:
    opx = 1.0 / (size * scene.scale)
    spx = opx / _SS
    mask = shape.mask if shape.opening is None else shape.mask & ~shape.opening
    inset = _blur(mask.astype(np.float32), max(1, round(0.03 / spx)))
    amp, freq, phase = scene.folds
    frng = np.random.default_rng(scene.texture_seed + 1)
    n1, n2 = _value_noise(x, y, frng, 4), _value_noise(x, y, frng, 4)
    folds = n1 * np.sin(2 * np.pi * (freq * y + 0.35 * freq * x + phase))
    folds += n2 * np.sin(2 * np.pi * (0.7 * freq * x - 0.4 * freq * y + 2 * phase))
    h = inset * 0.03 + amp * folds
    seam_d = np.full(mask.shape, 1e3, dtype=np.float32)
    seam_s = np.zeros(mask.shape, dtype=np.float32)
    seam_d[mask], seam_s[mask] = _seam_field(x[mask], y[mask], shape.seams)
    h = h - 0.004 * np.exp(-((seam_d / max(0.006, 0.6 * opx)) ** 2))
    gy, gx = np.gradient(h, spx)
    normal = np.stack([-gx, -gy, np.ones_like(h)], axis=-1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    return _Surface(x, y, mask, inset, normal.astype(np.float32), seam_d, seam_s, opx)


def _seam_field(x: np.ndarray, y: np.ndarray, seams: list[_Seg]) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the nearest seam segment and the arc length along it, all seams at once."""
    seg = np.asarray(seams, dtype=np.float32).reshape(-1, 4)[:, :, None]
    x0, y0, dx, dy = seg[:, 0], seg[:, 1], seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1]
    length2 = np.maximum(dx * dx + dy * dy, 1e-12)
    t = np.clip(((x - x0) * dx + (y - y0) * dy) / length2, 0.0, 1.0)
    d2 = (x - x0 - t * dx) ** 2 + (y - y0 - t * dy) ** 2
    k = np.argmin(d2, axis=0)[None]
    arc = np.take_along_axis(t * np.sqrt(length2), k, axis=0)[0]
    return np.sqrt(np.take_along_axis(d2, k, axis=0)[0]), arc


def _lines(surf: _Surface, offset: float, width: float, dash: float | None) -> np.ndarray:
    """Union of lines at distance ``offset`` from every seam (dashed when ``dash``)."""
    hit = np.abs(surf.seam_d - offset) < width
    if dash is not None:
        hit &= np.mod(surf.seam_s / dash, 1.0) < 0.55
    return hit & surf.mask


def _leather(surf: _Surface, scene: Scene, rng: np.random.Generator) -> np.ndarray:
    base = np.array(_LEATHER[scene.leather], dtype=np.float32)
    n = surf.normal
    diffuse = np.clip(n @ _LIGHT, 0, 1)
    spec = np.clip(n @ _HALF, 0, 1) ** 28 * scene.sheen
    grain = _blur(rng.standard_normal(surf.mask.shape).astype(np.float32), 1) * 0.12
    band_pos = rng.uniform(0.1, 0.8)
    band = np.exp(-(((0.8 * surf.x + 0.6 * surf.y - band_pos) / 0.1) ** 2)) * 0.1 * scene.sheen
    col = base * (0.5 + 0.7 * diffuse + grain)[..., None]
    col = col + (spec + band)[..., None] * np.array([0.85, 0.85, 0.9], dtype=np.float32)
    groove = _lines(surf, 0.0, max(0.004, 0.45 * surf.opx), None)
    col[groove] *= 0.35
    stitch = _lines(
        surf, max(0.01, 0.9 * surf.opx), max(0.003, 0.3 * surf.opx), max(0.016, 1.8 * surf.opx)
    )
    col[stitch] = base * 0.6 + 0.05
    return col


def _denim(surf: _Surface, scene: Scene, rng: np.random.Generator) -> np.ndarray:
    dark = np.array([0.09, 0.15, 0.34], dtype=np.float32)
    light = np.array([0.52, 0.64, 0.80], dtype=np.float32)
    noise = _value_noise(surf.x, surf.y, rng, 6)
    fade = np.clip(scene.wash * 0.8 + 0.45 * (noise - 0.5) + 0.5 * (surf.inset - 0.8), 0, 1)
    col = dark + (light - dark) * fade[..., None]
    period = max(0.016, 3.0 * surf.opx)
    twill = 0.5 + 0.5 * np.sin(2 * np.pi * (surf.x + surf.y) / (np.sqrt(2) * period))
    speckle = rng.random(surf.mask.shape).astype(np.float32)
    diffuse = np.clip(surf.normal @ _LIGHT, 0, 1)
    col = col * (0.72 + 0.38 * twill)[..., None] * (0.55 + 0.6 * diffuse)[..., None]
    col = col + (0.12 * (speckle - 0.5) * twill)[..., None]
    col[_lines(surf, 0.0, max(0.004, 0.4 * surf.opx), None)] *= 0.7
    off, width, dash = (
        max(0.012, 1.0 * surf.opx),
        max(0.004, 0.35 * surf.opx),
        max(0.02, 2.2 * surf.opx),
    )
    stitch = _lines(surf, off, width, dash)
    col[stitch] = 0.35 * col[stitch] + 0.65 * _GOLD
    return col


def _frame(scene: Scene, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    coords = (np.arange(n, dtype=np.float32) + 0.5) / n
    py, px = np.meshgrid(coords, coords, indexing="ij")
    dx, dy = px - scene.centre[0], py - scene.centre[1]
    c, s = math.cos(scene.angle), math.sin(scene.angle)
    x = (c * dx + s * dy) / scene.scale
    y = (-s * dx + c * dy) / scene.scale + 0.5
    return x, y, py


def _bbox(mask: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    n_r, n_c = mask.shape
    return (
        slice(max(rows[0] - margin, 0), min(rows[-1] + margin + 1, n_r)),
        slice(max(cols[0] - margin, 0), min(cols[-1] + margin + 1, n_c)),
    )


def _crop_shape(shape: _Shape, box: tuple[slice, slice]) -> _Shape:
    opening = None if shape.opening is None else shape.opening[box]
    return _Shape(shape.mask[box], shape.seams, shape.studs, opening)


def _paint_garment(
    img: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    shape: _Shape,
    scene: Scene,
    size: int,
    material: str,
) -> None:
    """Paint the garment in ``material`` into ``img`` (a view of the garment's box)."""
    surf = _surface(x, y, shape, scene, size)
    rng = np.random.default_rng(scene.texture_seed)
    col = (_leather if material == "leather" else _denim)(surf, scene, rng)
    img[surf.mask] = col[surf.mask]
    studs = np.zeros(surf.mask.shape, dtype=bool)
    for c in shape.studs:
        studs |= _disc(x, y, c, max(0.014, 0.9 * surf.opx))
    img[studs & shape.mask] = _METAL


def draw_scene(scene: Scene, size: int, material: str) -> np.ndarray:
    """Render ``scene`` in ``"leather"`` or ``"denim"``: a ``(size, size, 3)`` uint8 array."""
    n = size * _SS
    x, y, py = _frame(scene, n)
    top, bottom = (np.array(c, dtype=np.float32) for c in scene.background)
    img = top + (bottom - top) * py[..., None]
    shape = _garment(x, y, scene)
    shadow = _blur(
        np.roll(shape.mask, (round(0.02 * n), round(0.015 * n)), (0, 1)).astype(np.float32),
        max(1, round(0.02 * n)),
    )
    img *= (1 - 0.22 * shadow)[..., None]
    inner = np.array(scene.outfit if scene.figure else top * 0.75, dtype=np.float32)
    if scene.figure:
        skin, clothes = _figure(x, y, scene)
        img[clothes] = np.array(scene.outfit, dtype=np.float32) * 0.9
        img[skin] = np.array(scene.skin, dtype=np.float32)
    box = _bbox(shape.mask, margin=round(0.06 * size * scene.scale * _SS) + 2)
    if box is not None:
        _paint_garment(img[box], x[box], y[box], _crop_shape(shape, box), scene, size, material)
        if shape.opening is not None:
            img[shape.opening & shape.mask] = inner
    img = img.reshape(size, _SS, size, _SS, 3).mean(axis=(1, 3))
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
