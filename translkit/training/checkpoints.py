"""Training snapshots (format ``translkit.training/1``): build, write, keep, find, restore.

A snapshot holds the four networks, both optimisers, the schedule position, GradScaler,
EMA, epoch/step and the data position, the resolved recipe, and, for every process, its
history pools and RNG states (Python, NumPy, torch, CUDA) — all as tensors and plain
types, so :func:`translkit.checkpoint.load_checkpoint` reads it with ``weights_only=True``.
Files are written atomically; the last ``keep_last`` epoch files, ``best.pt`` and
``latest.pt`` are kept.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from translkit.checkpoint import TRAINING_FORMAT, load_checkpoint, save_checkpoint
from translkit.errors import CheckpointError

__all__ = [
    "BEST",
    "LATEST",
    "capture_rng",
    "epoch_path",
    "prune",
    "reshard_ranks",
    "resolve_resume",
    "restore_rng",
    "write_snapshot",
]

LATEST = "latest.pt"
BEST = "best.pt"
_EPOCH = re.compile(r"^epoch_(\d+)\.pt$")


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


def reshard_ranks(ranks: list[dict[str, Any]], world_size: int) -> list[dict[str, Any]]:
    """Per-process state (``pools``, ``rng``) for ``world_size`` processes from a snapshot
    written by ``len(ranks)`` processes.

    The same count: each process its own. Another count: new rank ``r`` gets the history
    pool images of old ranks ``r, r + world_size, ...`` (merged, then capped at the pool
    size when loaded) and old rank ``r``'s RNG states where that rank existed; elsewhere
    ``rng`` is ``None`` and the caller derives fresh streams.
    """
    if len(ranks) == world_size:
        return list(ranks)
    out = []
    for new in range(world_size):
        donors = ranks[new::world_size]
        own = ranks[new] if new < len(ranks) else None
        pools = {}
        for key in ranks[0]["pools"]:
            images = [
                d["pools"][key]["images"] for d in donors if d["pools"][key]["images"].numel()
            ]
            pools[key] = {
                "size": ranks[0]["pools"][key]["size"],
                "images": torch.cat(images, 0) if images else torch.empty(0),
                "rng": own["pools"][key]["rng"] if own is not None else None,
            }
        out.append({"pools": pools, "rng": own["rng"] if own is not None else None})
    return out


def epoch_path(ckpt_dir: Path, epoch: int) -> Path:
    return ckpt_dir / f"epoch_{epoch:04d}.pt"


def write_snapshot(
    ckpt_dir: Path, snapshot: dict[str, Any], *, epoch_file: bool, best: bool, keep_last: int
) -> Path:
    """Write ``latest.pt`` (and ``epoch_NNNN.pt``, ``best.pt`` when asked); prune old epochs."""
    snapshot = {"format": TRAINING_FORMAT, **snapshot}
    latest = save_checkpoint(snapshot, ckpt_dir / LATEST)
    if epoch_file:
        save_checkpoint(snapshot, epoch_path(ckpt_dir, snapshot["epoch"]))
        prune(ckpt_dir, keep_last)
    if best:
        save_checkpoint(snapshot, ckpt_dir / BEST)
    return latest


def prune(ckpt_dir: Path, keep_last: int) -> list[Path]:
    """Delete all but the newest ``keep_last`` ``epoch_NNNN.pt`` files; return the deleted."""
    found = sorted(
        (int(m.group(1)), p) for p in ckpt_dir.glob("epoch_*.pt") if (m := _EPOCH.match(p.name))
    )
    doomed = [p for _, p in found[: max(0, len(found) - max(keep_last, 0))]]
    for p in doomed:
        p.unlink(missing_ok=True)
    return doomed


def resolve_resume(resume: str, run_dir: Path) -> dict[str, Any]:
    """Load the checkpoint ``--resume`` names ("latest": the run directory's ``latest.pt``)."""
    if resume == "latest":
        path = run_dir / "checkpoints" / LATEST
        if not path.is_file():
            raise CheckpointError(
                f"--resume: no checkpoint at {path}; train without --resume, or pass "
                "--resume PATH to a checkpoint file"
            )
    else:
        path = Path(resume)
    ckpt = load_checkpoint(path)
    if ckpt.get("format") != TRAINING_FORMAT:
        raise CheckpointError(
            f"--resume {path}: format {ckpt.get('format')!r} is not a training checkpoint "
            f"({TRAINING_FORMAT}); generator-only files cannot resume training"
        )
    ckpt["_path"] = str(path)
    return ckpt
