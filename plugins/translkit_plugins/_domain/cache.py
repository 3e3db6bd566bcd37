"""Where trained classifiers are kept (safetensors files keyed by the training data's
content and the settings) and what one scoring call keeps in memory."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from translkit.data.io import list_images
from translkit.errors import MetricError
from translkit_plugins._domain import training
from translkit_plugins._domain.classifier import ClassifierSettings, DomainNet, load_folder, new_net

__all__ = [
    "MIN_TRAIN",
    "MemoryCache",
    "cache_file",
    "ensure_classifier",
    "files_digest",
    "train_files",
]

log = logging.getLogger("translkit.metrics")

#: Images per domain a classifier needs to train on at all.
MIN_TRAIN = 8


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
    total = len(files_a) + len(files_b)
    with training.progress_bar(progress, f"loading {root.name} training images", total) as t:
        images_a = load_folder(files_a, settings.size, t)
        images_b = load_folder(files_b, settings.size, t)
    net = (trainer or training.train_classifier)(images_a, images_b, settings, progress=progress)
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


def files_key(files: Sequence[Path]) -> str:
    """A key that changes when any of ``files`` is renamed, resized or rewritten."""
    h = hashlib.sha256()
    for p in files:
        st = p.stat()
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()


class MemoryCache:
    """What a metric keeps in memory between its calls (a model, its baselines, both
    directions, a run's evaluations): images loaded per folder content and side, and
    values computed once per set of folders. Held by the metric that uses it."""

    def __init__(self, max_folders: int = 16) -> None:
        self.max_folders = max_folders
        self._images: dict[tuple[str, int], torch.Tensor] = {}
        self._values: dict[tuple[str, ...], float] = {}

    def images(self, files: Sequence[Path], size: int) -> torch.Tensor:
        """:func:`load_folder` of ``files``, loaded once."""
        key = (files_key(files), size)
        if key not in self._images:
            if len(self._images) >= self.max_folders:
                self._images.clear()
            self._images[key] = load_folder(files, size)
        return self._images[key]

    def value(
        self, name: str, folders: Sequence[Sequence[Path]], compute: Callable[[], float]
    ) -> float:
        """``compute()`` for ``name`` and the content of ``folders``, computed once."""
        key = (name, *(files_key(files) for files in folders))
        if key not in self._values:
            self._values[key] = compute()
        return self._values[key]
