"""Reading real-world image folders: listing images and decoding any PIL mode to RGB.

Real datasets (the study's leather↔denim set among them) mix formats, sizes
and modes: grayscale, palette, RGBA, CMYK and 16-bit images all appear. Everything is
converted to 8-bit RGB here, with the EXIF orientation applied, so the rest of translkit
only ever sees RGB.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from translkit.errors import DataError
from translkit.fileio import process_alive, writing

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_PIXELS",
    "SPLITS",
    "TEST_SPLITS",
    "TRUTH_SPLITS",
    "image_header",
    "inspect_image",
    "list_images",
    "load_rgb",
    "move_into_place",
    "oriented_size",
    "refuse_to_clobber",
    "remove_stale_staging",
    "scan_folder",
    "split_dir",
    "staged_dir",
    "to_rgb",
]

#: File suffixes (lower case) treated as images.
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
)
#: The most pixels a file may declare in its header to be decoded: beyond it, the file is
#: refused from its header before any pixel is decoded (a decompression bomb — a few KB
#: declaring gigapixels — costs nothing). It is twice PIL's warning level, where PIL's
#: own refusal starts; a decoded image holds at most 3 bytes per pixel of it (~540 MB).
MAX_PIXELS = 2 * Image.MAX_IMAGE_PIXELS
#: The four folders of an unpaired dataset root (Zhu et al.'s convention).
SPLITS = ("trainA", "trainB", "testA", "testB")
#: Direction -> (test split translated, real test split of the target domain).
TEST_SPLITS = {"a2b": ("testA", "testB"), "b2a": ("testB", "testA")}
#: Direction -> folder of ground-truth twins of the translated split (synthetic data).
TRUTH_SPLITS = {"a2b": "testA_truth", "b2a": "testB_truth"}


def list_images(folder: Path | str) -> list[Path]:
    """All image files under ``folder`` (recursive), sorted; hidden files are skipped.

    Raises :class:`DataError` when ``folder`` is not a directory.
    """
    return scan_folder(folder)[0]


def scan_folder(
    folder: Path | str, *, exclude: Path | None = None
) -> tuple[list[Path], list[Path]]:
    """``(images, other files)`` under ``folder`` (recursive, sorted, hidden files skipped).

    :param exclude: a folder inside ``folder`` whose subtree is left out (``translate``'s
        output folder when it lies inside its input folder).
    :raises DataError: when ``folder`` is not a directory.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist or is not a directory")
    images, others = [], []
    for path in _walk(folder, exclude):
        (images if path.suffix.lower() in IMAGE_EXTENSIONS else others).append(path)
    return sorted(images), sorted(others)


def _walk(folder: Path, exclude: Path | None = None) -> Iterable[Path]:
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if exclude is not None and path.is_relative_to(exclude):
            continue
        if path.is_file():
            yield path


def split_dir(root: Path | str, split: str) -> Path:
    """``root/split`` for one of :data:`SPLITS`."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return Path(root) / split


def load_rgb(
    path: Path | str | BinaryIO, *, draft: int | None = None, name: str | None = None
) -> Image.Image:
    """Decode ``path`` (a file, or an open binary stream such as an upload held in
    memory) to an 8-bit RGB image with its EXIF orientation applied.

    :param draft: if given, JPEGs may be decoded at a reduced scale whose sides stay at
        least ``draft`` pixels (PIL's ``draft``; a large speed-up for big photos that are
        resized down anyway). ``None`` decodes at full size.
    :param name: what error messages call the image (default: the path, or ``<image>``).
    :raises DataError: naming the file when it is missing, not an image, or truncated.
    """
    if isinstance(path, str | Path):
        path = Path(path)
    label = name or (str(path) if isinstance(path, Path) else "<image>")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL's remarks on odd files: decoded or refused
            with Image.open(path) as img:
                _refuse_bomb(img.size, label)
                if draft is not None and img.format == "JPEG":
                    img.draft("RGB", (draft, draft))
                img.load()
                img = ImageOps.exif_transpose(img)
                return to_rgb(img, label)
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"image {label} does not exist") from None
    except UnidentifiedImageError:
        raise DataError(f"{label} is not an image PIL can read; remove or convert it") from None
    except Image.DecompressionBombError:
        raise DataError(_bomb_message(label, None)) from None
    except Exception as err:  # OSError, SyntaxError, ... and any decoder's own bug
        raise DataError(
            f"image {label} is unreadable or truncated ({_first_line(err)}); re-export or remove it"
        ) from None


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _bomb_message(label: str, size: tuple[int, int] | None) -> str:
    declared = f"{size[0]}×{size[1]} ({size[0] * size[1] / 1e6:.0f} MP)" if size else "more"
    return (
        f"image {label} declares {declared} pixels, over translkit's limit of "
        f"{MAX_PIXELS / 1e6:.0f} MP (a guard against decompression bombs); downscale it"
    )


def _refuse_bomb(size: tuple[int, int], label: str) -> None:
    """Refuse, from the header, an image declaring more than :data:`MAX_PIXELS`."""
    if size[0] * size[1] > MAX_PIXELS:
        raise DataError(_bomb_message(label, size))


def inspect_image(
    source: Path | str | BinaryIO, *, draft: int = 64
) -> tuple[tuple[int, int] | None, str | None, str | None]:
    """``(size, mode, problem)`` of an image file as stored; ``problem`` is None when it decodes.

    The file is fully decoded (JPEGs at a reduced scale of at least ``draft`` px) so that
    truncation is caught; ``problem`` is ``"truncated"``, ``"not an image"`` or
    ``"unreadable (...)"``.
    """
    size = mode = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(source) as img:
                size, mode = (img.width, img.height), img.mode
                if img.width * img.height > MAX_PIXELS:
                    return size, mode, f"too large (over {MAX_PIXELS / 1e6:.0f} MP)"
                if img.format == "JPEG":
                    img.draft(img.mode, (draft, draft))
                img.load()
    except UnidentifiedImageError:
        return size, mode, "not an image"
    except Image.DecompressionBombError:
        return size, mode, f"too large (over {MAX_PIXELS / 1e6:.0f} MP)"
    except Exception as err:  # OSError, SyntaxError, ... and any decoder's own bug
        text = _first_line(err)
        problem = "truncated" if "truncated" in text.lower() else f"unreadable ({text})"
        return size, mode, problem
    return size, mode, None


def to_rgb(img: Image.Image, path: Path | str = "<image>") -> Image.Image:
    """Convert any PIL mode to RGB: alpha composited onto white, 16-bit/float scaled to 8-bit."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return _high_depth_to_rgb(img)
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    try:
        return img.convert("RGB")
    except ValueError as err:
        raise DataError(f"image {path} has mode {mode!r} that cannot become RGB ({err})") from None


