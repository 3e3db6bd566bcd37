"""Which weights of a run to ship: EMA or raw, fp32 or stored in half precision.

Scores one run's generators on its test splits with the offline ``domain`` metric
(``translkit score RUN -m domain``'s numbers) in three forms: the EMA weights (what
``translate``/``export`` use), the raw weights of the last step, and the EMA weights
stored as fp16 and read back (``translkit export --half``; computed in fp32).

    python benchmarks/weights_variants.py runs/leather_denim_fast_s0
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

import translkit
from translkit.precision import cpu_info
from translkit.scoring import score_generators

KEYS = ["domain_colour_rate", "domain_colour_fd", "domain_texture_rate", "domain_texture_fd"]


def halved(nets: dict[str, torch.nn.Module]) -> dict[str, torch.nn.Module]:
    """The same networks with every floating tensor rounded to fp16 and back."""
    for net in nets.values():
        with torch.no_grad():
            for t in [*net.parameters(), *net.buffers()]:
                if t.is_floating_point():
                    t.copy_(t.half().float())
    return nets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--checkpoint", default="latest", help="best, latest or a file")
    args = parser.parse_args()
    registries = translkit.get_registry()
    threads = torch.get_num_threads()
    print(f"CPU: {cpu_info().describe()}; torch {torch.__version__}, {threads} threads")
    variants = {
        "EMA, fp32": lambda: (
            translkit.load_generators(args.run_dir, registries, which=args.checkpoint).nets
        ),
        "raw (no EMA), fp32": lambda: (
            translkit.load_generators(
                args.run_dir, registries, use_ema=False, which=args.checkpoint
            ).nets
        ),
        "EMA, stored fp16": lambda: halved(
            translkit.load_generators(args.run_dir, registries, which=args.checkpoint).nets
        ),
    }
    model = translkit.load_model(args.run_dir, registries, which=args.checkpoint)[0]
    rows = []
    for name, load in variants.items():
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            scores = score_generators(
                load(), model.recipe.data, ["domain"], registries, out_dir=Path(out)
            )
        rows.append((name, scores.values, time.perf_counter() - started))
    head = [f"{d}/{k}" for d in ("a2b", "b2a") for k in KEYS]
    print("| weights | " + " | ".join(head) + " | s |")
    print("|---|" + "---:|" * (len(head) + 1))
    for name, scores, seconds in rows:
        cells = [
            f"{100 * scores[k]:.1f} %" if k.endswith("rate") else f"{scores[k]:.3g}" for k in head
        ]
        print(f"| {name} | " + " | ".join(cells) + f" | {seconds:.0f} |")


if __name__ == "__main__":
    main()
