"""Translation methods side by side for the same wall-clock budget (issue 12's evidence).

Each method (default: CycleGAN, CUT, FastCUT — a method that is not registered is skipped,
saying so) trains on each benchmark for ``--minutes`` of wall-clock time on ``--threads``
CPU threads, in a fresh process of its own; then its A→B generator translates the test
split and is scored against the hidden ground truth. One table: method, steps done,
seconds per iteration, peak memory, PSNR/SSIM to the truth (A→B), with the CPU model and
flags in the header. A row "identity" per benchmark scores copying the input.

Benchmarks (``--datasets``), each with its base recipe:

- ``synthetic``: the leather ↔ denim garments (``recipes/quickstart.toml``, the quick
  start's scale); its truth is partly random (the denim weave), so PSNR saturates ~17 dB;
- ``synthetic_recolor``: deterministic truth, domain B a fixed colour transform of the
  leather (``recipes/recolor.toml``); a perfect translator scores 100 dB (the cap).

For a method other than the base recipe's, ``recipes/<stem>_<method>.toml`` is used when it
exists (``quickstart_cut.toml``); otherwise the base recipe with ``method.name`` swapped
and the loss slots the method does not have dropped (the rest, e.g. ``[loss.gan]``,
kept), so networks, data and optimiser settings stay the same. The recipe's learning-rate
schedule is stretched over the budget: at a fraction ``f`` of the time, the rate is the
one of (fractional) epoch ``f * optim.epochs``. Evaluation is outside the budget.

    python benchmarks/compare_methods.py                          # 15 min × 3 × 2 (90 min)
    python benchmarks/compare_methods.py --minutes 2 --methods cyclegan --datasets synthetic_recolor
    python benchmarks/compare_methods.py --set generator.ngf=32 --out runs/compare

Timing is wall-clock on whatever else the machine is doing: run it on a quiet machine
(the load average at the start and end of each run is printed). Peak memory is the run
process's peak resident set (VmHWM) at the end of training, Python and torch included.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import translkit  # noqa: E402
from translkit.recipe import Recipe, apply_overrides, recipe_from_dict, resolve_recipe  # noqa: E402

#: Benchmark dataset -> its base recipe (relative to the repository root).
DATASETS = {"synthetic": "recipes/quickstart.toml", "synthetic_recolor": "recipes/recolor.toml"}
METHODS = ("cyclegan", "cut", "fastcut")
#: CPU flags worth naming in the header (what torch's CPU kernels dispatch on).
FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512_bf16", "avx512_vnni", "amx")


# -- recipes ---------------------------------------------------------------------------------
def method_recipe(
    base: Path, method: str, overrides: list[str], registries: Any
) -> tuple[Recipe, str]:
    """The resolved recipe ``method`` trains with on ``base``'s benchmark, and its origin."""
    specific = base.with_name(f"{base.stem}_{method}.toml")
    path = specific if specific.is_file() else base
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    origin = str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    if raw.get("method", {}).get("name", "cyclegan") != method:
        slots = {s.name for s in registries.methods.create(method).losses}
        raw["method"] = {"name": method}
        raw["loss"] = {k: v for k, v in raw.get("loss", {}).items() if k in slots}
        if path == base:  # a recipe named for the method is that method's, by its name
            origin += f" with method {method}"
    raw = apply_overrides(raw, ["train.device=cpu", *overrides])
    return resolve_recipe(recipe_from_dict(raw, source=str(path)), registries), origin


