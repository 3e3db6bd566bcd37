"""Train-step benchmark: seconds/iteration, images/s, peak memory and GFLOP/s of one CycleGAN
iteration, for the reference step structure (Zhu et al.'s ``optimize_parameters``, fp32) and
for translkit's engine, side by side.

    python benchmarks/train_step.py                       # 64/128/256 px: reference, eager, default
    python benchmarks/train_step.py --sizes 128 --modes reference default bf16 --iters 8
    python benchmarks/train_step.py --clock thread        # one thread, CPU time (busy machines)

Modes: ``reference`` (Zhu's structure, fp32, torch's default Adam); ``eager`` (translkit's
step forced to fp32, instance norms as group norms); ``instance`` (the same, instance norms
kept: ``train.fast_norm = "off"``, the plain eager path); ``compile_instance`` (that,
compiled); ``winograd`` (``eager`` with 3×3 convolutions by Winograd's F(4×4, 3×3):
``train.fast_conv = "on"``; every other explicit mode has it off); ``default`` (exactly
what a recipe gets: every ``auto`` of the runtime, measured here: precision, norms, memory
format, convolution algorithm); ``bf16`` (bf16 forced; refused on a CPU without native
bf16); ``channels_last``, ``compile`` (fp32); ``amp`` (CUDA: bf16 + channels_last +
compile). The header names the CPU, its bf16 flags, torch's CPU capability and the
precision ``auto`` picks here, so a table from another machine explains itself. FLOPs are
counted as executed: a Winograd row counts its matrix products, not the direct
convolution's multiplications, so compare rows by time.

Model: the recipe's networks (default ``recipes/cyclegan_zhu2017.toml``: ResNet-9 + PatchGAN,
instance norm, identity loss on), batch 1 (``--batch``). Timing alternates the modes iteration by
iteration in one process, so a noisy shared machine slows all of them alike; the table
reports the best of N (``--stat median`` for medians). ``--clock thread`` runs on one
thread and measures that thread's CPU time, which other processes cannot inflate: the
fairest comparison of the work each mode does on a shared machine. Peak memory is measured
in a fresh subprocess per mode and size (this process's peak RSS, VmHWM, on CPU;
``max_memory_allocated`` on CUDA). FLOPs come from ``torch.utils.flop_counter``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import translkit  # noqa: E402
from translkit.precision import choose_precision, cpu_info  # noqa: E402
from translkit.recipe import load_recipe, resolve_recipe  # noqa: E402
from translkit.training.engine import Engine  # noqa: E402

MODES = (
    "reference",
    "eager",
    "instance",
    "winograd",
    "default",
    "bf16",
    "channels_last",
    "compile",
    "compile_instance",
    "amp",
)
COMPILED = ("compile", "compile_instance", "amp")
KEEP_INSTANCE_NORM = ("reference", "instance", "compile_instance")  # train.fast_norm = "off"
DEFAULT_MODES = ("reference", "eager", "default")
CUDA_ONLY = ("amp",)  # bf16 autocast + channels_last + compile
PRECISION = {"default": "auto", "bf16": "bf16", "amp": "bf16"}  # others: fp32


BATCH = 1  # --batch


def build(recipe_path: str, size: int, mode: str, device: str) -> Engine:
    """An engine for ``mode``; ``reference`` gets the same networks with fusion off."""
    overrides = [f"train.device={device}", f"optim.batch_size={BATCH}", f"data.crop_size={size}"]
    overrides.append(f"train.fuse={'off' if mode == 'reference' else 'auto'}")
    fast_norm = "off" if mode in KEEP_INSTANCE_NORM else "auto" if mode == "default" else "on"
    overrides.append(f"train.fast_norm={fast_norm}")
    channels_last = {"channels_last": "on", "amp": "on", "default": "auto"}.get(mode, "off")
    overrides.append(f"train.channels_last={channels_last}")
    fast_conv = {"winograd": "on", "default": "auto"}.get(mode, "off")
    overrides.append(f"train.fast_conv={fast_conv}")
    overrides.append(f"train.compile={'on' if mode in COMPILED else 'off'}")
    overrides.append(f"train.precision={PRECISION.get(mode, 'fp32')}")
    registries = translkit.get_registry()
    recipe = resolve_recipe(load_recipe(recipe_path, overrides), registries)
    return Engine(recipe, torch.device(device), registries)


def reference_step(e: Engine, real_A: torch.Tensor, real_B: torch.Tensor) -> None:
    """Zhu et al.'s ``CycleGANModel.optimize_parameters``: forward (4 passes), G step with D
    frozen and 2 separate identity passes, then D_A and D_B each scoring real and fake in
    separate passes with separate backward calls. Nothing reused, nothing fused."""
    G_AB, G_BA, D_A, D_B = (e.nets[k] for k in ("G_AB", "G_BA", "D_A", "D_B"))
    opt_G, opt_D = e.reference_optimizers
    cycle, identity = e.losses["cycle"], e.losses["identity"]
    mse = torch.nn.functional.mse_loss
    fake_B = G_AB(real_A)
    rec_A = G_BA(fake_B)
    fake_A = G_BA(real_B)
    rec_B = G_AB(fake_A)
    D_A.requires_grad_(False)
    D_B.requires_grad_(False)
    opt_G.zero_grad()
    idt_B = G_AB(real_B)
    idt_A = G_BA(real_A)
    pred_B, pred_A = D_B(fake_B), D_A(fake_A)
    loss_G = (
        mse(pred_B, torch.ones_like(pred_B))
        + mse(pred_A, torch.ones_like(pred_A))
        + cycle(rec_A, real_A)
        + cycle(rec_B, real_B)
        + identity(idt_A, real_A)
        + identity(idt_B, real_B)
    )
    loss_G.backward()
    opt_G.step()
    D_A.requires_grad_(True)
    D_B.requires_grad_(True)
    opt_D.zero_grad()
    for net, real, fake, pool in ((D_B, real_B, fake_B, "B"), (D_A, real_A, fake_A, "A")):
        fake = e.method.pools[pool].query(fake)
        pr, pf = net(real), net(fake.detach())
        loss_D = 0.5 * (mse(pr, torch.ones_like(pr)) + mse(pf, torch.zeros_like(pf)))
        loss_D.backward()
    opt_D.step()


def make_step(e: Engine, mode: str, size: int, device: str) -> Any:
    g = torch.Generator().manual_seed(0)
    batch = {d: (torch.rand(BATCH, 3, size, size, generator=g) * 2 - 1).to(device) for d in "AB"}
    if mode == "reference":  # Zhu's optimisers: torch's default Adam (no fused kernel)
        params_G = [p for k in ("G_AB", "G_BA") for p in e.nets[k].parameters()]
        params_D = [p for k in ("D_A", "D_B") for p in e.nets[k].parameters()]
        e.reference_optimizers = (
            torch.optim.Adam(params_G, lr=e.base_lr["G"], betas=(0.5, 0.999)),
            torch.optim.Adam(params_D, lr=e.base_lr["D"], betas=(0.5, 0.999)),
        )
        return lambda: reference_step(e, batch["A"], batch["B"])
    return lambda: e.train_step(batch)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def count_flops(step: Any) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step()
    return float(counter.get_total_flops())


CLOCK = time.perf_counter  # time.thread_time with --clock thread


def matmul_peak(device: str, n: int = 2048, reps: int = 20, dtype=torch.float32) -> float:
    """Measured matmul GFLOP/s on ``device`` in ``dtype`` (best of ``reps``, by ``CLOCK``)."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    best = float("inf")
    for _ in range(reps):
        sync(device)
        t = CLOCK()
        a @ b
        sync(device)
        best = min(best, CLOCK() - t)
    return 2 * n**3 / best / 1e9


