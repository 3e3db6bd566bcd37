"""Atomic file output: every file translkit writes appears whole or not at all.

Write to a temporary file beside the target, flush it to disk, then rename it over the
target; on any error the temporary file is removed and the previous file stays intact.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from translkit.errors import TranslkitError

__all__ = ["atomic_path", "cache_dir", "read_jsonl", "write_text_atomic"]


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    The temporary name keeps ``path``'s suffix, so writers that pick a format from the
    extension (PIL, matplotlib) still do.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        with open(tmp, "rb+") as fh:  # flush the data before the rename makes it visible
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def cache_dir(*parts: str) -> Path:
    """translkit's cache folder plus ``parts``: ``$TRANSLKIT_CACHE``, else
    ``$XDG_CACHE_HOME/translkit`` (default ``~/.cache/translkit``). Not created here."""
    if os.environ.get("TRANSLKIT_CACHE"):
        base = Path(os.environ["TRANSLKIT_CACHE"]).expanduser()
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "translkit"
    return base.joinpath(*parts)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def read_jsonl(path: str | Path, *, strict: bool = False) -> list[dict[str, Any]]:
    """The records of a JSON-lines file; a missing file has none.

    A torn last line (a run still writing) is always skipped. Any other malformed line is
    skipped too, unless ``strict``, which raises naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if strict and n < len(lines):
                raise TranslkitError(f"{path}: line {n} is not valid JSON") from None
    return rows
