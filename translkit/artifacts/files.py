"""Reading and writing the bytes of translkit's files: atomic ``torch.save``, safe
``torch.load`` (``weights_only=True``), the format tag every file carries, and the checks
that turn a misshapen file into one :class:`~translkit.errors.CheckpointError` line.

Every record of :mod:`translkit.artifacts` reads and writes through here; nothing else in
translkit calls ``torch.load``/``torch.save`` (tests/test_architecture.py enforces it).
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch

from translkit.errors import CheckpointError, TranslkitError
from translkit.fileio import atomic_path

__all__ = [
    "format_version",
    "load_checkpoint",
    "load_weights_only",
    "malformed",
    "migrated",
    "one_line",
    "require",
    "save_checkpoint",
    "state_dict_problem",
]

T = TypeVar("T")
_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


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
    """The raw data of a ``.pt`` file, read with ``weights_only=True`` (a checkpoint is
    untrusted input); the typed records (:class:`~translkit.artifacts.TrainingSnapshot`,
    ...) read, check and upgrade it."""
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
    except Exception as err:  # a damaged file fails anywhere in torch's reader, any type
        raise CheckpointError(
            f"{what} {path} is corrupt or not a torch file: {one_line(err)}"
        ) from None


def one_line(err: Exception | str, limit: int = 200) -> str:
    """``err`` as one line of at most ``limit`` characters (messages quoting stored values
    — a tensor's repr — can span lines)."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def state_dict_problem(err: Exception) -> str:
    """The first informative line of torch's ``load_state_dict`` error (which key, which
    shapes), without the multi-line preamble."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("size mismatch", "Missing key", "Unexpected key")):
            return line.rstrip(".")
    return lines[0] if lines else type(err).__name__


def format_version(tag: Any, family: str, current: int, path: Path | str) -> int:
    """The version ``N`` of a format tag ``"<family>/N"``; an unknown tag or a version newer
    than ``current`` (a file from a newer translkit) is refused in one line."""
    match = re.fullmatch(re.escape(family) + r"/(\d+)", tag) if isinstance(tag, str) else None
    if match is None:
        raise CheckpointError(f"{path} is not a {family} file (format {one_line(repr(tag), 60)})")
    version = int(match.group(1))
    if not 1 <= version <= current:
        raise CheckpointError(
            f"{path} has format {tag}, newer than this translkit reads ({family}/{current}); "
            "upgrade translkit (pip install -U translkit)"
        )
    return version


def migrated(
    data: dict[str, Any], version: int, migrations: Mapping[int, Callable[[dict[str, Any]], Any]]
) -> dict[str, Any]:
    """``data`` of format ``version`` upgraded step by step (``migrations[N]`` turns
    version N into N + 1) to the current version."""
    while version in migrations:
        data = migrations[version](data)
        version += 1
    return data


def require(data: Mapping[str, Any], key: str, kind: type[T] | tuple[type, ...], path: Any) -> T:
    """``data[key]``, checked to be a ``kind``; else one line naming the file and the key."""
    if key not in data:
        raise CheckpointError(
            f"{path} has no {key!r}: it is damaged or was not written by translkit; "
            "write it again (train, export or import anew)"
        )
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise CheckpointError(
            f"{path}: {key!r} is a {type(value).__name__}, not a {names}: it is damaged or "
            "was not written by translkit"
        )
    return value


@contextmanager
def malformed(path: Path | str) -> Iterator[None]:
    """A file whose data has the wrong shape (a key missing, a table where a tensor
    belongs, ...) is refused in one line, whichever key it is."""
    try:
        yield
    except TranslkitError as err:
        if "\n" in str(err):  # a message quoting a stored value (a tensor) spans lines
            raise CheckpointError(one_line(err, 300)) from None
        raise
    except (KeyError, TypeError, AttributeError, ValueError, IndexError, RuntimeError) as err:
        what = f"missing {err}" if isinstance(err, KeyError) else one_line(err)
        raise CheckpointError(
            f"checkpoint {path} is damaged or was not written by translkit ({what})"
        ) from None


class TorchRecord:
    """Saving and loading a record kept as a torch file: a subclass gives its ``FAMILY``,
    ``VERSION`` and ``MIGRATIONS`` (``{1: migrate_v1, ...}``), ``to_dict`` and
    ``from_upgraded(data, path)`` (data already in today's layout)."""

    FAMILY: ClassVar[str]
    VERSION: ClassVar[int]
    MIGRATIONS: ClassVar[dict[int, Any]]

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def save(self, path: str | Path) -> Path:
        """Write the file to ``path`` atomically."""
        return save_checkpoint(self.to_dict(), path)

    @classmethod
    def load(cls, path: str | Path) -> Any:
        """Read, check and upgrade the file at ``path`` (one line for any problem)."""
        path = Path(path)
        return cls.from_dict(load_checkpoint(path), path)

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path) -> Any:
        """The record of a file's ``data``, in any version of the format."""
        version = format_version(data.get("format"), cls.FAMILY, cls.VERSION, path)
        return cls.from_upgraded(migrated(data, version, cls.MIGRATIONS), path)

    @classmethod
    def from_upgraded(cls, data: dict[str, Any], path: Path) -> Any:
        raise NotImplementedError
