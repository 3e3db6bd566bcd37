"""The JSON files of a run directory that translkit reads back: ``summary.json`` (the
last state of a training run), ``scores.json`` (``translkit score RUN_DIR``) and
``environment.json`` (what the run trained with: versions, plugins, the machine).

Both carry ``"format"`` since version 2; a file without it is version 1 and is upgraded by
its ``migrate_v1`` (the fields added over time get the values that meant "unknown").
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from translkit.artifacts.files import format_version, migrated, require
from translkit.compat import split_old_info
from translkit.errors import CheckpointError
from translkit.fileio import write_text_atomic

__all__ = [
    "DemoApp",
    "Environment",
    "RunSummary",
    "Scores",
    "migrate_environment_v1",
    "migrate_scores_v1",
    "migrate_summary_v1",
]

R = TypeVar("R", bound="_JsonRecord")


class _JsonRecord:
    """Saving and loading a frozen dataclass as a JSON object with a format tag."""

    FAMILY: ClassVar[str]
    VERSION: ClassVar[int] = 2
    MIGRATIONS: ClassVar[dict[int, Any]]

    def to_dict(self) -> dict[str, Any]:
        out = {"format": f"{self.FAMILY}/{self.VERSION}"}
        out.update({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})  # type: ignore[arg-type]
        return out

    def save(self, path: str | Path) -> Path:
        """Write the file atomically."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
        return write_text_atomic(path, text)

    @classmethod
    def load(cls: type[R], path: str | Path) -> R:
        """Read, check and upgrade the file (one line naming the file for any problem)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CheckpointError(f"{path} does not exist") from None
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
            raise CheckpointError(f"{path} is not valid JSON: {err}") from None
        if not isinstance(data, dict):
            raise CheckpointError(f"{path} holds a JSON {type(data).__name__}, not an object")
        version = 1 if "format" not in data else None
        version = version or format_version(data["format"], cls.FAMILY, cls.VERSION, path)
        data = migrated(data, version, cls.MIGRATIONS)
        values = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name not in data and f.default is not dataclasses.MISSING:
                continue  # optional: absent means its default
            kind = _KINDS.get(str(f.type), object)
            values[f.name] = require(data, f.name, kind, path)
        return cls(**values)

    @classmethod
    def read(cls: type[R], path: str | Path) -> R | None:
        """:meth:`load`, or ``None`` when the file is missing or damaged (it describes a
        run; nothing depends on it)."""
        try:
            return cls.load(path)
        except CheckpointError:
            return None


_KINDS: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": (int, float),
    "bool": bool,
    "list[str]": list,
    "list[dict[str, Any]]": list,
    "dict[str, str | None]": dict,
    "dict[str, Any]": dict,
    "dict[str, float]": dict,
    "dict[str, str]": dict,
    "int | None": (int, type(None)),
    "str | None": (str, type(None)),
    "dict[str, Any] | None": (dict, type(None)),
}


@dataclass(frozen=True)
class RunSummary(_JsonRecord):
    """``summary.json``: rewritten with every ``latest.pt``, so the two always agree."""

    FAMILY: ClassVar[str] = "translkit.summary"

    method: str
    directions: list[str]
    epochs: int
    steps: int
    seconds: float
    images_per_s: float
    device: str
    precision: dict[str, Any]
    runtime: dict[str, Any]
    threads: dict[str, Any]
    world_size: int
    process_group: str | None
    finished: bool
    interrupted: bool
    signal: int | None
    stopped: str | None
    best: dict[str, Any] | None
    run_dir: str


def migrate_summary_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Untagged ``summary.json`` -> ``translkit.summary/2``: an untagged file was never
    checked and its fields grew over time (the method and directions, the runtime and
    threads, why it stopped): those absent read as unknown (0, "", empty, None). A JSON
    object without ``epochs`` and ``steps`` was never a summary and is refused."""
    defaults = {  # every summary ever written has epochs and steps: those stay required
        "method": "",
        "directions": [],
        "seconds": 0.0,
        "images_per_s": 0.0,
        "device": "",
        "precision": {},
        "runtime": {},
        "threads": {},
        "world_size": 1,
        "process_group": None,
        "finished": False,
        "interrupted": False,
        "signal": None,
        "stopped": None,
        "best": None,
        "run_dir": "",
    }
    return {**defaults, **data, "format": "translkit.summary/2"}


