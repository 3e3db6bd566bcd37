"""Build leather/denim (or any two attribute) domains from a local DeepFashion copy.

Source: the Category and Attribute Prediction benchmark of DeepFashion (Liu et al.,
CVPR 2016), which the study drew its images from. It is licence-restricted: translkit
never downloads it, it reads a local root. Annotation format (as DeepFashion ships it): every file
starts with a row-count line and a header line, then space-padded rows;
``Anno/list_attr_cloth.txt`` (or ``Anno_coarse/``) names the 1000 attributes (names may
contain spaces), ``Anno/list_attr_img.txt`` gives each image's labels in {1, -1, 0}
(only 1 is positive) and ``Eval/list_eval_partition.txt`` its split.

Domain A holds images whose attribute A is 1 and B is not; domain B likewise; images
with both are dropped and counted. ``train`` images form the train split, ``val`` and
``test`` the test split.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from translkit.data.io import move_into_place, refuse_to_clobber, staged_dir
from translkit.errors import DataError, suggest

__all__ = ["DeepFashionReport", "build_deepfashion", "read_attributes", "read_partition"]

_ANNO_DIRS = ("Anno", "Anno_coarse")
_SPLIT_OF = {"train": "train", "val": "test", "test": "test"}


@dataclass
class DeepFashionReport:
    """What :func:`build_deepfashion` wrote and skipped."""

    out: str
    attributes: dict[str, list[str]]  # domain -> attribute names used
    counts: dict[str, int] = field(default_factory=dict)  # trainA, trainB, testA, testB
    both: dict[str, int] = field(default_factory=dict)  # split -> images with both attributes
    missing: list[str] = field(default_factory=list)  # annotated images not on disk
    unpartitioned: int = 0  # selected images absent from the partition file


def _rows(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of the data rows, after checking the count line."""
    if not path.is_file():
        raise DataError(f"DeepFashion annotation file {path} is missing")
    with path.open(encoding="utf-8", errors="replace") as fh:
        first = fh.readline().strip()
        if not first.isdigit():
            raise DataError(f"{path}:1: expected the row count, got {first[:60]!r}")
        fh.readline()  # header
        count = 0
        for lineno, line in enumerate(fh, start=3):
            text = line.strip()
            if text:
                count += 1
                yield lineno, text
    if count != int(first):
        raise DataError(f"{path}: line 1 announces {first} rows but the file holds {count}")


def _anno_dir(root: Path) -> Path:
    for name in _ANNO_DIRS:
        if (root / name / "list_attr_cloth.txt").is_file():
            return root / name
    raise DataError(
        f"{root} does not look like DeepFashion's Category and Attribute Prediction root: "
        f"no {' or '.join(n + '/list_attr_cloth.txt' for n in _ANNO_DIRS)}. Pass the folder "
        "that holds Anno/, Eval/ and Img/"
    )


def read_attributes(path: Path) -> list[tuple[str, int]]:
    """``list_attr_cloth.txt`` as ``[(name, type), ...]`` in label-column order."""
    out = []
    for lineno, text in _rows(path):
        parts = text.rsplit(None, 1)
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            raise DataError(f"{path}:{lineno}: expected 'attribute_name type', got {text[:80]!r}")
        out.append((" ".join(parts[0].split()), int(parts[1])))
    return out


def read_partition(path: Path) -> dict[str, str]:
    """``list_eval_partition.txt`` as ``{image_name: train|val|test}``."""
    out = {}
    for lineno, text in _rows(path):
        parts = text.split()
        if len(parts) != 2 or parts[1] not in _SPLIT_OF:
            raise DataError(
                f"{path}:{lineno}: expected 'image_name train|val|test', got {text[:80]!r}"
            )
        out[parts[0]] = parts[1]
    return out


def _columns(names: list[str], wanted: str, variants: bool, flag: str) -> list[int]:
    """Label columns for attribute ``wanted`` (every name containing it with ``variants``)."""
    if variants:
        word = re.compile(rf"(?<![\w]){re.escape(wanted)}(?![\w])", re.IGNORECASE)
        cols = [i for i, n in enumerate(names) if word.search(n)]
    else:
        cols = [i for i, n in enumerate(names) if n == wanted]
    if not cols:
        raise DataError(
            f"DeepFashion has no attribute named {wanted!r} ({flag}){suggest(wanted, names)}; "
            "names are listed in Anno/list_attr_cloth.txt"
        )
    return cols


