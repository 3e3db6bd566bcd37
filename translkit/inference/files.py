"""Translating image files and folders: decode, batch by size, write atomically.

Where each output goes, and what is never written over, is :mod:`.plan`'s job. A file
that cannot be read, translated or written is recorded in the :class:`TranslateReport`
and the rest continue; the CLI turns a non-empty ``failed`` list into exit code 1.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from translkit.data.io import image_header, load_rgb
from translkit.errors import TranslkitError
from translkit.fileio import atomic_path, ensure_writable
from translkit.inference.plan import WRITABLE, plan_translation
from translkit.inference.translate import Precision, Translator
from translkit.networks import pick_direction
from translkit.pretrained import load_generators
from translkit.registry import Registries
from translkit.threads import ThreadGovernor, thread_budget

__all__ = [
    "TranslateReport",
    "image_to_tensor",
    "plan_outputs",
    "scale_down",
    "tensor_to_image",
    "translate_checkpoint",
    "translate_files",
    "translate_image",
]


@dataclass
class TranslateReport:
    """What a translation run did.

    ``written`` outputs; ``failed`` ``(input, reason)``; ``skipped`` outputs that existed
    and were kept (no ``overwrite``); ``not_images`` files of the input folder left alone;
    ``notes`` ``(input, remark)``, e.g. that only the first frame of an animation was used.
    """

    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    not_images: list[Path] = field(default_factory=list)
    notes: list[tuple[Path, str]] = field(default_factory=list)
    precision: str = ""  # what ran and why (Choice.describe())
    runtime: str = ""  # every speed decision and why (Runtime.describe())

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


def check_resize(resize: int) -> None:
    if resize < 0:
        raise TranslkitError(
            f"resize must be ≥ 0 pixels (0: each image at its own size), got {resize}"
        )


def scale_down(img: Image.Image, resize: int) -> Image.Image:
    """``img`` scaled (bicubic, aspect kept) so that its shorter side is ``resize`` pixels,
    when it is longer; smaller images and ``resize = 0`` are returned as they are.

    A generator learns textures at the scale of its training crops: a 12-megapixel photo
    translated at its own size shows it garments twenty times larger than it ever saw.
    """
    size = scaled_size(img.size, resize)
    if size == img.size:
        return img
    return img.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)


def scaled_size(size: tuple[int, int], resize: int) -> tuple[int, int]:
    """``(width, height)`` after :func:`scale_down` to ``resize``."""
    check_resize(resize)
    width, height = size
    if resize == 0 or min(width, height) <= resize:
        return size
    scale = resize / min(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


#: input file -> its header's ``(size or None, frames)`` (:func:`~translkit.data.io.image_header`)
Headers = dict[Path, tuple[tuple[int, int] | None, int]]


def read_headers(pairs: list[tuple[Path, Path]]) -> Headers:
    """Each input's header, read once for everything that plans by size."""
    return {src: image_header(src) for src, _ in pairs}


def work_ahead(headers: Headers, resize: int, tile: int) -> tuple[float, int]:
    """Megapixels to translate and how many distinct input sizes (each compiles once), from
    the files' headers; tiles count as one size."""
    sizes = [scaled_size(size, resize) for size, _ in headers.values() if size is not None]
    distinct = {(tile, tile) if tile and max(s) > tile else s for s in sizes}
    return sum(w * h for w, h in sizes) / 1e6, len(distinct)


def plan_outputs(source: Path, output: Path) -> list[tuple[Path, Path]]:
    """Pairs ``(input, output)`` to translate, replacing existing outputs (see
    :func:`~translkit.inference.plan.plan_translation`, which keeps them by default)."""
    return plan_translation(source, output, overwrite=True).pairs


def _save_atomic(img: Image.Image, path: Path) -> None:
    fmt = WRITABLE.get(path.suffix.lower(), "PNG")
    with atomic_path(path) as tmp:
        img.save(tmp, format=fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))


