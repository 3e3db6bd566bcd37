"""IS, FID, KID and precision/recall through torch-fidelity (Obukhov et al.).

Nothing is re-implemented: the images of each folder are handed to
``torch_fidelity.calculate_metrics`` as a dataset of uint8 tensors, so the numbers are
torch-fidelity's. What translkit adds for small, messy test sets:

- mixed image sizes: when the two folders do not all share one size, every image is
  resized to 299×299 (bicubic, the Inception input size) so each is treated alike;
- each metric states the fewest images it needs in each folder (``min_images``: 2 for
  IS, FID and KID, 4 for precision/recall) and refuses smaller sets with one line instead
  of returning NaN; the library's own warnings never reach the terminal;
- KID's subset size shrinks to the sample count, IS's split count so that each split
  holds at least 2 images (noted in ``info``);
- features of a folder are cached on disk under a hash of its *content* (file names and
  bytes), the weights and the resize mode, so re-scoring the same real images is fast;
- a rich progress bar while features are extracted (``extras["progress"]``).

Papers: Salimans et al. 2016 (IS), Heusel et al. 2017 (FID), Bińkowski et al. 2018
(KID), Kynkäänniemi et al. 2019 (precision/recall).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import torch
from PIL import Image
from torch.utils.data import Dataset

from translkit.contracts import (
    KEY_F_SCORE,
    KEY_FID,
    KEY_IS,
    KEY_IS_STD,
    KEY_KID,
    KEY_KID_STD,
    KEY_PRECISION,
    KEY_RECALL,
    MetricBase,
    MetricInputs,
    MetricSetup,
)
from translkit.data.io import list_images, load_rgb, oriented_size
from translkit.errors import MetricError, TranslkitError
from translkit_plugins._baselines import BUILTIN_BASELINES
from translkit_plugins.inception import resolve_weights, weights_digest

__all__ = ["FidelityMetric", "ImageFolderDataset", "folder_digest"]

log = logging.getLogger("translkit.metrics")

#: Side every image is resized to when the folders mix sizes (InceptionV3's input).
MIXED_SIZE = 299

Kind = Literal["is", "fid", "kid", "prc"]
_GOALS: dict[str, dict[str, Literal["min", "max"]]] = {
    "is": {KEY_IS: "max", KEY_IS_STD: "min"},
    "fid": {KEY_FID: "min"},
    "kid": {KEY_KID: "min", KEY_KID_STD: "min"},
    "prc": {KEY_PRECISION: "max", KEY_RECALL: "max", KEY_F_SCORE: "max"},
}
_FIDELITY_KEYS = {
    "inception_score_mean": KEY_IS,
    "inception_score_std": KEY_IS_STD,
    "frechet_inception_distance": KEY_FID,
    "kernel_inception_distance_mean": KEY_KID,
    "kernel_inception_distance_std": KEY_KID_STD,
    "precision": KEY_PRECISION,
    "recall": KEY_RECALL,
    "f_score": KEY_F_SCORE,
}
_FLAGS = {"is": "isc", "fid": "fid", "kid": "kid", "prc": "prc"}
#: The fewest images each folder needs: a covariance (FID), the unbiased MMD (KID) and a
#: split's marginal (IS) need 2, the 3rd-nearest-neighbour radius of PRC needs 4.
MIN_IMAGES: dict[str, int] = {"is": 2, "fid": 2, "kid": 2, "prc": 4}
_NAMES = {"is": "Inception Score", "fid": "FID", "kid": "KID", "prc": "precision/recall"}


class ImageFolderDataset(Dataset):
    """Images as ``(3, H, W)`` uint8 tensors, RGB with EXIF applied, optionally resized."""

    def __init__(
        self,
        files: list[Path],
        size: int | None = None,
        on_item: Callable[[], None] | None = None,
    ) -> None:
        self.files = files
        self.size = size
        self.on_item = on_item

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        img = load_rgb(self.files[i])
        if self.size is not None and img.size != (self.size, self.size):
            img = img.resize((self.size, self.size), Image.Resampling.BICUBIC)
        if self.on_item is not None:
            self.on_item()
        return torch.from_numpy(_as_array(img)).permute(2, 0, 1).contiguous()


def _as_array(img: Image.Image) -> Any:
    import numpy as np

    return np.array(img, dtype=np.uint8, copy=True)


def folder_digest(files: list[Path], root: Path) -> str:
    """A hash of the relative names and bytes of ``files`` (the cache key of a folder): the
    domain metric's training-data digest, shortened."""
    from translkit_plugins._domain.cache import files_digest

    return files_digest(files, root)[:20]


