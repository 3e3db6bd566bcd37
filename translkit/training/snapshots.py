"""Training snapshots in a run directory: write, keep, find, restore RNG states.

A snapshot is a :class:`~translkit.artifacts.TrainingSnapshot` (its file layout and
versions are documented there); this module captures the RNG states it holds for every
process (Python, NumPy, torch, CUDA, as tensors and plain types), writes ``latest.pt``
(and ``epoch_NNNN.pt``, ``best.pt``) atomically, keeps the last ``keep_last`` epoch
files, and finds the one ``--resume`` names.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from translkit.artifacts import TrainingSnapshot, read_file
from translkit.errors import CheckpointError
from translkit.rundir import RunDir

__all__ = [
    "capture_rng",
    "prune",
    "resolve_resume",
    "restore_rng",
    "write_snapshot",
]


def capture_rng() -> dict[str, Any]:
    """Every RNG state of this process as tensors and plain types."""
    version, state, gauss = random.getstate()
    np_state = np.random.get_state()
    out: dict[str, Any] = {
        "python": {
            "version": version,
            "state": torch.tensor(state, dtype=torch.int64),
            "gauss": gauss,
        },
        "numpy": {
            "state": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return out


def restore_rng(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng`."""
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss"]))
    npst = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            npst["state"].numpy().astype(np.uint32),
            npst["pos"],
            npst["has_gauss"],
            npst["cached"],
        )
    )
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        cuda = state["cuda"][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(cuda)


def write_snapshot(
    run: RunDir, snapshot: TrainingSnapshot, *, epoch_file: bool, best: bool, keep_last: int
) -> Path:
    """Write ``latest.pt`` (and ``epoch_NNNN.pt``, ``best.pt`` when asked); prune old epochs."""
    latest = snapshot.save(run.latest)
    if epoch_file:
        snapshot.save(run.epoch_checkpoint(snapshot.epoch))
        prune(run, keep_last)
    if best:
        snapshot.save(run.best)
    return latest


def prune(run: RunDir, keep_last: int) -> list[Path]:
    """Delete all but the newest ``keep_last`` ``epoch_NNNN.pt`` files; return the deleted."""
    found = run.epoch_checkpoints()
    doomed = [p for _, p in found[: max(0, len(found) - max(keep_last, 0))]]
    for p in doomed:
        p.unlink(missing_ok=True)
    return doomed


def resolve_resume(resume: str, run: RunDir) -> TrainingSnapshot:
    """Load the snapshot ``--resume`` names ("latest": the run directory's ``latest.pt``);
    a generators-only file, or a snapshot without the state resuming needs, is refused."""
    if resume == "latest":
        path = run.latest
        if not path.is_file():
            raise CheckpointError(
                f"--resume: {run.path} has no checkpoint yet ({path} is missing): the run "
                "stopped before its first checkpoint; start it again with --overwrite"
            )
    else:
        path = Path(resume)
    snapshot = read_file(path)
    if not isinstance(snapshot, TrainingSnapshot):
        raise CheckpointError(
            f"--resume {path}: format {snapshot.FORMAT} is not a training checkpoint "
            f"({TrainingSnapshot.FORMAT}); generator-only files cannot resume training"
        )
    snapshot.require_resumable()
    return snapshot
