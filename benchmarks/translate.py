"""Translation throughput at 256×256: the reference's batch-1 fp32 eager mode vs translkit's path.

Zhu et al.'s ``test.py`` translates one image at a time under ``torch.no_grad`` with the
unmodified network in fp32. translkit's :class:`~translkit.inference.Translator` batches
same-sized images, runs under ``torch.inference_mode``, swaps instance norms for the
equivalent group norms (``translkit.inference.optimize``) in the channels-last memory
format, and with ``precision="auto"`` (its default) autocasts to bf16 where the CPU has
native bf16 (``translkit.precision``; the header says what ``auto`` picks here); one row runs
the 3×3 convolutions by Winograd's algorithm in fp32 (``fast_conv``), which the default row
takes where it measured faster for the network here (told of a large folder). Every mode
is measured in the same process, interleaved over rounds, on the same random weights and
inputs. On a machine shared with other jobs, the best round of each mode (timeit's
convention: the least disturbed one) is the fairest wall-clock comparison; the median is
printed too; ``--clock thread`` instead runs one thread and measures its CPU time, which
other processes cannot inflate. Each row also reports the largest output difference from
the reference mode, so a speed-up never hides a changed result (bf16 rows differ by
bf16's rounding, ~1e-2).

Usage::

    python benchmarks/translate.py        # resnet_9blocks, 8 images, batch 8, 5 rounds
    python benchmarks/translate.py --images 16 --rounds 3 --generator resnet_6blocks
    python benchmarks/translate.py --clock thread --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from translkit import get_registry
from translkit.inference import Translator
from translkit.precision import choose_precision, cpu_info

Mode = Callable[[torch.Tensor], torch.Tensor]


def reference_mode(net: nn.Module) -> Mode:
    """Batch 1, eager, ``no_grad``, contiguous, unmodified network (Zhu's test.py)."""

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([net(x[i : i + 1]) for i in range(x.shape[0])])

    return run


class Uncapped(Translator):
    """The path without the CPU's pixels-per-pass cap: ``batch_size`` images per pass."""

    def _per_pass(self, h: int, w: int) -> int:
        return self.batch_size


def modes(net: nn.Module, batch: int, compile: bool) -> dict[str, Mode]:
    def translator(cls: type = Translator, **kw: object) -> Mode:
        kw.setdefault("precision", "fp32")
        kw.setdefault("batch_size", batch)
        kw.setdefault("fast_conv", False)  # Winograd's only in its own row
        return cls(net, device="cpu", **kw)  # type: ignore[arg-type]

    default = Translator(net, device="cpu")
    default.plan(megapixels=1e3, shapes=1)  # a large folder: fast_conv auto measures (cached)
    auto = default.precision  # what the default path runs in here
    convs = "Winograd" if default.runtime.winograd else "direct"
    table = {
        "reference: batch 1, no_grad, fp32": reference_mode(net),
        "batch 1, inference_mode, group norm, fp32": translator(batch_size=1, channels_last=False),
        f"batch {batch}, inference_mode, fp32": translator(
            Uncapped, optimize=False, channels_last=False
        ),
        f"batch {batch}, group norm, contiguous, fp32": translator(Uncapped, channels_last=False),
        f"batch {batch}, group norm, c-last, fp32": translator(Uncapped),
        f"batch {batch}, group norm, c-last, {auto}": translator(Uncapped, precision="auto"),
        "group norm, c-last, fp32, pixel cap": translator(),
        "group norm, c-last, fp32, pixel cap, Winograd": translator(fast_conv=True),
        f"translkit default: group norm, c-last, {auto}, pixel cap, {convs}": default,
    }
    if compile:
        table[f"translkit default + torch.compile ({auto})"] = translator(
            precision="auto", compile=True, fast_conv=default.runtime.winograd
        )
    return table


def measure(fn: Mode, x: torch.Tensor, clock=time.perf_counter) -> tuple[float, torch.Tensor]:
    """Images per second (of ``clock``) of one pass over ``x``."""
    start = clock()
    out = fn(x)
    return x.shape[0] / (clock() - start), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generator", default="resnet_9blocks")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8, help="images per pass (at most)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument(
        "--clock",
        choices=("wall", "thread"),
        default="wall",
        help="wall: wall-clock time; thread: one thread's CPU time (sets --threads 1)",
    )
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    args = parser.parse_args()
    if args.threads or args.clock == "thread":
        torch.set_num_threads(1 if args.clock == "thread" else args.threads)
    clock = time.thread_time if args.clock == "thread" else time.perf_counter
    choice = choose_precision("auto", "cpu")
    print(f"CPU: {cpu_info().describe()}")
    print(f'precision "auto" here: {choice.describe()}')
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    torch.manual_seed(0)
    net = get_registry().generators.create(args.generator).eval()
    x = torch.rand(args.images, 3, args.size, args.size) * 2 - 1
    table = modes(net, args.batch_size, args.compile)
    warm = {}
    for name, fn in table.items():  # warm-up: allocator, oneDNN caches, compilation
        start = time.perf_counter()
        fn(x[: args.batch_size])
        warm[name] = time.perf_counter() - start
    speeds: dict[str, list[float]] = {name: [] for name in table}
    outputs: dict[str, torch.Tensor] = {}
    for _ in range(args.rounds):
        for name, fn in table.items():
            speed, outputs[name] = measure(fn, x, clock)
            speeds[name].append(speed)
    ref_name = next(iter(table))
    ref_best, ref_median = max(speeds[ref_name]), statistics.median(speeds[ref_name])
    print(
        f"{args.generator} at {args.size}x{args.size}, {args.images} images, "
        f"{args.rounds} rounds, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"clock {args.clock}"
    )
    header = ("mode", "best img/s", "speed-up", "median", "speed-up", "max |diff|", "warm-up s")
    print("{:<66} {:>10} {:>9} {:>8} {:>9} {:>11} {:>10}".format(*header))
    for name in table:
        best, median = max(speeds[name]), statistics.median(speeds[name])
        diff = (outputs[name] - outputs[ref_name]).abs().max().item()
        print(
            f"{name:<66} {best:>10.3f} {best / ref_best:>8.2f}x {median:>8.3f} "
            f"{median / ref_median:>8.2f}x {diff:>11.2e} {warm[name]:>10.1f}"
        )
    print(f"load average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
