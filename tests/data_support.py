"""Helpers shared by the data tests: tiny image trees written in tmp_path."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def write_image(
    path: Path,
    size: tuple[int, int] = (40, 30),
    mode: str = "RGB",
    seed: int = 0,
    fmt: str | None = None,
) -> Path:
    """A random image of ``size`` (w, h) in ``mode``, saved by suffix (or ``fmt``)."""
    rng = np.random.default_rng(seed)
    w, h = size
    rgb = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    img = rgb if mode == "RGB" else rgb.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format=fmt)
    return path


def write_truncated_jpeg(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    """A JPEG cut off halfway through its data (what an interrupted copy leaves)."""
    write_image(path, size, seed=7)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def make_tree(root: Path, counts: dict[str, int], size: tuple[int, int] = (40, 30)) -> Path:
    """``root/<split>/<i>.png`` with ``counts[split]`` distinct random images each."""
    for split, n in counts.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            seed = zlib.crc32(f"{split}/{i}".encode())
            write_image(root / split / f"{i:03d}.png", size, seed=seed)
    return root
