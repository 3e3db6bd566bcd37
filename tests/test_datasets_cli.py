"""Datasets as a user meets them: `translkit list datasets`, `data download`, `data info`,
recipes naming `data.dataset`, and `translkit run` installing (or not) what it needs.

A test dataset plugin is installed as a distribution whose files a local server on
127.0.0.1 serves; nothing touches the internet.
"""

from __future__ import annotations

import hashlib
import sys
import textwrap
import time
from pathlib import Path

import pytest
from data_support import write_image
from http_support import FileServer, refused_url
from typer.testing import CliRunner

from translkit import get_registry
from translkit.cli import app
from translkit.data import download, ensure_dataset
from translkit.data.install import installed_name
from translkit.errors import DataError, RecipeError
from translkit.recipe import DataSection, recipe_from_dict, resolve_recipe

SPLITS = ("trainA", "trainB", "testA", "testB")


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(download, "BACKOFF_SECONDS", 0.0)
    monkeypatch.setenv("TRANSLKIT_CACHE", str(tmp_path / "cache"))  # never ~/.cache


@pytest.fixture
def images(tmp_path: Path) -> dict[str, bytes]:
    """Two 32 px PNGs per split, as the served dataset's files."""
    folder = tmp_path / "served"
    for s in SPLITS:
        for i in range(2):
            write_image(folder / s / f"{i}.png", (32, 32), seed=10 * SPLITS.index(s) + i)
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.png")}


@pytest.fixture
def demo_plugin(make_distribution, images: dict[str, bytes], monkeypatch: pytest.MonkeyPatch):
    """Install distribution `acme-data` registering dataset `demo` with files at ``base``."""
    monkeypatch.delitem(sys.modules, "acme_data", raising=False)  # each test its own URLs

    def make(base: str, homepage: str = "") -> None:
        rows = {p: (len(d), hashlib.sha256(d).hexdigest()) for p, d in images.items()}
        make_distribution(
            "acme-data",
            "1.0",
            "acme",
            "acme_data",
            textwrap.dedent(
                f"""
                import translkit
                from translkit.contracts import DatasetSource, RemoteFile

                ROWS = {rows!r}

                def demo():
                    '''Eight 32 px test images.'''
                    files = tuple(RemoteFile({base!r} + p, p, n, h) for p, (n, h) in ROWS.items())
                    return DatasetSource(
                        "demo", "eight test images", "CC0", files=files, homepage={homepage!r}
                    )

                @translkit.hookimpl
                def translkit_register(registry):
                    registry.datasets.add("demo", demo)
                """
            ),
        )

    return make


def _run(*args: str):
    return CliRunner().invoke(app, list(args))


# -- listing and describing -----------------------------------------------------------------
def test_list_datasets_shows_the_built_ins() -> None:
    res = CliRunner().invoke(app, ["list", "datasets", "--json"])
    assert res.exit_code == 0, res.output
    names = {e["name"] for e in __import__("json").loads(res.output)["datasets"]}
    assert {"leather_denim", "synthetic", "horse2zebra", "monet2photo", "maps"} <= names
    assert "datasets" in _run("list").output


def test_data_info_gives_terms_size_and_quirks() -> None:
    res = CliRunner().invoke(app, ["data", "info", "leather_denim"], terminal_width=300)
    assert res.exit_code == 0, res.output
    for text in ("1259 files", "19.3 MB", "no licence: research use only", "26 pairs", "6 of"):
        assert text in res.output
    zhu = CliRunner().invoke(app, ["data", "info", "horse2zebra"], terminal_width=300)
    assert "efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip" in zhu.output
    assert "recorded on first download" in zhu.output and "Zhu" in zhu.output


def test_unknown_dataset_names_close_matches() -> None:
    res = _run("data", "download", "horse2zebr")
    assert res.exit_code == 1 and "unknown dataset 'horse2zebr'" in res.output
    assert "did you mean 'horse2zebra'" in res.output


