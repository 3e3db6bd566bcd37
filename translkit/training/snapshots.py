"""Training snapshots (format ``translkit.training/1``): build, write, keep, find, restore.

A snapshot holds every network of the method, its optimisers, the schedule position,
GradScaler, EMA, epoch/step and the data position, the resolved recipe, which plugin
provided each component, and, for every process, the method's own state (CycleGAN's
history pools) and RNG states (Python, NumPy, torch, CUDA) — all as tensors and plain
types, so :func:`translkit.checkpoint.load_checkpoint` reads it with ``weights_only=True``.
Files are written atomically; the last ``keep_last`` epoch files, ``best.pt`` and
``latest.pt`` are kept.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from translkit.checkpoint import TRAINING_FORMAT, load_checkpoint, one_line, save_checkpoint
from translkit.errors import CheckpointError
from translkit.rundir import RunDir

__all__ = [
    "capture_rng",
    "prune",
    "rank_state",
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
    run: RunDir, snapshot: dict[str, Any], *, epoch_file: bool, best: bool, keep_last: int
) -> Path:
    """Write ``latest.pt`` (and ``epoch_NNNN.pt``, ``best.pt`` when asked); prune old epochs."""
    snapshot = {"format": TRAINING_FORMAT, **snapshot}
    latest = save_checkpoint(snapshot, run.latest)
    if epoch_file:
        save_checkpoint(snapshot, run.epoch_checkpoint(snapshot["epoch"]))
        prune(run, keep_last)
    if best:
        save_checkpoint(snapshot, run.best)
    return latest


def prune(run: RunDir, keep_last: int) -> list[Path]:
    """Delete all but the newest ``keep_last`` ``epoch_NNNN.pt`` files; return the deleted."""
    found = run.epoch_checkpoints()
    doomed = [p for _, p in found[: max(0, len(found) - max(keep_last, 0))]]
    for p in doomed:
        p.unlink(missing_ok=True)
    return doomed


def rank_state(ckpt: dict[str, Any], rank: int, world_size: int) -> dict[str, Any]:
    """This process's ``{"method": ..., "rng": ...}`` from a snapshot.

    Written by as many processes: each its own (bit-identical resume). Written by another
    count: process ``rank`` continues from the method state of old process
    ``rank % old_count`` (CycleGAN: that process's history pools) and keeps old rank
    ``rank``'s RNG states where that rank existed; elsewhere ``rng`` is ``None`` and the
    caller derives a fresh stream. Snapshots written before methods became plugins stored
    CycleGAN's pools as ``{"pools": ...}``; they are read as the method state.
    """
    ranks = ckpt["ranks"]
    donor = ranks[rank % len(ranks)]
    method = donor["method"] if "method" in donor else {"pools": donor["pools"]}
    rng = ranks[rank]["rng"] if rank < len(ranks) else None
    return {"method": method, "rng": rng}


def resolve_resume(resume: str, run: RunDir) -> dict[str, Any]:
    """Load the checkpoint ``--resume`` names ("latest": the run directory's ``latest.pt``)."""
    if resume == "latest":
        path = run.latest
        if not path.is_file():
            raise CheckpointError(
                f"--resume: {run.path} has no checkpoint yet ({path} is missing): the run "
                "stopped before its first checkpoint; start it again with --overwrite"
            )
    else:
        path = Path(resume)
    ckpt = load_checkpoint(path)
    if ckpt.get("format") != TRAINING_FORMAT:
        raise CheckpointError(
            f"--resume {path}: format {one_line(repr(ckpt.get('format')), 60)} is not a training "
            "checkpoint "
            f"({TRAINING_FORMAT}); generator-only files cannot resume training"
        )
    ckpt["_path"] = str(path)
    return ckpt
