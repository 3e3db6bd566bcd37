"""A test-set grid of a trained run (the study's Figure 4 layout), for docs/results.md.

    python scripts/test_grid.py runs/leather_denim_cpu -o docs/images/results_resnet9.png

Rows per direction: input, translated, reconstructed (two-way methods); the first
``--images`` test images of each domain with the deterministic test transform, from the
run's ``best.pt`` (else ``latest.pt``), EMA weights when it has them (``--no-ema``: the
raw ones). ``--size N`` translates at N px instead of the recipe's test size (the
generators are fully convolutional; e.g. twice the training size to see texture).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

import translkit
from translkit.training.samples import fixed_samples, render_grid, save_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--images", type=int, default=6, help="test images per direction")
    parser.add_argument("--checkpoint", default="best", help="best, latest or a file")
    parser.add_argument(
        "--colors", type=int, default=0, help="store as a palette PNG of this many colours"
    )
    parser.add_argument("--size", type=int, default=0, help="translate at N px (0: the recipe's)")
    parser.add_argument("--no-ema", action="store_true", help="the raw weights, not the EMA")
    args = parser.parse_args()
    registries = translkit.get_registry()
    model, _, path = translkit.load_model(
        args.run_dir, registries, which=args.checkpoint, use_ema=not args.no_ema
    )
    data = model.recipe.data
    if args.size:
        data = dataclasses.replace(data, load_size=args.size, crop_size=args.size)
    samples = fixed_samples(data, args.images)
    with torch.no_grad():
        grid = render_grid(model.generators(), samples, "cpu")
    save_grid(grid, args.output, colors=args.colors)  # a palette keeps docs images small
    print(f"wrote {args.output} from {path} ({grid.shape[2]}×{grid.shape[1]} px)")


if __name__ == "__main__":
    main()
