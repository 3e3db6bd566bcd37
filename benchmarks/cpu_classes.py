"""One table per CPU class: the training step of the reference structure and of translkit's
runtime choices, measured on this machine as itself and as the older CPU classes it can
emulate.

    python benchmarks/cpu_classes.py                          # Zhu's settings, 128 px
    python benchmarks/cpu_classes.py --recipe recipes/leather_denim_fast.toml --batch 4
    python benchmarks/cpu_classes.py --classes avx2 --modes reference eager instance

A newer CPU behaves as an older class when torch's kernels, oneDNN's and MKL's are capped:
``ATEN_CPU_CAPABILITY`` (torch's own vectorised kernels), ``ONEDNN_MAX_CPU_ISA``
(convolutions) and ``MKL_ENABLE_INSTRUCTIONS`` (matrix products: linear layers; uncapped,
a 2048² fp32 product ran at 300 GFLOP/s under the other two caps on the AMX Xeon, 193 with
MKL capped too, where an AVX2 convolution reached 198); translkit's bf16 detection follows
the oneDNN cap (:func:`translkit.precision.cpu_info`). Each class runs
``benchmarks/train_step.py`` in a fresh process under its variables, so every table comes
from one process whose modes were interleaved iteration by iteration (ratios within a table
are side by side; across tables the machine's load may differ). A class this CPU cannot
emulate (AMX on a CPU without it) is listed as such, not guessed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from translkit.precision import cpu_info  # noqa: E402

#: The variables that cap an instruction set (each class sets its own, none inherited).
CAPS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")
#: class → (environment caps, the CPU flags it needs here)
CLASSES = {
    "avx2": (
        {
            "ATEN_CPU_CAPABILITY": "avx2",
            "ONEDNN_MAX_CPU_ISA": "AVX2",
            "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        },
        {"avx2"},
    ),
    "avx512": (
        {
            "ATEN_CPU_CAPABILITY": "avx512",
            "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI",
            "MKL_ENABLE_INSTRUCTIONS": "AVX512",
        },
        {"avx512f"},
    ),
    "avx512_bf16": ({"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"}, {"avx512_bf16"}),
    "amx": ({}, {"amx_bf16"}),
}


def run_class(name: str, args: argparse.Namespace) -> dict | None:
    caps, needs = CLASSES[name]
    flags = cpu_info().flags
    if not needs <= flags:
        print(f"\n## {name}: not measurable on this CPU (needs {', '.join(sorted(needs))})")
        return None
    env = {k: v for k, v in os.environ.items() if k not in CAPS}
    env.update(caps)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [
            sys.executable,
            str(ROOT / "benchmarks" / "train_step.py"),
            "--recipe",
            args.recipe,
        ]
        command += [
            "--sizes",
            *map(str, args.sizes),
            "--modes",
            *args.modes,
            "--batch",
            str(args.batch),
        ]
        command += ["--iters", str(args.iters), "--warmup", "1", "--no-memory", "--json", str(out)]
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        header = [
            line
            for line in done.stdout.splitlines()
            if line.startswith(("CPU:", "torch ")) or " default: " in line
        ]
        print(f"\n## {name} ({' '.join(f'{k}={v}' for k, v in caps.items()) or 'native'})")
        print("\n".join(header))
        if done.returncode != 0:
            print(f"failed: {done.stderr.strip().splitlines()[-1:]}")
            return None
        return json.loads(out.read_text())


def table(name: str, result: dict) -> None:
    for size, rows in result["results"].items():
        ref = rows.get("reference", {}).get("s_per_iter")
        plain = rows.get("instance", {}).get("s_per_iter")
        print(f"\n| {name}, {size} px | s/step | × reference | × plain eager fp32 |")
        print("|---|---|---|---|")
        for mode, row in rows.items():
            sec = row["s_per_iter"]
            x_ref = f"{ref / sec:.2f}" if ref else "–"
            x_plain = f"{plain / sec:.2f}" if plain else "–"
            print(f"| {mode} | {sec:.3f} | {x_ref} | {x_plain} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default=str(ROOT / "recipes" / "cyclegan_zhu2017.toml"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[128])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--iters", type=int, default=4)
    parser.add_argument("--modes", nargs="+", default=["reference", "instance", "eager", "default"])
    parser.add_argument("--classes", nargs="+", default=list(CLASSES), choices=list(CLASSES))
    args = parser.parse_args()
    print(f"# CPU classes: {cpu_info().describe()}; {os.cpu_count()} logical CPUs")
    print(
        f"recipe {args.recipe}, batch {args.batch}; modes: reference (Zhu's step structure), "
        "instance (translkit's step, fp32, instance norms kept: plain eager), eager (fp32, "
        "group norms), default (what `auto` chooses here)"
    )
    for name in args.classes:
        result = run_class(name, args)
        if result:
            table(name, result)


if __name__ == "__main__":
    main()
