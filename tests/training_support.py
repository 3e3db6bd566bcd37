"""Helpers shared by the training tests: a tiny synthetic dataset and tiny recipes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import translkit
from translkit.recipe import Recipe, recipe_from_dict, resolve_recipe


def make_data(root: Path, *, size: int = 32, train: int = 4, test: int = 2) -> Path:
    """A small synthetic leather↔denim dataset (real `translkit.data` generator)."""
    from translkit.data.synthetic import make_synthetic

    if not root.exists():
        make_synthetic(root, size=size, train=train, test=test, seed=0)
    return root


def tiny_recipe(
    tmp_path: Path, *, name: str = "run", replace: tuple[str, ...] = (), **sections: Any
) -> Recipe:
    """A resolved recipe with tiny built-in networks at 32 px; ``sections`` update keys
    (``None`` drops a section, e.g. ``loss=None`` for a method without an identity slot;
    the sections named in ``replace`` are replaced instead of updated)."""
    data_root = make_data(tmp_path / "data")
    raw: dict[str, Any] = {
        "run": {
            "name": name,
            "output_dir": str(tmp_path / "runs"),
            "seed": 3,
            "deterministic": True,
        },
        "data": {"root": str(data_root), "load_size": 32, "crop_size": 32, "resize": "square"},
        "generator": {"name": "resnet", "n_blocks": 1, "ngf": 4, "norm": "instance"},
        "discriminator": {"name": "patchgan", "ndf": 4, "n_layers": 2},
        "loss": {"identity": {"name": "identity", "weight": 5.0}},
        "optim": {"epochs": 2, "batch_size": 2, "lr": 2e-4, "schedule": "linear"},
        "train": {
            "device": "cpu",
            "pool_size": 4,
            "log_every": 1,
            "sample_every": 2,
            "tensorboard": False,
        },
        "eval": {"every": 1, "num_samples": 2},
    }
    for section, values in sections.items():
        if values is None:
            raw.pop(section, None)
        elif (
            isinstance(values, dict)
            and isinstance(raw.get(section), dict)
            and (section not in replace)
        ):
            raw[section] = {**raw[section], **values}
        else:
            raw[section] = values
    return resolve_recipe(recipe_from_dict(raw, source="<tiny>"), translkit.get_registry())