def _high_depth_to_rgb(img: Image.Image) -> Image.Image:
    """16-bit / 32-bit integer or float grayscale → 8-bit RGB by its value range."""
    arr = np.asarray(img).astype(np.float64)
    if img.mode == "F":
        peak = 1.0 if arr.size and float(np.nanmax(arr)) <= 1.0 else 255.0
    elif img.mode == "I" and arr.size and float(arr.max()) <= 255:
        peak = 255.0
    else:
        peak = 65535.0
    arr = np.clip(np.nan_to_num(arr) / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(arr).convert("RGB")


def move_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished folder ``tmp`` to ``out``, replacing what is there.

    Callers check beforehand that replacing ``out`` is wanted. An empty ``out`` is removed;
    a non-empty one is renamed aside first and deleted after the new folder is in place.
    """
    old = None
    with writing(out):
        if out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        elif out.exists() or out.is_symlink():
            old = out.with_name(f".{out.name}.old-pid{os.getpid()}")
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()


def refuse_to_clobber(out: Path, overwrite: bool) -> None:
    """:class:`DataError` when ``out`` exists, is not an empty folder and ``overwrite`` is off."""
    if out.exists() and not overwrite and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f"{out} already exists and is not empty; pick a new folder or --overwrite")


@contextmanager
def staged_dir(out: Path) -> Iterator[Path]:
    """A temporary sibling folder of ``out`` to build into; deleted if the build fails.

    The caller moves it into place (:func:`move_into_place`) before the block ends. Its
    name carries this process's id, so the folders a killed run (``kill -9``) left behind
    are recognised and removed by the next run; a live run's are left alone. A write
    error (disk full, permission denied) is one line naming ``out``.
    """
    with writing(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(out)
        prefix = f".{out.name}.pid{os.getpid()}."
        tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=out.parent))
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


_STAGING = re.compile(r"^\.(?:pid(\d+)\.\w+\.tmp|old-pid(\d+))$")


def remove_stale_staging(out: Path) -> list[Path]:
    """Delete the staging and set-aside folders of ``out`` whose process is gone."""
    removed = []
    for pattern in (f".{out.name}.pid*.tmp", f".{out.name}.old-pid*"):
        for path in out.parent.glob(pattern):
            match = _STAGING.match(path.name[len(out.name) + 1 :])
            if match is None or process_alive(int(match.group(1) or match.group(2))):
                continue
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(True)
            removed.append(path)
    return removed


def image_header(path: Path | str) -> tuple[tuple[int, int] | None, int]:
    """``((width, height) as displayed — EXIF rotation applied — or None, frame count)``,
    from the header only; ``(None, 1)`` when the file cannot be opened."""
    try:
        with Image.open(path) as img:
            w, h = img.size
            rotated = img.getexif().get(0x0112, 1) in (5, 6, 7, 8)
            frames = int(getattr(img, "n_frames", 1) or 1)
    except Exception:  # any decoder error is reported when decoding for real
        return None, 1
    return ((w, h) if not rotated else (h, w)), frames


def oriented_size(path: Path | str) -> tuple[int, int] | None:
    """``(width, height)`` as displayed (EXIF rotation applied), from the header only;
    ``None`` when the file cannot be opened."""
    return image_header(path)[0]
