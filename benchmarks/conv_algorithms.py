"""One 3×3 convolution, direct (torch's, oneDNN) against Winograd's F(4×4, 3×3)
(``translkit.winograd``), by width and feature-map size: forward, and forward + backward
(input and weight gradients), milliseconds, best of N interleaved rounds, with the largest
difference from the direct result relative to its magnitude.

    python benchmarks/conv_algorithms.py
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 \\
        python benchmarks/conv_algorithms.py --rounds 10

The rows are the shapes of the recipes' generators: Zhu's ResNet-9 (256 channels at a
quarter of the crop), ``leather_denim_fast`` (32 channels at half the crop, batch 4) and
the tiny test networks. The runtime does not use this table: it times each run's own
networks (``train.fast_conv = "auto"``); this shows where the algorithm pays and why.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from translkit.precision import cpu_info
from translkit.winograd import winograd_conv2d

#: (batch, channels, feature-map side, what it is)
SHAPES = [
    (1, 256, 32, "Zhu ResNet-9 block, 128 px crop"),
    (1, 256, 64, "Zhu ResNet-9 block, 256 px crop"),
    (2, 128, 64, "128 channels, batch 2"),
    (1, 64, 128, "64 channels, 128 px"),
    (4, 32, 64, "leather_denim_fast block, batch 4"),
    (2, 8, 32, "tiny test network"),
]


def best_ms(fns: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    for fn in fns.values():
        fn()
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[key] = min(best[key], time.perf_counter() - start)
    return {k: v * 1e3 for k, v in best.items()}


def row(n: int, c: int, side: int, rounds: int) -> tuple[dict[str, float], float]:
    torch.manual_seed(0)
    x = torch.randn(n, c, side + 2, side + 2, requires_grad=True)
    w = (torch.randn(c, c, 3, 3) * 0.05).requires_grad_()
    grad = torch.randn(n, c, side, side)

    def both(conv: Callable[..., torch.Tensor]) -> Callable[[], object]:
        return lambda: torch.autograd.grad(conv(x, w), (x, w), grad)

    with torch.no_grad():
        want = F.conv2d(x, w)
        error = ((winograd_conv2d(x, w) - want).abs().max() / want.abs().max()).item()
    fns = {
        "direct fwd": lambda: F.conv2d(x.detach(), w.detach()),
        "winograd fwd": lambda: winograd_conv2d(x.detach(), w.detach()),
        "direct fwd+bwd": both(F.conv2d),
        "winograd fwd+bwd": both(winograd_conv2d),
    }
    return best_ms(fns, rounds), error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# CPU: {cpu_info().describe()}")
    print(f"# torch {torch.__version__}, {args.threads} threads, best of {args.rounds} rounds\n")
    print(
        "| shape (N, C, side) | what | direct fwd | Winograd fwd | × | direct f+b | "
        "Winograd f+b | × | rel. error |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for n, c, side, what in SHAPES:
        ms, error = row(n, c, side, args.rounds)
        fwd = ms["direct fwd"] / ms["winograd fwd"]
        both = ms["direct fwd+bwd"] / ms["winograd fwd+bwd"]
        print(
            f"| {n}, {c}, {side} | {what} | {ms['direct fwd']:.2f} | {ms['winograd fwd']:.2f} "
            f"| {fwd:.2f} | {ms['direct fwd+bwd']:.2f} | {ms['winograd fwd+bwd']:.2f} "
            f"| {both:.2f} | {error:.1e} |"
        )


if __name__ == "__main__":
    main()
