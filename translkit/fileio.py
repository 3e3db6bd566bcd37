"""Atomic file output: every file translkit writes appears whole or not at all.

Write to a temporary file beside the target, flush it to disk, then rename it over the
target; on any error the temporary file is removed and the previous file stays intact.

This is also the one place where the operating system's write errors become a
:class:`~translkit.errors.OutputError` of one line naming the file the user asked for and
the cause (disk full, permission denied, a directory in the way, ...): every writer goes
through :func:`atomic_path` or :func:`writing`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from translkit.errors import OutputError, TranslkitError

__all__ = [
    "atomic_path",
    "ensure_writable",
    "locked",
    "output_error",
    "process_alive",
    "read_jsonl",
    "remove_stale_temporaries",
    "temporary_name",
    "write_text_atomic",
    "writing",
]

_CAUSES = {
    errno.ENOSPC: "no space left on the device; free some space or write elsewhere",
    errno.EDQUOT: "disk quota exceeded; free some space or write elsewhere",
    errno.EACCES: "permission denied; choose a folder you can write to",
    errno.EPERM: "operation not permitted; choose a folder you can write to",
    errno.EROFS: "the file system is read-only; write elsewhere",
    errno.EISDIR: "it is a directory; name a file instead",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "a part of the path is a file, not a folder",
    errno.EFBIG: "the file is too large for this file system",
    errno.ENAMETOOLONG: "the name is too long",
}


def output_error(path: str | Path, err: OSError) -> OutputError:
    """One line for a failed write: ``cannot write PATH: cause``."""
    cause = _CAUSES.get(err.errno or 0) or err.strerror or str(err)
    return OutputError(f"cannot write {path}: {cause}")


@contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Turn an :class:`OSError` raised while writing ``path`` into an :class:`OutputError`
    naming ``path`` (the file or folder the user asked for, not a temporary name)."""
    try:
        yield
    except OSError as err:
        raise output_error(path, err) from None


def temporary_name(path: Path) -> Path:
    """The hidden temporary file beside ``path`` that :func:`atomic_path` writes first."""
    return path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")


_TEMPORARY = re.compile(r"^\..+\.(\d+)\.tmp(\.[^.]*)?$")


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files (:func:`temporary_name`) under ``folder`` whose writing
    process is gone: what a process killed mid-write (``kill -9``, power loss) left. A live
    process's are left alone. Returns the deleted paths."""
    removed = []
    for path in Path(folder).rglob(".*.tmp*"):
        match = _TEMPORARY.match(path.name)
        if match is None or not path.is_file() or process_alive(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a zombie counts as gone)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    The temporary name keeps ``path``'s suffix, so writers that pick a format from the
    extension (PIL, matplotlib) still do. An :class:`OSError` (disk full, permission
    denied, ``path`` is a directory, ...) becomes an :class:`OutputError` naming ``path``.
    """
    path = Path(path)
    with writing(path):
        tmp = _start(path)
        try:
            yield tmp
            with open(tmp, "rb+") as fh:  # flush the data before the rename makes it visible
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def _start(path: Path) -> Path:
    """Create the (empty) temporary file of ``path``: a directory in the way or a folder
    we cannot write to fails here, before any work is done."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    with open(tmp, "ab"):
        pass
    return tmp


def ensure_writable(path: str | Path) -> None:
    """Raise the :class:`OutputError` that writing ``path`` later would raise, now (for
    commands that work a long time before they write)."""
    path = Path(path)
    with writing(path):
        tmp = _start(path)
        with contextlib.suppress(OSError):
            tmp.unlink()


@contextmanager
def locked(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``'s ``.lock`` twin (``fcntl.flock``): processes that
    read-modify-write a shared file (a cache) take turns instead of losing each other's
    writes. Where locks are unavailable (no ``fcntl``), the body runs unlocked."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_json_dict(path: str | Path) -> dict[str, Any]:
    """A JSON object file as a dict; empty when it is missing, unreadable or not an object
    (a cache: damage means measuring again, never an error)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cached_entry(
    path: str | Path,
    key: str,
    compute: Callable[[], dict[str, Any]],
    *,
    valid: Callable[[Any], bool] = lambda entry: isinstance(entry, dict),
) -> dict[str, Any]:
    """``path[key]`` of a JSON cache file, computed (``compute()``) and stored when it is
    missing or not ``valid``; under the file's lock, so concurrent processes compute it
    once, in turn. A cache that cannot be written is computed again next time."""
    with locked(path):
        cache = read_json_dict(path)
        if valid(cache.get(key)):
            return cache[key]
        cache[key] = result = compute()
        with contextlib.suppress(OSError, TranslkitError):
            write_text_atomic(path, json.dumps(cache, indent=1, sort_keys=True) + "\n")
        return result


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
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        if strict:
            raise TranslkitError(
                f"{path} is not UTF-8 text ({err.reason} at byte {err.start})"
            ) from None
        text = data.decode("utf-8", errors="replace")  # damaged lines fail to parse below
    lines = text.splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if strict and n < len(lines):
                raise TranslkitError(f"{path}: line {n} is not valid JSON") from None
    return rows
