"""Cost of one training iteration of each method at the quick start's scale, side by side.

Seconds per iteration (translkit's engine, everything a real step does: forward, every
phase's backward and optimiser step) and peak memory of CycleGAN (``recipes/quickstart.toml``),
CUT (``recipes/quickstart_cut.toml``) and FastCUT (the same with ``method.name=fastcut``):
64 px, ResNet-6 ngf 16, PatchGAN ndf 16, batch 2, on random images.

    python benchmarks/methods.py                     # CPU
    python benchmarks/methods.py --device cuda --iters 50
    python benchmarks/methods.py --set data.crop_size=256 --set optim.batch_size=1

Timing alternates the methods step by step in one process, so a busy shared machine slows
all of them alike; the table gives the median (and best) of ``--iters`` steps and each
method's time relative to CycleGAN. Only ratios from one run mean anything. Peak memory
is measured in a fresh subprocess per method: this process's peak RSS (VmHWM) on CPU,
``torch.cuda.max_memory_allocated`` on CUDA.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
METHODS = {
    "cyclegan": ("quickstart.toml", []),
    "cut": ("quickstart_cut.toml", []),
    "fastcut": ("quickstart_cut.toml", ["method.name=fastcut"]),
}


def build(method: str, args: argparse.Namespace) -> Any:
    """An engine for ``method`` (networks, optimisers, the method) on ``args.device``."""
    import translkit
    from translkit.recipe import load_recipe, resolve_recipe
    from translkit.training.engine import Engine

    recipe_file, overrides = METHODS[method]
    overrides = [*overrides, f"train.device={args.device}", *args.set]
    registries = translkit.get_registry()
    recipe = resolve_recipe(load_recipe(ROOT / "recipes" / recipe_file, overrides), registries)
    torch.manual_seed(0)
    return Engine(recipe, torch.device(args.device), registries)


def make_step(engine: Any, device: str) -> Any:
    size, n = engine.recipe.data.crop_size, engine.recipe.optim.batch_size
    g = torch.Generator().manual_seed(0)
    batch = {d: torch.rand(n, 3, size, size, generator=g) * 2 - 1 for d in "AB"}
    return lambda: engine.train_step(batch)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def child(args: argparse.Namespace) -> None:
    """Run a few steps of one method in this fresh process; print its peak memory."""
    step = make_step(build(args.child, args), args.device)
    for _ in range(3):
        step()
    sync(args.device)
    if args.device.startswith("cuda"):
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:  # VmHWM: this process's own peak resident memory
        status = Path("/proc/self/status").read_text().splitlines()
        peak = int(next(x for x in status if x.startswith("VmHWM:")).split()[1]) / 1024
    print(json.dumps({"peak_mb": peak}))


def peak_memory(method: str, args: argparse.Namespace) -> float:
    cmd = [sys.executable, __file__, "--child", method, "--device", args.device]
    for item in args.set:
        cmd += ["--set", item]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(json.loads(out.strip().splitlines()[-1])["peak_mb"])


def measure(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    engines = {m: build(m, args) for m in METHODS}
    steps = {m: make_step(e, args.device) for m, e in engines.items()}
    for step in steps.values():
        for _ in range(args.warmup):
            step()
    times: dict[str, list[float]] = {m: [] for m in METHODS}
    for _ in range(args.iters):  # interleaved: load from others slows every method alike
        for method, step in steps.items():
            sync(args.device)
            start = time.perf_counter()
            step()
            sync(args.device)
            times[method].append(time.perf_counter() - start)
    rows = {}
    for method, engine in engines.items():
        params = sum(p.numel() for net in engine.nets.values() for p in net.parameters())
        rows[method] = {
            "median_s": statistics.median(times[method]),
            "best_s": min(times[method]),
            "params": params,
            "peak_mb": peak_memory(method, args),
        }
    return rows


def header(args: argparse.Namespace) -> str:
    cpu = platform.processor() or platform.machine()
    model = Path("/proc/cpuinfo")
    if model.is_file():
        names = [
            x.split(":", 1)[1].strip() for x in model.read_text().splitlines() if "model name" in x
        ]
        cpu = names[0] if names else cpu
    device = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else cpu
    return (
        f"# device {args.device} ({device}); torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; fp32; iters {args.iters} (warm-up {args.warmup}); "
        f"overrides {args.set or 'none'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], help="recipe override, repeatable")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    rows = measure(args)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    base = rows["cyclegan"]["median_s"]
    print(header(args))
    columns = ("s/iter", "best", "vs cyclegan", "peak MB", "params")
    widths = (8, 8, 12, 9, 10)
    print(f"{'method':<10} " + " ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    for method, r in rows.items():
        print(
            f"{method:<10} {r['median_s']:>8.4f} {r['best_s']:>8.4f} "
            f"{r['median_s'] / base:>11.2f}× {r['peak_mb']:>9.0f} {r['params']:>10,}"
        )


if __name__ == "__main__":
    main()