def _image_size(path: Path) -> tuple[int, int]:
    size = oriented_size(path)
    if size is None:
        raise MetricError(f"image {path} cannot be read; remove or re-export it")
    return size


def _files(folder: Path, role: str, kind: Kind) -> list[Path]:
    files = list_images(folder)
    if not files:
        raise MetricError(f"{role} folder {folder} holds no images (png, jpg, ...)")
    if len(files) < MIN_IMAGES[kind]:
        raise MetricError(
            f"{_NAMES[kind]} needs at least {MIN_IMAGES[kind]} images per folder; the {role} "
            f"folder {folder} has {len(files)}"
        )
    return files


@contextlib.contextmanager
def _progress(enabled: bool, bars: list[tuple[str, int]]) -> Iterator[list[Callable[[], None]]]:
    """One rich progress display with a bar per ``(description, total)``; yields tickers."""
    if not enabled:
        yield [lambda: None for _ in bars]
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    console = Console(stderr=True)  # piped: no bar, and no blank lines it leaves
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as progress:
        tasks = [progress.add_task(desc, total=total) for desc, total in bars]
        yield [functools.partial(progress.advance, task) for task in tasks]


class FidelityMetric(MetricBase):
    """One torch-fidelity metric (``is``, ``fid``, ``kid`` or ``prc``) over two folders.

    Options (defaults): ``kid_subsets`` (100), ``kid_subset_size`` (1000, lowered to the
    sample count), ``is_splits`` (10, lowered to the sample count), ``extractor`` for
    ``prc`` (``"vgg16"`` as in the paper, or ``"inception"`` to reuse the FID features),
    ``seed`` (2020, torch-fidelity's).
    """

    baselines = BUILTIN_BASELINES

    def __init__(
        self,
        kind: Kind,
        *,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        is_splits: int = 10,
        extractor: Literal["inception", "vgg16"] = "vgg16",
        seed: int = 2020,
    ) -> None:
        # the registered factories' annotations bound every option (Registry.create checks them)
        self.kind = kind
        self.goals = dict(_GOALS[kind])
        #: The fewest images each folder it compares must hold.
        self.min_images = MIN_IMAGES[kind]
        self.kid_subsets = kid_subsets
        self.kid_subset_size = kid_subset_size
        self.is_splits = is_splits
        self.extractor = extractor
        self.seed = seed
        #: What was adapted on the last call (KID subset size, IS splits, resize).
        self.info: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"FidelityMetric({self.kind!r})"

    def preflight(self, setup: MetricSetup) -> None:
        """Find the feature extractor's weights now (or that they can be downloaded),
        before any long work."""
        self._resolve(setup.weights)

    # -- the call ----------------------------------------------------------------------
    def __call__(self, inputs: MetricInputs) -> dict[str, float]:
        weights = self.weights(inputs)  # first: a missing file is the error to report
        fake_files = _files(Path(inputs.fake), "translated-image", self.kind)
        binary = self.kind != "is"
        real_files = _files(Path(inputs.real), "real-image", self.kind) if binary else []
        sizes = {_image_size(p) for p in fake_files + real_files}
        resize = None if len(sizes) == 1 else MIXED_SIZE
        kwargs = self.fidelity_kwargs(len(fake_files), len(real_files), inputs, weights)
        tag = f"{'native' if resize is None else resize}-{weights_digest(weights)}"
        kwargs["cache_root"] = str(inputs.cache_dir)
        show = inputs.progress
        bars = [(f"{self.kind}: translated images", len(fake_files))]
        if binary:
            bars.append((f"{self.kind}: real images", len(real_files)))
        with _progress(show, bars) as ticks:
            kwargs["input1"] = ImageFolderDataset(fake_files, resize, ticks[0])
            kwargs["input1_cache_name"] = _cache_name("fake", fake_files, inputs.fake, tag)
            if binary:
                kwargs["input2"] = ImageFolderDataset(real_files, resize, ticks[1])
                kwargs["input2_cache_name"] = _cache_name("real", real_files, inputs.real, tag)
            raw = _run_fidelity(kwargs, inputs.device)
        if resize is not None:
            self.info["resized_to"] = float(resize)
        return {_FIDELITY_KEYS[k]: float(v) for k, v in raw.items() if k in _FIDELITY_KEYS}

    def weights(self, inputs: MetricInputs) -> Path | None:
        """The weights file of this metric's feature extractor (``None``: download)."""
        return self._resolve(inputs.weights)

    def _resolve(self, given: Path | None) -> Path | None:
        """The user's weights file is the Inception network's (VGG16's come from its
        environment variable or the hub cache)."""
        extractor = "inception" if self.kind != "prc" else self.extractor
        return resolve_weights(given if extractor == "inception" else None, extractor=extractor)

    def fidelity_kwargs(
        self, n_fake: int, n_real: int, inputs: MetricInputs, weights: Path | None
    ) -> dict[str, Any]:
        """Keyword arguments for ``torch_fidelity.calculate_metrics`` (inputs aside)."""
        self.info = {}
        extractor = "inception" if self.kind != "prc" else self.extractor
        kwargs: dict[str, Any] = {
            _FLAGS[self.kind]: True,
            "batch_size": inputs.batch_size,
            "feature_extractor_weights_path": str(weights) if weights else None,
            "rng_seed": self.seed,
            "verbose": False,
            "save_cpu_ram": True,  # no DataLoader workers: progress is reported in-process
        }
        if self.kind == "prc" and extractor == "inception":
            kwargs.update(feature_extractor="inception-v3-compat", feature_layer_prc="2048")
        if self.kind == "kid":
            size = min(self.kid_subset_size, n_fake, n_real)
            if size < self.kid_subset_size:
                log.info(
                    "KID subset size %d lowered to %d (%d translated, %d real images)",
                    self.kid_subset_size,
                    size,
                    n_fake,
                    n_real,
                )
            kwargs.update(kid_subsets=self.kid_subsets, kid_subset_size=size)
            self.info.update(kid_subset_size=float(size), kid_subsets=float(self.kid_subsets))
        if self.kind == "is":
            splits = max(1, min(self.is_splits, n_fake // 2))  # ≥ 2 images per split
            if splits < self.is_splits:
                log.info("Inception Score splits lowered to %d (%d images)", splits, n_fake)
            kwargs["isc_splits"] = splits
            self.info["is_splits"] = float(splits)
        return kwargs


def _cache_name(role: str, files: list[Path], root: Path, tag: str) -> str:
    return f"translkit-{role}-{folder_digest(files, Path(root))}-{tag}"


def _run_fidelity(kwargs: dict[str, Any], device: str) -> dict[str, float]:
    import torch_fidelity

    cuda = str(device).startswith("cuda")
    if cuda and not torch.cuda.is_available():
        raise MetricError(f"device {device!r} requested for metrics but CUDA is not available")
    kwargs["cuda"] = cuda
    ctx = torch.cuda.device(torch.device(device)) if cuda else contextlib.nullcontext()
    os.makedirs(kwargs["cache_root"], exist_ok=True)
    try:
        with ctx, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy's and torch-fidelity's: errors say it all
            return torch_fidelity.calculate_metrics(**kwargs)
    except TranslkitError:
        raise
    except (ValueError, RuntimeError) as err:
        raise MetricError(f"torch-fidelity failed: {err}") from err
