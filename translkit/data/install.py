"""Installing a registered dataset (a :class:`~translkit.contracts.DatasetSource`) at a root.

Everything is built in a staging folder beside the root (``.<root name>.download/``): files
are fetched there (resumably, several at a time), each verified against its sha256 before
it is kept, archives are verified (or their hash recorded on first use) and unpacked, and
only then is the finished tree renamed to the root. So the root appears complete or not at
all; an interrupted install resumes from what the staging folder holds. A marker file
(``.translkit-dataset.json``) in the root records what was installed from where.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlparse

from rich.console import Console

from translkit.contracts import DatasetSource, RemoteFile
from translkit.data.archives import extract_layout, safe_relative
from translkit.data.checksums import TrustStore, is_sha256, sha256_of
from translkit.data.download import DownloadError, DownloadProgress, fetch, format_bytes
from translkit.data.io import move_into_place, refuse_to_clobber
from translkit.errors import ComponentError, DataError
from translkit.fileio import write_text_atomic

__all__ = [
    "MARKER",
    "check_source",
    "create_source",
    "install",
    "installed_name",
    "manual_instructions",
    "staging_dir",
]

MARKER = ".translkit-dataset.json"
#: Files fetched at once (many small files: connection set-up dominates).
WORKERS = 8


def staging_dir(root: Path) -> Path:
    """Where ``root`` is built before it is renamed into place."""
    return root.parent / f".{root.name}.download"


def installed_name(root: Path) -> str | None:
    """The dataset name recorded in ``root``'s marker, if it has one."""
    try:
        return json.loads((root / MARKER).read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        return None


# -- the contract ------------------------------------------------------------------------
def create_source(registries: Any, name: str, options: Mapping[str, Any] | None = None):
    """``registries.datasets.create(name, **options)``, checked against the contract."""
    source = registries.datasets.create(name, **dict(options or {}))
    plugin = registries.datasets.get(name).plugin
    return check_source(source, name, plugin)


def check_source(source: Any, name: str, plugin: str = "?") -> DatasetSource:
    """Raise :class:`ComponentError` naming the plugin if ``source`` breaks the contract."""

    def bad(why: str) -> ComponentError:
        return ComponentError(f"dataset {name!r} from plugin {plugin!r}: {why}")

    if not isinstance(source, DatasetSource):
        raise bad(f"factory returned {type(source).__name__}, not a DatasetSource")
    if source.name != name:
        raise bad(f"source says its name is {source.name!r}")
    ways = [bool(source.files), source.archive is not None, source.generate is not None]
    if sum(ways) != 1:
        raise bad("set exactly one of files, archive and generate")
    if not {"trainA", "trainB"} <= set(source.splits):
        raise bad(f"splits {source.splits} must include trainA and trainB")
    for f in source.files:
        if not isinstance(f, RemoteFile) or not is_sha256(f.sha256) or f.size < 0:
            raise bad(f"file {f!r} needs a RemoteFile with a size and a lower-case hex sha256")
        if safe_relative(f.dest) is None or str(safe_relative(f.dest)) != f.dest:
            raise bad(f"file destination {f.dest!r} must be a clean relative path")
    if len({f.dest for f in source.files}) != len(source.files):
        raise bad("two files have the same destination")
    archive = source.archive
    if archive is not None:
        if archive.sha256 is not None and not is_sha256(archive.sha256):
            raise bad(f"archive sha256 {archive.sha256!r} is not a lower-case hex sha256")
        if not archive.layout:
            raise bad("archive layout is empty")
    return source


# -- installing --------------------------------------------------------------------------
def install(
    source: DatasetSource,
    root: Path | str,
    *,
    overwrite: bool = False,
    origin: str | None = None,
    console: Console | None = None,
    trust: TrustStore | None = None,
) -> Path:
    """Materialise ``source`` at ``root``; return ``root``.

    :param overwrite: replace an existing ``root`` (otherwise a non-empty one is refused,
        unless it already holds this dataset).
    :param origin: fetch from here instead of the source's URLs: a folder or base URL
        laid out like the dataset (file lists), or the archive's path or URL. Everything
        is verified as usual.
    :raises DataError: one line: what failed, and for a failed download how to place the
        files by hand.
    """
    root = Path(root).expanduser()
    console = console or Console(stderr=True)
    if installed_name(root) == source.name and not overwrite:
        return root
    refuse_to_clobber(root, overwrite)
    if origin is not None and source.kind == "generate":
        raise DataError(f"dataset {source.name} is generated locally; --from does not apply")
    staging = staging_dir(root)
    staging.mkdir(parents=True, exist_ok=True)
    with _locked(staging, console):
        if installed_name(root) == source.name and not overwrite:  # another process did it
            return root
        header = _announcement(source, root, origin)
        if source.kind == "generate":
            console.print(header, highlight=False, soft_wrap=True)
        build = staging / "root"
        try:
            _materialise(source, build, staging, origin, console, trust or TrustStore(), header)
        except DownloadError as err:
            if err.unreachable:
                raise DataError(_unreachable(source, root, err)) from None
            raise DataError(f"{err}; {manual_instructions(source, root)}") from None
        _check_splits(source, build)
        _write_marker(source, build, origin)
        move_into_place(build, root)
    shutil.rmtree(staging, ignore_errors=True)
    console.print(f"installed {source.name} at {root}", highlight=False, soft_wrap=True)
    return root


def _materialise(
    source: DatasetSource,
    build: Path,
    staging: Path,
    origin: str | None,
    console: Console,
    trust: TrustStore,
    header: str,
) -> None:
    if source.generate is not None:
        shutil.rmtree(build, ignore_errors=True)  # a generator starts from an empty folder
        build.mkdir()
        source.generate(build)
    elif source.files:
        build.mkdir(exist_ok=True)
        _fetch_files(source, build, origin, console, header)
    else:
        _fetch_archive(source, build, staging, origin, console, trust, header)


@contextmanager
def _locked(staging: Path, console: Console) -> Iterator[None]:
    """One installer per root at a time (others wait, then find the root installed)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; installs are still atomic
        yield
        return
    with open(staging / "lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            console.print(
                f"waiting for another translkit process installing into {staging}",
                soft_wrap=True,
            )
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _announcement(source: DatasetSource, root: Path, origin: str | None) -> str:
    if source.kind == "generate":
        return f"generating dataset {source.name} ({source.summary}) at {root}"
    where = origin or (_files_base(source) if source.files else source.archive.url)  # type: ignore[union-attr]
    count = f"{len(source.files)} files, " if source.files else ""
    return (
        f"downloading dataset {source.name} ({count}{format_bytes(source.download_size)}) "
        f"from {where} to {root}; terms: {source.licence}"
    )


# -- file lists --------------------------------------------------------------------------
def _file_urls(f: RemoteFile, origin: str | None) -> list[str]:
    if origin is None:
        return [f.url, *f.mirrors]
    return [_under(origin, f.dest)]


def _under(origin: str, rel: str) -> str:
    """The URL of ``rel`` under a folder path or base URL."""
    if urlparse(origin).scheme in ("http", "https", "file"):
        return origin.rstrip("/") + "/" + quote(rel)
    return (Path(origin).expanduser().resolve() / rel).as_uri()


def _fetch_files(
    source: DatasetSource, build: Path, origin: str | None, console: Console, header: str
) -> None:
    todo, kept = [], 0
    for f in source.files:
        dest = build / f.dest
        if dest.is_file() and dest.stat().st_size == f.size and sha256_of(dest) == f.sha256:
            kept += f.size  # verified in an earlier, interrupted install
        else:
            todo.append(f)
    with DownloadProgress(
        source.name, source.download_size, console=console, header=header
    ) as progress:
        progress.already_have(kept)
        if kept:
            progress.note(f"resuming: {len(source.files) - len(todo)} files already verified")
        pool = ThreadPoolExecutor(max_workers=WORKERS)
        futures = [pool.submit(_fetch_one, f, build, origin, progress) for f in todo]
        wait(futures, return_when=FIRST_EXCEPTION)
        pool.shutdown(wait=True, cancel_futures=True)
        for fut in futures:
            if fut.done() and not fut.cancelled() and fut.exception() is not None:
                raise fut.exception()  # type: ignore[misc]


def _fetch_one(f: RemoteFile, build: Path, origin: str | None, progress: DownloadProgress):
    dest = build / f.dest
    part = dest.with_name(dest.name + ".part")
    for attempt in (1, 2):
        resumed = part.is_file() and part.stat().st_size > 0
        url = _fetch_first(_file_urls(f, origin), part, progress, f.size)
        got = sha256_of(part)
        if got == f.sha256:
            part.replace(dest)
            return
        progress.advance(-part.stat().st_size)
        part.unlink()
        if not (resumed and attempt == 1):  # a resumed file gets one fresh try
            raise DataError(
                f"{url} has sha256 {got}, expected {f.sha256} ({f.dest}); the file is corrupt "
                "or was changed at its source. Nothing was installed"
            )


def _fetch_first(urls: list[str], part: Path, progress: DownloadProgress, size: int | None) -> str:
    """Fetch from the first URL that works (mirrors after the main one); return it."""
    error: DownloadError | None = None
    for url in urls:
        try:
            fetch(url, part, progress, size=size)
            return url
        except DownloadError as err:
            error = error or err
    raise error  # type: ignore[misc]


def _files_base(source: DatasetSource) -> str:
    """The URL folder the files come from (their common base), or the homepage."""
    bases = {f.url[: -len(quote(f.dest))] for f in source.files if f.url.endswith(quote(f.dest))}
    if len(bases) == 1:
        return bases.pop()
    return source.homepage or source.files[0].url


# -- archives ----------------------------------------------------------------------------
def _fetch_archive(
    source: DatasetSource,
    build: Path,
    staging: Path,
    origin: str | None,
    console: Console,
    trust: TrustStore,
    header: str,
) -> None:
    archive = source.archive
    assert archive is not None
    name = PurePosixPath(urlparse(archive.url).path).name or f"{source.name}.archive"
    local = staging / name
    if not local.is_file():
        part = staging / f"{name}.part"
        urls = [_archive_origin(origin)] if origin else [archive.url, *archive.mirrors]
        with DownloadProgress(
            source.name, archive.size, console=console, header=header
        ) as progress:
            pinned = archive.size if archive.sha256 else None  # a TOFU size is only a hint
            _fetch_first(urls, part, progress, pinned)
        part.replace(local)
    got = sha256_of(local)
    expected = archive.sha256 or trust.recorded(archive.url)
    if expected is not None and got != expected:
        local.unlink()
        if archive.sha256:
            raise DataError(
                f"{archive.url} has sha256 {got}, expected {archive.sha256}; the archive is "
                "corrupt or was changed at its source. Nothing was installed"
            )
        raise DataError(trust.mismatch_message(archive.url, expected, got))
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir()
    extract_layout(local, archive.layout, build)
    if expected is None:  # trust on first use, once the archive proved readable
        trust.record(archive.url, got, local.stat().st_size)
        console.print(
            f"recorded sha256 {got} of {archive.url} in {trust.path} (first use)",
            highlight=False,
            soft_wrap=True,
        )


def _archive_origin(origin: str) -> str:
    if urlparse(origin).scheme in ("http", "https", "file"):
        return origin
    return Path(origin).expanduser().resolve().as_uri()


# -- finishing ---------------------------------------------------------------------------
def _check_splits(source: DatasetSource, build: Path) -> None:
    missing = [s for s in source.splits if not (build / s).is_dir()]
    if missing:
        raise DataError(
            f"dataset {source.name}: its source produced no {', '.join(missing)} folder(s); "
            "the plugin's layout is wrong. Nothing was installed"
        )


def _write_marker(source: DatasetSource, build: Path, origin: str | None) -> None:
    from translkit import __version__

    record = {
        "name": source.name,
        "summary": source.summary,
        "licence": source.licence,
        "homepage": source.homepage,
        "kind": source.kind,
        "from": origin
        or (source.archive.url if source.archive else _files_base(source) if source.files else ""),
        "files": len(source.files) if source.files else None,
        "bytes": source.download_size,
        "installed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "translkit": __version__,
    }
    write_text_atomic(build / MARKER, json.dumps(record, indent=2, ensure_ascii=False) + "\n")


def _unreachable(source: DatasetSource, root: Path, err: DownloadError) -> str:
    """One line for a host that cannot be reached: nothing was fetched; the manual way."""
    host = urlparse(err.url).netloc or err.url
    return (
        f"cannot reach {host} ({err.reason}), so nothing was downloaded; "
        f"{manual_instructions(source, root)}"
    )


def manual_instructions(source: DatasetSource, root: Path) -> str:
    """How to install ``source`` at ``root`` without translkit reaching the network."""
    cmd = f"`translkit data download {source.name} --root {root} --from "
    if source.files:
        tops = sorted({PurePosixPath(f.dest).parts[0] for f in source.files})
        return (
            f"to install it by hand, get the folders {', '.join(tops)} (browse them at "
            f"{source.homepage or _files_base(source)}) into a folder DIR and run {cmd}DIR` "
            "to verify and install them"
        )
    if source.archive is not None:
        pairs = ", ".join(f"{k} → {root}/{v}" for k, v in source.archive.layout.items())
        return (
            f"to install it by hand, download {source.archive.url} some other way and run "
            f"{cmd}FILE`, or unpack it and move {pairs}"
        )
    return "it is generated locally and needs no download"
