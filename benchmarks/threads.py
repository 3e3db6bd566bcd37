"""Training throughput beside a busy process: torch's default threads against translkit's policy.

Each run is a whole ``translkit run`` of a small recipe (the quick start's networks at
64 px, one epoch, no evaluation or samples) in a fresh process; its images/s is the
epoch's, from ``summary.json``. Variants (environment of the run):

- ``torch default``: ``TRANSLKIT_THREADS=off`` — one OpenMP thread per core, libgomp's
  default wait policy (what translkit did before ``translkit.threads``);
- ``OMP_NUM_THREADS=1``;
- ``OMP_WAIT_POLICY=PASSIVE`` (default threads, waiting threads sleep instead of spinning);
- ``translkit``: the default policy (thread budget + governor, ``translkit/threads.py``).

Each variant runs idle and beside one competing busy process (a single-threaded Python
loop), interleaved over ``--rounds`` rounds; the table gives medians, and ratios are
medians of per-round ratios (a round's runs are minutes apart, under the same background).
Because the machine may be shared with other work, every run also records the *background*
load: the cores' worth of CPU used by processes other than the run and the competitor
(``/proc/stat``).

    python benchmarks/threads.py                  # 3 rounds
    python benchmarks/threads.py --rounds 5 --images 60
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from translkit.precision import cpu_info  # noqa: E402
from translkit.threads import _busy_seconds, usable_cores  # noqa: E402

VARIANTS = {
    "torch default": {"TRANSLKIT_THREADS": "off"},
    "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1"},
    "OMP_WAIT_POLICY=PASSIVE": {"TRANSLKIT_THREADS": "off", "OMP_WAIT_POLICY": "PASSIVE"},
    "translkit": {},
}
BUSY = "while True: pass"


def write_recipe(folder: Path, images: int, precision: str) -> tuple[Path, list[str]]:
    """The quick start's networks on a small synthetic set, one epoch, nothing but training."""
    text = (ROOT / "recipes" / "quickstart.toml").read_text()
    path = folder / "recipe.toml"
    path.write_text(text)
    overrides = [
        f"run.output_dir={folder / 'runs'}",
        f"data.root={folder / 'data'}",
        f"data.synthetic_train={images}",
        "data.synthetic_test=2",
        "optim.epochs=1",
        "optim.schedule=constant",  # one epoch at a constant rate
        "eval.every=0",
        "eval.num_samples=0",
        "train.sample_every=0",
        "train.tensorboard=false",
        f"train.precision={precision}",
    ]
    return path, overrides


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_once(recipe: Path, overrides: list[str], env: dict, competitor: int | None) -> dict:
    """One ``translkit run``; its images/s and the background load while it ran."""
    cmd = [sys.executable, "-m", "translkit", "run", str(recipe), "--overwrite"]
    for item in overrides:
        cmd += ["--set", item]
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS",)}
    before = (time.monotonic(), _busy_seconds() or 0.0, os.times())
    comp_before = cpu_seconds(competitor) if competitor else 0.0
    out = subprocess.run(cmd, env={**base, **env}, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"run failed: {out.stderr[-2000:]}")
    wall = time.monotonic() - before[0]
    after = os.times()
    ours = (after.children_user - before[2].children_user) + (
        after.children_system - before[2].children_system
    )
    comp = (cpu_seconds(competitor) - comp_before) if competitor else 0.0
    busy = (_busy_seconds() or 0.0) - before[1]
    run_dir = Path(dict(o.split("=", 1) for o in overrides)["run.output_dir"]) / "quickstart"
    summary = json.loads((run_dir / "summary.json").read_text())
    return {
        "images_per_s": summary["images_per_s"],
        "background": max(0.0, (busy - ours - comp) / wall),
        "threads": summary.get("threads", {}).get("last"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--images", type=int, default=40, help="training images per domain")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    cpu = cpu_info()
    print(f"CPU: {cpu.describe()}; {usable_cores()} usable cores; load {os.getloadavg()}")
    results = {v: {"idle": [], "busy": []} for v in args.variants}
    with tempfile.TemporaryDirectory(prefix="translkit-threads-") as tmp:
        recipe, overrides = write_recipe(Path(tmp), args.images, args.precision)
        run_once(recipe, overrides, {}, None)  # generates the data; warms the caches
        for r in range(args.rounds):
            for condition in ("idle", "busy"):
                comp = (
                    subprocess.Popen([sys.executable, "-c", BUSY]) if condition == "busy" else None
                )
                try:
                    for name in args.variants:
                        res = run_once(recipe, overrides, VARIANTS[name], comp and comp.pid)
                        results[name][condition].append(res)
                        print(f"round {r + 1} {condition:4} {name:24} {res}", flush=True)
                finally:
                    if comp is not None:
                        comp.kill()
                        comp.wait()
    print_table(results)
    print(f"load average at the end: {os.getloadavg()}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def print_table(results: dict) -> None:
    """Medians over rounds; the ratios pair runs of the same round (measured minutes apart,
    under the same background), then take the median of those per-round ratios."""

    def med(values: list[float]) -> float:
        return statistics.median(values)

    def col(name: str, cond: str, key: str = "images_per_s") -> list[float]:
        return [r[key] for r in results[name][cond]]

    base = "torch default" if "torch default" in results else None
    print(
        f"\n{'variant':<26}{'idle img/s':>11}{'busy img/s':>11}{'busy/idle':>10}"
        f"{'idle vs default':>16}{'background idle/busy':>22}"
    )
    for name in results:
        idle, busy = col(name, "idle"), col(name, "busy")
        share = med([b / i for i, b in zip(idle, busy, strict=True)])
        rel = (
            f"{med([i / d for i, d in zip(idle, col(base, 'idle'), strict=True)]):.2f}"
            if base
            else "-"
        )
        bg_idle, bg_busy = (
            med(col(name, "idle", "background")),
            med(col(name, "busy", "background")),
        )
        bg = f"{bg_idle:.2f} / {bg_busy:.2f}"
        print(f"{name:<26}{med(idle):>11.2f}{med(busy):>11.2f}{share:>10.2f}{rel:>16}{bg:>22}")


if __name__ == "__main__":
    main()
