"""Which weights of a run to ship: EMA or raw, fp32 or stored in half precision.

Scores one run's generators on its test splits with the offline ``domain`` metric
(``translkit score RUN -m domain``'s numbers) in three forms: the EMA weights (what
``translate``/``export`` use), the raw weights of the last step, and the EMA weights
exported with ``translkit export --half`` (stored as fp16, read back and computed in fp32).

    python benchmarks/weights_variants.py runs/leather_denim_fast_s0 --resize 143
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

import translkit
from translkit.artifacts import checkpoint_source
from translkit.inference.export import export_generator
from translkit.precision import cpu_info
from translkit.rundir import RunDir
from translkit.scoring import score_generators

KEYS = ["domain_colour_rate", "domain_colour_fd", "domain_texture_rate", "domain_texture_fd"]


def exported_half(checkpoint: Path, folder: Path, registries) -> dict[str, torch.nn.Module]:
    """Each direction as ``translkit export --half`` writes it, loaded back."""
    nets = {}
    for direction in ("a2b", "b2a"):
        out = folder / f"{direction}.safetensors"
        export_generator(
            checkpoint, out, registries, format="safetensors", direction=direction, half=True
        )
        nets.update(translkit.load_generators(out, registries).nets)
    return nets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--checkpoint", default="latest", help="best, latest or a file")
    parser.add_argument(
        "--resize",
        type=int,
        default=0,
        help="scale test images down to this shorter side first (translkit score --resize)",
    )
    args = parser.parse_args()
    registries = translkit.get_registry()
    threads = torch.get_num_threads()
    print(f"CPU: {cpu_info().describe()}; torch {torch.__version__}, {threads} threads")
    print(
        f"test images scaled down to a shorter side of {args.resize} px"
        if args.resize
        else "test images at their own size"
    )
    checkpoint = checkpoint_source(args.run_dir, args.checkpoint)
    variants = {
        "EMA, fp32": lambda _: translkit.load_generators(checkpoint, registries).nets,
        "raw (no EMA), fp32": lambda _: (
            translkit.load_generators(checkpoint, registries, use_ema=False).nets
        ),
        "EMA, stored fp16": lambda folder: exported_half(checkpoint, folder, registries),
    }
    data = RunDir(args.run_dir).read_recipe().data
    rows = []
    for name, load in variants.items():
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            scores = score_generators(
                load(out), data, ["domain"], registries, out_dir=out / "fake", resize=args.resize
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
