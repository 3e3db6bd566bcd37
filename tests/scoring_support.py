"""Helpers shared by the metrics, score, translate, export and report tests.

Nothing here touches the network or ../shared: images, checkpoints, run directories and
a random InceptionV3 weights file are built in temporary folders.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from translkit_plugins.inception import write_random_weights

from translkit import get_registry
from translkit.artifacts import GENERATORS_FORMAT, TRAINING_FORMAT, save_checkpoint
from translkit.recipe import recipe_from_dict, resolve_recipe

_WEIGHTS: Path | None = None


def inception_weights() -> Path:
    """A randomly initialised (Kaiming) torch-fidelity InceptionV3 file, once per process."""
    global _WEIGHTS
    if _WEIGHTS is None or not _WEIGHTS.is_file():
        folder = Path(tempfile.mkdtemp(prefix="translkit-test-inception-"))
        _WEIGHTS = write_random_weights(folder / "inception.pth", seed=0)
    return _WEIGHTS


def write_images(
    folder: Path,
    n: int,
    size: tuple[int, int] | list[tuple[int, int]] = (32, 32),
    *,
    seed: int = 0,
    bias: int = 0,
    suffix: str = ".png",
) -> list[Path]:
    """``n`` random RGB images (width, height) named ``000.png`` ...; ``bias`` shifts colours."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sizes = size if isinstance(size, list) else [size] * n
    paths = []
    for i in range(n):
        w, h = sizes[i % len(sizes)]
        arr = rng.integers(0, 256 - bias, (h, w, 3)) + bias
        path = folder / f"{i:03d}{suffix}"
        Image.fromarray(arr.astype(np.uint8)).save(path)
        paths.append(path)
    return paths


def generator_spec(name: str = "resnet_6blocks", seed: int = 0, **options: Any) -> dict[str, Any]:
    """``{"name", "options", "state_dict"}`` of a freshly initialised registered generator."""
    if name.startswith(("resnet", "unet")):
        options.setdefault("ngf", 8)
    torch.manual_seed(seed)
    net = get_registry().generators.create(name, **options)
    return {"name": name, "options": options, "state_dict": net.state_dict()}


def generators_checkpoint(path: Path, name: str = "resnet_6blocks", **options: Any) -> Path:
    """A ``translkit.generators/1`` file (the format imports and exports use)."""
    specs = {d: generator_spec(name, seed=i, **options) for i, d in enumerate(("a2b", "b2a"))}
    obj = {"format": GENERATORS_FORMAT, "generators": specs, "meta": {"test": "1"}}
    return save_checkpoint(obj, path)


def make_run_dir(
    run_dir: Path, data_root: Path, *, metrics: list[str] | None = None, weights: str = ""
) -> Path:
    """A run directory by hand: resolved recipe and a ``translkit.training/1`` latest.pt."""
    raw = {
        "run": {"name": run_dir.name, "output_dir": str(run_dir.parent)},
        "data": {"root": str(data_root)},
        "generator": {"name": "resnet_6blocks", "ngf": 4},
        "eval": {"metrics": metrics or [], "inception_weights": weights},  # its old name
    }
    recipe = resolve_recipe(recipe_from_dict(raw), get_registry())
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "recipe.resolved.toml").write_text(recipe.to_toml())
    reg = get_registry()
    torch.manual_seed(0)
    models = {
        k: reg.generators.create("resnet_6blocks", ngf=4).state_dict() for k in ("G_AB", "G_BA")
    }
    ckpt = {
        "format": TRAINING_FORMAT,
        "recipe": recipe.to_dict(),
        "models": models,
        "epoch": 1,
        "step": 10,
    }
    save_checkpoint(ckpt, run_dir / "checkpoints" / "latest.pt")
    return run_dir


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