@dataclass(frozen=True)
class Scores(_JsonRecord):
    """``scores.json``: what :func:`translkit.score_run` measured, and on what."""

    FAMILY: ClassVar[str] = "translkit.scores"

    run_dir: str
    checkpoint: str
    data_root: str
    resize: int
    ema: bool
    metrics: list[str]
    scores: dict[str, float]
    goals: dict[str, str]
    info: dict[str, Any]
    skipped: dict[str, str]
    seconds: float
    #: what real target-domain images score on a key, where a metric says (``real`` column)
    reference: dict[str, float] = field(default_factory=dict)
    #: key -> why its number is not to be trusted
    untrusted: dict[str, str] = field(default_factory=dict)
    #: the baselines scored on the same metrics (``--baselines``); absent when none were
    baselines: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if out["baselines"] is None:
            del out["baselines"]
        return out


def migrate_scores_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Untagged ``scores.json`` -> ``translkit.scores/2``: ``resize`` (0: each image at its
    own size), ``ema`` (the default, True) and ``skipped`` ({}) were added over time; an
    untagged file was never checked, so only its ``scores`` are required and the fields
    that describe them read as unknown when absent."""
    defaults = {
        "run_dir": "",
        "checkpoint": "",
        "data_root": "",
        "resize": 0,
        "ema": True,
        "metrics": [],
        "goals": {},
        "info": {},
        "skipped": {},
        "seconds": 0.0,
    }
    # reference values and trust marks were info keys then (compat.split_old_info)
    info, reference, untrusted = split_old_info(data.get("info") or {})
    return {
        **defaults,
        **data,
        "info": info,
        "reference": reference,
        "untrusted": untrusted,
        "format": "translkit.scores/2",
    }


@dataclass(frozen=True)
class Environment(_JsonRecord):
    """``environment.json``: the Python, package and plugin versions and the machine a run
    trained with, written once when it starts (the report shows it; resuming reads which
    plugin registered each component)."""

    FAMILY: ClassVar[str] = "translkit.environment"

    python: str
    platform: str
    packages: dict[str, str | None]
    #: ``{"name", "module", "distribution", "version", "registered": {kind: [names]}}``
    plugins: list[dict[str, Any]]
    device: str
    cuda: str | None
    cpu: dict[str, Any]
    cpu_threads: int
    #: what the run decided at its start (e.g. ``precision``: the choice and why)
    decisions: dict[str, Any] = field(default_factory=dict)

    def component_modules(self) -> dict[tuple[str, str], str]:
        """``(kind, name) -> plugin module``: which plugin registered each component."""
        out = {}
        for plugin in self.plugins:
            module = plugin.get("module") if isinstance(plugin, dict) else None
            registered = plugin.get("registered") if module else None
            for kind, names in (registered if isinstance(registered, dict) else {}).items():
                for name in names if isinstance(names, list) else []:
                    out[kind, name] = module
        return out


def migrate_environment_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Untagged ``environment.json`` -> ``translkit.environment/2``: its extra facts (the
    precision chosen) sat beside the versions; they move under ``decisions``, and the
    fields an early file lacks read as unknown."""
    known = {f.name for f in dataclasses.fields(Environment)}
    defaults = {  # every environment.json ever written names its Python: that stays required
        "platform": "",
        "packages": {},
        "plugins": [],
        "device": "",
        "cuda": None,
        "cpu": {},
        "cpu_threads": 0,
    }
    kept = {k: v for k, v in data.items() if k in known}
    decisions = {k: v for k, v in data.items() if k not in known}
    return {**defaults, **kept, "decisions": decisions, "format": "translkit.environment/2"}


@dataclass(frozen=True)
class DemoApp(_JsonRecord):
    """An exported demo app's ``model.json`` (``translkit demo --export``): what the page
    shows about the model beside its ``a2b``/``b2a.safetensors``."""

    FAMILY: ClassVar[str] = "translkit.demo-app"
    VERSION: ClassVar[int] = 1
    MIGRATIONS: ClassVar[dict[int, Any]] = {}

    #: the translkit version that exported it
    translkit: str
    #: name, method, generator and its options, epoch, weights, checkpoint, resize
    info: dict[str, Any]


RunSummary.MIGRATIONS = {1: migrate_summary_v1}
Environment.MIGRATIONS = {1: migrate_environment_v1}
Scores.MIGRATIONS = {1: migrate_scores_v1}
