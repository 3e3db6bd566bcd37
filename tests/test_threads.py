"""The thread policy: budgets that add up to the cores, and a governor that follows the load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from training_support import tiny_recipe

from translkit import threads as T
from translkit.training import train


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture
def cores(monkeypatch: pytest.MonkeyPatch):
    def set_cores(n: int, local: int | None = None) -> None:
        monkeypatch.setattr(T, "usable_cores", lambda: n)
        if local is None:
            monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
        else:
            monkeypatch.setenv("LOCAL_WORLD_SIZE", str(local))

    return set_cores


def test_budgets_add_up_to_the_cores(cores):
    cores(2)
    assert (T.thread_budget(), T.loader_workers(4)) == (2, 1)  # 4 workers asked, 1 started
    assert T.thread_budget(loader_workers=T.loader_workers(4)) == 1  # 1 worker + 1 thread
    cores(16, local=4)  # four DDP workers on this machine
    workers = T.loader_workers(2)
    assert (workers, T.thread_budget(loader_workers=workers)) == (2, 2)  # 4 × (2 + 2) = 16
    cores(2, local=2)
    assert (T.thread_budget(), T.loader_workers(3)) == (1, 0)
    assert T.thread_budget(processes=4) == 1  # never below one thread


def test_launcher_gives_workers_their_share_unless_the_user_chose(cores, monkeypatch):
    cores(8)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    env = T.launcher_env(2, loader_workers_requested=1)
    assert env["OMP_NUM_THREADS"] == "3"  # 8 cores / 2 processes − 1 loader worker
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setenv("TRANSLKIT_OMP_FROM_LAUNCHER", "3")
    assert not T._user_pinned()  # the workers still follow the load
    monkeypatch.delenv("TRANSLKIT_OMP_FROM_LAUNCHER")
    assert T._user_pinned() and T.launcher_env(2) == {}


class _Machine:
    """A fake clock and CPU counters: ``others`` cores' worth of load from other processes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, cores: int) -> None:
        self.wall = self.busy = self.own = 0.0
        self.cores = cores
        monkeypatch.setattr(T, "_busy_seconds", lambda *a: self.busy)

    def run(self, seconds: float, *, ours: float, others: float) -> None:
        self.wall += seconds
        self.own += ours * seconds
        self.busy += min(self.cores, ours + others) * seconds

    def attach(self, gov: T.ThreadGovernor) -> T.ThreadGovernor:
        gov.clock, gov.cpu_time = (lambda: self.wall), (lambda: self.own)
        gov._last = gov._sample()
        return gov


def test_governor_follows_a_busy_neighbour(monkeypatch, cores, restore_threads):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv(T.ENV, raising=False)
    cores(2)
    machine = _Machine(monkeypatch, 2)
    gov = machine.attach(T.ThreadGovernor(2))
    assert gov.adaptive and gov.threads == 2
    machine.run(0.6, ours=2.0, others=0.05)  # idle machine
    gov.tick()
    assert gov.threads == 2
    machine.run(2.5, ours=1.4, others=0.6)  # a neighbour starts: it gets 0.6 of a core
    gov.tick()
    assert gov.threads == 1
    machine.run(1.0, ours=1.0, others=0.0)  # gone, but too soon to look again
    gov.tick()
    assert gov.threads == 1
    machine.run(1.5, ours=1.0, others=0.0)
    gov.tick()
    assert gov.threads == 2 and gov.changes == 2


def test_governor_leaves_user_settings_alone(monkeypatch, restore_threads):
    torch.set_num_threads(1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    gov = T.ThreadGovernor(2)
    assert (gov.mode, gov.adaptive, gov.threads) == ("user", False, 1)
    assert "set by the user" in gov.describe()
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setenv(T.ENV, "off")
    assert T.ThreadGovernor(2).mode == "user"
    monkeypatch.setenv(T.ENV, "1")
    gov = T.ThreadGovernor(2)
    assert (gov.mode, gov.adaptive, gov.threads) == ("pinned", False, 1)


def test_busy_seconds_reads_proc_stat(tmp_path: Path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 1000 5 0 0 10 0 0\ncpu0 1 2 3\n")
    import os

    assert T._busy_seconds(stat) == pytest.approx(160 / os.sysconf("SC_CLK_TCK"))
    stat.write_text("nonsense\n")
    assert T._busy_seconds(stat) is None
    assert T._busy_seconds(tmp_path / "missing") is None


def test_training_reports_threads(tmp_path: Path, monkeypatch, restore_threads, capsys):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv(T.ENV, raising=False)
    recipe = tiny_recipe(
        tmp_path, optim={"epochs": 1}, eval={"every": 0}, train={"sample_every": 0}
    )
    result = train(recipe, progress=False)
    assert result.summary["threads"]["last"] >= 1
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["threads"] == result.summary["threads"]
    header = capsys.readouterr().err.splitlines()[0]
    assert header.startswith("training on cpu, ") and "threads" in header and "fp32" in header
