"""The offline ``domain`` metric on a real dataset: classifier training, accuracy, baselines.

Trains (or finds in the cache) the colour and texture domain classifiers of ``--root``'s
training split exactly as ``translkit score RUN -m domain`` does, reports each one's
training time (wall and CPU seconds) and accuracy on the real test split, times the
scoring of the test split's images (``translkit score``'s cost once the classifiers
exist), and prints the baseline table: copying the input and a per-channel colour
transfer to the target domain's statistics, both directions, both views, beside what the
real target-domain images score (target rate; FD and KID floors: target training vs test
images). A texture view is credible only if the colour transfer scores low on it.

Usage::

    python benchmarks/domain_metrics_baselines.py --root data/leather_denim
    TRANSLKIT_CACHE=/tmp/fresh python benchmarks/domain_metrics_baselines.py \\
        --root data/leather_denim --threads 1      # an empty cache: measures training
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import torch
from rich.console import Console
from translkit_plugins import _domain

from translkit import get_registry
from translkit.cache import cache_dir
from translkit.cli.score_cmd import baseline_tables
from translkit.data.io import TEST_SPLITS, list_images
from translkit.precision import cpu_info
from translkit.scoring import score_baselines, score_folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, required=True, help="dataset: trainA/ ... testB/")
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--width", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=24, help="colour view's")
    parser.add_argument("--texture-epochs", type=int, default=48)
    parser.add_argument("--patch", type=int, default=64, help="texture view's patch side")
    parser.add_argument("--photometric", type=float, default=0.5, help="texture view's")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cache = cache_dir("metrics")  # where `translkit score` keeps them ($TRANSLKIT_CACHE)
    options = {
        "size": args.size,
        "width": args.width,
        "epochs": args.epochs,
        "texture_epochs": args.texture_epochs,
        "patch": args.patch,
        "photometric": args.photometric,
    }
    metric = _domain.DomainMetric(**options)
    console = Console()
    console.print(f"CPU: {cpu_info().describe()}", highlight=False)
    console.print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); classifiers: "
        f"{', '.join(map(repr, metric.settings.values()))}; cache {cache / 'domain'}",
        highlight=False,
    )
    counts = {s: len(list_images(args.root / s)) for s in ("trainA", "trainB", "testA", "testB")}
    console.print(f"images: {counts}", highlight=False)

    for view, settings in metric.settings.items():  # exactly those `-m domain` trains
        wall, cpu = time.perf_counter(), time.process_time()
        _, path = _domain.ensure_classifier(args.root, settings, cache / "domain", progress=True)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            meta = f.metadata()
        console.print(
            f"{view} classifier: {path.name}; this call {wall:.1f} s wall, {cpu:.1f} s CPU; "
            f"trained in {meta.get('train_seconds', '?')} s wall, "
            f"{meta.get('train_cpu_seconds', '?')} s CPU, {meta.get('threads', '?')} thread(s)",
            highlight=False,
        )

    # scoring cost once the classifiers exist: both test splits as 'translations'
    started = time.perf_counter()
    n = 0
    for direction, (src, dst) in TEST_SPLITS.items():
        score_folders(
            args.root / src,
            args.root / dst,
            ["domain"],
            get_registry(),
            cache_dir=cache,
            data_root=args.root,
            direction=direction,
            options={"domain": options},
        )
        n += counts[src]
    console.print(
        f"scoring {n} images (both directions, both views, classifiers cached): "
        f"{time.perf_counter() - started:.1f} s",
        highlight=False,
    )

    with tempfile.TemporaryDirectory(prefix="translkit-baselines-") as tmp:
        results = score_baselines(
            SimpleNamespace(root=str(args.root)),
            ["domain"],
            get_registry(),
            out_dir=Path(tmp),
            options={"domain": options},
        )
    first = next(iter(results.values()))
    goals = metric.goals
    out = {
        "scores": {},
        "goals": {f"{d}/{k}": g for d in TEST_SPLITS for k, g in goals.items()},
        "reference": first.reference,
        "baselines": {name: {"scores": r.values} for name, r in results.items()},
    }
    for table in baseline_tables(out):
        console.print(table)
    for mark, why in sorted(first.untrusted.items()):
        console.print(f"[bold red]{mark}: {why}[/]", highlight=False)


if __name__ == "__main__":
    main()
