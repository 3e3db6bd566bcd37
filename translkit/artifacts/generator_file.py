"""The generators file (``.pt``): generators trained anywhere (imports,
:func:`translkit.save_generators`), each with its registered name and options.

Format ``translkit.generators/2``::

    format      "translkit.generators/2"
    generators  direction (a2b, b2a) -> {"name", "options", "state_dict", "module"}
    meta        plain data on where it came from (importer, sources, versions)

``translkit.generators/1`` files are upgraded by :func:`migrate_v1`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from translkit.artifacts.files import (
    TorchRecord,
    malformed,
    require,
)
from translkit.contracts import GeneratorSpec
from translkit.errors import CheckpointError

__all__ = ["GeneratorsFile", "migrate_v1"]

FAMILY = "translkit.generators"
VERSION = 2


@dataclass(frozen=True)
class GeneratorsFile(TorchRecord):
    """Direction -> generator spec, and ``meta`` (see the module docstring)."""

    FAMILY: ClassVar[str] = FAMILY
    VERSION: ClassVar[int] = VERSION
    FORMAT: ClassVar[str] = f"{FAMILY}/{VERSION}"

    generators: dict[str, GeneratorSpec]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.FORMAT,
            "generators": {
                d: {
                    "name": s.name,
                    "options": s.options,
                    "state_dict": s.state_dict,
                    "module": s.module,
                }
                for d, s in self.generators.items()
            },
            "meta": self.meta,
        }

    @classmethod
    def from_upgraded(cls, data: dict[str, Any], path: Path) -> GeneratorsFile:
        with malformed(path):
            specs = {
                d: _spec(require(raw, "state_dict", dict, f"{path} ({d})"), raw, path, d)
                for d, raw in require(data, "generators", dict, path).items()
            }
            meta = data.get("meta")
            return cls(specs, dict(meta) if isinstance(meta, Mapping) else {})


def _spec(state: dict[str, Any], raw: dict[str, Any], path: Path, direction: str) -> GeneratorSpec:
    name, options = raw["name"], raw["options"]
    if not isinstance(name, str) or not isinstance(options, dict):
        raise CheckpointError(f"{path}: the {direction} generator's name or options are damaged")
    return GeneratorSpec(name, dict(options), state, module=str(raw.get("module") or ""))


def migrate_v1(data: dict[str, Any]) -> dict[str, Any]:
    """``translkit.generators/1`` -> ``/2``: ``plugins`` (modules that early versions meant
    to import: a file never decides what is imported) is dropped; a generator without
    ``module`` gets ``""`` (unknown); ``meta`` becomes a table when absent."""
    out = {k: v for k, v in data.items() if k != "plugins"}
    out["format"] = f"{FAMILY}/2"
    generators = data.get("generators")
    if isinstance(generators, dict):
        out["generators"] = {
            d: {"module": "", **g} if isinstance(g, dict) else g for d, g in generators.items()
        }
    out.setdefault("meta", {})
    return out


GeneratorsFile.MIGRATIONS = {1: migrate_v1}
