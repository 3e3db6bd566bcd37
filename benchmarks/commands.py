"""Whole ``translkit`` commands from two or more checkouts, timed side by side.

What a user waits for is the whole process: the interpreter, imports, plugins, the work and
the writing. This runs one command line under each checkout in turn (round robin, so the
machine's load falls on all of them alike), each in a fresh process and a fresh output
folder, and prints the wall-clock time of each.

    git worktree add /tmp/before HEAD~3
    python benchmarks/commands.py --checkout before=/tmp/before --checkout after=. \\
        --rounds 3 -- translate leather_denim data/leather_denim/testA {out} -d a2b
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 \\
        python benchmarks/commands.py --checkout before=/tmp/before --checkout after=. \\
        --rounds 2 -- run recipes/quickstart.toml

``{out}`` in the command becomes a new empty folder for each run; every command runs in its
own new working folder (so ``runs/`` and ``data/`` a recipe creates start empty; a dataset
the command generates is generated in every run, alike for all checkouts). Each checkout runs
with ``PYTHONPATH`` set to its ``translkit`` and ``plugins`` source, in this interpreter.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cpu_classes import CAPS  # noqa: E402  (the instruction-set caps, this script's folder)

from translkit.precision import cpu_info  # noqa: E402


def parse_checkout(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    root = Path(path if sep else name).resolve()
    if not (root / "translkit" / "__init__.py").is_file():
        raise SystemExit(f"--checkout {text}: {root} has no translkit/ package")
    return (name if sep else root.name), root


def run_once(root: Path, command: list[str], work: Path) -> float:
    """Seconds of one whole command under ``root``; fails loudly if the command fails."""
    out = work / "out"
    args = [a.replace("{out}", str(out)) for a in command]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "plugins")])}
    code = "import sys; from translkit.cli import main; sys.argv[0] = 'translkit'; main()"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=work, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{root}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", action="append", required=True, metavar="NAME=PATH")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="after --: the translkit args")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the translkit command after --")
    checkouts = [parse_checkout(c) for c in args.checkout]
    # Paths in the command are taken from here, not from each run's fresh working folder.
    command = [str(Path(a).resolve()) if Path(a).exists() else a for a in command]
    print(f"CPU: {cpu_info().describe()}; {os.cpu_count()} logical CPUs")
    caps = {k: v for k, v in os.environ.items() if k in CAPS}
    print(f"caps: {caps or 'none'}; command: translkit {' '.join(command)}")
    times: dict[str, list[float]] = {name: [] for name, _ in checkouts}
    for r in range(args.rounds):
        for name, root in checkouts:
            with tempfile.TemporaryDirectory(prefix="translkit-bench-") as tmp:
                times[name].append(run_once(root, command, Path(tmp)))
            print(f"round {r + 1}: {name} {times[name][-1]:.2f} s", flush=True)
    first = statistics.median(times[checkouts[0][0]])
    print(f"\n{'checkout':<16} {'min s':>8} {'median s':>9} {'× ' + checkouts[0][0]:>12}")
    for name, _ in checkouts:
        median = statistics.median(times[name])
        print(f"{name:<16} {min(times[name]):>8.2f} {median:>9.2f} {first / median:>12.2f}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
