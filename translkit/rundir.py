"""What every run directory records about itself: the resolved recipe and the environment."""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from translkit.fileio import write_text_atomic
from translkit.plugins import load_plugins
from translkit.precision import cpu_info
from translkit.recipe import Recipe

__all__ = ["ENVIRONMENT_FILE", "RECIPE_FILE", "environment_info", "write_run_metadata"]

RECIPE_FILE = "recipe.resolved.toml"
ENVIRONMENT_FILE = "environment.json"
_PACKAGES = (
    "translkit",
    "torch",
    "torchvision",
    "timm",
    "torch-fidelity",
    "pluggy",
    "numpy",
    "pillow",
)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def environment_info(plugin_modules: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """Python, package and plugin versions, and the compute device."""
    import torch

    loaded = load_plugins(tuple(plugin_modules))
    cuda = torch.cuda.is_available()
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {p: _version(p) for p in _PACKAGES},
        "plugins": [
            {
                "name": p.name,
                "distribution": p.distribution,
                "version": p.version,
                "registered": loaded.registered_by(p.name),
            }
            for p in loaded.plugins
        ],
        "device": torch.cuda.get_device_name(0) if cuda else platform.processor() or "cpu",
        "cuda": torch.version.cuda if cuda else None,
        "cpu": cpu_info().to_dict(),
        "cpu_threads": torch.get_num_threads(),
    }


def write_run_metadata(
    run_dir: str | Path, recipe: Recipe, *, precision: dict[str, str] | None = None
) -> None:
    """Write ``recipe.resolved.toml`` and ``environment.json`` into ``run_dir``.

    :param precision: the precision the run chose and why (``Choice.to_dict()``).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    header = f"# resolved from {recipe.source}; every default filled in\n"
    write_text_atomic(run_dir / RECIPE_FILE, header + recipe.to_toml())
    info = environment_info(recipe.plugins)
    if precision is not None:
        info["precision"] = precision
    write_text_atomic(run_dir / ENVIRONMENT_FILE, json.dumps(info, indent=2) + "\n")
