"""Images/s of the training data loader alone (decode, resize, crop, flip, rotate, normalise).

Uses the study's leather↔denim images when present (``../shared/data/leather_denim`` or
``--root``), else a synthetic set generated at 286 px in a temporary folder. Rows compare
``num_workers`` 0 and 2 and JPEG draft decoding on/off, measured side by side in one run.

    .venv/bin/python benchmarks/data_loader.py [--root DIR] [--batches 30] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from translkit.data import build_train_loader, make_synthetic
from translkit.recipe import DataSection

STUDY = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "leather_denim"


def measure(data: DataSection, batches: int, batch_size: int, draft: bool) -> float:
    """Images (A and B) per second over ``batches`` batches, worker start-up included."""
    loader = build_train_loader(data, batch_size=batch_size, seed=0, epoch=0)
    if not draft:
        loader.dataset.draft = None
    start = time.perf_counter()
    n = 0
    for i, batch in enumerate(loader):
        n += batch["A"].shape[0] + batch["B"].shape[0]
        if i + 1 == batches:
            break
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    tmp = None
    root = args.root or (STUDY if STUDY.is_dir() else None)
    if root is None:
        tmp = tempfile.TemporaryDirectory()
        root = make_synthetic(Path(tmp.name) / "syn", size=286, train=300, test=0, seed=0)
    print(f"dataset: {root}  (resize square 286, crop 256, flip, rotation 15°)")
    print(f"{'num_workers':>11} {'jpeg draft':>10} {'images/s':>9} {'ms/image':>9}")
    results = {}
    for workers in (0, 2):
        for draft in (True, False):
            data = DataSection(
                root=str(root), load_size=286, crop_size=256, rotation=15.0, num_workers=workers
            )
            rate = measure(data, args.batches, args.batch_size, draft)
            results[workers, draft] = rate
            print(f"{workers:>11} {'on' if draft else 'off':>10} {rate:>9.1f} {1000 / rate:>9.2f}")
    print(
        f"speed-up of 2 workers over 0 (draft on): {results[2, True] / results[0, True]:.2f}x;"
        f" of draft on over off (0 workers): {results[0, True] / results[0, False]:.2f}x"
    )
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
