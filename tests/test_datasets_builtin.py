"""The built-in datasets say what they are and where they come from, exactly.

No test reads ../shared or the internet: the leather_denim manifest is checked for its
internal consistency and against the facts its README states.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from itertools import combinations
from pathlib import Path

import pytest

import translkit
from translkit.contracts import DatasetSource
from translkit.data.install import create_source, install, manual_instructions

ROOT = Path(__file__).resolve().parents[1]
COMMIT = "df803a955681181fe8875904c639f579f819b841"
ZHU = {
    "horse2zebra",
    "apple2orange",
    "summer2winter_yosemite",
    "monet2photo",
    "cezanne2photo",
    "ukiyoe2photo",
    "vangogh2photo",
    "maps",
    "facades",
    "iphone2dslr_flower",
}


def _source(name: str, **options: object) -> DatasetSource:
    return create_source(translkit.get_registry(), name, options)


@pytest.mark.parametrize("name", translkit.get_registry().datasets.names())
def test_every_registered_dataset_keeps_the_contract(name: str) -> None:
    source = _source(name)  # create_source checks the contract
    assert source.summary and source.licence
    if source.kind != "generate":
        assert source.download_size and source.download_size > 0


def test_leather_denim_is_the_studys_repository_at_its_last_commit() -> None:
    source = _source("leather_denim")
    files = source.files
    assert len(files) == 1259 and source.download_size == 19_263_020
    assert Counter(f.dest.split("/")[0] for f in files) == {
        "trainA": 498,
        "trainB": 572,
        "testA": 98,
        "testB": 91,
    }
    base = f"https://raw.githubusercontent.com/JihoonAndyKim/CS230-Final-Project/{COMMIT}/Data/"
    assert all(f.url == base + f.dest and f.dest.endswith(".jpg") for f in files)
    assert "no licence" in source.licence and "research use" in source.licence
    assert COMMIT in source.homepage and "Ferrer Avila" in source.citation


def test_leather_denim_manifest_matches_the_readme_notes() -> None:
    """26 byte-identical pairs, 6 of them across train/test (README, `data check`)."""
    by_hash: dict[str, list[str]] = {}
    for f in _source("leather_denim").files:
        by_hash.setdefault(f.sha256, []).append(f.dest)
    pairs = [p for paths in by_hash.values() for p in combinations(paths, 2)]
    across = [(a, b) for a, b in pairs if a[:4] != b[:4]]  # "trai" vs "test"
    assert (len(pairs), len(across)) == (26, 6)
    assert "26 pairs" in _source("leather_denim").notes


def test_leather_denim_offline_help_names_the_folders_and_the_source() -> None:
    text = manual_instructions(_source("leather_denim"), Path("data/leather_denim"))
    # the repository's tree page at the pinned commit: a raw-file host cannot list a folder
    page = f"https://github.com/JihoonAndyKim/CS230-Final-Project/tree/{COMMIT}/Data"
    assert f"get the folders testA, testB, trainA, trainB (browse them at {page})" in text
    assert "translkit data download leather_denim --root data/leather_denim --from DIR" in text


def test_zhu_sets_come_from_the_reference_download_script_server() -> None:
    registry = translkit.get_registry()
    assert set(registry.datasets.names()) >= ZHU
    for name in ZHU:
        archive = _source(name).archive
        assert archive is not None and archive.sha256 is None  # recorded on first use
        assert archive.url == f"https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip"
        assert archive.mirrors == (
            f"https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/{name}.zip",
        )
        assert dict(archive.layout) == {
            f"{name}/{s}": s for s in ("trainA", "trainB", "testA", "testB")
        }
    assert _source("horse2zebra").archive.size == 116_867_962  # type: ignore[union-attr]


def test_synthetic_is_generated_through_the_same_installer(tmp_path: Path) -> None:
    root = install(_source("synthetic", size=32, train=2, test=1), tmp_path / "syn")
    assert sorted(p.name for p in (root / "trainB").iterdir()) == ["000000.png", "000001.png"]
    assert (root / "testB_truth" / "000000.png").is_file()


def test_manifest_script_lists_split_files_only_in_numeric_order(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "dataset_manifest", ROOT / "scripts" / "dataset_manifest.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    for rel in ("trainA/10.jpg", "trainA/9.jpg", "testB/1.jpg", "trainA/.DS_Store"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(rel.encode())
    (tmp_path / "README.md").write_text("not part of the dataset")
    rows = module.manifest(tmp_path)
    assert [r["path"] for r in rows] == ["trainA/9.jpg", "trainA/10.jpg", "testB/1.jpg"]
    assert rows[0]["size"] == len(b"trainA/9.jpg") and len(rows[0]["sha256"]) == 64
    assert module.render(rows).count("\n") == 5