def peak_memory(args: argparse.Namespace, size: int, mode: str) -> float:
    """Peak memory (MB) of a few iterations of ``mode`` in a fresh process."""
    cmd = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--sizes",
        str(size),
        "--recipe",
        args.recipe,
        "--device",
        args.device,
        "--batch",
        str(BATCH),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(json.loads(out.strip().splitlines()[-1])["peak_mb"])


def child(args: argparse.Namespace) -> None:
    size = args.sizes[0]
    e = build(args.recipe, size, args.child, args.device)
    step = make_step(e, args.child, size, args.device)
    for _ in range(3):
        step()
    sync(args.device)
    if args.device.startswith("cuda"):
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:  # VmHWM: this process's own peak RSS (ru_maxrss would include the parent's)
        status = Path("/proc/self/status")
        if status.is_file():
            line = next(x for x in status.read_text().splitlines() if x.startswith("VmHWM:"))
            peak = int(line.split()[1]) / 1024
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_mb": peak}))


def time_size(args: argparse.Namespace, size: int) -> dict[str, dict[str, float]]:
    modes = [m for m in args.modes if args.device.startswith("cuda") or m not in CUDA_ONLY]
    steps = {}
    for mode in list(modes):
        try:
            e = build(args.recipe, size, mode, args.device)
            if mode == "default":
                print(f"{size} px default: {e.runtime.describe()}")
            steps[mode] = make_step(e, mode, size, args.device)
            for _ in range(args.warmup if mode not in COMPILED else args.warmup + 2):
                steps[mode]()
        except Exception as err:  # e.g. a compiler failure: report it, time the rest
            print(f"{size} px {mode}: failed: {type(err).__name__}: {str(err)[:200]}")
            modes.remove(mode)
    times: dict[str, list[float]] = {m: [] for m in modes}
    iters = args.iters or max(2, {64: 10, 128: 5}.get(size, 3))
    clock = CLOCK
    for _ in range(iters):  # interleaved: a busy machine slows every mode alike
        for mode in modes:
            sync(args.device)
            t = clock()
            steps[mode]()
            sync(args.device)
            times[mode].append(clock() - t)
    rows = {}
    for mode in modes:
        # best of N (as timeit): load from other processes only ever adds time
        sec = min(times[mode]) if args.stat == "min" else statistics.median(times[mode])
        compiled = mode in COMPILED  # count the same arithmetic, uncompiled
        flops = count_flops(steps.get("eager", steps[mode]) if compiled else steps[mode])
        rows[mode] = {
            "s_per_iter": sec,
            "images_per_s": 1 / sec,
            "gflop": flops / 1e9,
            "gflop_per_s": flops / sec / 1e9,
        }
        if not args.no_memory:
            rows[mode]["peak_mb"] = peak_memory(args, size, mode)
    return rows


