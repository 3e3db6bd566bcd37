"""Scenes, materials and composition of the synthetic leather↔denim benchmark.

:class:`Scene` holds everything random about one image except its material. :func:`draw_scene`
maps every pixel of a 2× supersampled grid into the garment frame
(:mod:`translkit.data.synthetic_shapes`), evaluates shapes and material there (so textures
move with the garment), and averages 2×2 blocks down to the output size.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from translkit.data.synthetic_shapes import (
    Seg,
    Shape,
    blur,
    disc,
    figure_masks,
    garment_shape,
    value_noise,
)

__all__ = ["GARMENTS", "Scene", "draw_scene"]

GARMENTS = ("trousers", "skirt", "shirt", "jacket")
_SS = 2  # supersampling factor
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


def _surface(x: np.ndarray, y: np.ndarray, shape: Shape, scene: Scene, size: int) -> _Surface:
    opx = 1.0 / (size * scene.scale)
    spx = opx / _SS
    mask = shape.mask if shape.opening is None else shape.mask & ~shape.opening
    inset = blur(mask.astype(np.float32), max(1, round(0.03 / spx)))
    amp, freq, phase = scene.folds
    frng = np.random.default_rng(scene.texture_seed + 1)
    n1, n2 = value_noise(x, y, frng, 4), value_noise(x, y, frng, 4)
    folds = n1 * np.sin(2 * np.pi * (freq * y + 0.35 * freq * x + phase))
    folds += n2 * np.sin(2 * np.pi * (0.7 * freq * x - 0.4 * freq * y + 2 * phase))
    h = inset * 0.03 + amp * folds
    seam_d = np.full(mask.shape, 1e3, dtype=np.float32)
    seam_s = np.zeros(mask.shape, dtype=np.float32)
    seam_d[mask], seam_s[mask] = _seam_field(x[mask], y[mask], shape.seams)
    h = h - 0.004 * np.exp(-((seam_d / max(0.006, 0.6 * opx)) ** 2))
    gy, gx = np.gradient(h.astype(np.float32), np.float32(spx))
    inv = 1.0 / np.sqrt(gx * gx + gy * gy + 1.0)
    normal = np.stack([-gx * inv, -gy * inv, inv], axis=-1)
    return _Surface(x, y, mask, inset, normal, seam_d, seam_s, opx)


def _seam_field(x: np.ndarray, y: np.ndarray, seams: list[Seg]) -> tuple[np.ndarray, np.ndarray]:
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
    grain = blur(rng.standard_normal(surf.mask.shape).astype(np.float32), 1) * 0.12
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
    noise = value_noise(surf.x, surf.y, rng, 6)
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


def _crop_shape(shape: Shape, box: tuple[slice, slice]) -> Shape:
    opening = None if shape.opening is None else shape.opening[box]
    return Shape(shape.mask[box], shape.seams, shape.studs, opening)


def _paint_garment(
    img: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    shape: Shape,
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
        studs |= disc(x, y, c, max(0.014, 0.9 * surf.opx))
    img[studs & shape.mask] = _METAL


def draw_scene(scene: Scene, size: int, material: str) -> np.ndarray:
    """Render ``scene`` in ``"leather"`` or ``"denim"``: a ``(size, size, 3)`` uint8 array."""
    n = size * _SS
    x, y, py = _frame(scene, n)
    top, bottom = (np.array(c, dtype=np.float32) for c in scene.background)
    img = top + (bottom - top) * py[..., None]
    shape = garment_shape(x, y, scene.garment, scene.shape)
    shadow = blur(
        np.roll(shape.mask, (round(0.02 * n), round(0.015 * n)), (0, 1)).astype(np.float32),
        max(1, round(0.02 * n)),
    )
    img *= (1 - 0.22 * shadow)[..., None]
    inner = np.array(scene.outfit if scene.figure else top * 0.75, dtype=np.float32)
    if scene.figure:
        skin, clothes = figure_masks(x, y, scene.garment, scene.shape)
        img[clothes] = np.array(scene.outfit, dtype=np.float32) * 0.9
        img[skin] = np.array(scene.skin, dtype=np.float32)
    box = _bbox(shape.mask, margin=round(0.06 * size * scene.scale * _SS) + 2)
    if box is not None:
        _paint_garment(img[box], x[box], y[box], _crop_shape(shape, box), scene, size, material)
        if shape.opening is not None:
            img[shape.opening & shape.mask] = inner
    img = (img[0::2, 0::2] + img[1::2, 0::2] + img[0::2, 1::2] + img[1::2, 1::2]) * 0.25
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
