"""Fetching one URL: resume with Range, retries with backoff, errors that say what failed.

Every server is a local one on 127.0.0.1 (tests/http_support.py); nothing touches the
internet.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from http_support import FileServer, refused_url
from rich.console import Console

from translkit.data import download
from translkit.data.download import DownloadError, DownloadProgress, fetch, format_bytes

BLOB = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download, "BACKOFF_SECONDS", 0.0)


def _progress(total: int | None = None) -> DownloadProgress:
    return DownloadProgress("t", total, console=Console(file=io.StringIO()))


def test_an_interrupted_transfer_resumes_with_range(tmp_path: Path) -> None:
    part = tmp_path / "blob.part"
    with FileServer({"blob": BLOB}, drop_after=3000) as srv, _progress(len(BLOB)) as progress:
        fetch(srv.url("blob"), part, progress, size=len(BLOB))
    assert part.read_bytes() == BLOB
    first, second = srv.requests
    assert (first.range, first.sent) == (None, 3000)
    assert (second.range, second.status) == ("bytes=3000-", 206)
    assert second.sent == len(BLOB) - 3000  # only the rest was transferred
    assert progress.done == len(BLOB)


def test_a_partial_file_from_an_earlier_run_is_continued(tmp_path: Path) -> None:
    part = tmp_path / "blob.part"
    part.write_bytes(BLOB[:5000])
    with FileServer({"blob": BLOB}) as srv, _progress() as progress:
        fetch(srv.url("blob"), part, progress, size=len(BLOB))
    assert part.read_bytes() == BLOB
    assert [(r.range, r.sent) for r in srv.requests] == [("bytes=5000-", len(BLOB) - 5000)]


def test_a_server_ignoring_range_sends_everything_and_the_file_restarts(tmp_path: Path) -> None:
    part = tmp_path / "blob.part"
    part.write_bytes(b"x" * 100)
    with FileServer({"blob": BLOB}, ranges=False) as srv, _progress() as progress:
        fetch(srv.url("blob"), part, progress)
    assert part.read_bytes() == BLOB
    assert progress.done == len(BLOB)  # the 100 stale bytes were taken back off


def test_a_complete_part_past_the_end_is_kept(tmp_path: Path) -> None:
    part = tmp_path / "blob.part"
    part.write_bytes(BLOB)
    with FileServer({"blob": BLOB}) as srv, _progress() as progress:
        fetch(srv.url("blob"), part, progress)  # size unknown: asks for bytes past the end
    assert part.read_bytes() == BLOB and srv.requests[0].status == 416


def test_server_errors_are_retried_with_backoff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(download, "BACKOFF_SECONDS", 0.5)
    monkeypatch.setattr(time, "sleep", sleeps.append)
    with FileServer({"blob": BLOB}, fail_first=3) as srv, _progress() as progress:
        fetch(srv.url("blob"), tmp_path / "p", progress)
    assert (tmp_path / "p").read_bytes() == BLOB
    assert sleeps == [0.5, 1.0, 2.0]  # exponential
    assert [r.status for r in srv.requests] == [500, 500, 500, 200]


def test_retries_run_out(tmp_path: Path) -> None:
    with (
        FileServer({"blob": BLOB}, fail_first=10) as srv,
        _progress() as progress,
        pytest.raises(DownloadError, match=r"cannot download http://127\.0\.0\.1:\d+/blob"),
    ):
        fetch(srv.url("blob"), tmp_path / "p", progress, retries=2)
    assert len(srv.requests) == 3


def test_not_found_is_not_retried(tmp_path: Path) -> None:
    with (
        FileServer({}) as srv,
        _progress() as progress,
        pytest.raises(DownloadError, match="HTTP 404"),
    ):
        fetch(srv.url("missing"), tmp_path / "p", progress)
    assert len(srv.requests) == 1


def test_a_refused_connection_fails_fast_and_is_marked_unreachable(tmp_path: Path) -> None:
    url = refused_url()
    start = time.monotonic()
    with pytest.raises(DownloadError) as info, _progress() as progress:
        fetch(url, tmp_path / "p", progress)
    assert info.value.unreachable and info.value.url == url
    assert str(info.value).startswith(f"cannot download {url}: ")
    assert "\n" not in str(info.value)
    assert time.monotonic() - start < 5


def test_file_urls_are_copied_and_resumed(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(BLOB)
    part = tmp_path / "p"
    part.write_bytes(BLOB[:1000])
    with _progress() as progress:
        fetch(src.as_uri(), part, progress, size=len(BLOB))
    assert part.read_bytes() == BLOB and progress.done == len(BLOB)
    with pytest.raises(DownloadError, match="no such file"), _progress() as progress:
        fetch((tmp_path / "nope").as_uri(), tmp_path / "q", progress)


def test_unknown_schemes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="unsupported URL scheme 'ftp'"), _progress() as p:
        fetch("ftp://example.org/x", tmp_path / "p", p)


def test_plain_progress_lines_without_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(download, "PLAIN_LINE_SECONDS", 0.0)
    with DownloadProgress("leather", 2_000_000, console=Console(file=out)) as progress:
        progress.advance(1_000_000)
        progress.advance(1_000_000)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("leather: downloading 1.0 MB / 2.0 MB (50%), ")
    assert lines[-1].startswith("leather: done 2.0 MB / 2.0 MB (100%), ") and "/s" in lines[-1]


def test_format_bytes() -> None:
    assert [format_bytes(n) for n in (512, 19_263_020, 1_476_754_427, None)] == [
        "512 B",
        "19.3 MB",
        "1.5 GB",
        "unknown size",
    ]


def test_a_terminal_gets_a_rich_bar_with_size_and_rate() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with DownloadProgress("horse2zebra", 2_000_000, console=console) as progress:
        progress.advance(1_000_000)
        time.sleep(0.2)
        progress.advance(1_000_000)
    text = out.getvalue()
    assert "horse2zebra" in text and "2.0/2.0 MB" in text and "MB/s" in text


def test_unreachable_errors_are_told_apart_from_dropped_connections() -> None:
    import socket
    import urllib.error

    dns = download._classify(urllib.error.URLError(socket.gaierror(-3, "Temporary failure")))
    assert dns.unreachable and str(dns) == "host name not found (Temporary failure)"
    refused = download._classify(urllib.error.URLError(ConnectionRefusedError(111, "Refused")))
    assert refused.unreachable and str(refused) == "refused"
    reset = download._classify(ConnectionResetError(104, "Connection reset by peer"))
    assert not reset.unreachable and str(reset) == "connection reset by peer"
    assert str(download._classify(TimeoutError())) == "timed out"
