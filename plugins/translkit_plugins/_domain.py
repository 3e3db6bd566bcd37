"""Domain classifiers trained from scratch on a dataset's training split: offline metrics.

No downloaded weights: for each dataset, two small CNNs learn to tell domain A from
domain B on ``trainA/`` and ``trainB/`` only (the test split is never read for training),
and are cached on disk under a hash of those files' content and the classifier's
settings. Two *views*:

- ``colour`` — RGB, as it is;
- ``texture`` — the surface, not the garment: the network sees *patches* (a quarter of
  the side of an image loaded at twice the colour view's size, so the fabric at a
  photo's scale and too little of the garment to judge its cut), grey without absolute
  colour or brightness: during training each patch is turned grey with random channel
  weights, a random gamma, contrast and brightness, then standardised (zero mean, unit
  deviation); at test time it is grey (ITU-R 601 weights) and standardised. Flat patches
  (a studio backdrop: grey deviation below :data:`FLAT`) are not judged. An image's
  decision and features are the means over its textured patches (a grid at half-patch
  steps). The network is blind to polarity by construction (features of the image and its
  negative averaged). So a colour transfer does not fool it, and a jacket's shape does
  not make it leather.

In both views an image's features are averaged with its mirror image's. With both views,
also the share of translated images that both assign to the target domain
(``domain_both_rate``): a translation that fools one view only does not count. And how
much of its input's structure each translation keeps (``domain_structure``, see
``_structure``): the classifiers cannot tell a translated garment from a blob that
replaced it. And the spectral artefacts of the translations against real target photos
(``domain_spectral_peak``, ``domain_spectral_distance``, see ``_spectral``): the grids and
dots a generator paints, which a classifier may count as texture. And how much each
translation changes its input's studio background and skin (``domain_background_change``,
``domain_skin_change``, see ``_kept``): a garment translation should leave the person and
the backdrop alone.

From each classifier: the share of translated images it assigns to the target domain,
and the Fréchet distance and KID between the translated and the real target-domain
test images in its penultimate-layer features, beside the same numbers for real images
(the classifier's accuracy on the real test split and a real-vs-real floor: the target
domain's training images against its test images). See ``docs/scoring.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from translkit.contracts import MetricInputs
from translkit.data.io import list_images, load_rgb
from translkit.errors import MetricError
from translkit_plugins._kept import changes
from translkit_plugins._spectral import (
    common_side,
    peak_scores,
    power_spectra,
    spectrum_distance,
)
from translkit_plugins._structure import LUMA as _LUMA
from translkit_plugins._structure import pair_by_stem, structure_kept, unrelated_pairs

__all__ = [
    "BOTH_RATE",
    "KEPT",
    "SPECTRAL_DISTANCE",
    "SPECTRAL_PEAK",
    "STRUCTURE",
    "TRUST",
    "ClassifierSettings",
    "DomainMetric",
    "DomainNet",
    "Features",
    "ensure_classifier",
    "frechet_distance",
    "kernel_distance",
    "load_folder",
    "patch_grid",
    "train_classifier",
    "view_input",
]

log = logging.getLogger("translkit.metrics")

View = Literal["colour", "texture"]
VIEWS: tuple[View, ...] = ("colour", "texture")
#: Below this accuracy on the real test split a view's numbers are marked untrustworthy.
TRUST: dict[str, float] = {"colour": 0.95, "texture": 0.85}
#: Share of translated images that *every* view assigns to the target domain: an image
#: that fools one view only (a recolouring, a texture on the wrong colours) does not count.
BOTH_RATE = "domain_both_rate"
#: How much of its input's edges a translation keeps (``_structure``): the guard against
#: a translation that fools the classifiers by replacing the picture.
STRUCTURE = "domain_structure"
#: Periodic artefacts: log10 of each translation's strongest mid/high-frequency peak over its
#: ring's median power, averaged (``_spectral``); real photos score about 2.2–2.4.
SPECTRAL_PEAK = "domain_spectral_peak"
#: Distance of the translations' mid/high-frequency spectrum from real target photos'.
SPECTRAL_DISTANCE = "domain_spectral_distance"
#: How much each translation changes its input's studio background and skin (``_kept``).
KEPT = {"background": "domain_background_change", "skin": "domain_skin_change"}
#: Bumped whenever training or the network changes: old cache files are then ignored.
VERSION = 3
#: A patch whose grey values (in [0, 1]) deviate less than this is flat: no texture to judge.
FLAT = 0.025
#: Patches per image in each training step of a patch classifier.
PATCHES_PER_IMAGE = 4
#: Images per domain a classifier needs to train on at all.
MIN_TRAIN = 8


@dataclass(frozen=True)
class ClassifierSettings:
    """Everything that decides a trained classifier (part of its cache key)."""

    view: View = "colour"
    size: int = 96
    width: int = 24
    epochs: int = 24
    batch_size: int = 32
    lr: float = 3e-3
    seed: int = 0
    #: Strength of the texture view's photometric randomisation (1: the documented ranges).
    photometric: float = 0.5
    #: Side of the patches the network judges (0: the whole ``size`` crop).
    patch: int = 0

    def key(self) -> str:
        fields = asdict(self)
        if self.view == "colour":
            del fields["photometric"]  # the colour view has no photometric randomisation
        return json.dumps({**fields, "version": VERSION}, sort_keys=True)


class DomainNet(nn.Module):
    """A small CNN: stride-2 stem, three stages of (stride-2 conv, conv), each conv with
    batch norm and ReLU, global average pooling to ``4 * width`` features, a linear head
    (2 logits: domain A, domain B). About 0.05 GMAC at 96×96 with width 24."""

    def __init__(
        self, in_channels: int, width: int = 24, *, polarity_invariant: bool = False
    ) -> None:
        super().__init__()
        self.polarity_invariant = polarity_invariant

        def conv(cin: int, cout: int, stride: int) -> list[nn.Module]:
            return [
                nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            ]

        widths = [width, 2 * width, 4 * width, 4 * width]
        layers = conv(in_channels, widths[0], 2)
        for cin, cout in itertools.pairwise(widths):
            layers += conv(cin, cout, 2) + conv(cout, cout, 1)
        self.body = nn.Sequential(*layers)
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(widths[-1], 2)
        self.feature_dim = widths[-1]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features ``(N, 4 * width)``; with ``polarity_invariant`` the
        mean of those of ``x`` and ``-x`` (a standardised grey image and its negative)."""
        if not self.polarity_invariant:
            return self.body(x).mean(dim=(2, 3))
        return self.body(torch.cat([x, -x])).mean(dim=(2, 3)).view(2, len(x), -1).mean(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


def new_net(settings: ClassifierSettings) -> DomainNet:
    """An untrained classifier for ``settings``: the texture view's sees one grey channel
    and is polarity-invariant (a negative image gets the same features)."""
    if settings.view == "texture":
        return DomainNet(1, settings.width, polarity_invariant=True)
    return DomainNet(3, settings.width)


# -- images --------------------------------------------------------------------------------
def _load_size(size: int) -> int:
    """Side images are stored at before the (random or central) crop to ``size``."""
    return size + size // 8


def load_folder(
    files: Sequence[Path], size: int, tick: Callable[[], None] | None = None
) -> torch.Tensor:
    """``(N, 3, S, S)`` uint8, each image squashed to ``S = size + size // 8`` (bicubic)."""
    side = _load_size(size)
    out = torch.empty((len(files), 3, side, side), dtype=torch.uint8)
    for i, path in enumerate(files):
        img = load_rgb(path).resize((side, side), Image.Resampling.BICUBIC)
        out[i] = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)
        if tick is not None:
            tick()
    return out


