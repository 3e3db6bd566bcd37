"""Does bf16 cost translation quality? The quick start trained in fp32 and in bf16, side by side.

Trains ``recipes/quickstart.toml`` (or ``--recipe``) twice with the same seed, data and
number of steps — once with ``train.precision = "fp32"``, once with ``"bf16"`` — then
scores both final checkpoints on the synthetic benchmark's hidden ground truth
(``testA_truth``/``testB_truth``: PSNR and SSIM per direction, translated in fp32 so the
scoring itself is the same for both) and prints them side by side with the training time.
Target: bf16 within 0.3 dB PSNR of fp32. Needs a device with native bf16 (the bf16 run is
refused otherwise).

    python benchmarks/precision_quality.py                     # the full quick start, twice
    python benchmarks/precision_quality.py --set optim.epochs=4 --set optim.decay_start=2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import translkit  # noqa: E402
from translkit.precision import choose_precision, cpu_info  # noqa: E402
from translkit.recipe import load_recipe, resolve_recipe  # noqa: E402
from translkit.scoring import score_run  # noqa: E402
from translkit.training import train  # noqa: E402

KEYS = ("a2b/psnr", "b2a/psnr", "a2b/ssim", "b2a/ssim")


def train_and_score(
    recipe_path: str, overrides: list[str], precision: str, seed: int, folder: Path
) -> dict:
    sets = [
        *overrides,
        f"train.precision={precision}",
        f"run.seed={seed}",
        f"run.name={precision}-{seed}",
        f"run.output_dir={folder / 'runs'}",
    ]
    registries = translkit.get_registry()
    recipe = resolve_recipe(load_recipe(recipe_path, sets), registries)
    start = time.perf_counter()
    result = train(recipe, registries=registries, progress=False)
    seconds = time.perf_counter() - start
    scores = score_run(result.run_dir, registries, checkpoint="latest", metrics=["psnr", "ssim"])[
        "scores"
    ]
    return {"seconds": seconds, "steps": result.steps, **{k: scores[k] for k in KEYS}}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipe", default=str(ROOT / "recipes" / "quickstart.toml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="run seeds (means are compared)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    print(f"CPU: {cpu_info().describe()}")
    print(f'precision "auto" here: {choose_precision("auto", "cpu").describe()}')
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    runs: dict[str, list[dict]] = {"fp32": [], "bf16": []}
    with tempfile.TemporaryDirectory(prefix="translkit-quality-") as tmp:
        data = Path(tmp) / "data"  # generated once, shared by every run
        overrides = [f"data.root={data}", "eval.every=0", *args.overrides]
        for seed in args.seeds:  # interleaved: load changes hit both precisions alike
            for precision in runs:
                row = train_and_score(args.recipe, overrides, precision, seed, Path(tmp))
                runs[precision].append(row)
                print(f"{precision} seed {seed}: {row}", flush=True)
    rows = {p: {k: statistics.mean(r[k] for r in rs) for k in rs[0]} for p, rs in runs.items()}
    print(f"\nmeans over seeds {args.seeds}")
    print(f"{'':<6}{'steps':>7}{'train s':>9}" + "".join(f"{k:>11}" for k in KEYS))
    for name, row in rows.items():
        cells = "".join(f"{row[k]:>11.4f}" for k in KEYS)
        print(f"{name:<6}{row['steps']:>7.0f}{row['seconds']:>9.1f}{cells}")
    diff = {k: rows["bf16"][k] - rows["fp32"][k] for k in KEYS}
    print(f"{'Δ':<6}{'':>7}{'':>9}" + "".join(f"{diff[k]:>+11.4f}" for k in KEYS))
    worst = min(diff["a2b/psnr"], diff["b2a/psnr"])
    verdict = "met" if worst >= -0.3 else "NOT met"
    print(f"\nbf16 PSNR within 0.3 dB of fp32 (worst direction {worst:+.2f} dB): {verdict}")
    print(f"load average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