# -- downloading ------------------------------------------------------------------------------
def test_data_download_fetches_verifies_and_installs(
    tmp_path: Path, demo_plugin, images: dict[str, bytes]
) -> None:
    root = tmp_path / "data" / "demo"
    with FileServer(dict(images)) as srv:
        demo_plugin(srv.base)
        res = _run("data", "download", "demo", "--root", str(root))
        assert res.exit_code == 0, res.output
        again = _run("data", "download", "demo", "--root", str(root))
    size = sum(map(len, images.values())) / 1000
    assert f"downloading dataset demo (8 files, {size:.1f} kB)" in res.output
    assert f"from {srv.base} to {root}; terms: CC0" in res.output
    assert "demo: done " in res.output and f"installed demo at {root}" in res.output
    assert "already installed" in again.output and len(srv.requests) == 8
    assert {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.png")} == images


@pytest.mark.parametrize(
    ("base", "why"),
    [
        (None, "connection refused"),  # nothing listens: refused_url()
        ("http://translkit-test.invalid/data/", "host name not found"),  # RFC 2606: never resolves
    ],
    ids=["refused", "unresolvable"],
)
def test_data_download_offline_is_one_line_with_the_manual_way(
    tmp_path: Path, demo_plugin, base: str | None, why: str
) -> None:
    """Eight files fetched in parallel from a host that cannot be reached: the whole output
    is one line (no retry per file) naming the page to browse and the --from way."""
    base = base or refused_url("")
    page = "https://example.org/acme/demo/tree/v1"
    demo_plugin(base, homepage=page)
    root = tmp_path / "d"
    start = time.monotonic()
    res = CliRunner().invoke(app, ["data", "download", "demo", "--root", str(root)])
    assert res.exit_code == 1
    (line,) = res.output.splitlines()
    host = base.split("/")[2]
    assert line.startswith(f"error: cannot reach {host} ({why}"), line
    assert f"(browse them at {page}) into a folder DIR" in line
    assert f"`translkit data download demo --root {root} --from DIR`" in line
    assert time.monotonic() - start < 20 and not root.exists()


def test_data_download_from_a_local_copy(tmp_path: Path, demo_plugin, images) -> None:
    demo_plugin(refused_url(""))
    copy = tmp_path / "copy"
    for rel, data in images.items():
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        (copy / rel).write_bytes(data)
    res = _run("data", "download", "demo", "--root", str(tmp_path / "r"), "--from", str(copy))
    assert res.exit_code == 0, res.output
    assert installed_name(tmp_path / "r") == "demo"


def test_data_download_generates_the_synthetic_set_with_options(tmp_path: Path) -> None:
    root = tmp_path / "syn"
    args = ["data", "download", "synthetic", "--root", str(root), "-o", "size=32"]
    res = _run(*args, "-o", "train=2", "-o", "test=1")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (root / "testA_truth").iterdir()) == ["000000.png"]
    bad = _run("data", "download", "synthetic", "--root", str(tmp_path / "x"), "-o", "sise=3")
    assert bad.exit_code == 1 and "has no option 'sise'" in bad.output


# -- recipes and `translkit run` --------------------------------------------------------------
def test_dataset_key_sets_the_default_root_and_is_checked() -> None:
    assert DataSection(dataset="horse2zebra").root == "data/horse2zebra"
    assert DataSection(dataset="horse2zebra", root="elsewhere").root == "elsewhere"
    assert DataSection().root == "data/leather_denim" and DataSection().dataset == ""
    recipe = resolve_recipe(recipe_from_dict({"data": {"dataset": "apple2orange"}}), get_registry())
    assert recipe.data.root == "data/apple2orange"
    with pytest.raises(RecipeError, match=r"\[data\] dataset: unknown dataset 'aple2orange'.*"):
        resolve_recipe(recipe_from_dict({"data": {"dataset": "aple2orange"}}), get_registry())
    with pytest.raises(RecipeError, match="synthetic = true contradicts dataset = 'maps'"):
        resolve_recipe(
            recipe_from_dict({"data": {"dataset": "maps", "synthetic": True}}), get_registry()
        )


def test_ensure_dataset_never_downloads_unless_asked(tmp_path: Path) -> None:
    data = DataSection(dataset="horse2zebra", root=str(tmp_path / "h2z"))
    with pytest.raises(DataError, match=r"download dataset horse2zebra \(116\.9 MB\) with `tra"):
        ensure_dataset(data, registries=get_registry())
    (tmp_path / "h2z").mkdir()
    (tmp_path / "h2z" / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="not empty, so dataset horse2zebra is not installed"):
        ensure_dataset(data, download=True, registries=get_registry())
    assert (tmp_path / "h2z" / "notes.txt").read_text() == "mine"


def _recipe_file(tmp_path: Path, root: Path) -> Path:
    text = f"""
    [run]
    name = "demo"
    output_dir = "{tmp_path / "runs"}"
    [data]
    dataset = "demo"
    root = "{root}"
    load_size = 32
    crop_size = 32
    [generator]
    name = "resnet"
    n_blocks = 1
    ngf = 4
    [discriminator]
    name = "patchgan"
    ndf = 4
    n_layers = 2
    [optim]
    epochs = 1
    batch_size = 2
    [train]
    device = "cpu"
    max_steps = 1
    sample_every = 0
    tensorboard = false
    [eval]
    every = 0
    num_samples = 0
    """
    path = tmp_path / "demo.toml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.slow
def test_run_downloads_a_missing_dataset_then_trains(tmp_path: Path, demo_plugin, images) -> None:
    root = tmp_path / "data" / "demo"
    with FileServer(dict(images)) as srv:
        demo_plugin(srv.base)
        res = _run("run", str(_recipe_file(tmp_path, root)))
    assert res.exit_code == 0, res.output
    assert "downloading dataset demo (8 files" in res.output and installed_name(root) == "demo"
    assert (tmp_path / "runs" / "demo" / "checkpoints" / "latest.pt").is_file()


def test_run_with_no_download_says_what_to_run(tmp_path: Path, demo_plugin) -> None:
    demo_plugin(refused_url(""))
    root = tmp_path / "data" / "demo"
    res = _run("run", str(_recipe_file(tmp_path, root)), "--no-download")
    assert res.exit_code == 1
    assert f"`translkit data download demo --root {root}`" in res.output
    assert "unless --no-download" in res.output
    assert not root.exists() and not (tmp_path / "runs").exists()