def print_header(args: argparse.Namespace) -> None:
    """What machine this is, and what ``auto`` picks on it."""
    choice = choose_precision("auto", args.device)
    if args.device.startswith("cuda"):
        print(f"device {torch.cuda.get_device_name(0)}")
    print(f"CPU: {cpu_info().describe()}")
    print(
        f'precision "auto" here for one convolution: {choice.describe()}; training\'s "auto" '
        "(mode default) measures the recipe's own networks (translkit.runtime)"
    )
    peaks = f"fp32 matmul {matmul_peak(args.device):.0f} GFLOP/s"
    if choice.name == "bf16":
        peaks += f", bf16 {matmul_peak(args.device, dtype=torch.bfloat16):.0f}"
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, clock {args.clock}, "
        f"stat {args.stat}; {peaks}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipe", default=str(ROOT / "recipes" / "cyclegan_zhu2017.toml"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--modes", nargs="+", default=list(DEFAULT_MODES), choices=MODES)
    parser.add_argument(
        "--clock",
        choices=("wall", "thread"),
        default="wall",
        help="wall: wall-clock time, default threads; thread: one thread's CPU time",
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--iters", type=int, default=0, help="timed iterations (0: by size)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1, help="images per domain per step")
    parser.add_argument(
        "--stat",
        choices=("min", "median"),
        default="min",
        help="per-mode statistic of the timed iterations (default: min)",
    )
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the peak-memory subprocesses"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global BATCH
    BATCH = args.batch
    if args.child:
        child(args)
        return
    if args.clock == "thread":
        global CLOCK
        CLOCK = time.thread_time
        torch.set_num_threads(1)
    print_header(args)
    peak = matmul_peak(args.device)
    results = {}
    for size in args.sizes:
        results[size] = rows = time_size(args, size)
        ref, eager = rows.get("reference"), rows.get("eager")
        print(f"\n{size} px, batch {BATCH}")
        print(
            f"{'mode':<14}{'s/iter':>9}{'img/s':>8}{'GFLOP':>8}{'GFLOP/s':>9}{'%peak':>7}"
            f"{'peak MB':>9}{'× ref':>7}{'× eager':>9}"
        )
        for mode, r in rows.items():
            ratio = f"{ref['s_per_iter'] / r['s_per_iter']:.2f}" if ref else "-"
            vs_eager = f"{eager['s_per_iter'] / r['s_per_iter']:.2f}" if eager else "-"
            mem = f"{r['peak_mb']:.0f}" if "peak_mb" in r else "-"
            print(
                f"{mode:<14}{r['s_per_iter']:>9.3f}{r['images_per_s']:>8.2f}{r['gflop']:>8.1f}"
                f"{r['gflop_per_s']:>9.1f}{100 * r['gflop_per_s'] / peak:>6.0f}%{mem:>9}{ratio:>7}"
                f"{vs_eager:>9}"
            )
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    again = matmul_peak(args.device)
    if again > peak * 1.05:
        print(
            f"\n(matmul peak re-measured at the end: {again:.1f} GFLOP/s; the machine was busy "
            "at the start, so read %peak against this)"
        )
    if args.json:
        out = {"matmul_gflops": max(peak, again), "results": results}
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
