"""Unpaired image folders (``trainA/ trainB/ testA/ testB/``), as Zhu et al.'s unaligned dataset.

An epoch has as many pairs as the larger domain. A is visited in a seeded, per-epoch
shuffled order (cycling when A is the smaller domain); each A image is paired with a B
image drawn at random. The pair sequence and every augmentation are pure functions of
``(seed, epoch, position)``: the batches are the same whatever ``num_workers``,
``world_size`` or ``skip_batches``, so a resumed or a multi-process run sees exactly the
global batches a single uninterrupted process would. Global batch ``t`` is
``pairs[t*B:(t+1)*B]``; rank ``r`` of ``W`` takes the contiguous slice
``[r*B/W:(r+1)*B/W]`` of it.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from translkit.data.io import SPLITS, inspect_image, list_images, load_rgb
from translkit.data.transforms import ImageTransform, check_sizes, draft_size
from translkit.errors import DataError
from translkit.recipe import DataSection
from translkit.threads import loader_workers

__all__ = [
    "TestImages",
    "TrainLoader",
    "UnpairedPairs",
    "build_test_dataset",
    "build_train_loader",
    "check_trainable",
    "epoch_pairs",
    "item_seed",
]

_MAX_NAMED = 20  # unreadable files named in one error message


# -- dataset checks ----------------------------------------------------------------------
def check_trainable(root: Path | str, data: DataSection, *, batch_size: int = 1) -> None:
    """Refuse, before training starts, a dataset that would fail later.

    Raises :class:`DataError` for a missing or empty ``trainA``/``trainB``, a training
    domain with fewer images than one batch (as ``translkit data check --batch-size``
    does), an empty ``testA``/``testB`` (when present), or any image that cannot be
    decoded (each named). Images are decoded at reduced scale on a few threads, so this
    takes seconds.
    """
    root = Path(root)
    check_sizes(data.resize, data.load_size, data.crop_size)
    problems: list[str] = []
    paths: list[Path] = []
    for split in SPLITS:
        folder = root / split
        if not folder.is_dir():
            if split.startswith("train"):
                problems.append(f"{split}/ is missing")
            continue
        found = list_images(folder)
        if not found:
            problems.append(f"{split}/ holds no images")
        elif split.startswith("train") and len(found) < batch_size:
            problems.append(
                f"{split}/ holds {len(found)} image(s), fewer than one batch "
                f"(optim.batch_size = {batch_size})"
            )
        paths.extend(found)
    bad = _unreadable(paths, draft=min(64, data.crop_size))
    if bad:
        named = [f"{p.relative_to(root)} ({why})" for p, why in bad[:_MAX_NAMED]]
        more = f" and {len(bad) - _MAX_NAMED} more" if len(bad) > _MAX_NAMED else ""
        problems.append(f"{len(bad)} unreadable image(s): {', '.join(named)}{more}")
    if problems:
        raise DataError(
            f"dataset {root} cannot be trained on: {'; '.join(problems)}. Fix these (remove "
            f"or re-export unreadable files); `translkit data check {root}` gives a full report"
        )


def _unreadable(paths: list[Path], draft: int) -> list[tuple[Path, str]]:
    def probe(path: Path) -> tuple[Path, str | None]:
        return path, inspect_image(path, draft=draft)[2]

    with ThreadPoolExecutor(max_workers=4) as pool:
        return [(p, why) for p, why in pool.map(probe, paths) if why is not None]


def _domain_images(root: Path, split: str) -> list[Path]:
    folder = root / split
    if not folder.is_dir():
        raise DataError(f"dataset {root} has no {split}/ folder (data.root = {root})")
    paths = list_images(folder)
    if not paths:
        raise DataError(f"{folder} holds no images (data.root = {root})")
    return paths


def _transform(data: DataSection, *, train: bool) -> ImageTransform:
    return ImageTransform(
        resize=data.resize,
        load_size=data.load_size,
        crop_size=data.crop_size,
        train=train,
        flip=data.flip,
        rotation=data.rotation,
    )


# -- pairing and seeding -----------------------------------------------------------------
def item_seed(*values: int) -> int:
    """A 63-bit seed mixed from integers (``seed, epoch, position, stream``)."""
    entropy = [int(v) & 0xFFFFFFFFFFFFFFFF for v in values]
    state = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def epoch_pairs(n_a: int, n_b: int, *, seed: int, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The epoch's ``(a_index, b_index)`` sequence; its length is ``max(n_a, n_b)``."""
    length = max(n_a, n_b)
    g = torch.Generator().manual_seed(item_seed(seed, epoch, 0x5EED))
    order = torch.randperm(length, generator=g)
    return order % n_a, torch.randint(n_b, (length,), generator=g)


