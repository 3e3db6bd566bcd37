"""``translkit data check``: what in a dataset folder would break or bias training.

Real unpaired datasets carry quirks (the study's leather↔denim set has a
grayscale image, sizes from 91 to 2667 px, and byte-identical duplicates, some across
train and test). :func:`check_dataset` reports, per split, counts, size and mode
histograms, unreadable or truncated files, non-image files and images smaller than the
crop size, plus exact duplicates (SHA-256 of the file bytes) within and across splits.
Problems that break training are ``errors``; the rest are ``warnings``. A training domain
with fewer readable images than one batch is an error (every batch would repeat images);
with ``strict``, so are byte-identical files shared by a train and a test split (leaks).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import statistics
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from translkit.data.io import IMAGE_EXTENSIONS, SPLITS, inspect_image
from translkit.errors import DataError

__all__ = ["CheckReport", "ImageRecord", "SplitReport", "check_dataset", "scan_image"]

_SIDE_BUCKETS = ((128, "<128"), (256, "128-255"), (512, "256-511"), (1024, "512-1023"))


@dataclass
class ImageRecord:
    """What one file holds: size and mode as stored, content hash, decode problem if any."""

    path: str
    sha256: str
    size: tuple[int, int] | None = None
    mode: str | None = None
    problem: str | None = None


def scan_image(path: Path, root: Path) -> ImageRecord:
    """Hash ``path`` and decode it fully (at reduced JPEG scale) to catch truncation."""
    data = path.read_bytes()
    rec = ImageRecord(str(path.relative_to(root)), hashlib.sha256(data).hexdigest())
    rec.size, rec.mode, rec.problem = inspect_image(io.BytesIO(data))
    return rec


@dataclass
class SplitReport:
    images: int = 0
    modes: dict[str, int] = field(default_factory=dict)
    shorter_side: dict[str, int] = field(default_factory=dict)
    min_size: list[int] | None = None
    max_size: list[int] | None = None
    median_shorter_side: float | None = None
    distinct_sizes: int = 0
    smaller_than_crop: list[str] = field(default_factory=list)
    non_rgb: list[str] = field(default_factory=list)
    unreadable: list[dict[str, str]] = field(default_factory=list)
    non_images: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    root: str
    crop_size: int | None  # None: image sides were not compared with a crop size
    splits: dict[str, SplitReport]
    duplicate_groups: list[list[str]]
    duplicate_pairs: int
    cross_split_pairs: int
    train_test_pairs: int
    errors: list[str]
    warnings: list[str]
    batch_size: int = 1
    strict: bool = False

    @property
    def ok(self) -> bool:
        """False when training on this dataset would fail."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def _split_names(root: Path) -> list[str]:
    extra = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [s for s in SPLITS if (root / s).is_dir()] + [s for s in extra if s not in SPLITS]


def _files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _bucket(side: int) -> str:
    for limit, name in _SIDE_BUCKETS:
        if side < limit:
            return name
    return ">=1024"


def _summarise(records: list[ImageRecord], crop_size: int | None) -> SplitReport:
    rep = SplitReport(images=len(records))
    good = [r for r in records if r.problem is None and r.size is not None]
    rep.unreadable = [{"path": r.path, "reason": r.problem or ""} for r in records if r.problem]
    rep.modes = dict(Counter(r.mode for r in good if r.mode).most_common())
    sizes = [r.size for r in good if r.size]
    if sizes:
        shorter = [min(s) for s in sizes]
        counts = Counter(_bucket(s) for s in shorter)
        order = [name for _, name in _SIDE_BUCKETS] + [">=1024"]
        rep.shorter_side = {name: counts[name] for name in order if counts[name]}
        rep.min_size = list(min(sizes, key=lambda s: s[0] * s[1]))
        rep.max_size = list(max(sizes, key=lambda s: s[0] * s[1]))
        rep.median_shorter_side = float(statistics.median(shorter))
        rep.distinct_sizes = len(set(sizes))
        if crop_size is not None:
            rep.smaller_than_crop = [r.path for r in good if r.size and min(r.size) < crop_size]
    rep.non_rgb = [r.path for r in good if r.mode != "RGB"]
    return rep


