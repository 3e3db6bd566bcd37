"""Baselines the built-in metrics offer beside a model: a colour transfer.

``translkit score --baselines`` scores translations that learnt nothing beside the model
(the core adds the copy of the input itself); a model that does no better than these has
not learnt the target domain. See ``docs/scoring.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from translkit.contracts import Baseline
from translkit.data.io import list_images, load_rgb
from translkit.errors import MetricError

__all__ = ["BUILTIN_BASELINES", "COLOUR_TRANSFER", "colour_transfer"]


def colour_transfer(src: Path, out: Path, reference: Sequence[Path]) -> None:
    """Write each image of ``src`` to ``out`` (PNG, same stem) with its per-channel RGB mean
    and standard deviation replaced by those of all pixels of ``reference`` together."""
    total, sq, count = np.zeros(3), np.zeros(3), 0
    for path in reference:
        px = np.asarray(load_rgb(path), dtype=np.float64).reshape(-1, 3)
        total += px.sum(0)
        sq += (px**2).sum(0)
        count += len(px)
    if count == 0:
        raise MetricError("the colour-transfer baseline needs the target domain's training images")
    mean = total / count
    std = np.sqrt(np.maximum(sq / count - mean**2, 0))
    out.mkdir(parents=True, exist_ok=True)
    for path in list_images(src):
        x = np.asarray(load_rgb(path), dtype=np.float64)
        mu, sd = x.mean((0, 1)), np.maximum(x.std((0, 1)), 1e-3)
        y = np.clip((x - mu) / sd * std + mean, 0, 255).round().astype(np.uint8)
        dest = out / path.relative_to(src).with_suffix(".png")
        dest.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(y).save(dest)


def _transfer(source: Path, out: Path, target_train: Path) -> Path:
    reference = list_images(target_train) if target_train.is_dir() else []
    colour_transfer(source, out, reference)
    return out


#: Each test image's per-channel RGB mean and deviation set to those of all the target
#: domain's training pixels: the target's colours, nothing learnt.
COLOUR_TRANSFER = Baseline("colour_transfer", _transfer)
#: What every built-in metric offers.
BUILTIN_BASELINES = (COLOUR_TRANSFER,)