def _standardise(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = x.std(dim=(1, 2, 3), keepdim=True).clamp_min(0.02)
    return (x - mean) / std


def _centre(images: torch.Tensor, size: int) -> torch.Tensor:
    top = (images.shape[-1] - size) // 2
    return images[..., top : top + size, top : top + size].float() / 255


def _grey(x: torch.Tensor) -> torch.Tensor:
    return (x * torch.tensor(_LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)


def view_input(images: torch.Tensor, view: View, size: int) -> torch.Tensor:
    """The test-time network input of uint8 images: centre crop, then the view."""
    x = _centre(images, size)
    return x * 2 - 1 if view == "colour" else _standardise(_grey(x))


def patch_grid(images: torch.Tensor, size: int, patch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The test-time input of a patch classifier: the grey ``patch``-sided squares of each
    image's centre ``size`` crop at half-patch steps, standardised, ``(N * K, 1, p, p)``,
    and which of them are textured (``(N, K)`` bool; all of an image's when none is)."""
    x = _grey(_centre(images, size))
    step = max(1, patch // 2)
    tiles = x.unfold(2, patch, step).unfold(3, patch, step)  # N, 1, rows, cols, p, p
    n = len(x)
    tiles = tiles.permute(0, 2, 3, 1, 4, 5).reshape(-1, 1, patch, patch)
    textured = (tiles.std(dim=(1, 2, 3)) >= FLAT).view(n, -1)
    textured[~textured.any(1)] = True
    return _standardise(tiles), textured


def _augment(
    images: torch.Tensor, view: View, size: int, gen: torch.Generator, strength: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Training input: random crop and flip; the texture view's photometric randomisation.
    With it, which crops are textured (``(N,)`` bool; the colour view's all are)."""
    n, side = images.shape[0], images.shape[-1]
    tops = torch.randint(0, side - size + 1, (n, 2), generator=gen)
    x = torch.stack(
        [
            img[:, t : t + size, s : s + size]
            for img, (t, s) in zip(images, tops.tolist(), strict=False)
        ]
    ).float()
    x = x / 255
    flip = torch.rand(n, generator=gen) < 0.5
    x[flip] = x[flip].flip(-1)
    if view == "colour":
        return x * 2 - 1, torch.ones(n, dtype=torch.bool)
    textured = _grey(x).std(dim=(1, 2, 3)) >= FLAT
    # grey with random channel weights (half the time), ITU-R 601 otherwise
    w = torch.rand(n, 3, generator=gen) + 0.05
    w = w / w.sum(1, keepdim=True)
    luma = torch.tensor(_LUMA).expand(n, 3)
    w = torch.where((torch.rand(n, 1, generator=gen) < 0.5), w, luma)
    g = (x * w.view(n, 3, 1, 1)).sum(1, keepdim=True)

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, 1, 1, 1, generator=gen)

    k = strength
    g = g.clamp(0, 1) ** torch.exp(k * uniform(math.log(0.4), math.log(2.5)))  # gamma
    contrast = torch.exp(k * uniform(math.log(0.5), math.log(1.6)))
    g = ((g - 0.5) * contrast + 0.5 + k * uniform(-0.25, 0.25)).clamp(0, 1)
    # no polarity draw: the texture network is invariant to it by construction
    return _standardise(g), textured


# -- training ------------------------------------------------------------------------------
@contextlib.contextmanager
def _progress(enabled: bool, description: str, total: int) -> Iterator[Callable[[], None]]:
    if not enabled:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    console = Console(stderr=True)  # piped: no bar, and no blank lines it leaves
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)


def train_classifier(
    images_a: torch.Tensor,
    images_b: torch.Tensor,
    settings: ClassifierSettings,
    *,
    progress: bool = False,
) -> DomainNet:
    """Train a :class:`DomainNet` on uint8 images of domain A (label 0) and B (label 1)."""
    gen = torch.Generator().manual_seed(settings.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        net = new_net(settings)
    net = net.to(memory_format=torch.channels_last)  # about 2x faster convolutions on CPU
    images = torch.cat([images_a, images_b])
    labels = torch.cat(
        [torch.zeros(len(images_a), dtype=torch.long), torch.ones(len(images_b), dtype=torch.long)]
    )
    # each domain weighs the same, whatever the image counts
    weight = torch.tensor([len(images) / (2 * len(images_a)), len(images) / (2 * len(images_b))])
    # a patch classifier sees several random patches of each image per step
    repeat = PATCHES_PER_IMAGE if settings.patch else 1
    crop = settings.patch or settings.size
    steps_per_epoch = max(1, len(images) // settings.batch_size)
    total = steps_per_epoch * settings.epochs
    opt = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=settings.lr, total_steps=total)
    net.train()
    with _progress(progress, f"training the {settings.view} domain classifier", total) as tick:
        for _ in range(settings.epochs):
            order = torch.randperm(len(images), generator=gen)
            for step in range(steps_per_epoch):
                idx = order[step * settings.batch_size : (step + 1) * settings.batch_size]
                idx = idx.repeat_interleave(repeat)
                x, textured = _augment(images[idx], settings.view, crop, gen, settings.photometric)
                x = x.contiguous(memory_format=torch.channels_last)
                y = labels[idx]
                losses = F.cross_entropy(
                    net(x), y, weight=weight, label_smoothing=0.1, reduction="none"
                )  # flat crops (backdrop) teach nothing about a surface: not counted
                keep = textured.float()
                loss = (losses * keep).sum() / (weight[y] * keep).sum().clamp_min(1e-6)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                tick()
    return net.to(memory_format=torch.contiguous_format).eval()


@dataclass
class Features:
    """Penultimate-layer features and target-domain (B) probabilities of some images."""

    features: np.ndarray
    prob_b: np.ndarray


@torch.no_grad()
def embed(net: DomainNet, images: torch.Tensor, settings: ClassifierSettings) -> Features:
    """Each image's mirror-averaged features and target-domain probability; a patch
    classifier's are the means over the image's textured patches."""
    feats, probs = [], []
    for start in range(0, len(images), 64):
        batch = images[start : start + 64]
        if settings.patch:
            x, textured = patch_grid(batch, settings.size, settings.patch)
        else:
            x = view_input(batch, settings.view, settings.size)
            textured = torch.ones(len(batch), 1, dtype=torch.bool)
        f = (net.features(x) + net.features(x.flip(-1))) / 2  # mirror-averaged
        p = net.head(f).softmax(1)[:, 1]
        w = textured.float() / textured.sum(1, keepdim=True)  # (N, K), rows sum to 1
        feats.append(torch.einsum("nk,nkf->nf", w, f.view(*w.shape, -1)))
        probs.append((w * p.view(w.shape)).sum(1))
    return Features(torch.cat(feats).double().numpy(), torch.cat(probs).double().numpy())


# -- the cache -----------------------------------------------------------------------------
def files_digest(files: Sequence[Path], root: Path) -> str:
    """Hash of the relative names and bytes of ``files`` (the training data's identity)."""
    h = hashlib.sha256()
    for path in files:
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def cache_file(cache: Path, train_digest: str, settings: ClassifierSettings) -> Path:
    key = hashlib.sha256(f"{train_digest}\0{settings.key()}".encode()).hexdigest()[:24]
    return Path(cache) / f"{settings.view}-{settings.size}px-{key}.safetensors"


def _save(net: DomainNet, path: Path, meta: dict[str, str]) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        state = {k: v.contiguous() for k, v in net.state_dict().items()}
        save_file(state, str(tmp), metadata=meta)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _load(path: Path, settings: ClassifierSettings) -> DomainNet | None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    net = new_net(settings)
    try:
        net.load_state_dict(load_file(str(path)))
    except (SafetensorError, OSError, RuntimeError) as err:
        log.warning("ignoring unreadable domain classifier %s (%s); retraining", path, err)
        return None
    return net.eval()


def ensure_classifier(
    root: Path,
    settings: ClassifierSettings,
    cache: Path,
    *,
    progress: bool = False,
    trainer: Callable[..., DomainNet] | None = None,
) -> tuple[DomainNet, Path]:
    """The classifier of ``root``'s ``trainA``/``trainB`` for ``settings``: from the cache,
    else trained now (only on those two folders) and cached. Returns it and its file."""
    files_a, files_b = train_files(root)
    digest = files_digest(files_a + files_b, root)
    path = cache_file(cache, digest, settings)
    if path.is_file():
        net = _load(path, settings)
        if net is not None:
            return net, path
    started, cpu = time.perf_counter(), time.process_time()
    log.info("training the %s domain classifier on %s (cached as %s)", settings.view, root, path)
    with _progress(progress, f"loading {root.name} training images", len(files_a + files_b)) as t:
        images_a = load_folder(files_a, settings.size, t)
        images_b = load_folder(files_b, settings.size, t)
    net = (trainer or train_classifier)(images_a, images_b, settings, progress=progress)
    meta = {
        "settings": settings.key(),
        "train_digest": digest,
        "train_images": f"{len(files_a)},{len(files_b)}",
        "train_seconds": f"{time.perf_counter() - started:.1f}",
        "train_cpu_seconds": f"{time.process_time() - cpu:.1f}",
        "threads": str(torch.get_num_threads()),
    }
    _save(net, path, meta)
    return net, path


def train_files(root: Path) -> tuple[list[Path], list[Path]]:
    """The images of ``root/trainA`` and ``root/trainB``; one line when either is missing."""
    out = []
    for split in ("trainA", "trainB"):
        folder = Path(root) / split
        files = list_images(folder) if folder.is_dir() else []
        if len(files) < MIN_TRAIN:
            raise MetricError(
                f"the domain metric trains its classifiers on the dataset's training split, "
                f"and {folder} holds {len(files)} images (needs at least {MIN_TRAIN}); score "
                "with the dataset the model was trained on (data.root, or --data-root DIR)"
            )
        out.append(files)
    return out[0], out[1]


# -- distances -----------------------------------------------------------------------------
def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to the rows of ``x`` and ``y``."""
    mu_x, mu_y = x.mean(0), y.mean(0)
    cov_x, cov_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    # tr(sqrt(Cx Cy)) from the eigenvalues of sqrt(Cx) Cy sqrt(Cx) (symmetric, PSD)
    vals, vecs = np.linalg.eigh(cov_x)
    root_x = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    middle = np.linalg.eigvalsh(root_x @ cov_y @ root_x)
    trace_sqrt = np.sqrt(np.clip(middle, 0, None)).sum()
    value = ((mu_x - mu_y) ** 2).sum() + np.trace(cov_x) + np.trace(cov_y) - 2 * trace_sqrt
    return float(max(value, 0.0))


def kernel_distance(x: np.ndarray, y: np.ndarray) -> float:
    """KID: the unbiased MMD² with the cubic polynomial kernel ``(x·y / d + 1)³``
    (Bińkowski et al. 2018) between all rows of ``x`` and ``y``."""
    d = x.shape[1]
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    m, n = len(x), len(y)
    xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(xx + yy - 2 * k_xy.mean())


# -- the metric ----------------------------------------------------------------------------
_TARGET = {"a2b": ("testA", "testB", 1), "b2a": ("testB", "testA", 0)}
#: Real images per folder kept in memory between calls, keyed by folder content.
_LOADED: dict[tuple[str, int], torch.Tensor] = {}
#: ``domain_structure``'s floor (test inputs against unrelated target images), by content.
_FLOORS: dict[tuple[str, str], float] = {}
_WARNED: set[tuple[Path, float]] = set()


def _files_key(files: Sequence[Path]) -> str:
    """A key that changes when any of ``files`` is renamed, resized or rewritten."""
    h = hashlib.sha256()
    for p in files:
        st = p.stat()
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()


def _structure_floor(sources: Sequence[Path], targets: Sequence[Path]) -> float:
    """The same for every model and baseline scored on a test split: computed once."""
    key = (_files_key(sources), _files_key(targets))
    if key not in _FLOORS:
        _FLOORS[key] = structure_kept(unrelated_pairs(sources, targets))
    return _FLOORS[key]


def _cached_load(files: Sequence[Path], size: int) -> torch.Tensor:
    key = (_files_key(files), size)
    if key not in _LOADED:
        if len(_LOADED) > 16:
            _LOADED.clear()
        _LOADED[key] = load_folder(files, size)
    return _LOADED[key]


class DomainMetric:
    """Target-domain rate, Fréchet distance and KID from domain classifiers trained on the
    dataset's training split, in two views (``colour``, ``texture``); see the module."""

    #: ``translkit score`` shows the copy-input and colour-transfer baselines beside it.
    baselines = True

    def __init__(
        self,
        *,
        size: int = 96,
        width: int = 24,
        epochs: int = 24,
        seed: int = 0,
        photometric: float = 0.5,
        texture_size: int = 192,
        patch: int = 48,
        views: Sequence[View] = VIEWS,
        min_images: int = 10,
    ) -> None:
        unknown = [v for v in views if v not in VIEWS]
        if unknown or not views:
            raise ValueError(f"views must be among {VIEWS}, got {list(views)}")
        if not 0 < patch <= texture_size:
            raise ValueError(f"patch must be in [1, texture_size={texture_size}], got {patch}")
        common = {"width": width, "epochs": epochs, "seed": seed}
        by_view = {
            "colour": ClassifierSettings(view="colour", size=size, **common),
            "texture": ClassifierSettings(
                view="texture", size=texture_size, patch=patch, photometric=photometric, **common
            ),
        }
        self.settings = {v: by_view[v] for v in views}
        self.goals: dict[str, Literal["min", "max"]] = {}
        for v in views:
            self.goals.update(
                {f"domain_{v}_rate": "max", f"domain_{v}_fd": "min", f"domain_{v}_kid": "min"}
            )
        if len(self.settings) > 1:
            self.goals[BOTH_RATE] = "max"
        self.goals[STRUCTURE] = "max"
        self.goals.update(dict.fromkeys(KEPT.values(), "min"))
        self.goals[SPECTRAL_PEAK] = "min"
        self.goals[SPECTRAL_DISTANCE] = "min"
        #: Fewest images in each folder: a rate in steps of 10 points, a 10-sample covariance.
        self.min_images = min_images
        self.info: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"DomainMetric(views={list(self.settings)})"

    def prepare(self, inception_weights: Path | None) -> None:
        """Nothing to download: the classifiers are trained from the dataset itself."""

    def prepare_data(self, data_root: Path, cache_dir: Path, progress: bool = False) -> None:
        """Train (or find in the cache) each view's classifier now, before long work."""
        for settings in self.settings.values():
            ensure_classifier(
                Path(data_root), settings, Path(cache_dir) / "domain", progress=progress
            )

    def _files(self, folder: Path, role: str) -> list[Path]:
        files = list_images(folder) if folder.is_dir() else []
        if len(files) < self.min_images:
            where = "does not exist" if not folder.is_dir() else f"has {len(files)}"
            raise MetricError(
                f"metric 'domain' needs at least {self.min_images} images in the {role} "
                f"folder; {folder} {where}"
            )
        return files

    def __call__(self, inputs: MetricInputs) -> dict[str, float]:
        if inputs.data_root is None or inputs.direction not in _TARGET:
            raise MetricError(
                "metric 'domain' needs the dataset its classifiers learn from and the "
                "direction: score a run directory (`translkit score RUN -m domain`), or add "
                "--data-root DIR --direction a2b|b2a to --real/--fake"
            )
        root = Path(inputs.data_root)
        src_split, tgt_split, target = _TARGET[inputs.direction]
        train = train_files(root)[target]  # first: a missing training split is the error
        fake = self._files(Path(inputs.fake), "translated-image")
        real = self._files(Path(inputs.real), "real target-domain")
        test_src = self._files(root / src_split, "source test")
        test_tgt = self._files(root / tgt_split, "target test")
        # real-vs-real floor: as many target training images as there are translations
        pick = np.random.default_rng(0).permutation(len(train))[: len(fake)]
        floor_files = [train[i] for i in sorted(pick)]

        values: dict[str, float] = {}
        self.info = {"domain_images": float(len(fake))}
        # per view, which translated / real target images it assigns to the target domain
        fake_hits: list[np.ndarray] = []
        real_hits: list[np.ndarray] = []
        for view, settings in self.settings.items():
            net, path = ensure_classifier(
                root, settings, Path(inputs.cache_dir) / "domain", progress=inputs.progress
            )
            size = settings.size
            f_fake = embed(net, load_folder(fake, size), settings)
            f_real = embed(net, _cached_load(real, size), settings)
            f_floor = embed(net, _cached_load(floor_files, size), settings)
            p_src = embed(net, _cached_load(test_src, size), settings).prob_b
            p_tgt = embed(net, _cached_load(test_tgt, size), settings).prob_b

            def hits(p: np.ndarray, label: int) -> np.ndarray:
                return (p >= 0.5) if label == 1 else (p < 0.5)

            accuracy = float(np.concatenate([hits(p_src, 1 - target), hits(p_tgt, target)]).mean())
            name = f"domain_{view}"
            fake_hits.append(hits(f_fake.prob_b, target))
            real_hits.append(hits(f_real.prob_b, target))
            values[f"{name}_rate"] = float(fake_hits[-1].mean())
            values[f"{name}_fd"] = frechet_distance(f_fake.features, f_real.features)
            values[f"{name}_kid"] = kernel_distance(f_fake.features, f_real.features)
            self.info[f"{name}_rate@real"] = float(real_hits[-1].mean())
            self.info[f"{name}_fd@real"] = frechet_distance(f_floor.features, f_real.features)
            self.info[f"{name}_kid@real"] = kernel_distance(f_floor.features, f_real.features)
            self.info[f"{name}_accuracy@real"] = accuracy
            if accuracy < TRUST[view]:
                self.info[f"{name}_untrusted"] = 1.0
            if accuracy < TRUST[view] and (path, accuracy) not in _WARNED:
                _WARNED.add((path, accuracy))  # once per classifier and test split
                log.warning(
                    "the %s domain classifier is right on %.1f %% of the real test images "
                    "(below %.0f %%): its numbers are untrustworthy",
                    view,
                    100 * accuracy,
                    100 * TRUST[view],
                )
        if len(fake_hits) > 1:  # an image fools the pair only if it fools every view
            values[BOTH_RATE] = float(np.logical_and.reduce(fake_hits).mean())
            self.info[f"{BOTH_RATE}@real"] = float(np.logical_and.reduce(real_hits).mean())
        values.update(self._spectral(fake, real, floor_files))
        pairs = pair_by_stem(fake, test_src)
        self.info["domain_structure_pairs"] = float(len(pairs))
        if len(pairs) >= self.min_images:  # translations named after their inputs
            values[STRUCTURE] = structure_kept(pairs)
            self.info[f"{STRUCTURE}@real"] = _structure_floor(test_src, test_tgt)
            for mask, (change, images, share) in changes(pairs, tuple(KEPT)).items():
                key = KEPT[mask]
                self.info[f"{key}_images"], self.info[f"{key}_share"] = float(images), share
                if change is not None and images >= self.min_images:
                    values[key] = change
        return values

    def _spectral(
        self, fake: Sequence[Path], real: Sequence[Path], floor: Sequence[Path]
    ) -> dict[str, float]:
        """The spectral numbers, with the real photos' own peak and the real-vs-real distance
        beside them."""
        side = common_side(fake, real, floor)
        f_fake, f_real = power_spectra(fake, side), power_spectra(real, side)
        self.info[f"{SPECTRAL_PEAK}@real"] = float(peak_scores(f_real).mean())
        floor_spectra = power_spectra(floor, side)
        self.info[f"{SPECTRAL_DISTANCE}@real"] = spectrum_distance(floor_spectra, f_real)
        return {
            SPECTRAL_PEAK: float(peak_scores(f_fake).mean()),
            SPECTRAL_DISTANCE: spectrum_distance(f_fake, f_real),
        }
