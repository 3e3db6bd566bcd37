"""Checkpoint files: atomic writes, safe (weights-only) reads, generator loading.

Two formats, both plain dicts of tensors and built-in types (never pickled code):

- ``translkit.training/1`` — a training snapshot: ``recipe`` (resolved, as plain data),
  ``models`` (``G_AB``, ``G_BA``, ``D_A``, ``D_B`` state dicts), optional ``ema``
  (``G_AB``, ``G_BA``), optimisers, schedulers, RNG states, epoch/step, ...
- ``translkit.generators/1`` — generators only (imports, exports): ``generators`` maps a
  direction (``a2b``, ``b2a``) to ``{"name", "options", "state_dict"}``; ``plugins`` lists
  plugin modules to import; ``meta`` says where it came from.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from translkit.errors import CheckpointError
from translkit.fileio import atomic_path

__all__ = [
    "DIRECTIONS",
    "GENERATORS_FORMAT",
    "TRAINING_FORMAT",
    "generator_specs",
    "load_checkpoint",
    "load_generators",
    "load_weights_only",
    "save_checkpoint",
]

TRAINING_FORMAT = "translkit.training/1"
GENERATORS_FORMAT = "translkit.generators/1"
DIRECTIONS = ("a2b", "b2a")
_TRAINING_KEYS = {"a2b": "G_AB", "b2a": "G_BA"}


def save_checkpoint(obj: dict[str, Any], path: str | Path) -> Path:
    """Write ``obj`` with ``torch.save`` atomically: temporary file, fsync, rename.

    A crash mid-write leaves the previous file intact, never a truncated one.
    """
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(obj, fh)  # a file object: a full disk is an OSError, not "unexpected pos"
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
    return path


def _looks_like_torch_file(path: Path) -> bool:
    """A zip archive (torch >= 1.6) or a legacy pickle stream (starts with PROTO 0x80)."""
    if zipfile.is_zipfile(path):
        return True
    with open(path, "rb") as fh:
        return fh.read(1) == b"\x80"


def load_checkpoint(path: str | Path, *, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``: a checkpoint is untrusted input."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if not _looks_like_torch_file(path):
        raise CheckpointError(f"checkpoint {path} is corrupt or not a torch file")
    obj = load_weights_only(path, map_location=map_location, what="checkpoint")
    if not isinstance(obj, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(obj).__name__}, not a dict")
    return obj


def load_weights_only(path: Path, *, map_location: Any = "cpu", what: str = "file") -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain data, never code.

    A file that holds other Python objects is refused in one line naming the object it
    asks for; torch's advice to retry with ``weights_only=False`` is not passed on, since
    that is exactly what would run the code.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        found = _GLOBAL.search(str(err))
        named = f" ({found.group(1)})" if found else ""
        raise CheckpointError(
            f"{what} {path} is refused: it holds a Python object{named}, not only tensors and "
            "plain data, and loading it could run code"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(f"{what} {path} is corrupt or not a torch file: {first}") from None


_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def generator_specs(ckpt: dict[str, Any], *, use_ema: bool = True) -> dict[str, dict[str, Any]]:
    """Direction -> ``{"name", "options", "state_dict"}`` for either checkpoint format."""
    fmt = ckpt.get("format")
    if fmt == GENERATORS_FORMAT:
        return dict(ckpt["generators"])
    if fmt == TRAINING_FORMAT:
        gen = dict(ckpt["recipe"]["generator"])
        name = gen.pop("name")
        weights = ckpt.get("ema") if use_ema and ckpt.get("ema") else ckpt["models"]
        return {
            d: {"name": name, "options": gen, "state_dict": weights[key]}
            for d, key in _TRAINING_KEYS.items()
        }
    raise CheckpointError(
        f"not a translkit checkpoint (format {fmt!r}); reference CycleGAN files are "
        "converted with `translkit import junyanz`"
    )


def checkpoint_plugins(ckpt: dict[str, Any]) -> list[str]:
    if ckpt.get("format") == TRAINING_FORMAT:
        return list(ckpt["recipe"].get("plugins", []))
    return list(ckpt.get("plugins", []))


def load_generators(
    path: str | Path, *, use_ema: bool = True, registry: Any = None
) -> dict[str, nn.Module]:
    """Build the generators stored in ``path`` (either format), in eval mode, on CPU."""
    ckpt = load_checkpoint(path)
    specs = generator_specs(ckpt, use_ema=use_ema)
    if registry is None:
        from translkit.plugins import get_registry

        registry = get_registry(checkpoint_plugins(ckpt))
    nets = {}
    for direction, spec in specs.items():
        net = registry.generators.create(spec["name"], **spec["options"])
        try:
            net.load_state_dict(spec["state_dict"])
        except RuntimeError as err:
            raise CheckpointError(
                f"checkpoint {path}: {direction} weights do not fit generator "
                f"{spec['name']!r} {spec['options']}: {str(err).splitlines()[0]}"
            ) from None
        nets[direction] = net.eval()
    return nets
