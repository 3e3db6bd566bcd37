"""Extracting the folders a dataset needs from a zip or tar archive, and nothing else.

An archive is data, never trusted: only regular files under the folders named in the
layout are written, each to a path built from its name's parts after checking that none
is absolute, ``..`` or hidden (so no member can land outside the target folder, and
``__MACOSX``/dot files are skipped). Links and devices are ignored. Zip members are
CRC-checked as they are read, so a corrupted archive fails here.
"""

from __future__ import annotations

import shutil
import tarfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from translkit.errors import DataError

__all__ = ["extract_layout", "safe_relative"]


def safe_relative(path: str) -> PurePosixPath | None:
    """``path`` as clean relative parts, or ``None`` if absolute, escaping or hidden."""
    pure = PurePosixPath(path.replace("\\", "/"))
    parts = [p for p in pure.parts if p not in ("", ".")]
    if pure.is_absolute() or not parts:
        return None
    if any(p == ".." or p.startswith(".") or p == "__MACOSX" or ":" in p for p in parts):
        return None
    return PurePosixPath(*parts)


_Layout = list[tuple[str, PurePosixPath, PurePosixPath]]  # (as given, inside, destination)


def _target(name: str, layout: _Layout) -> tuple[str, PurePosixPath] | None:
    """Which layout folder member ``name`` belongs to, and its destination path."""
    rel = safe_relative(name)
    if rel is None:
        return None
    for given, inside, dest in layout:
        n = len(inside.parts)
        if rel.parts[:n] == inside.parts and len(rel.parts) > n:
            return given, dest.joinpath(*rel.parts[n:])
    return None


@contextmanager
def _members(archive: Path) -> Iterator[Iterator[tuple[str, BinaryIO]]]:
    """(name, open file) of every regular-file member, for zip and tar alike."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            yield ((i.filename, zf.open(i)) for i in zf.infolist() if not i.is_dir())
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive, "r:*") as tf:
            yield ((m.name, tf.extractfile(m)) for m in tf if m.isfile())  # type: ignore[misc]
    else:
        raise DataError(f"{archive} is neither a zip nor a tar archive (a truncated download?)")


def extract_layout(archive: Path, layout: Mapping[str, str], out: Path) -> dict[str, int]:
    """Write the archive's files under each ``layout`` key to ``out/<value>/...``.

    :returns: files written per layout key.
    :raises DataError: for a corrupt archive, or a layout folder the archive lacks.
    """
    clean: _Layout = []
    for inside, dest in layout.items():
        inside_rel, dest_rel = safe_relative(inside), safe_relative(dest)
        if inside_rel is None or dest_rel is None:
            raise DataError(f"archive layout {inside!r} -> {dest!r} is not a safe relative path")
        clean.append((inside, inside_rel, dest_rel))
    counts = dict.fromkeys(layout, 0)
    try:
        with _members(archive) as members:
            for name, fh in members:
                found = _target(name, clean)
                if found is None:
                    continue
                path = out.joinpath(*found[1].parts)
                path.parent.mkdir(parents=True, exist_ok=True)
                with fh, open(path, "wb") as fout:
                    shutil.copyfileobj(fh, fout, 1 << 20)
                counts[found[0]] += 1
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error) as err:
        raise DataError(f"{archive} is corrupt or truncated ({err})") from None
    except OSError as err:
        raise DataError(f"extracting {archive} into {out} failed: {err}") from None
    missing = [inside for inside, n in counts.items() if not n]
    if missing:
        raise DataError(
            f"{archive} holds no files under {', '.join(missing)}; its layout is not what "
            "the dataset source says"
        )
    return counts