def check_dataset(
    root: Path | str,
    *,
    crop_size: int | None = None,
    batch_size: int = 1,
    strict: bool = False,
    threads: int = 4,
) -> CheckReport:
    """Inspect every split folder of ``root``; see the module docstring for what is checked.

    :param crop_size: the training crop; images with a smaller side are listed (``None``:
        not checked).
    :param batch_size: images per domain per step; a training domain needs at least that
        many readable images.
    :param strict: train/test duplicates (leaks) are errors instead of warnings.
    """
    root = Path(root)
    if batch_size < 1:
        raise DataError(f"batch size must be at least 1, got {batch_size}")
    if not root.is_dir():
        raise DataError(f"dataset root {root} does not exist or is not a directory")
    splits, records = {}, {}
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for split in _split_names(root):
            files = _files(root / split)
            images = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
            records[split] = list(pool.map(lambda p: scan_image(p, root), images))
            splits[split] = _summarise(records[split], crop_size)
            splits[split].non_images = [
                str(p.relative_to(root)) for p in files if p.suffix.lower() not in IMAGE_EXTENSIONS
            ]
    groups, pairs, cross, leaks = _duplicates(records)
    errors, warns = _verdict(root, splits, crop_size, pairs, cross, leaks)
    errors += _batch_errors(splits, batch_size)
    if strict and leaks:
        errors.append(_leak_error(groups, leaks))
    return CheckReport(
        str(root), crop_size, splits, groups, pairs, cross, leaks, errors, warns, batch_size, strict
    )


def _batch_errors(splits: dict[str, SplitReport], batch_size: int) -> list[str]:
    """A training domain with fewer readable images than one batch cannot fill a batch."""
    out = []
    for split in ("trainA", "trainB"):
        rep = splits.get(split)
        readable = rep.images - len(rep.unreadable) if rep else 0
        if rep is not None and 0 < readable < batch_size:
            out.append(
                f"{split}/ holds {readable} readable image(s), fewer than one batch of "
                f"{batch_size}; add images or lower the batch size (optim.batch_size)"
            )
    return out


def _leak_error(groups: list[list[str]], leaks: int) -> str:
    leaked = [g for g in groups if {Path(p).parts[0][:4] for p in g} >= {"trai", "test"}]
    named = [" = ".join(g) for g in leaked]
    return (
        f"{leaks} train/test pair(s) of byte-identical files (test images seen in training, "
        f"--strict): {_names(named, 3)}; remove the test copies"
    )


def _duplicates(records: dict[str, list[ImageRecord]]) -> tuple[list[list[str]], int, int, int]:
    """Groups of byte-identical files; pair counts overall, across splits, train↔test."""
    by_hash: dict[str, list[str]] = defaultdict(list)
    for recs in records.values():
        for r in recs:
            by_hash[r.sha256].append(r.path)
    groups = sorted(sorted(g) for g in by_hash.values() if len(g) > 1)
    pairs = cross = leaks = 0
    for group in groups:
        for a, b in itertools.combinations(group, 2):
            sa, sb = Path(a).parts[0], Path(b).parts[0]
            pairs += 1
            cross += sa != sb
            leaks += {sa[:4], sb[:4]} == {"trai", "test"}
    return groups, pairs, cross, leaks


def _verdict(
    root: Path,
    splits: dict[str, SplitReport],
    crop: int | None,
    pairs: int,
    cross: int,
    leaks: int,
) -> tuple[list[str], list[str]]:
    errors: list[str] = []
    warns: list[str] = []
    for split in SPLITS:
        rep = splits.get(split)
        if rep is None:
            (errors if split.startswith("train") else warns).append(f"{split}/ is missing")
        elif rep.images == 0:
            errors.append(f"{split}/ holds no images")
    for split, rep in splits.items():
        if rep.unreadable:
            named = [f"{u['path']} ({u['reason']})" for u in rep.unreadable]
            errors.append(f"{split}: {len(named)} unreadable image(s): {_names(named, 10)}")
        warns += _split_warnings(split, rep, crop)
    if pairs:
        warns.append(
            f"{pairs} duplicate pair(s) (byte-identical files), {cross} across splits, "
            f"{leaks} between train and test"
        )
    return errors, warns


def _split_warnings(split: str, rep: SplitReport, crop: int | None) -> list[str]:
    warns = []
    other = {m: n for m, n in rep.modes.items() if m != "RGB"}
    if other:
        modes = ", ".join(f"{n} {m}" for m, n in other.items())
        warns.append(
            f"{split}: {len(rep.non_rgb)} non-RGB image(s) ({modes}): {_names(rep.non_rgb)}; "
            "converted to RGB on load"
        )
    if rep.distinct_sizes > 1:
        warns.append(
            f"{split}: mixed sizes, {rep.distinct_sizes} distinct, from "
            f"{_wh(rep.min_size)} to {_wh(rep.max_size)}; resized on load"
        )
    if rep.smaller_than_crop:
        warns.append(
            f"{split}: {len(rep.smaller_than_crop)} image(s) with a side smaller than the crop "
            f"size {crop} px (upsampled on load): {_names(rep.smaller_than_crop)}"
        )
    if rep.non_images:
        warns.append(
            f"{split}: {len(rep.non_images)} non-image file(s) ignored: {_names(rep.non_images)}"
        )
    return warns


def _names(paths: list[str], n: int = 5) -> str:
    return ", ".join(paths[:n]) + (f" and {len(paths) - n} more" if len(paths) > n else "")


def _wh(size: list[int] | None) -> str:
    return f"{size[0]}x{size[1]}" if size else "?"