def translate_image(translator: Translator, img: Image.Image, *, resize: int = 0) -> Image.Image:
    """Translate one decoded RGB image (as :func:`~translkit.data.io.load_rgb` returns),
    first scaled down to a shorter side of ``resize`` pixels (:func:`scale_down`)."""
    return tensor_to_image(translator(image_to_tensor(scale_down(img, resize))[None])[0])


def translate_files(
    translator: Translator,
    pairs: list[tuple[Path, Path]],
    *,
    on_done: Callable[[int], None] | None = None,
    threads: ThreadGovernor | None = None,
    resize: int = 0,
    headers: Headers | None = None,
) -> TranslateReport:
    """Translate ``(input, output)`` pairs, batching images of equal size.

    :param threads: a :class:`~translkit.threads.ThreadGovernor` to consult between batches.
    :param headers: the inputs' headers when the caller read them already
        (:func:`read_headers`); the rest are read here.
    :param resize: scale images whose shorter side is longer down to this many pixels
        first (:func:`scale_down`); the outputs have that size. 0: each at its own size.
    """
    check_resize(resize)  # a bad value fails before any work
    report = TranslateReport()
    groups: dict[tuple[int, int] | None, list[tuple[Path, Path]]] = defaultdict(list)
    known = headers or {}
    for pair in pairs:
        size, frames = known.get(pair[0]) or image_header(pair[0])
        groups[size].append(pair)
        if frames > 1:
            report.notes.append((pair[0], f"{frames} frames; the first frame was translated"))
    for size, members in groups.items():
        step = translator.batch_size if size is not None else 1
        for i in range(0, len(members), step):
            if threads is not None:
                threads.tick()
            _translate_batch(translator, members[i : i + step], report, resize)
            if on_done:
                on_done(len(members[i : i + step]))
    return report


def _translate_batch(
    translator: Translator, batch: list[tuple[Path, Path]], report: TranslateReport, resize: int
) -> None:
    loaded: list[tuple[Path, Path, torch.Tensor]] = []
    for src, dst in batch:
        try:
            img = scale_down(load_rgb(src), resize)  # as the demo does: the same pixels
            loaded.append((src, dst, image_to_tensor(img)))
        except TranslkitError as err:
            report.failed.append((src, str(err)))
        except Exception as err:  # a decoder's own bug: this file fails, the rest go on
            report.failed.append((src, f"cannot decode: {type(err).__name__}: {err}"))
    by_shape: dict[tuple[int, ...], list[tuple[Path, Path, torch.Tensor]]] = defaultdict(list)
    for item in loaded:  # the header size can lie (e.g. odd EXIF): group on what was decoded
        by_shape[tuple(item[2].shape)].append(item)
    for items in by_shape.values():
        _translate_and_save(translator, items, report)


def _translate_and_save(
    translator: Translator, items: list[tuple[Path, Path, torch.Tensor]], report: TranslateReport
) -> None:
    """One forward pass for ``items``; if it fails, each file alone, so one bad file
    cannot take its batch down with it."""
    try:
        out = translator(torch.stack([t for _, _, t in items]))
    except Exception as err:  # torch errors come as RuntimeError, ValueError, ...
        if len(items) > 1:
            for item in items:
                _translate_and_save(translator, [item], report)
            return
        reason = err if isinstance(err, TranslkitError) else f"{type(err).__name__}: {err}"
        report.failed.append((items[0][0], f"translation failed: {reason}"))
        return
    for (src, dst, _), y in zip(items, out, strict=True):
        try:
            _save_atomic(tensor_to_image(y), dst)
            report.written.append(dst)
        except TranslkitError as err:
            report.failed.append((src, str(err)))
        except (OSError, ValueError) as err:
            report.failed.append((src, f"cannot write {dst}: {err}"))


