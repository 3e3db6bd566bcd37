"""Training and evaluation transforms (Zhu et al. 2017; the study's leather↔denim setup).

Training: resize (square 286×286 by default) → random crop → random horizontal flip →
random rotation (the study: ±15°) → normalise with mean 0.5, std 0.5 to [−1, 1].
Evaluation: the same resize, a centre crop, normalisation — never random augmentation
(the study's code augmented its test set; a defect `recipes/leather_denim.toml` lists).

Every random parameter is drawn from a :class:`torch.Generator` the caller seeds, so an
augmentation is a pure function of that seed (the loader derives it from seed, epoch and
position). Resizing is PIL's (bicubic, antialiased), as torchvision does for PIL images;
cropping, flipping and scaling are tensor indexing. torchvision (whose import also loads
``torch._dynamo``: about a second of every command's start) is imported only for a rotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from PIL import Image

from translkit.errors import DataError
from translkit.recipe import crop_problem

__all__ = ["ImageTransform", "check_sizes", "draft_size"]

ResizeMode = Literal["square", "shorter_side", "none"]


def check_sizes(resize: str, load_size: int, crop_size: int) -> None:
    """Raise :class:`DataError` for transform options that cannot work together."""
    if resize not in ("square", "shorter_side", "none"):
        raise DataError(f"data.resize must be 'square', 'shorter_side' or 'none', got {resize!r}")
    if crop_size < 1 or (resize != "none" and load_size < 1):
        raise DataError(
            f"data.crop_size ({crop_size}) and data.load_size ({load_size}) must be positive"
        )
    if problem := crop_problem(resize, load_size, crop_size):
        raise DataError(problem)


def draft_size(resize: str, load_size: int, crop_size: int) -> int | None:
    """The smallest side a JPEG may be draft-decoded to without losing resolution."""
    return None if resize == "none" else max(load_size, crop_size)


@dataclass(frozen=True)
class ImageTransform:
    """Resize, crop, flip, rotate and normalise one RGB image to a ``(3, S, S)`` tensor.

    :param resize: ``"square"`` (both sides to ``load_size``), ``"shorter_side"`` (the
        shorter side to ``load_size``, aspect kept) or ``"none"``. Default ``"square"``.
    :param load_size: resize target in pixels. Default 286.
    :param crop_size: output side ``S``. Default 256.
    :param train: random crop/flip/rotation when true; centre crop only when false.
    :param flip: random horizontal flip (train only). Default true.
    :param rotation: random rotation range ±degrees (train only). Default 0.

    Images still smaller than ``crop_size`` after resizing (``resize="none"`` or a very
    thin image) are first upscaled so that their shorter side equals ``crop_size``.
    """

    resize: ResizeMode = "square"
    load_size: int = 286
    crop_size: int = 256
    train: bool = True
    flip: bool = True
    rotation: float = 0.0

    def __post_init__(self) -> None:
        check_sizes(self.resize, self.load_size, self.crop_size)

    def __call__(self, img: Image.Image, generator: torch.Generator | None = None) -> torch.Tensor:
        img = self._resize(img)
        x = torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1)  # uint8 (3, H, W)
        x = self._crop(x, generator)
        if self.train and self.flip and _uniform(generator) < 0.5:
            x = x.flip(-1)
        if self.train and self.rotation > 0:
            angle = (2.0 * _uniform(generator) - 1.0) * self.rotation
            x = _rotate(x, angle)
        # [0, 255] → [0, 1] → mean 0.5, std 0.5: the order of torchvision's to_dtype + normalize
        return x.to(torch.float32).mul_(1.0 / 255).sub_(0.5).div_(0.5)

    def _resize(self, img: Image.Image) -> Image.Image:
        if self.resize == "square":
            img = _resize_pil(img, (self.load_size, self.load_size))
        elif self.resize == "shorter_side":
            img = _resize_pil(img, _shorter_side_size(img.size, self.load_size))
        if min(img.size) < self.crop_size:
            img = _resize_pil(img, _shorter_side_size(img.size, self.crop_size))
        return img

    def _crop(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        h, w = x.shape[-2:]
        s = self.crop_size
        if self.train:
            top = _randint(h - s + 1, generator)
            left = _randint(w - s + 1, generator)
        else:  # centred, rounded as torchvision's centre crop rounds
            top, left = round((h - s) / 2.0), round((w - s) / 2.0)
        return x[:, top : top + s, left : left + s]


def _shorter_side_size(size: tuple[int, int], side: int) -> tuple[int, int]:
    """``(width, height)`` with the shorter side ``side`` and the aspect kept (the longer side
    rounded down, as torchvision's resize)."""
    w, h = size
    if w <= h:
        return side, int(side * h / w)
    return int(side * w / h), side


def _resize_pil(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    return img if img.size == size else img.resize(size, resample=Image.Resampling.BICUBIC)


def _rotate(x: torch.Tensor, angle: float) -> torch.Tensor:
    """Rotate a uint8 ``(3, H, W)`` tensor by ``angle`` degrees (bilinear, black corners)."""
    import torchvision.transforms.v2.functional as F
    from torchvision.transforms import InterpolationMode

    return F.rotate(x, angle, interpolation=InterpolationMode.BILINEAR)


def _uniform(generator: torch.Generator | None) -> float:
    return float(torch.rand((), generator=generator))


def _randint(high: int, generator: torch.Generator | None) -> int:
    return int(torch.randint(high, (), generator=generator)) if high > 1 else 0
