"""Datasets for unpaired translation: image folders, registered datasets (downloaded or
generated), the synthetic benchmark, DeepFashion.

The training engine uses :func:`ensure_dataset`, :func:`check_trainable`,
:func:`build_train_loader` and :func:`build_test_dataset`; the ``translkit data``
commands wrap :func:`install` (of :func:`create_source`'s dataset), :func:`make_synthetic`,
:func:`build_deepfashion` and :func:`check_dataset`.
"""

from __future__ import annotations

from translkit.data.install import create_source, install
from translkit.data.io import IMAGE_EXTENSIONS, SPLITS, list_images, load_rgb, to_rgb
from translkit.data.roots import ensure_dataset
from translkit.data.synthetic import make_synthetic
from translkit.data.transforms import ImageTransform
from translkit.data.unpaired import (
    TestImages,
    TrainLoader,
    UnpairedPairs,
    build_test_dataset,
    build_train_loader,
    check_trainable,
    epoch_pairs,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "SPLITS",
    "ImageTransform",
    "TestImages",
    "TrainLoader",
    "UnpairedPairs",
    "build_test_dataset",
    "build_train_loader",
    "check_trainable",
    "create_source",
    "ensure_dataset",
    "epoch_pairs",
    "install",
    "list_images",
    "load_rgb",
    "make_synthetic",
    "to_rgb",
]
