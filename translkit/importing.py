"""Importing generators trained with other code: an importer plugin reads the weights, the
core writes a generators file (:class:`translkit.artifacts.GeneratorsFile`) that every
command loads.

Example::

    import translkit
    from translkit.importing import import_generators

    registries = translkit.get_registry()
    import_generators("junyanz", "latest_net_G_A.pth", "horse2zebra.pt", registries)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from translkit.artifacts import GeneratorsFile
from translkit.contracts import GeneratorSpec
from translkit.directions import direction_problem
from translkit.errors import CheckpointError, ComponentError
from translkit.registry import Registries

__all__ = ["import_generators"]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _directions(sources: Any, direction: str) -> dict[str, Path]:
    if isinstance(sources, (str, Path)):
        sources = {direction: sources}
    if not sources:
        raise CheckpointError(direction_problem(None, "an import's direction"))
    for d in sources:
        if problem := direction_problem(d):
            raise CheckpointError(problem)
    return {d: Path(src) for d, src in sources.items()}


def import_generators(
    importer: str,
    sources: str | Path | Mapping[str, str | Path],
    dst: str | Path,
    registries: Registries,
    *,
    generator: str | None = None,
    options: Mapping[str, Any] | None = None,
    direction: str = "a2b",
    overwrite: bool = False,
) -> Path:
    """Convert weights with the importer plugin ``importer`` into a generators checkpoint.

    :param sources: one file (imported as ``direction``) or ``{"a2b": ..., "b2a": ...}``.
    :param generator: registered generator to build (default: the importer's; ``auto`` lets
        an importer that can read it off the file do so).
    :param options: generator options (``norm``, ``ngf``, ``dropout``, ...).
    :returns: ``dst``, written atomically; refused if it exists unless ``overwrite``.
    """
    paths = _directions(sources, direction)
    dst = Path(dst)
    if dst.exists() and not overwrite:
        raise CheckpointError(f"{dst} already exists; pass --overwrite to replace it")
    for path in paths.values():
        if path.resolve() == dst.resolve():
            raise CheckpointError(f"{dst} is also an input; write the import to another file")
    plugin = registries.importers.create(importer)
    name = generator or plugin.default_generator

    def build(gen: str, opts: dict[str, Any]) -> Any:
        try:
            return registries.generators.create(gen, **opts)
        except ComponentError as err:
            raise CheckpointError(f"cannot build generator {gen!r}: {err}") from None

    specs, sources_meta = {}, {}
    for d, path in paths.items():
        if not path.is_file():
            raise CheckpointError(f"{path} does not exist")
        spec = plugin.convert(path, build, generator=name, options=dict(options or {}))
        entry = registries.generators.get(spec.name)
        full = {**{k: v for k, v in entry.defaults().items()}, **spec.options}
        specs[d] = GeneratorSpec(spec.name, full, spec.state_dict, module=entry.module)
        sources_meta[d] = {"path": str(path), "sha256": _sha256(path), **spec.notes}
    from translkit import __version__

    meta = {
        "importer": importer,
        "method": getattr(plugin, "method", ""),
        "sources": sources_meta,
        "translkit_version": __version__,
    }
    return GeneratorsFile(specs, meta).save(dst)
