"""Training a domain classifier on a dataset's two training folders (never its test split)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F

from translkit_plugins._domain.classifier import (
    FLAT,
    ClassifierSettings,
    DomainNet,
    View,
    _grey,
    _standardise,
    new_net,
)
from translkit_plugins._structure import LUMA as _LUMA

__all__ = ["PATCHES_PER_IMAGE", "progress_bar", "train_classifier"]

#: Patches per image in each training step of a patch classifier.
PATCHES_PER_IMAGE = 4


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


@contextlib.contextmanager
def progress_bar(enabled: bool, description: str, total: int) -> Iterator[Callable[[], None]]:
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
    with progress_bar(progress, f"training the {settings.view} domain classifier", total) as tick:
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
