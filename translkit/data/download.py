"""Fetching one URL into a local file: resumable, retried, with a progress display.

Only the standard library talks HTTP (``urllib``). A transfer appends to a ``.part`` file:
an interrupted one resumes with an HTTP ``Range`` request (a server that ignores it sends
the whole file again, which is noticed and handled). Dropped connections, time-outs and
server errors (5xx, 429) are retried with exponential backoff; a host that cannot be
reached at all (unknown name, connection refused, no route) is not retried: being offline
is reported at once, in one line. ``file://`` URLs are copied
locally, resumable too. Nothing here verifies content: :mod:`translkit.data.install` does.
"""

from __future__ import annotations

import errno
import http.client
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse
from urllib.request import url2pathname

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from translkit.errors import DataError

__all__ = ["DownloadError", "DownloadProgress", "fetch", "format_bytes"]

#: Seconds before the first retry; doubled for each further one.
BACKOFF_SECONDS = 1.0
#: Retries after a dropped connection, a time-out or a server error.
RETRIES = 5
TIMEOUT_SECONDS = 30.0
CHUNK = 1 << 16
#: Without a live display, seconds between plain progress lines.
PLAIN_LINE_SECONDS = 5.0
_UNREACHABLE_ERRNOS = {errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH}


class DownloadError(DataError):
    """A URL could not be fetched; ``unreachable`` when no server answered at all."""

    def __init__(self, url: str, reason: str, *, unreachable: bool = False) -> None:
        super().__init__(f"cannot download {url}: {reason}")
        self.url, self.reason, self.unreachable = url, reason, unreachable


class _Retry(Exception):
    """A transient failure: try again (resuming) after a pause."""

    def __init__(self, reason: str, *, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.unreachable = unreachable


def format_bytes(n: int | None) -> str:
    """``19.3 MB`` (decimal units, as download sizes are usually quoted)."""
    if n is None:
        return "unknown size"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


class DownloadProgress:
    """Bytes done of a total, drawn as a rich bar (size, rate, ETA) on a terminal and as
    a plain line every few seconds otherwise. Thread-safe; use as a context manager."""

    def __init__(
        self,
        label: str,
        total: int | None,
        *,
        console: Console | None = None,
        header: str | None = None,
    ) -> None:
        self.console = console or Console(stderr=True)
        self.label, self.total, self.done = label, total, 0
        #: printed once, when the first bytes arrive (or before the first note): a host
        #: that cannot be reached ends with its one error line and nothing before it
        self._header = header
        self._present = 0  # bytes that were already there (not counted in the rate)
        self._lock = threading.Lock()
        self._started = self._last_line = time.monotonic()
        self._bar: Progress | None = None
        self._task = None
        if self.console.is_terminal:
            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )

    def __enter__(self) -> DownloadProgress:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif exc[0] is None:
            self._line(final=True)

    def advance(self, n: int) -> None:
        """``n`` more bytes arrived (negative when a restarted transfer discards some)."""
        with self._lock:
            if n > 0:
                self._print_header()
            self.done += n
            if self._bar is not None:
                self._bar.update(self._task, completed=self.done)  # type: ignore[arg-type]
            elif time.monotonic() - self._last_line >= PLAIN_LINE_SECONDS:
                self._line()

    def already_have(self, n: int) -> None:
        """``n`` bytes were present before this run (a resumed file): done, but not rate."""
        with self._lock:
            self._present += n
        self.advance(n)

    def note(self, message: str) -> None:
        """A one-line remark (a retry, a resumed file) above the bar."""
        with self._lock:
            self._print_header()
        self.console.print(message, highlight=False, soft_wrap=True)

    def _print_header(self) -> None:
        if self._header is not None:
            self.console.print(self._header, highlight=False, soft_wrap=True)
            self._header = None

    def _line(self, *, final: bool = False) -> None:
        self._last_line = time.monotonic()
        took = max(self._last_line - self._started, 1e-9)
        of = f" / {format_bytes(self.total)}" if self.total else ""
        pct = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        rate = f"{format_bytes(int(max(self.done - self._present, 0) / took))}/s"
        what = "done" if final else "downloading"
        self.console.print(
            f"{self.label}: {what} {format_bytes(self.done)}{of}{pct}, {rate}", highlight=False
        )


