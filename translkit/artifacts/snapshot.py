"""The training snapshot (``checkpoints/*.pt``): every network, optimiser and RNG state of
a run at one step, enough to resume it bit for bit and to translate with it.

Format ``translkit.training/2`` (``torch.save`` of plain data and tensors, read with
``weights_only=True``)::

    format       "translkit.training/2"
    recipe       the resolved recipe as plain data
    models       role -> state dict (every network of the method)
    ema          role -> state dict of the generators' EMA, or None
    ema_updates  EMA updates so far (its warm-up)
    optimizers   optimiser group -> state dict;  scaler: the GradScaler's state
    schedulers   group -> {"epoch", "lr"}
    epoch, batch, step, world_size, elapsed, best
    ranks        per process: {"method": the method's state, "rng": RNG states}
    components   recipe key -> {"name", "plugin", "module"} (who provided it)
    generators   direction -> {"role", "name", "options", "module"}, or None when the
                 options are not plain data (then the recipe describes the generators)

``translkit.training/1`` files (every snapshot written before this format) are upgraded by
:func:`migrate_v1`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from translkit.artifacts.files import (
    TorchRecord,
    malformed,
    require,
)
from translkit.contracts import GeneratorSpec
from translkit.errors import CheckpointError

__all__ = ["EngineState", "RankState", "StoredGenerator", "TrainingSnapshot", "migrate_v1"]

StateDict = dict[str, torch.Tensor]
FAMILY = "translkit.training"
VERSION = 2
#: EMA updates assumed for a snapshot written before the EMA warm-up was recorded.
PAST_WARMUP = 10**6


@dataclass(frozen=True)
class EngineState:
    """What the training engine restores: weights, EMA, optimisers, GradScaler."""

    models: dict[str, StateDict]
    ema: dict[str, StateDict] | None = None
    ema_updates: int = 0
    optimizers: dict[str, dict[str, Any]] = field(default_factory=dict)
    scaler: dict[str, Any] = field(default_factory=dict)

    def nbytes(self) -> int:
        """Bytes of every tensor held (a snapshot's size on disk, roughly)."""
        return _tensor_bytes([self.models, self.ema, self.optimizers, self.scaler])


@dataclass(frozen=True)
class RankState:
    """One process's method state (CycleGAN's history pools) and RNG states."""

    method: dict[str, Any]
    rng: dict[str, Any] | None


@dataclass(frozen=True)
class StoredGenerator:
    """A generator of a training snapshot, described so it builds on its own: the role
    whose weights it uses and its registered name, options and plugin module."""

    role: str
    name: str
    options: dict[str, Any]
    module: str = ""

    def spec(self, state_dict: StateDict) -> GeneratorSpec:
        return GeneratorSpec(self.name, dict(self.options), state_dict, module=self.module)


@dataclass(frozen=True)
class TrainingSnapshot(TorchRecord):
    """A training snapshot (see the module docstring for the file layout).

    ``path`` is the file it was read from (``None`` for one built in memory).
    """

    FAMILY: ClassVar[str] = FAMILY
    VERSION: ClassVar[int] = VERSION
    FORMAT: ClassVar[str] = f"{FAMILY}/{VERSION}"

    recipe: dict[str, Any]
    state: EngineState
    epoch: int
    step: int
    batch: int = 0
    schedulers: dict[str, Any] = field(default_factory=dict)
    world_size: int = 1
    ranks: tuple[RankState, ...] = ()
    best: dict[str, Any] | None = None
    elapsed: float = 0.0
    components: dict[str, dict[str, str]] = field(default_factory=dict)
    generators: dict[str, StoredGenerator] | None = None
    path: Path | None = field(default=None, compare=False)

    # -- writing ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The file's data (plain types and tensors only)."""
        state = self.state
        return {
            "format": self.FORMAT,
            "recipe": self.recipe,
            "models": state.models,
            "ema": state.ema,
            "ema_updates": state.ema_updates,
            "optimizers": state.optimizers,
            "scaler": state.scaler,
            "schedulers": self.schedulers,
            "epoch": self.epoch,
            "batch": self.batch,
            "step": self.step,
            "world_size": self.world_size,
            "ranks": [{"method": r.method, "rng": r.rng} for r in self.ranks],
            "best": self.best,
            "elapsed": self.elapsed,
            "components": self.components,
            "generators": None
            if self.generators is None
            else {d: dataclasses.asdict(g) for d, g in self.generators.items()},
        }

    @classmethod
    def from_upgraded(cls, data: dict[str, Any], path: Path) -> TrainingSnapshot:
        with malformed(path):
            ema = data.get("ema") or None
            state = EngineState(
                models=require(data, "models", dict, path),
                ema=ema if isinstance(ema, dict) else None,
                ema_updates=int(data.get("ema_updates") or 0),
                optimizers=dict(data.get("optimizers") or {}),
                scaler=dict(data.get("scaler") or {}),
            )
            ranks = tuple(RankState(r["method"], r.get("rng")) for r in data.get("ranks") or [])
            return cls(
                recipe=require(data, "recipe", dict, path),
                state=state,
                epoch=require(data, "epoch", int, path),
                step=require(data, "step", int, path),
                batch=int(data.get("batch") or 0),
                schedulers=dict(data.get("schedulers") or {}),
                world_size=int(data.get("world_size") or max(len(ranks), 1)),
                ranks=ranks,
                best=data.get("best"),
                elapsed=float(data.get("elapsed") or 0.0),
                components=dict(data.get("components") or {}),
                generators=_stored_generators(data.get("generators"), path),
                path=path,
            )

    # -- queries ---------------------------------------------------------------------------
    def weights(self, use_ema: bool = True) -> dict[str, StateDict]:
        """Role -> state dict, the generators' EMA copies replacing theirs when asked."""
        if use_ema and self.state.ema:
            return {**self.state.models, **self.state.ema}
        return dict(self.state.models)

    def with_best(self, best: dict[str, Any] | None) -> TrainingSnapshot:
        return dataclasses.replace(self, best=best)

    def require_resumable(self) -> None:
        """Raise unless the snapshot holds what resuming needs (optimisers, processes)."""
        missing = [
            n for n, v in (("optimizers", self.state.optimizers), ("ranks", self.ranks)) if not v
        ]
        if missing:
            raise CheckpointError(
                f"--resume {self.path}: the checkpoint holds no {' or '.join(missing)} state, "
                "so training cannot continue from it; start the run again with --overwrite"
            )

    def rank_state(self, rank: int) -> RankState:
        """Process ``rank``'s state. Written by as many processes: its own (bit-identical
        resume). By another count: the method state of old process ``rank % old_count``
        (CycleGAN: its history pools) and old rank ``rank``'s RNG states where that rank
        existed; elsewhere ``rng`` is ``None`` and the caller derives a fresh stream."""
        donor = self.ranks[rank % len(self.ranks)]
        rng = self.ranks[rank].rng if rank < len(self.ranks) else None
        return RankState(donor.method, rng)


def _stored_generators(raw: Any, path: Path) -> dict[str, StoredGenerator] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: 'generators' is a {type(raw).__name__}, not a table")
    return {
        d: StoredGenerator(g["role"], g["name"], dict(g["options"]), str(g.get("module") or ""))
        for d, g in raw.items()
    }


def migrate_v1(data: dict[str, Any]) -> dict[str, Any]:
    """``translkit.training/1`` -> ``/2``. Version 1 grew over time without a new tag:

    - before the method contract (Nov 2026) each process stored CycleGAN's history pools
      as ``{"pools": ...}``: they become its method state ``{"method": {"pools": ...}}``;
    - before the EMA warm-up, ``ema_updates`` was not stored: such an EMA is past it;
    - before generators were described on their own, ``generators`` and ``components``
      were absent: ``None`` (the recipe describes the generators) and ``{}``.
    """
    out = dict(data, format=f"{FAMILY}/2")
    ranks = []
    for rank in data.get("ranks") or []:
        if isinstance(rank, dict) and "method" not in rank and "pools" in rank:
            rank = {"method": {"pools": rank["pools"]}, "rng": rank.get("rng")}
        ranks.append(rank)
    out["ranks"] = ranks
    if "ema_updates" not in data:
        out["ema_updates"] = PAST_WARMUP if data.get("ema") else 0
    out.setdefault("components", {})
    out.setdefault("generators", None)
    return out


def _tensor_bytes(obj: Any) -> int:
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(_tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_tensor_bytes(v) for v in obj)
    return 0


TrainingSnapshot.MIGRATIONS = {1: migrate_v1}
