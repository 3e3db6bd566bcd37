"""Built-in metrics: torch-fidelity's IS/FID/KID/PRC, ground-truth PSNR/SSIM/L1, and the
offline domain-classifier metrics (``domain``).

Each factory returns a :class:`translkit.contracts.Metric`; result keys are the
``KEY_*`` constants of :mod:`translkit.contracts`. See ``docs/scoring.md``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import translkit
from translkit.bounds import Range
from translkit.registry import Registries

__all__ = ["domain", "fid", "inception_score", "kid", "l1", "prc", "psnr", "ssim"]


def inception_score(splits: Annotated[int, Range(min=1)] = 10, seed: int = 2020):
    """Inception Score of the translated images (torch-fidelity; ≥ 2 images per split)."""
    from translkit_plugins._fidelity import FidelityMetric

    return FidelityMetric("is", is_splits=splits, seed=seed)


def fid():
    """Fréchet Inception Distance, translated vs real target images (torch-fidelity)."""
    from translkit_plugins._fidelity import FidelityMetric

    return FidelityMetric("fid")


def kid(
    subsets: Annotated[int, Range(min=1)] = 100,
    subset_size: Annotated[int, Range(min=2)] = 1000,
    seed: int = 2020,
):
    """Kernel Inception Distance (torch-fidelity; subset size ≤ image count)."""
    from translkit_plugins._fidelity import FidelityMetric

    return FidelityMetric("kid", kid_subsets=subsets, kid_subset_size=subset_size, seed=seed)


def prc(extractor: Literal["vgg16", "inception"] = "vgg16"):
    """Precision, recall and F-score of Kynkäänniemi et al. (torch-fidelity)."""
    from translkit_plugins._fidelity import FidelityMetric

    return FidelityMetric("prc", extractor=extractor)


def psnr():
    """PSNR (dB) of each translation against its ground-truth twin (higher is better)."""
    from translkit_plugins._truth import TruthMetric

    return TruthMetric("psnr")


def ssim():
    """SSIM (Wang et al. 2004) of each translation against its ground-truth twin."""
    from translkit_plugins._truth import TruthMetric

    return TruthMetric("ssim")


def l1():
    """Mean absolute error on [0, 1] against the ground-truth twin (lower is better)."""
    from translkit_plugins._truth import TruthMetric

    return TruthMetric("l1")


def domain(
    size: Annotated[int, Range(min=32, max=512)] = 96,
    width: Annotated[int, Range(min=4, max=256)] = 24,
    epochs: Annotated[int, Range(min=1, max=1000)] = 24,
    seed: int = 0,
    min_images: Annotated[int, Range(min=2)] = 10,
    photometric: Annotated[float, Range(min=0, max=2)] = 0.5,
    texture_size: Annotated[int, Range(min=16, max=1024)] = 192,
    patch: Annotated[int, Range(min=8, max=1024)] = 64,
    texture_epochs: Annotated[int, Range(min=1, max=1000)] = 48,
):
    """Offline: target-domain rate, FD and KID of classifiers trained on the training split.

    ``size`` and ``epochs``: the colour view's image side and training length;
    ``texture_size`` and ``texture_epochs``: the texture view's, which judges
    ``patch``-sided patches of its image (the surface, not the garment's shape)."""
    from translkit_plugins._domain import DomainMetric

    return DomainMetric(
        size=size,
        width=width,
        epochs=epochs,
        seed=seed,
        min_images=min_images,
        photometric=photometric,
        texture_size=texture_size,
        patch=patch,
        texture_epochs=texture_epochs,
    )


@translkit.hookimpl
def translkit_register(registry: Registries) -> None:
    for name, factory in (
        ("is", inception_score),
        ("fid", fid),
        ("kid", kid),
        ("prc", prc),
        ("psnr", psnr),
        ("ssim", ssim),
        ("l1", l1),
        ("domain", domain),
    ):
        registry.metrics.add(name, factory)
