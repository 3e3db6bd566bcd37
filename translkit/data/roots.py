"""A recipe's dataset root: use it when present, else install the dataset ``[data]`` names.

``data.dataset`` names a registered dataset (``translkit list datasets``); a missing root
is then installed through :func:`translkit.data.install.install` — generated locally, or
downloaded when the caller allows it (``translkit run`` does unless ``--no-download``).
The older keys ``data.synthetic`` / ``synthetic_*`` name the built-in synthetic benchmark;
``synthetic_*`` (with ``load_size`` as the image size) become the options of both generated
benchmarks, ``synthetic`` and ``synthetic_recolor``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from translkit.data.download import format_bytes
from translkit.data.install import create_source, install
from translkit.errors import DataError
from translkit.recipe import DataSection

__all__ = ["SYNTHETIC", "SYNTHETIC_DATASETS", "dataset_request", "ensure_dataset"]

#: The dataset the legacy ``data.synthetic`` recipe key names.
SYNTHETIC = "synthetic"
#: The generated benchmarks the ``data.synthetic_*`` keys configure.
SYNTHETIC_DATASETS = (SYNTHETIC, "synthetic_recolor")
_TRAIN = ("trainA", "trainB")


def dataset_request(data: DataSection) -> tuple[str, dict[str, Any]] | None:
    """The registered dataset ``data`` names and the options for its factory, or ``None``."""
    if data.synthetic or data.dataset in SYNTHETIC_DATASETS:
        return data.dataset or SYNTHETIC, {
            "size": data.load_size,
            "train": data.synthetic_train,
            "test": data.synthetic_test,
            "seed": data.synthetic_seed,
        }
    if data.dataset:
        return data.dataset, {}
    return None


def ensure_dataset(
    data: DataSection,
    *,
    registries: Any,
    download: bool = False,
    console: Console | None = None,
) -> Path:
    """Return the dataset root, installing the dataset ``data`` names there if it is missing.

    Generated datasets (the synthetic benchmark) are always made; downloads happen only
    with ``download=True``. Otherwise a missing root, or one without ``trainA``/``trainB``,
    is a :class:`DataError` that says how to fix it.

    :param registries: where ``data.dataset`` is looked up.
    """
    root = Path(data.root).expanduser()
    if all((root / s).is_dir() for s in _TRAIN):
        return root
    request = dataset_request(data)
    empty = not root.exists() or (root.is_dir() and not any(root.iterdir()))
    if request is None:
        _missing(root)
    name, options = request  # type: ignore[misc]
    if not empty:
        raise DataError(
            f"dataset root {root} (data.root) has no trainA/ and trainB/ but is not empty, so "
            f"dataset {name} is not installed there; empty or remove it, or point data.root "
            "elsewhere"
        )
    source = create_source(registries, name, options)
    if source.kind == "generate" or download:
        return install(source, root, console=console)
    raise DataError(
        f"dataset root {root} (data.root) does not exist; download dataset {name} "
        f"({format_bytes(source.download_size)}) with `translkit data download {name} --root "
        f"{root}` (`translkit run` does so itself unless --no-download)"
    )


def _missing(root: Path) -> None:
    how = (
        "point data.root at a folder holding trainA/, trainB/, testA/, testB/, name a "
        "registered dataset with data.dataset (`translkit list datasets`), or build one with "
        "`translkit data deepfashion` (or `translkit data synth`)"
    )
    if not root.is_dir():
        raise DataError(f"dataset root {root} (data.root) does not exist; {how}")
    missing = [s for s in _TRAIN if not (root / s).is_dir()]
    raise DataError(f"dataset root {root} has no {' or '.join(missing)} folder; {how}")
