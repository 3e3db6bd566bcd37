"""How many threads translkit's processes compute with, on an idle machine and a busy one.

torch parallelises each operation over OpenMP threads (libgomp in the Linux wheels), one
per core by default. Each operation ends at a barrier where the threads wait for the
slowest one. When another busy process shares the cores, one of our threads keeps losing
its core to it, and every operation waits for that thread: with one competing process on
2 cores a small recipe measured 20× slower with 2 threads than with 1
(``benchmarks/threads.py``). So the thread count follows the cores that are actually free:

- a **budget** per process: the usable cores (``os.sched_getaffinity``) shared by the
  processes of this job on this machine (DDP workers; a sweep's parallel trials), minus one
  per DataLoader worker process (each decodes on one thread; there are at most share − 1
  of them), at least 1;
- a **governor** that, every couple of seconds, reads how much CPU *other* processes used
  (``/proc/stat`` busy time minus this process's own CPU time) and runs on as many threads
  as there are free cores, within the budget: all of them on an idle machine, fewer beside
  a busy neighbour, all again once it is gone.

Nothing changes where the user set ``OMP_NUM_THREADS`` or ``TRANSLKIT_THREADS=off``;
``TRANSLKIT_THREADS=N`` pins N threads. With ``run.deterministic`` the thread count stays
at the budget (results may depend on it).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ENV",
    "SHARE_ENV",
    "ThreadGovernor",
    "core_share",
    "launcher_env",
    "loader_workers",
    "thread_budget",
    "usable_cores",
]

#: ``off``: leave torch's threads alone; ``N``: pin N threads; unset/``auto``: the policy.
ENV = "TRANSLKIT_THREADS"
#: Seconds between two looks at the machine's load (the first look comes sooner).
INTERVAL = 2.0
FIRST_LOOK = 0.5
#: A core counts as free when at least this much of it is idle.
FREE_CORE = 0.7


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


#: Independent translkit processes sharing this machine's cores (``translkit sweep --jobs N``
#: sets it for its trials), multiplying torchrun's ``LOCAL_WORLD_SIZE``.
SHARE_ENV = "TRANSLKIT_LOCAL_PROCESSES"


def local_processes() -> int:
    """Processes of this job on this machine: torchrun's ``LOCAL_WORLD_SIZE`` (else 1) times
    :data:`SHARE_ENV` (else 1)."""
    count = 1
    for name in ("LOCAL_WORLD_SIZE", SHARE_ENV):
        try:
            count *= max(1, int(os.environ.get(name, "1")))
        except ValueError:
            continue
    return count


def core_share(processes: int | None = None) -> int:
    """This process's share of the usable cores (at least 1)."""
    return max(1, usable_cores() // (processes or local_processes()))


def loader_workers(requested: int, processes: int | None = None) -> int:
    """DataLoader worker processes to start for ``requested``: at most this process's share
    of the cores minus the one that computes (0 keeps loading in the training process)."""
    return max(0, min(requested, core_share(processes) - 1))


def thread_budget(processes: int | None = None, loader_workers: int = 0) -> int:
    """Compute threads for one process: its share of the cores minus its loader workers,
    so that compute threads and loader workers of all local processes add up to the cores."""
    return max(1, core_share(processes) - max(0, loader_workers))


@dataclass
class _Sample:
    wall: float
    busy: float  # CPU seconds all processes used (from /proc/stat)
    own: float  # CPU seconds this process used


def _busy_seconds(stat: Path = Path("/proc/stat")) -> float | None:
    """CPU seconds spent busy on this machine since boot (user, nice, system, irq, steal)."""
    try:
        with stat.open(encoding="ascii") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


_LAUNCHER_MARK = "TRANSLKIT_OMP_FROM_LAUNCHER"


def launcher_env(processes: int, loader_workers_requested: int = 0) -> dict[str, str]:
    """Variables for worker processes started by :func:`translkit.training.distributed.launch`:
    each worker's thread budget as ``OMP_NUM_THREADS`` (torch's launcher would set 1), marked
    as translkit's so the workers' governors still follow the load. Empty when the user set
    ``OMP_NUM_THREADS``."""
    if "OMP_NUM_THREADS" in os.environ:
        return {}
    workers = loader_workers(loader_workers_requested, processes)
    budget = str(thread_budget(processes, workers))
    return {"OMP_NUM_THREADS": budget, _LAUNCHER_MARK: budget}


def _user_pinned() -> bool:
    omp = os.environ.get("OMP_NUM_THREADS")
    if omp is not None and omp == os.environ.get(_LAUNCHER_MARK):
        return False  # set by translkit's launcher, not by the user
    return omp is not None or "MKL_NUM_THREADS" in os.environ


def count_is_open() -> bool:
    """Whether translkit may choose the thread count (neither ``TRANSLKIT_THREADS`` nor
    the user's own OpenMP/MKL settings fix it)."""
    return os.environ.get(ENV, "auto").strip().lower() == "auto" and not _user_pinned()


class ThreadGovernor:
    """Keeps ``torch``'s thread count at the free cores, within ``budget``.

    Call :meth:`tick` often (every training step or batch); it looks at the machine only
    every :data:`INTERVAL` seconds, which costs two small file reads.

    :param budget: the most threads to use (:func:`thread_budget`).
    :param adaptive: follow the load (off: stay at ``budget``).
    """

    def __init__(self, budget: int, *, adaptive: bool = True) -> None:
        import torch

        self.torch = torch
        setting = os.environ.get(ENV, "auto").strip().lower()
        self.mode = "auto"
        if setting == "off" or _user_pinned():
            self.mode, budget, adaptive = "user", torch.get_num_threads(), False
        elif setting.isdigit() and int(setting) > 0:
            self.mode, budget, adaptive = "pinned", int(setting), False
        self.clock, self.cpu_time = time.monotonic, time.process_time
        self.budget = max(1, budget)
        self.cores = usable_cores()
        self.adaptive = adaptive and _busy_seconds() is not None
        self.changes = self.looks = 0
        if self.mode != "user":
            self._set(self.budget)
        self.changes = 0  # changes made while running, after the initial setting
        self._last = self._sample()

    @property
    def threads(self) -> int:
        return self.torch.get_num_threads()

    def describe(self) -> str:
        if self.mode == "user":
            return f"{self.threads} threads (set by the user)"
        if not self.adaptive:
            return f"{self.threads} threads"
        return f"{self.budget} threads, fewer while other processes keep cores busy"

    def _sample(self) -> _Sample:
        return _Sample(self.clock(), _busy_seconds() or 0.0, self.cpu_time())

    def cap(self, n: int) -> None:
        """Never use more than ``n`` threads (the runtime measured fewer faster)."""
        if self.mode == "auto" and n < self.budget:
            self.budget = max(1, n)
            self._set(min(self.threads, self.budget))
            self.changes = 0

    def _set(self, n: int) -> None:
        if n != self.torch.get_num_threads():
            self.torch.set_num_threads(n)
            self.changes += 1

    def others_load(self, now: _Sample) -> float:
        """Cores' worth of CPU that other processes used since the last look."""
        last = self._last
        wall = max(now.wall - last.wall, 1e-6)
        return max(0.0, ((now.busy - last.busy) - (now.own - last.own)) / wall)

    def tick(self) -> None:
        """Look at the load if :data:`INTERVAL` has passed and adjust the thread count."""
        wait = INTERVAL if self.looks else FIRST_LOOK
        if not self.adaptive or self.clock() - self._last.wall < wait:
            return
        self.looks += 1
        now = self._sample()
        free = self.cores - self.others_load(now)
        self._last = now
        self._set(max(1, min(self.budget, math.floor(free + 1 - FREE_CORE))))
