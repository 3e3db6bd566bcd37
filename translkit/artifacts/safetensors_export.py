"""The safetensors export (``translkit export -f safetensors``, and the weights of
registered models): one generator's weights with plain metadata, never code.

Format ``translkit.safetensors/2``; the header's metadata (strings) holds::

    format         "translkit.safetensors/2"
    direction      a2b or b2a
    generator      the registered generator's name
    options        its options, as JSON
    plugin_module  the plugin module that provided it (optional; "" when unknown)
    method         the method it was trained with (optional)
    source         the file name it was exported from (optional)

``translkit.safetensors/1`` files are upgraded by :func:`migrate_v1`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from translkit.artifacts.files import format_version, migrated, require
from translkit.contracts import GeneratorSpec
from translkit.directions import direction_problem
from translkit.errors import CheckpointError

__all__ = ["SafetensorsExport", "migrate_v1"]

FAMILY = "translkit.safetensors"
VERSION = 2


@dataclass(frozen=True)
class SafetensorsExport:
    """One exported generator (see the module docstring)."""

    FORMAT: ClassVar[str] = f"{FAMILY}/{VERSION}"

    direction: str
    spec: GeneratorSpec
    method: str = ""
    source: str = ""

    def metadata(self) -> dict[str, str]:
        return {
            "format": self.FORMAT,
            "direction": self.direction,
            "generator": self.spec.name,
            "options": json.dumps(self.spec.options, sort_keys=True),
            "plugin_module": self.spec.module,
            "method": self.method,
            "source": self.source,
        }

    def to_bytes(self, *, half: bool = False) -> bytes:
        """The file's bytes; ``half``: floating weights as fp16 (loading casts them back)."""
        from safetensors.torch import save

        tensors = {k: v.detach().contiguous().cpu() for k, v in self.spec.state_dict.items()}
        if half:  # floating tensors only (counters stay integers)
            tensors = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
        return save(tensors, metadata=self.metadata())

    def save(self, path: str | Path, *, half: bool = False) -> Path:
        """Write the export to ``path`` atomically."""
        from translkit.fileio import atomic_path

        path = Path(path)
        with atomic_path(path) as tmp:
            tmp.write_bytes(self.to_bytes(half=half))  # a write error is an OSError (fileio)
        return path

    @classmethod
    def load(cls, path: str | Path) -> SafetensorsExport:
        """Read, check and upgrade the export at ``path`` (one line for any problem)."""
        from safetensors import safe_open
        from safetensors.torch import load_file

        path = Path(path)
        try:
            with safe_open(str(path), framework="pt") as fh:
                meta = dict(fh.metadata() or {})
            state = load_file(str(path))
        except Exception as err:  # safetensors raises its own error types
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise CheckpointError(f"{path} is not a readable safetensors file: {first}") from None
        if not str(meta.get("format", "")).startswith(FAMILY + "/"):
            raise CheckpointError(
                f"{path} was not exported by translkit (metadata format {meta.get('format')!r})"
            )
        version = format_version(meta.get("format"), FAMILY, VERSION, path)
        return cls.from_metadata(migrated(meta, version, {1: migrate_v1}), state, path)

    @classmethod
    def from_metadata(
        cls, meta: dict[str, Any], state: dict[str, Any], path: Path
    ) -> SafetensorsExport:
        where = f"{path}: translkit metadata"
        try:
            options = json.loads(require(meta, "options", str, where))
        except ValueError as err:
            raise CheckpointError(f"{where} is incomplete (options: {err})") from None
        direction = require(meta, "direction", str, where)
        if not isinstance(options, dict) or direction_problem(direction):
            raise CheckpointError(
                f"{where} is incomplete (options {meta['options']!r}, direction {direction!r})"
            )
        name = require(meta, "generator", str, where)
        spec = GeneratorSpec(name, options, state, module=str(meta.get("plugin_module") or ""))
        method, source = str(meta.get("method") or ""), str(meta.get("source") or "")
        return cls(direction, spec, method=method, source=source)


def migrate_v1(meta: dict[str, Any]) -> dict[str, Any]:
    """``translkit.safetensors/1`` -> ``/2``: ``plugins`` (modules early versions meant to
    import: a file never decides what is imported) is dropped; ``plugin_module``,
    ``method`` and ``source``, absent from the first exports, become ``""``."""
    out = {k: v for k, v in meta.items() if k != "plugins"}
    out["format"] = f"{FAMILY}/2"
    for key in ("plugin_module", "method", "source"):
        out.setdefault(key, "")
    return out
