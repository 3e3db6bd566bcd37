"""Images/s of the synthetic leather↔denim generator (render + PNG write), inline vs processes.

    .venv/bin/python benchmarks/data_synth.py [--size 64] [--train 400] [--test 50]

Counts every written image, test twins included; one run, rows side by side.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from translkit.data import make_synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--train", type=int, default=400)
    parser.add_argument("--test", type=int, default=50)
    args = parser.parse_args()
    images = 2 * args.train + 4 * args.test
    print(f"{images} images of {args.size}x{args.size} px per run")
    print(f"{'workers':>7} {'seconds':>8} {'images/s':>9}")
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            start = time.perf_counter()
            make_synthetic(
                Path(tmp) / f"w{workers}",
                size=args.size,
                train=args.train,
                test=args.test,
                seed=0,
                workers=workers,
            )
            took = time.perf_counter() - start
            rates[workers] = images / took
            print(f"{workers:>7} {took:>8.2f} {rates[workers]:>9.1f}")
    print(f"2 processes vs inline: {rates[2] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
