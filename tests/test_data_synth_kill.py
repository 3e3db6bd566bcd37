"""`translkit data synth` killed with -9 leaves no worker processes, and the next run
removes the staging folder it left behind (a real subprocess, a real SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from translkit.data.io import remove_stale_staging, staged_dir


def _children(pid: int) -> list[int]:
    """Live (non-zombie) processes whose parent is ``pid``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(proc.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
@pytest.mark.slow
def test_kill_9_leaves_no_workers_and_the_next_run_cleans_up(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    cmd = [sys.executable, "-m", "translkit", "data", "synth", str(out), "--size", "16"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [*cmd, "--train", "400", "--test", "4", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        staging = lambda: list(tmp_path.glob(".ds.pid*.tmp"))  # noqa: E731
        busy = _wait(lambda: staging() and len(_children(proc.pid)) >= 2, 60)
        assert busy, "the pool never started"
        workers = _children(proc.pid)
        assert _wait(lambda: any(staging()[0].rglob("*.png")), 30)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert _wait(lambda: not any(map(_running, workers)), 10), "workers outlived kill -9"
    assert staging(), "the killed run's staging folder is the case under test"

    again = subprocess.run(
        [*cmd, "--train", "2", "--test", "1"], env=env, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
    assert (out / "synthetic.json").is_file()


def test_a_live_runs_staging_folder_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        alive = tmp_path / f".ds.pid{sleeper.pid}.abc123.tmp"
        alive.mkdir()
        dead = tmp_path / ".ds.pid999999999.xyz.tmp"  # beyond any pid_max
        dead.mkdir()
        aside = tmp_path / ".ds.old-pid999999999"
        aside.mkdir()
        other = tmp_path / ".dsx.pid999999999.q.tmp"  # another dataset's: not ours to judge
        other.mkdir()
        assert sorted(p.name for p in remove_stale_staging(out)) == sorted([dead.name, aside.name])
        with staged_dir(out) as tmp:
            assert tmp.name.startswith(f".ds.pid{os.getpid()}.")
            assert alive.is_dir() and other.is_dir()
    finally:
        sleeper.kill()
        sleeper.wait()
