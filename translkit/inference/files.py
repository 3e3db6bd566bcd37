"""Translating image files and folders: decode, batch by size, write atomically.

A file that cannot be read or written is recorded in the :class:`TranslateReport` and
the rest continue; the CLI turns a non-empty ``failed`` list into exit code 1.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from translkit.checkpoint import DIRECTIONS, load_generators
from translkit.data.io import IMAGE_EXTENSIONS, list_images, load_rgb
from translkit.errors import TranslkitError
from translkit.fileio import atomic_path
from translkit.inference.translate import Precision, Translator, pick_direction
from translkit.threads import ThreadGovernor, thread_budget

__all__ = [
    "TranslateReport",
    "image_to_tensor",
    "oriented_size",
    "plan_outputs",
    "tensor_to_image",
    "translate_checkpoint",
    "translate_files",
]

#: Formats PIL can write, by suffix; anything else is written as PNG.
_WRITABLE = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".bmp": "BMP",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".ppm": "PPM",
}


@dataclass
class TranslateReport:
    """What a translation run did: written outputs and failures ``(input, reason)``."""

    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    precision: str = ""  # what ran and why (Choice.describe())

    @property
    def ok(self) -> bool:
        return not self.failed


def image_to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB PIL image → ``(3, H, W)`` float tensor in ``[-1, 1]``."""
    arr = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy())
    return arr.permute(2, 0, 1).float().div_(127.5).sub_(1.0)


def tensor_to_image(x: torch.Tensor) -> Image.Image:
    """``(3, H, W)`` tensor in ``[-1, 1]`` → RGB PIL image (rounded, clamped)."""
    arr = x.detach().float().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)
    return Image.fromarray(arr.permute(1, 2, 0).cpu().numpy(), "RGB")


def plan_outputs(source: Path, output: Path) -> list[tuple[Path, Path]]:
    """Pairs ``(input, output)``: a file maps to a file (or into a folder), a folder
    recursively to the same relative paths under ``output``."""
    source, output = Path(source), Path(output)
    if source.is_dir():
        if output.exists() and not output.is_dir():
            raise TranslkitError(f"input {source} is a folder, so output {output} must be one too")
        files = list_images(source)
        if not files:
            raise TranslkitError(f"input folder {source} holds no images")
        return [(f, _output_name(output / f.relative_to(source))) for f in files]
    if not source.is_file():
        raise TranslkitError(f"input {source} does not exist")
    if output.is_dir() or output.suffix.lower() not in IMAGE_EXTENSIONS:
        return [(source, _output_name(output / source.name))]
    return [(source, output)]


def _output_name(path: Path) -> Path:
    return path if path.suffix.lower() in _WRITABLE else path.with_suffix(".png")


def _save_atomic(img: Image.Image, path: Path) -> None:
    fmt = _WRITABLE.get(path.suffix.lower(), "PNG")
    with atomic_path(path) as tmp:
        img.save(tmp, format=fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))


def oriented_size(path: Path) -> tuple[int, int] | None:
    """``(width, height)`` as displayed (EXIF rotation applied), from the header only;
    ``None`` when the file cannot be opened."""
    try:
        with Image.open(path) as img:
            w, h = img.size
            rotated = img.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    except (OSError, ValueError):
        return None  # reported when decoding for real
    return (w, h) if not rotated else (h, w)


def translate_files(
    translator: Translator,
    pairs: list[tuple[Path, Path]],
    *,
    on_done: Callable[[int], None] | None = None,
    threads: ThreadGovernor | None = None,
) -> TranslateReport:
    """Translate ``(input, output)`` pairs, batching images of equal size.

    :param threads: a :class:`~translkit.threads.ThreadGovernor` to consult between batches.
    """
    report = TranslateReport()
    groups: dict[tuple[int, int] | None, list[tuple[Path, Path]]] = defaultdict(list)
    for pair in pairs:
        groups[oriented_size(pair[0])].append(pair)
    for size, members in groups.items():
        step = translator.batch_size if size is not None else 1
        for i in range(0, len(members), step):
            if threads is not None:
                threads.tick()
            _translate_batch(translator, members[i : i + step], report)
            if on_done:
                on_done(len(members[i : i + step]))
    return report


def _translate_batch(
    translator: Translator, batch: list[tuple[Path, Path]], report: TranslateReport
) -> None:
    loaded: list[tuple[Path, Path, torch.Tensor]] = []
    for src, dst in batch:
        try:
            loaded.append((src, dst, image_to_tensor(load_rgb(src))))
        except TranslkitError as err:
            report.failed.append((src, str(err)))
    if not loaded:
        return
    by_shape: dict[tuple[int, ...], list[tuple[Path, Path, torch.Tensor]]] = defaultdict(list)
    for item in loaded:  # the header size can lie (e.g. odd EXIF): group on what was decoded
        by_shape[tuple(item[2].shape)].append(item)
    for items in by_shape.values():
        try:
            out = translator(torch.stack([t for _, _, t in items]))
        except (RuntimeError, TranslkitError) as err:
            report.failed.extend((src, f"translation failed: {err}") for src, _, _ in items)
            continue
        for (src, dst, _), y in zip(items, out, strict=True):
            try:
                _save_atomic(tensor_to_image(y), dst)
                report.written.append(dst)
            except (OSError, ValueError) as err:
                report.failed.append((src, f"cannot write {dst}: {err}"))


def translate_checkpoint(
    checkpoint: str | Path,
    source: str | Path,
    output: str | Path,
    *,
    direction: str = "a2b",
    batch_size: int = 8,
    tile: int = 0,
    overlap: int = 32,
    device: str = "auto",
    precision: Precision = "auto",
    channels_last: bool | None = None,
    compile: bool = False,
    on_total: Callable[[int], None] | None = None,
    on_done: Callable[[int], None] | None = None,
) -> TranslateReport:
    """Translate a file or folder with one direction of a checkpoint (either format).

    :param on_total: called once with the number of files (for a progress bar).
    :param on_done: called with the number of files finished after each batch.
    """
    if direction not in DIRECTIONS:
        raise TranslkitError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    pairs = plan_outputs(Path(source), Path(output))
    net = pick_direction(load_generators(checkpoint), direction, checkpoint)
    translator = Translator(
        net,
        device=device,
        tile=tile,
        overlap=overlap,
        batch_size=batch_size,
        precision=precision,
        channels_last=channels_last,
        compile=compile,
    )
    if on_total:
        on_total(len(pairs))
    governor = ThreadGovernor(thread_budget()) if translator.device.type == "cpu" else None
    report = translate_files(translator, pairs, on_done=on_done, threads=governor)
    report.precision = translator.choice.describe()
    return report