def _select(
    path: Path, n_attr: int, cols_a: list[int], cols_b: list[int]
) -> Iterator[tuple[str, bool, bool]]:
    """``(image, has_a, has_b)`` for each row of ``list_attr_img.txt`` with A or B set."""
    for lineno, text in _rows(path):
        parts = text.split()
        if len(parts) != n_attr + 1:
            raise DataError(
                f"{path}:{lineno}: expected an image name and {n_attr} labels, got "
                f"{len(parts) - 1} labels"
            )
        labels = [parts[1 + c] for c in cols_a + cols_b]
        if any(v not in ("1", "-1", "0") for v in labels):
            raise DataError(f"{path}:{lineno}: labels must be 1, -1 or 0, got {labels}")
        has_a = any(parts[1 + c] == "1" for c in cols_a)
        has_b = any(parts[1 + c] == "1" for c in cols_b)
        if has_a or has_b:
            yield parts[0], has_a, has_b


def _source(root: Path, name: str) -> Path | None:
    for base in (root / "Img", root):
        if (base / name).is_file():
            return base / name
    return None


def _flat_name(name: str) -> str:
    parts = Path(name).parts
    return "__".join(parts[1:] if len(parts) > 1 and parts[0] == "img" else parts)


def build_deepfashion(
    root: Path | str,
    out: Path | str,
    *,
    a: str = "leather",
    b: str = "denim",
    include_variants: bool = False,
    link: Literal["copy", "symlink"] = "copy",
    overwrite: bool = False,
) -> DeepFashionReport:
    """Write ``out/trainA, trainB, testA, testB`` and ``out/manifest.csv`` from DeepFashion.

    :param root: local DeepFashion root (holds ``Anno/`` or ``Anno_coarse/``, ``Eval/``,
        ``Img/``; images may also sit directly under ``root``).
    :param a: attribute of domain A (default ``"leather"``).
    :param b: attribute of domain B (default ``"denim"``).
    :param include_variants: also use every attribute whose name contains the word
        (``"faux leather"`` for ``leather``).
    :param link: ``"copy"`` the images (default) or ``"symlink"`` them.
    :param overwrite: replace an existing non-empty ``out``.

    The output is written to a temporary sibling and renamed into place.
    """
    root, out = Path(root).expanduser(), Path(out).expanduser()
    if not root.is_dir():
        raise DataError(f"DeepFashion root {root} does not exist")
    if link not in ("copy", "symlink"):
        raise DataError(f"link must be 'copy' or 'symlink', got {link!r}")
    anno = _anno_dir(root)
    sel = _selection(anno / "list_attr_cloth.txt", a, b, include_variants)
    partition = read_partition(root / "Eval" / "list_eval_partition.txt")
    refuse_to_clobber(out, overwrite)
    report = DeepFashionReport(
        str(out),
        {"A": [sel.names[i] for i in sel.cols_a], "B": [sel.names[i] for i in sel.cols_b]},
        counts=dict.fromkeys(("trainA", "trainB", "testA", "testB"), 0),
        both={"train": 0, "test": 0},
    )
    with staged_dir(out) as tmp:
        rows = _populate(tmp, root, anno / "list_attr_img.txt", sel, partition, link, report)
        _write_manifest(tmp / "manifest.csv", rows)
        move_into_place(tmp, out)
    return report


@dataclass
class _Selection:
    names: list[str]  # every attribute, in label-column order
    cols_a: list[int]
    cols_b: list[int]


def _selection(cloth: Path, a: str, b: str, variants: bool) -> _Selection:
    names = [n for n, _ in read_attributes(cloth)]
    cols_a = _columns(names, a, variants, "--a")
    cols_b = _columns(names, b, variants, "--b")
    if set(cols_a) & set(cols_b):
        shared = sorted(names[i] for i in set(cols_a) & set(cols_b))
        raise DataError(f"--a {a!r} and --b {b!r} share attribute(s) {shared}; pick distinct ones")
    return _Selection(names, cols_a, cols_b)


def _populate(
    tmp: Path,
    root: Path,
    attr_img: Path,
    sel: _Selection,
    partition: dict[str, str],
    link: str,
    report: DeepFashionReport,
) -> list[dict[str, str]]:
    for split in report.counts:
        (tmp / split).mkdir()
    rows = []
    for name, has_a, has_b in _select(attr_img, len(sel.names), sel.cols_a, sel.cols_b):
        status = partition.get(name)
        if status is None:
            report.unpartitioned += 1
            continue
        split = _SPLIT_OF[status]
        if has_a and has_b:
            report.both[split] += 1
            continue
        src = _source(root, name)
        if src is None:
            report.missing.append(name)
            continue
        folder = f"{split}{'A' if has_a else 'B'}"
        dest = tmp / folder / _flat_name(name)
        data = src.read_bytes()
        if link == "symlink":
            dest.symlink_to(src.resolve())
        else:
            dest.write_bytes(data)
        report.counts[folder] += 1
        rows.append(
            {
                "file": f"{folder}/{dest.name}",
                "source": name,
                "split": status,
                "domain": folder[-1],
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    return rows


def _write_manifest(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["file", "source", "split", "domain", "sha256"])
        writer.writeheader()
        writer.writerows(rows)