class UnpairedPairs(Dataset):
    """Map-style dataset over one epoch's global pair positions.

    Item ``i`` is ``{"A": Tensor(3,S,S), "B": Tensor(3,S,S)}`` for pair ``i``; the
    random augmentation of each side is seeded by ``(seed, epoch, i, side)``.
    """

    def __init__(
        self,
        paths_a: list[Path],
        paths_b: list[Path],
        transform: ImageTransform,
        *,
        seed: int,
        epoch: int,
    ) -> None:
        self.paths_a, self.paths_b = paths_a, paths_b
        self.transform, self.seed, self.epoch = transform, seed, epoch
        self.a_index, self.b_index = epoch_pairs(len(paths_a), len(paths_b), seed=seed, epoch=epoch)
        self.draft = draft_size(transform.resize, transform.load_size, transform.crop_size)

    def __len__(self) -> int:
        return len(self.a_index)

    def _image(self, path: Path, position: int, side: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(item_seed(self.seed, self.epoch, position, side))
        return self.transform(load_rgb(path, draft=self.draft), g)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        a = self._image(self.paths_a[int(self.a_index[i])], i, 1)
        b = self._image(self.paths_b[int(self.b_index[i])], i, 2)
        return {"A": a, "B": b}


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)  # workers decode; intra-op threads would oversubscribe
    # A stop signal sent to the whole process group (Ctrl-C in a terminal, `timeout`,
    # a batch scheduler) is the main process's to handle: it checkpoints and closes the
    # loader, and the workers exit with it. A worker dying of SIGTERM first would make
    # torch raise "DataLoader worker ... killed by signal" before that checkpoint.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class TrainLoader:
    """One epoch of training batches for one rank.

    ``len()`` is the number of batches in a full epoch; iteration starts at batch
    ``skip_batches`` and so yields ``len() - skip_batches`` batches.
    """

    def __init__(
        self,
        dataset: UnpairedPairs,
        *,
        batch_size: int,
        rank: int,
        world_size: int,
        skip_batches: int,
        num_workers: int,
        pin_memory: bool,
    ) -> None:
        self.dataset = dataset
        self.batch_size, self.rank, self.world_size = batch_size, rank, world_size
        self.skip_batches, self.num_workers, self.pin_memory = skip_batches, num_workers, pin_memory
        self.batches_per_epoch = len(dataset) // batch_size

    def __len__(self) -> int:
        return self.batches_per_epoch

    def batch_positions(self) -> list[list[int]]:
        """Global pair positions of this rank's batches, from ``skip_batches`` on."""
        per = self.batch_size // self.world_size
        lo = self.rank * per
        return [
            list(range(t * self.batch_size + lo, t * self.batch_size + lo + per))
            for t in range(self.skip_batches, self.batches_per_epoch)
        ]

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        # a private generator: without one, every new iterator draws its base seed from
        # torch's global RNG, so a mid-epoch resume (one extra iterator) would shift the
        # random numbers the training step draws (patch sampling, dropout, WGAN-GP mixing)
        seed = item_seed(self.dataset.seed, self.dataset.epoch, self.rank, 0x10ADE2)
        loader: DataLoader[Any] = DataLoader(
            self.dataset,
            batch_sampler=self.batch_positions(),
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            worker_init_fn=_worker_init if self.num_workers else None,
            generator=torch.Generator().manual_seed(seed),
        )
        yield from loader


def build_train_loader(
    data: DataSection,
    *,
    batch_size: int,
    seed: int,
    epoch: int,
    rank: int = 0,
    world_size: int = 1,
    skip_batches: int = 0,
    pin_memory: bool = False,
) -> TrainLoader:
    """Training batches ``{"A": (n,3,S,S), "B": (n,3,S,S)}`` in [−1, 1] for one epoch.

    :param batch_size: the global batch; each rank gets ``batch_size // world_size``.
    :param seed: the run seed; with ``epoch`` it fixes pairs and augmentation.
    :param rank: this process's rank in ``range(world_size)``.
    :param skip_batches: start the epoch at this batch (mid-epoch resume).
    :param pin_memory: pin host memory (CUDA training).
    """
    if batch_size < 1 or world_size < 1 or batch_size % world_size:
        raise DataError(
            f"the global batch size ({batch_size}) must be a positive multiple of the "
            f"number of processes ({world_size}); change optim.batch_size or --nproc"
        )
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} outside range({world_size})")
    root = Path(data.root).expanduser()
    paths_a, paths_b = _domain_images(root, "trainA"), _domain_images(root, "trainB")
    dataset = UnpairedPairs(paths_a, paths_b, _transform(data, train=True), seed=seed, epoch=epoch)
    if len(dataset) < batch_size:
        raise DataError(
            f"{root}: an epoch has {len(dataset)} pairs, fewer than optim.batch_size "
            f"({batch_size}); lower the batch size or add images"
        )
    loader = TrainLoader(
        dataset,
        batch_size=batch_size,
        rank=rank,
        world_size=world_size,
        skip_batches=skip_batches,
        num_workers=loader_workers(data.num_workers),  # within this process's cores
        pin_memory=pin_memory,
    )
    if not 0 <= skip_batches <= loader.batches_per_epoch:
        raise ValueError(f"skip_batches {skip_batches} outside 0..{loader.batches_per_epoch}")
    return loader


class TestImages(Dataset):
    """One test domain with the deterministic evaluation transform.

    Items are ``{"image": Tensor(3,S,S) in [-1,1], "path": str}`` in sorted path order.
    """

    __test__ = False  # not a pytest class

    def __init__(self, paths: list[Path], transform: ImageTransform) -> None:
        self.paths, self.transform = paths, transform
        self.draft = draft_size(transform.resize, transform.load_size, transform.crop_size)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> dict[str, Any]:
        path = self.paths[i]
        return {"image": self.transform(load_rgb(path, draft=self.draft)), "path": str(path)}


def build_test_dataset(data: DataSection, domain: str) -> TestImages:
    """The ``testA`` (``domain="A"``) or ``testB`` images, resized and centre-cropped."""
    if domain not in ("A", "B"):
        raise ValueError(f"domain must be 'A' or 'B', got {domain!r}")
    root = Path(data.root).expanduser()
    return TestImages(_domain_images(root, f"test{domain}"), _transform(data, train=False))
