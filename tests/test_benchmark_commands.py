"""benchmarks/commands.py: each checkout's own code runs the command, and the table compares
them; a folder that is no checkout, or a failing command, stops it with the reason."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "commands.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300
    )


def test_the_table_compares_checkouts_round_by_round():
    done = _run(
        "--checkout", f"a={ROOT}", "--checkout", f"b={ROOT}", "--rounds", "2", "--", "--version"
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("CPU: ") and "command: translkit --version" in lines[1]
    assert [line.split(":")[1].split()[0] for line in lines if line.startswith("round")] == [
        "a",
        "b",
        "a",
        "b",
    ]
    rows = {line.split()[0]: line.split()[1:] for line in lines if line.startswith(("a ", "b "))}
    assert set(rows) == {"a", "b"} and rows["a"][-1] == "1.00"


def test_each_checkout_runs_its_own_code(tmp_path: Path):
    """A copy whose command line exits 7 fails in its own turn, not in the other's."""
    other = tmp_path / "other"
    shutil.copytree(ROOT / "translkit", other / "translkit")
    (other / "plugins").mkdir()
    cli = other / "translkit" / "cli" / "__init__.py"
    cli.write_text(cli.read_text() + "\n\ndef main():\n    raise SystemExit(7)\n")
    done = _run("--checkout", f"here={ROOT}", "--checkout", f"other={other}", "--", "--version")
    assert "round 1: here" in done.stdout and "round 1: other" not in done.stdout
    assert done.returncode != 0 and f"{other}: exit 7" in done.stderr


def test_a_folder_without_translkit_or_a_failing_command_stops_it(tmp_path: Path):
    done = _run("--checkout", f"empty={tmp_path}", "--", "--version")
    assert done.returncode != 0 and "has no translkit/ package" in done.stderr
    done = _run("--checkout", f"here={ROOT}", "--", "translate", "no-such-model", "in", "out")
    assert done.returncode != 0 and f"{ROOT}: exit" in done.stderr