# -- one run (in a child process) ------------------------------------------------------------
def _peak_mb() -> float:
    status = Path("/proc/self/status")
    if status.is_file():
        line = next(x for x in status.read_text().splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train_for(
    recipe: Recipe,
    registries: Any,
    seconds: float,
    steps: int = 0,
    on_step: Callable[[Any, int], None] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Train for ``seconds`` of wall-clock time (or ``steps`` steps when given); return the
    engine and the counts. ``on_step(engine, step)`` runs after each step, off the clock."""
    from translkit.data import build_train_loader
    from translkit.training.engine import Engine
    from translkit.training.schedules import lr_factor

    seed = recipe.run.seed
    random.seed(seed)
    np.random.seed(seed % 2**32)
    engine = Engine(recipe, torch.device("cpu"), registries)
    optim, step, epoch, paused = recipe.optim, 0, 0, 0.0
    start = time.perf_counter()
    while True:
        loader = build_train_loader(
            recipe.data, batch_size=optim.batch_size, seed=seed, epoch=epoch
        )
        for batch in loader:
            elapsed = time.perf_counter() - start - paused
            fraction = step / steps if steps else elapsed / seconds
            if fraction >= 1.0:
                counts = {"steps": step, "epochs": step / len(loader), "seconds": elapsed}
                return engine, counts
            engine.set_lr_factor(lr_factor(optim, fraction * optim.epochs))
            engine.train_step(batch, step + 1)
            step += 1
            if on_step is not None:
                t = time.perf_counter()
                on_step(engine, step)
                paused += time.perf_counter() - t
        epoch += 1


def evaluate(engine: Any, recipe: Recipe, registries: Any, grid: Path | None) -> dict[str, float]:
    """PSNR/SSIM of every direction the method translates; the sample grid to ``grid``."""
    from translkit.scoring import score_generators
    from translkit.training.samples import fixed_samples, render_grid, save_grid

    engine.train_mode(False)
    generators = engine.generators()
    if grid is not None:
        samples = fixed_samples(recipe.data, recipe.eval.num_samples or 6)
        save_grid(render_grid(generators, samples, "cpu"), grid)
    with tempfile.TemporaryDirectory(prefix="compare-methods-") as tmp:
        result = score_generators(
            generators, recipe.data, ["psnr", "ssim"], registries, out_dir=Path(tmp)
        )
    return result.values


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """One method on one benchmark: train for the budget, then score (a JSON result)."""
    from translkit.data import ensure_dataset

    torch.set_num_threads(spec["threads"])
    registries = translkit.get_registry(spec["plugins"])
    recipe, origin = method_recipe(Path(spec["base"]), spec["method"], spec["set"], registries)
    ensure_dataset(recipe.data, registries=registries)  # generated before the clock starts
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    curve: list[dict[str, float]] = []

    def score_now(engine: Any, step: int) -> None:
        if spec["eval_every"] and step % spec["eval_every"] == 0:
            curve.append({"step": step, **evaluate(engine, recipe, registries, None)})
            engine.train_mode(True)
            print(json.dumps(curve[-1]), file=sys.stderr, flush=True)

    engine, counts = train_for(recipe, registries, spec["minutes"] * 60.0, spec["steps"], score_now)
    peak = _peak_mb()
    grid = Path(spec["out"]) / f"{spec['dataset']}_{spec['method']}.png" if spec["out"] else None
    scores = evaluate(engine, recipe, registries, grid)
    return {
        **counts,
        "recipe": origin,
        "s_per_iter": counts["seconds"] / max(counts["steps"], 1),
        "peak_mb": peak,
        "load_start": load,
        "load_end": os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"),
        "scores": scores,
        "curve": curve,
    }


# -- the parent ------------------------------------------------------------------------------
def cpu_header(threads: int) -> str:
    model, flags = platform.processor() or "unknown CPU", set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    named = [f for f in FLAGS if f in flags or (f == "amx" and any("amx" in x for x in flags))]
    return (
        f"CPU: {model}, {os.cpu_count()} logical cores; flags: {' '.join(named) or '-'}\n"
        f"torch {torch.__version__}, {threads} threads per run; "
        f"load average at start {os.getloadavg()[0]:.2f}"
    )


def identity_scores(base: Path, overrides: list[str], registries: Any) -> dict[str, float]:
    """PSNR/SSIM of copying the input (A→B), the floor every method should beat."""
    from translkit.data import ensure_dataset
    from translkit.scoring import score_folders

    recipe, _ = method_recipe(base, "cyclegan", overrides, registries)
    root = ensure_dataset(recipe.data, registries=registries)
    res = score_folders(
        root / "testA",
        root / "trainB",
        ["psnr", "ssim"],
        registries,
        truth=root / "testA_truth",
    )
    return {f"a2b/{k}": v for k, v in res.values.items()}


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": str(spec["threads"])}
    cmd = [sys.executable, __file__, "--child", json.dumps(spec)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=os.getcwd())
    if proc.returncode != 0:  # its error went to stderr, above
        return {"error": f"exit status {proc.returncode} (see the error above)"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def available_methods(wanted: list[str], registries: Any) -> list[str]:
    registered = registries.methods
    kept = [m for m in wanted if m in registered]
    for m in wanted:
        if m not in registered:
            print(
                f"skipping {m}: not a registered method (registered: "
                f"{', '.join(registered.names())})"
            )
    return kept


def row(dataset: str, method: str, r: dict[str, Any]) -> str:
    if "error" in r:
        return f"{dataset:<18}{method:<10} failed: {r['error']}"
    s = r.get("scores", {})
    if "steps" not in r:  # the identity row
        return f"{dataset:<18}{'identity':<10}{'-':>7}{'-':>8}{'-':>9}{s['a2b/psnr']:>9.2f}" + (
            f"{s['a2b/ssim']:>8.3f}"
        )
    return (
        f"{dataset:<18}{method:<10}{r['steps']:>7d}{r['s_per_iter']:>8.3f}{r['peak_mb']:>9.0f}"
        f"{s.get('a2b/psnr', float('nan')):>9.2f}{s.get('a2b/ssim', float('nan')):>8.3f}"
        f"{s.get('b2a/psnr', float('nan')):>9.2f}   {r['load_start']:.1f}/{r['load_end']:.1f}"
        f"  {r['recipe']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=15.0, help="budget per run")
    parser.add_argument(
        "--steps", type=int, default=0, help="train this many steps instead of --minutes"
    )
    parser.add_argument(
        "--eval-every",
        type=int,
        default=0,
        metavar="N",
        help="also score every N steps (off the clock; a PSNR curve in results.json)",
    )
    parser.add_argument("--methods", nargs="+", default=list(METHODS), metavar="METHOD")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--threads", type=int, default=2, help="torch threads per run")
    parser.add_argument(
        "--recipe",
        action="append",
        default=[],
        metavar="DATASET=PATH",
        help="base recipe of a benchmark instead of the default",
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override every recipe"
    )
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="load this plugin module too (a method of your own), as translkit run --plugin",
    )
    parser.add_argument("--out", type=Path, help="write sample grids (and results.json) here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    bases = {**DATASETS, **dict(item.split("=", 1) for item in args.recipe)}
    registries = translkit.get_registry(args.plugin)
    methods = available_methods(args.methods, registries)
    print(cpu_header(args.threads))
    budget = f"{args.steps} steps" if args.steps else f"{args.minutes:g} min of wall-clock training"
    print(f"budget: {budget} per run; overrides: {args.set}")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    lines = []
    for dataset in args.datasets:
        base = (ROOT / bases[dataset]).resolve()
        ident = {"scores": identity_scores(base, args.set, registries)}
        results[f"{dataset}/identity"] = ident
        lines.append(row(dataset, "identity", ident))
        for method in methods:
            spec = {"dataset": dataset, "method": method, "base": str(base), "set": args.set,
                    "minutes": args.minutes, "steps": args.steps, "threads": args.threads,
                    "eval_every": args.eval_every, "plugins": args.plugin,
                    "out": str(args.out) if args.out else ""}  # fmt: skip
            results[f"{dataset}/{method}"] = r = run_child(spec)
            lines.append(row(dataset, method, r))
            print(lines[-1], flush=True)
    print(
        f"\n{'dataset':<18}{'method':<10}{'steps':>7}{'s/iter':>8}{'peak MB':>9}"
        f"{'PSNR a2b':>9}{'SSIM':>8}{'b2a PSNR':>9}   load  recipe"
    )
    print("\n".join(lines))
    if args.out:
        (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