def fetch(
    url: str,
    part: Path,
    progress: DownloadProgress,
    *,
    size: int | None = None,
    retries: int | None = None,
    backoff: float | None = None,
) -> None:
    """Complete ``part`` from ``url``, resuming from its current length (which ``progress``
    counts as done).

    :param size: the expected length; a ``part`` already that long is left as is.
    :raises DownloadError: after the retries are spent, or at once for an HTTP error that
        retrying cannot fix (404, 403, ...) and for a host that cannot be reached at all
        (``unreachable``: offline, unknown name, connection refused).
    """
    retries = RETRIES if retries is None else retries
    backoff = BACKOFF_SECONDS if backoff is None else backoff
    part.parent.mkdir(parents=True, exist_ok=True)
    progress.already_have(part.stat().st_size if part.exists() else 0)
    attempt = 0
    while True:
        have = part.stat().st_size if part.exists() else 0
        if size is not None and have > size:  # not this file: start over
            part.unlink()
            progress.advance(-have)
            have = 0
        if size is not None and have == size:
            return
        try:
            _transfer(url, part, have, progress)
            return
        except _Retry as err:
            attempt += 1
            if err.unreachable or attempt > retries:
                raise DownloadError(url, str(err), unreachable=err.unreachable) from None
            delay = backoff * 2 ** (attempt - 1)
            progress.note(f"{url}: {err}; retry {attempt}/{retries} in {delay:.0f} s")
            time.sleep(delay)


def _transfer(url: str, part: Path, have: int, progress: DownloadProgress) -> None:
    scheme = urlparse(url).scheme
    if scheme == "file":
        _copy_local(Path(url2pathname(urlparse(url).path)), part, have, progress)
    elif scheme in ("http", "https"):
        _transfer_http(url, part, have, progress)
    else:
        raise DownloadError(url, f"unsupported URL scheme {scheme!r} (use https, http or file)")


def _copy_local(src: Path, part: Path, have: int, progress: DownloadProgress) -> None:
    try:
        with open(src, "rb") as fin, open(part, "ab") as fout:
            fin.seek(have)
            _copy(fin, fout, progress)
    except FileNotFoundError:
        raise DownloadError(src.as_uri(), "no such file") from None


def _copy(fin: BinaryIO, fout: BinaryIO, progress: DownloadProgress) -> int:
    """Copy until EOF, writing whatever has arrived (so a killed transfer keeps its bytes)."""
    read = getattr(fin, "read1", fin.read)
    n = 0
    while chunk := read(CHUNK):
        fout.write(chunk)
        n += len(chunk)
        progress.advance(len(chunk))
    return n


def _transfer_http(url: str, part: Path, have: int, progress: DownloadProgress) -> None:
    from translkit import __version__

    headers = {"User-Agent": f"translkit/{__version__}", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as resp:
            start = (resp.headers.get("Content-Range") or "").partition(" ")[2].partition("-")[0]
            resumed = have > 0 and resp.status == 206 and start == str(have)
            if resp.status == 206 and not resumed:  # not the range asked for
                part.unlink(missing_ok=True)
                progress.advance(-have)
                raise _Retry("the server sent an unexpected range; starting again")
            if have and not resumed:  # the server ignored Range: it sends everything again
                progress.advance(-have)
                have = 0
            expected = resp.headers.get("Content-Length")
            with open(part, "ab" if resumed else "wb") as fout:
                got = _copy(resp, fout, progress)
    except urllib.error.HTTPError as err:
        _http_error(url, part, have, err, progress)
        return
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        raise _classify(err) from None
    if expected is not None and got < int(expected):
        raise _Retry(f"connection closed after {got} of {expected} bytes")


def _http_error(
    url: str, part: Path, have: int, err: urllib.error.HTTPError, progress: DownloadProgress
) -> None:
    if err.code == 416 and have:  # asked past the end: complete already, or a different file
        total = (err.headers.get("Content-Range") or "").rpartition("/")[2]
        if total.isdigit() and int(total) == have:
            return
        part.unlink(missing_ok=True)
        progress.advance(-have)
        raise _Retry("the server refused to resume; starting again")
    if err.code >= 500 or err.code in (408, 429):
        raise _Retry(f"HTTP {err.code} {err.reason}")
    raise DownloadError(url, f"HTTP {err.code} {err.reason}")


def _classify(err: BaseException) -> _Retry:
    """A transport error as a retry, marked ``unreachable`` when no server answered."""
    reason = err.reason if isinstance(err, urllib.error.URLError) else err
    unreachable = isinstance(reason, (socket.gaierror, ConnectionRefusedError)) or (
        isinstance(reason, OSError) and reason.errno in _UNREACHABLE_ERRNOS
    )
    if isinstance(reason, (TimeoutError, socket.timeout)):
        text = "timed out"
    elif isinstance(reason, socket.gaierror):
        text = f"host name not found ({reason.strerror or reason})"
    elif isinstance(reason, OSError) and reason.strerror:
        text = reason.strerror.lower()
    else:
        text = str(reason) or type(reason).__name__
    return _Retry(text, unreachable=unreachable)