class MaskView(nn.Module):
    """A generator's attention mask as an image: ``(N, 3, H, W)`` in [−1, 1], white where
    it translates (so the translator writes it like any output)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.size_multiple = getattr(net, "size_multiple", 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.mask(x).float().expand(-1, 3, -1, -1) * 2 - 1


def translate_checkpoint(
    checkpoint: str | Path,
    source: str | Path,
    output: str | Path,
    registries: Registries,
    *,
    direction: str = "a2b",
    batch_size: int = 8,
    tile: int = 0,
    overlap: int = 32,
    device: str = "auto",
    precision: Precision = "auto",
    channels_last: bool | None = None,
    compile: bool | str = "auto",
    fast_conv: bool | None = None,
    overwrite: bool = False,
    resize: int | None = None,
    on_total: Callable[[int], None] | None = None,
    on_done: Callable[[int], None] | None = None,
    masks: str | Path | None = None,
) -> TranslateReport:
    """Translate a file or folder with one direction of a checkpoint (any format) or run
    directory.

    Inputs are never written over (:mod:`translkit.inference.plan`); existing outputs
    are kept and counted in ``skipped`` unless ``overwrite``.

    :param resize: scale larger images down to this shorter side first (see
        :func:`translate_files`; 0: each at its own size). ``None``: a registered model's
        ``input_size``, else 0.
    :param compile: ``auto`` (default: where this machine's recorded pace for the network
        says the folder earns its compilations back), ``on`` or ``off``
        (:class:`~translkit.inference.translate.Translator`).
    :param fast_conv: Winograd's 3×3 convolutions (``True``), the direct kernel (``False``)
        or ``None``: where they measured faster for this network here (the Translator's).
    :param on_total: called once with the number of files to translate (a progress bar).
    :param on_done: called with the number of files finished after each batch.
    :param masks: also write each input's attention mask (white where the generator
        translated) to this file or folder, as the outputs are written; only for a generator
        with a ``mask`` method (``attention``), else a :class:`TranslkitError` before any
        work.
    """
    if resize is not None:
        check_resize(resize)  # a bad value fails before a model is fetched
    loaded = load_generators(checkpoint, registries, directions=[direction])
    if resize is None:
        resize = loaded.card.input_size
    net = pick_direction(loaded.nets, direction, loaded.source)
    if masks is not None and not callable(getattr(net, "mask", None)):
        raise TranslkitError(
            f"--masks: the {direction} generator of {checkpoint} ({type(net).__name__}) has no "
            "attention mask; only an attention-guided generator (`attention`) does"
        )
    plan = plan_translation(Path(source), Path(output), overwrite=overwrite)
    pairs = plan.pairs
    if pairs and not pairs[0][1].is_dir():  # unwritable output: one line, not one per file
        ensure_writable(pairs[0][1])
    settings = {
        "device": device,
        "tile": tile,
        "overlap": overlap,
        "batch_size": batch_size,
        "precision": precision,
        "channels_last": channels_last,
        "fast_conv": fast_conv,
    }
    translator = Translator(net, compile=compile, **settings)  # type: ignore[arg-type]
    headers = read_headers(pairs)
    translator.plan(*work_ahead(headers, resize, translator.tile))
    if on_total:
        on_total(len(pairs))
    governor = ThreadGovernor(thread_budget()) if translator.device.type == "cpu" else None
    report = translate_files(
        translator, pairs, on_done=on_done, threads=governor, resize=resize, headers=headers
    )
    translator.record_pace()
    if masks is not None:  # the same inputs, through the mask head, by the same machinery
        mask_plan = plan_translation(Path(source), Path(masks), overwrite=overwrite)
        viewer = Translator(MaskView(net), **settings)  # type: ignore[arg-type]
        written = translate_files(
            viewer, mask_plan.pairs, threads=governor, resize=resize, headers=headers
        )
        report.failed += written.failed
    report.skipped = [dst for _, dst in plan.existing]
    report.not_images = plan.not_images
    report.failed = plan.refused + report.failed
    report.precision = translator.choice.describe()
    report.runtime = translator.runtime.describe()
    return report
