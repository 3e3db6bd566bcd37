"""Docs and recipes cite only what ships or public sources: every repository path they
name exists in the checkout, and none points at material a user's checkout does not have
(the maintainers' ``SPEC.md``, a ``shared/`` folder, a machine's absolute paths)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXTS = sorted(
    [
        ROOT / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "docs" / "examples").rglob("*.md"),
        *(ROOT / "recipes").glob("*.toml"),
    ]
)
SOURCES = sorted([*(ROOT / "translkit").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")])
# a path that starts at one of the repository's top-level folders
REPO_PATH = re.compile(
    r"(?<![\w./~-])((?:translkit|plugins|docs|recipes|tests|benchmarks|scripts|\.ci)/[\w.*/-]*)"
)
OUTSIDE = re.compile(r"SPEC\.md|STYLE\.md|(?<![\w-])shared/|/work/")


def repo_paths(text: str) -> list[str]:
    return [m.group(1).rstrip(".,;:)") for m in REPO_PATH.finditer(text)]


def test_the_path_finder_sees_paths() -> None:
    text = "see `plugins/translkit_plugins/metrics.py`, recipes/quickstart.toml and docs/."
    assert repo_paths(text) == [
        "plugins/translkit_plugins/metrics.py",
        "recipes/quickstart.toml",
        "docs/",
    ]
    assert OUTSIDE.search("the study (SPEC.md §2)") and OUTSIDE.search("../shared/data")


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_path_a_doc_names_exists(path: Path) -> None:
    missing = [p for p in repo_paths(path.read_text()) if not list(ROOT.glob(p.rstrip("/")))]
    assert not missing, f"{path.relative_to(ROOT)} names paths that do not exist: {missing}"


@pytest.mark.parametrize("path", TEXTS + SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_cites_material_outside_the_checkout(path: Path) -> None:
    hits = [ln for ln in path.read_text().splitlines() if OUTSIDE.search(ln)]
    assert not hits, f"{path.relative_to(ROOT)} cites what a checkout does not have: {hits}"


MD_LINK = re.compile(r"\]\(((?:[^)\s#]+\.md)?)(#[\w-]+)?\)")


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors: lower case, punctuation dropped, spaces to hyphens."""
    anchors = set()
    for line in text.splitlines():
        if line.startswith("#") and not line.startswith("#!"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def test_heading_anchors_follow_github() -> None:
    text = "## The runtime: device, precision, compilation\n### What `auto` chose (2 cores)\n"
    assert heading_anchors(text) == {
        "the-runtime-device-precision-compilation",
        "what-auto-chose-2-cores",
    }


MARKDOWN = [p for p in TEXTS if p.suffix == ".md"] + [ROOT / "benchmarks" / "README.md"]


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_markdown_link_and_anchor_resolves(path: Path) -> None:
    broken = []
    for target, anchor in MD_LINK.findall(path.read_text()):
        if "://" in target or not (target or anchor):
            continue
        linked = (path.parent / target).resolve() if target else path
        if not linked.exists():
            broken.append(target)
        elif anchor and anchor[1:] not in heading_anchors(linked.read_text()):
            broken.append(target + anchor)
    assert not broken, f"{path.relative_to(ROOT)} links to what does not exist: {broken}"
