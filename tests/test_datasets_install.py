"""Installing a DatasetSource: verified files, atomic roots, resume, archives, trust on first use.

Files come from a local HTTP server on 127.0.0.1 (tests/http_support.py) or file:// URLs.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from http_support import FileServer, refused_url
from rich.console import Console

from translkit.contracts import Archive, DatasetSource, RemoteFile
from translkit.data import download
from translkit.data.checksums import TrustStore
from translkit.data.install import MARKER, check_source, install, installed_name, staging_dir
from translkit.errors import ComponentError, DataError

SPLITS = ("trainA", "trainB", "testA", "testB")
FILES = {f"{s}/{i}.png": os.urandom(3000 + 100 * i) for s in SPLITS for i in range(2)}


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download, "BACKOFF_SECONDS", 0.0)


def _console() -> Console:
    return Console(file=io.StringIO(), width=200)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_source(base: str, files: dict[str, bytes] = FILES, **kw: object) -> DatasetSource:
    entries = tuple(RemoteFile(base + p, p, len(d), _sha(d)) for p, d in files.items())
    return DatasetSource("demo", "a demo set", "CC0", files=entries, **kw)  # type: ignore[arg-type]


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def archive_source(url: str, sha256: str | None = None, **kw: object) -> DatasetSource:
    layout = {f"demo/{s}": s for s in SPLITS}
    return DatasetSource(
        "demo",
        "a demo set",
        "CC0",
        archive=Archive(url, layout, sha256=sha256, **kw),  # type: ignore[arg-type]
    )


ZIP_MEMBERS = {f"demo/{p}": d for p, d in FILES.items()} | {"demo/README.txt": b"hi"}


# -- file lists ----------------------------------------------------------------------------
def test_files_are_downloaded_verified_and_installed_atomically(tmp_path: Path) -> None:
    root = tmp_path / "data" / "demo"
    with FileServer(dict(FILES)) as srv:
        assert install(files_source(srv.base), root, console=_console()) == root
    for path, data in FILES.items():
        assert (root / path).read_bytes() == data
    assert installed_name(root) == "demo"
    marker = json.loads((root / MARKER).read_text())
    assert marker["files"] == 8 and marker["from"] == srv.base
    assert sorted(p.name for p in root.parent.iterdir()) == ["demo"]  # staging removed


def test_a_checksum_mismatch_leaves_nothing_in_place_and_a_rerun_resumes(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    bad = "trainB/1.png"
    with (
        FileServer(dict(FILES), corrupt={bad}) as srv,
        pytest.raises(DataError, match=rf"{bad}.*sha256 .* expected .*Nothing was installed"),
    ):
        install(files_source(srv.base), root, console=_console())
    assert not root.exists()
    staged = staging_dir(root) / "root"
    assert not (staged / bad).exists() and not (staged / f"{bad}.part").exists()
    assert (staged / "trainA/0.png").read_bytes() == FILES["trainA/0.png"]  # verified, kept
    # downloads run concurrently: the abort may cancel files still in flight, so which
    # ones were verified before it varies; none of those is fetched again
    kept = {p for p in FILES if (staged / p).is_file()}
    assert kept and bad not in kept
    with FileServer(dict(FILES)) as srv:
        install(files_source(srv.base), root, console=_console())
    assert sorted(r.path for r in srv.requests) == sorted(set(FILES) - kept)
    assert (root / bad).read_bytes() == FILES[bad]


def test_a_dropped_connection_is_resumed_inside_one_install(tmp_path: Path) -> None:
    one = {"trainA/0.png": FILES["trainA/0.png"], "trainB/0.png": FILES["trainB/0.png"]}
    with FileServer(one, drop_after=1000, drops=1) as srv:
        install(files_source(srv.base, one, splits=("trainA", "trainB")), tmp_path / "r")
    ranged = [r for r in srv.requests if r.range]
    assert len(ranged) == 1 and ranged[0].range == "bytes=1000-" and ranged[0].status == 206
    assert sum(r.sent for r in srv.requests) == sum(len(d) for d in one.values())


CHILD = """
import json, sys
from translkit.contracts import DatasetSource, RemoteFile
from translkit.data.install import install
m = json.load(open(sys.argv[1]))
files = tuple(RemoteFile(m["base"] + p, p, n, h) for p, n, h in m["files"])
install(DatasetSource("demo", "s", "CC0", files=files, splits=("trainA", "trainB")), m["root"])
"""


@pytest.mark.slow
def test_a_killed_download_never_looks_complete_and_resumes(tmp_path: Path) -> None:
    big = {"trainA/0.png": os.urandom(60_000), "trainB/0.png": os.urandom(60_000)}
    root = tmp_path / "demo"
    with FileServer(big, slow=0.01) as srv:
        job = {"base": srv.base, "root": str(root)}
        job["files"] = [[p, len(d), _sha(d)] for p, d in big.items()]
        (tmp_path / "job.json").write_text(json.dumps(job))
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path / "job.json")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        part = staging_dir(root) / "root" / "trainA" / "0.png.part"
        deadline = time.monotonic() + 60
        while not (part.is_file() and part.stat().st_size > 2000) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not root.exists()  # nothing that looks like a dataset
        had = part.stat().st_size
        assert 0 < had < 60_000
        srv.slow = 0.0
        install(files_source(srv.base, big, splits=("trainA", "trainB")), root, console=_console())
    assert (root / "trainA/0.png").read_bytes() == big["trainA/0.png"]
    resumed = [r for r in srv.requests if r.path == "trainA/0.png" and r.range]
    assert resumed and resumed[-1].range == f"bytes={had}-"


def test_unreachable_is_one_line_naming_the_url_and_the_manual_way(tmp_path: Path) -> None:
    url = refused_url("")
    root = tmp_path / "demo"
    with pytest.raises(DataError) as info:
        install(files_source(url), root, console=_console())
    msg = str(info.value)
    host = url.split("/")[2]
    assert "\n" not in msg and msg.startswith(f"cannot reach {host} (connection refused)")
    assert f"get the folders testA, testB, trainA, trainB (browse them at {url})" in msg
    assert f"translkit data download demo --root {root} --from DIR" in msg
    assert not root.exists()


def test_mirrors_are_tried_after_the_main_url(tmp_path: Path) -> None:
    dead = refused_url("")
    with FileServer(dict(FILES)) as srv:
        entries = tuple(
            RemoteFile(dead + p, p, len(d), _sha(d), mirrors=(srv.url(p),))
            for p, d in FILES.items()
        )
        install(DatasetSource("demo", "s", "CC0", files=entries), tmp_path / "r")
    assert (tmp_path / "r" / "testB/1.png").read_bytes() == FILES["testB/1.png"]


def test_origin_folder_replaces_the_urls_and_is_still_verified(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    for path, data in FILES.items():
        (copy / path).parent.mkdir(parents=True, exist_ok=True)
        (copy / path).write_bytes(data)
    source = files_source(refused_url(""))
    install(source, tmp_path / "r", origin=str(copy), console=_console())
    assert (tmp_path / "r" / "trainB/0.png").read_bytes() == FILES["trainB/0.png"]
    (copy / "testA/1.png").write_bytes(b"tampered")
    with pytest.raises(DataError, match="testA/1.png.*sha256"):
        install(source, tmp_path / "r2", origin=str(copy), console=_console())
    assert not (tmp_path / "r2").exists()


def test_an_existing_root_is_kept_unless_overwrite(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    (root / "mine").mkdir(parents=True)
    source = files_source("file:///nowhere/")
    with pytest.raises(DataError, match="already exists and is not empty"):
        install(source, root, console=_console())
    assert (root / "mine").is_dir()
    with FileServer(dict(FILES)) as srv:
        install(files_source(srv.base), root, overwrite=True, console=_console())
        assert not (root / "mine").exists() and installed_name(root) == "demo"
        install(files_source(srv.base), root, console=_console())  # installed: nothing to do
    assert len(srv.requests) == len(FILES)


# -- archives ------------------------------------------------------------------------------
def test_archive_sha256_is_recorded_on_first_use_and_enforced_after(tmp_path: Path) -> None:
    trust = TrustStore(tmp_path / "cache")
    good = zip_bytes(ZIP_MEMBERS)
    with FileServer({"demo.zip": good}) as srv:
        url = srv.url("demo.zip")
        install(archive_source(url), tmp_path / "a", console=_console(), trust=trust)
        assert trust.recorded(url) == _sha(good)
        install(archive_source(url), tmp_path / "b", console=_console(), trust=trust)
        srv.files["demo.zip"] = zip_bytes({**ZIP_MEMBERS, "demo/trainA/9.png": b"new"})
        with pytest.raises(DataError, match=r"recorded on its first download in .*checksums"):
            install(archive_source(url), tmp_path / "c", console=_console(), trust=trust)
    assert (tmp_path / "b" / "testB/1.png").read_bytes() == FILES["testB/1.png"]
    assert not (tmp_path / "b" / "README.txt").exists()  # outside the layout: ignored
    assert not (tmp_path / "c").exists() and not (staging_dir(tmp_path / "c") / "demo.zip").exists()


def test_a_pinned_archive_sha256_must_match(tmp_path: Path) -> None:
    good = zip_bytes(ZIP_MEMBERS)
    with FileServer({"d.zip": good}) as srv:
        src = archive_source(srv.url("d.zip"), sha256="0" * 64)
        with pytest.raises(DataError, match="expected 0000.*Nothing was installed"):
            install(src, tmp_path / "x", console=_console(), trust=TrustStore(tmp_path / "c"))
        install(archive_source(srv.url("d.zip"), sha256=_sha(good)), tmp_path / "y")
    assert not (tmp_path / "x").exists() and (tmp_path / "y" / "trainA/1.png").is_file()


def test_a_corrupt_archive_is_not_trusted(tmp_path: Path) -> None:
    trust = TrustStore(tmp_path / "cache")
    with (
        FileServer({"d.zip": b"not a zip at all"}) as srv,
        pytest.raises(DataError, match="neither a zip nor a tar"),
    ):
        install(archive_source(srv.url("d.zip")), tmp_path / "x", trust=trust)
    assert trust.recorded(srv.url("d.zip")) is None and not (tmp_path / "x").exists()


def test_tar_archives_and_members_that_try_to_escape(tmp_path: Path) -> None:
    buf = io.BytesIO()
    evil = {"demo/trainA/../../../escape.txt": b"x", "/abs.txt": b"x", "__MACOSX/demo/a": b"x"}
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in {**ZIP_MEMBERS, **evil}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("demo/trainA/link.png")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(link)
    local = tmp_path / "demo.tar.gz"
    local.write_bytes(buf.getvalue())
    root = tmp_path / "out" / "demo"
    install(archive_source(local.as_uri()), root, trust=TrustStore(tmp_path / "c"))
    assert sorted(p.name for p in (root / "trainA").iterdir()) == ["0.png", "1.png"]
    assert not list(tmp_path.rglob("escape.txt")) and not list(tmp_path.rglob("abs.txt"))


def test_an_archive_without_the_layout_folders_is_an_error(tmp_path: Path) -> None:
    local = tmp_path / "d.zip"
    local.write_bytes(zip_bytes({"other/trainA/0.png": b"x"}))
    with pytest.raises(DataError, match="holds no files under demo/trainA"):
        install(archive_source(local.as_uri()), tmp_path / "r", trust=TrustStore(tmp_path))
    assert not (tmp_path / "r").exists()


# -- generators and the contract -----------------------------------------------------------
def test_a_generator_writes_into_staging_and_is_installed(tmp_path: Path) -> None:
    def generate(out: Path) -> None:
        for s in SPLITS:
            (out / s).mkdir()
            (out / s / "x.png").write_bytes(b"png")

    src = DatasetSource("demo", "s", "CC0", generate=generate)
    install(src, tmp_path / "g", console=_console())
    assert (tmp_path / "g" / "testB" / "x.png").is_file() and installed_name(tmp_path / "g")
    with pytest.raises(DataError, match="generated locally; --from does not apply"):
        install(src, tmp_path / "h", origin="/x")


def test_a_source_missing_a_split_installs_nothing(tmp_path: Path) -> None:
    src = DatasetSource("demo", "s", "CC0", generate=lambda out: (out / "trainA").mkdir())
    with pytest.raises(DataError, match="produced no trainB, testA, testB"):
        install(src, tmp_path / "g")
    assert not (tmp_path / "g").exists()


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("not a source", "returned str, not a DatasetSource"),
        (DatasetSource("other", "s", "l", generate=print), "says its name is 'other'"),
        (DatasetSource("demo", "s", "l"), "exactly one of files, archive and generate"),
        (
            DatasetSource("demo", "s", "l", files=(RemoteFile("u", "a/b", 1, "xyz"),)),
            "lower-case hex sha256",
        ),
        (
            DatasetSource("demo", "s", "l", files=(RemoteFile("u", "../b", 1, "a" * 64),)),
            "clean relative path",
        ),
        (
            DatasetSource("demo", "s", "l", generate=print, splits=("trainA",)),
            "must include trainA and trainB",
        ),
        (
            DatasetSource("demo", "s", "l", archive=Archive("u", {})),
            "archive layout is empty",
        ),
    ],
)
def test_contract_violations_name_the_plugin(source: object, why: str) -> None:
    with pytest.raises(ComponentError, match=rf"dataset 'demo' from plugin 'acme': .*{why}"):
        check_source(source, "demo", "acme")


def test_archive_offline_help_says_where_each_folder_goes(tmp_path: Path) -> None:
    src = archive_source(refused_url("demo.zip"))
    with pytest.raises(DataError) as info:
        install(src, tmp_path / "r", console=_console(), trust=TrustStore(tmp_path))
    msg = str(info.value)
    assert msg.startswith(f"cannot reach {src.archive.url.split('/')[2]} ")  # type: ignore[union-attr]
    assert f"run `translkit data download demo --root {tmp_path / 'r'} --from FILE`" in msg
    assert f"demo/trainA → {tmp_path / 'r'}/trainA" in msg and "\n" not in msg


def test_a_second_installer_waits_for_the_first(tmp_path: Path) -> None:
    import fcntl
    import threading

    root = tmp_path / "demo"
    staging_dir(root).mkdir()
    out = io.StringIO()
    with FileServer(dict(FILES)) as srv:
        with open(staging_dir(root) / "lock", "w") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            worker = threading.Thread(
                target=install,
                args=(files_source(srv.base), root),
                kwargs={"console": Console(file=out)},
            )
            worker.start()
            time.sleep(0.5)
            assert "waiting for another translkit process" in out.getvalue()
            assert not root.exists() and not srv.requests
        worker.join(30)
    assert installed_name(root) == "demo"
