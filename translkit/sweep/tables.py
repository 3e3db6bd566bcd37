"""A sweep file's tables as typed dataclasses, read by the recipe's own machinery.

Types and ``Annotated`` bounds (:mod:`translkit.bounds`) say what each key takes;
:func:`translkit.recipe.read_table` reads them, so a sweep file's unknown keys, missing
keys, wrong types and out-of-range values are refused in a recipe's words.
:mod:`translkit.sweep.spec` checks what only a sweep has (recipe keys, ranges' ends).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Annotated, Any, Literal

from translkit.bounds import NonEmpty, Range

__all__ = [
    "PARAM_KEYS",
    "Limits",
    "ObjectiveTable",
    "PrunerTable",
    "SamplerTable",
    "SpaceRange",
    "SweepFile",
    "SweepTable",
]

_COUNT = Range(min=0)


@dataclass
class SweepTable:
    """``[sweep]``: the base recipe (relative to the sweep file), the study's name (default:
    the file's name), where the sweep directory goes, and the budget."""

    recipe: Annotated[str, NonEmpty()]
    name: str = ""
    output_dir: str = "sweeps"
    trials: Annotated[int, Range(min=1)] = 20
    minutes: Annotated[float, Range(min=0, min_open=True, off=0)] = 0.0


@dataclass
class ObjectiveTable:
    """``[objective]``: a key the evaluation yields; its direction (default: its own goal)."""

    metric: Annotated[str, NonEmpty()]
    direction: Literal["maximize", "minimize"] | None = None


@dataclass
class SamplerTable:
    """``[sampler]``: Optuna's TPE (seeded; random trials first) or random sampler."""

    name: Literal["tpe", "random"] = "tpe"
    seed: Annotated[int, _COUNT] = 0
    startup_trials: Annotated[int, _COUNT] = 5


@dataclass
class PrunerTable:
    """``[pruner]``: Optuna's median or successive-halving pruner, or none."""

    name: Literal["median", "halving", "none"] = "median"
    startup_trials: Annotated[int, _COUNT] = 3
    warmup_epochs: Annotated[int, _COUNT] = 0
    min_trials: Annotated[int, _COUNT] = 1
    min_resource: Annotated[int, _COUNT] = 1
    reduction_factor: Annotated[int, Range(min=2)] = 3

    def used(self) -> dict[str, Any]:
        """The chosen pruner's name and the options it reads."""
        keys = {
            "median": ("startup_trials", "warmup_epochs", "min_trials"),
            "halving": ("min_resource", "reduction_factor"),
            "none": (),
        }[self.name]
        return {"name": self.name, **{k: getattr(self, k) for k in keys}}


@dataclass
class Limits:
    """One ``[constraints]`` entry: ``"a2b/l1" = { max = 0.5 }`` (min and/or max)."""

    min: float | None = None
    max: float | None = None


@dataclass
class SpaceRange:
    """A range of ``[space]``: ``{ low, high }``, on a log scale or in steps."""

    low: Annotated[int | float, Range()]  # Range(): finite
    high: Annotated[int | float, Range()]
    log: bool = False
    step: Annotated[int | float | None, Range(min=0, min_open=True)] = None


@dataclass
class SweepFile:
    """A sweep file, table by table (``[set]`` and ``[space]`` hold recipe keys)."""

    sweep: SweepTable
    objective: ObjectiveTable
    constraints: dict[str, Limits] = field(default_factory=dict)
    sampler: SamplerTable = field(default_factory=SamplerTable)
    pruner: PrunerTable = field(default_factory=PrunerTable)
    set: dict[str, Any] = field(default_factory=dict)
    space: dict[str, Any] = field(default_factory=dict)


#: Keys that end a ``[space]`` key: a range table's or a choices table's.
PARAM_KEYS = frozenset({f.name for f in fields(SpaceRange)} | {"choices"})
