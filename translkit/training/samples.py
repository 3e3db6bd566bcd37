"""Sample grids laid out as the study's Figure 4 (rows: input, translated, reconstructed).

The same test images (the first ``eval.num_samples`` of ``testA`` and ``testB``, with the
deterministic test transform) appear in every grid, so grids are comparable over time.
The A→B block sits left of the B→A block; each block has one column per image. A method
with one direction (CUT) gets one block of two rows: input and translated.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from translkit.fileio import atomic_path

__all__ = ["fixed_samples", "render_grid", "save_grid"]


def fixed_samples(data: object, count: int) -> dict[str, torch.Tensor]:
    """The first ``count`` test images of each domain: ``{"A": (n,3,S,S), "B": ...}``."""
    from translkit.data import build_test_dataset

    out = {}
    for domain in ("A", "B"):
        ds = build_test_dataset(data, domain)  # type: ignore[arg-type]
        n = min(count, len(ds))
        out[domain] = torch.stack([ds[i]["image"] for i in range(n)]) if n else torch.empty(0)
    return out


@torch.no_grad()
def render_grid(
    generators: dict[str, nn.Module], samples: dict[str, torch.Tensor], device: torch.device | str
) -> torch.Tensor:
    """A ``(3, H, W)`` grid in [0, 1]: for each direction, rows input / translated /
    (the mask, white where the generator translated, for a generator with a ``mask``
    method such as ``attention``) / reconstructed (when the opposite direction exists), one
    column per sample, a 2-pixel white gutter between blocks."""
    blocks = []
    for src, fwd, back in (("A", "a2b", "b2a"), ("B", "b2a", "a2b")):
        x = samples[src]
        if fwd not in generators or x.numel() == 0:
            continue
        x = x.to(device)
        y = generators[fwd](x)
        outs = [x, y]
        mask = getattr(generators[fwd], "mask", None)
        if callable(mask):  # an attention-guided generator: where it translated, in white
            outs.append(mask(x).float().expand_as(x) * 2 - 1)
        outs += [generators[back](y)] if back in generators else []
        rows = [torch.cat(list(t.float().cpu()), dim=2) for t in outs]  # (3, S, n*S)
        blocks.append(torch.cat(rows, dim=1))
    if not blocks:
        raise ValueError("no sample images to render")
    height = max(b.shape[1] for b in blocks)
    gutter = torch.ones(3, height, 2)
    pieces: list[torch.Tensor] = []
    for b in blocks:
        if pieces:
            pieces.append(gutter)
        pad = torch.ones(3, height, b.shape[2])
        pad[:, : b.shape[1]] = (b.clamp(-1, 1) + 1) / 2
        pieces.append(pad)
    return torch.cat(pieces, dim=2)


def save_grid(grid: torch.Tensor, path: Path, *, colors: int = 0) -> Path:
    """Write a ``(3, H, W)`` grid in [0, 1] as PNG atomically; ``colors`` > 0 stores a
    palette PNG of that many colours (small files for docs)."""
    arr = (grid.permute(1, 2, 0).numpy() * 255.0 + 0.5).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(arr)
    if colors:
        image = image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", optimize=bool(colors))
    return path
