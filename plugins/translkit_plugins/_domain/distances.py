"""Fréchet distance and KID between two sets of features, with torch-fidelity's maths.

FD is torch-fidelity's (the statistics of each set, then ``fid_statistics_to_metric``).
KID uses its cubic polynomial kernel (``kernel_poly``: ``(x·y / d + 1)³``); its estimator
``mmd2`` needs two sets of one size, and the translations and the real test images of a
split need not be, so the unbiased MMD² over all pairs is written out here.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["frechet_distance", "kernel_distance"]


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to the rows of ``x`` and ``y`` (never
    below zero, which rounding could otherwise give for two equal sets)."""
    from torch_fidelity.metric_fid import (
        KEY_METRIC_FID,
        fid_features_to_statistics,
        fid_statistics_to_metric,
    )

    stats = [fid_features_to_statistics(torch.from_numpy(np.asarray(f))) for f in (x, y)]
    value = fid_statistics_to_metric(*stats, verbose=False)[KEY_METRIC_FID]
    return float(max(value, 0.0))


def kernel_distance(x: np.ndarray, y: np.ndarray) -> float:
    """KID: the unbiased MMD² with the cubic polynomial kernel ``(x·y / d + 1)³``
    (Bińkowski et al. 2018) between all rows of ``x`` and ``y``."""
    from torch_fidelity.metric_kid import kernel_poly

    k_xx, k_yy, k_xy = (kernel_poly(a, b) for a, b in ((x, x), (y, y), (x, y)))
    m, n = len(x), len(y)
    xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(xx + yy - 2 * k_xy.mean())
