"""What the demo runs: a checkpoint, run directory or exported app folder → translators.

:func:`load_demo_model` is the one place that turns what the user named into one
:class:`~translkit.inference.translate.Translator` per direction plus a description of
the model for the page. Nothing read from a file decides what is imported: the caller
passes the registries (the CLI builds them with :func:`translkit.get_registry`).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from translkit.artifacts import DemoApp, Generators, TrainingSnapshot, read_generators
from translkit.data.io import TEST_SPLITS, list_images, load_rgb
from translkit.errors import CheckpointError, DataError, TranslkitError
from translkit.inference.files import check_resize
from translkit.inference.translate import Precision, Translator
from translkit.networks import DIRECTIONS, pick_direction
from translkit.pretrained import load_generators
from translkit.registry import Registries
from translkit.rundir import RunDir

__all__ = [
    "APP_FORMAT",
    "APP_MODEL_FILE",
    "choose_directions",
    "describe",
    "load_demo_model",
    "load_examples",
]

#: The description an exported app folder carries (see :mod:`translkit.demo.export`).
APP_MODEL_FILE = "model.json"
APP_FORMAT = DemoApp.FAMILY + "/" + str(DemoApp.VERSION)


def load_demo_model(
    source: str | Path,
    registries: Registries,
    *,
    directions: list[str] | tuple[str, ...] = (),
    device: str = "auto",
    precision: Precision = "auto",
    tile: int = 1024,
    overlap: int = 32,
    batch_size: int = 8,
    resize: int | None = None,
) -> tuple[dict[str, Translator], dict[str, Any]]:
    """Translators per direction and the model's description, from what the user named.

    :param source: anything :func:`translkit.load_generators` opens (a training
        or generators checkpoint, a ``.safetensors`` export, a run directory — its
        ``checkpoints/best.pt``, else ``latest.pt``), a folder written by
        ``translkit demo --export``, or a registered model's name (a path that exists wins).
    :param registries: where generator names are looked up (nothing is imported).
    :param directions: the directions to serve (default: every one the model has).
    :param resize: uploads are scaled down to this shorter side before translating
        (:func:`~translkit.inference.files.scale_down`); ``None``: a registered model's
        ``input_size`` (an exported app's recorded one), else 0.
    :returns: ``({direction: Translator}, info)``; ``info`` holds ``name``, ``method``,
        ``generator``, ``generator_options``, ``epoch``, ``weights``, ``checkpoint``,
        ``device``, ``precision``, ``tile``, ``overlap``, ``resize`` and ``directions``.
    """
    source = Path(source)
    if (source / APP_MODEL_FILE).is_file():
        nets, info = _load_app_folder(source, registries)
        default = info.get("resize", 0)
        if not isinstance(default, int) or isinstance(default, bool) or default < 0:
            raise CheckpointError(
                f"{source / APP_MODEL_FILE}: resize must be a whole number of pixels ≥ 0, "
                f"got {default!r}"
            )
    else:
        loaded = load_generators(source, registries, directions=directions)
        nets, info = loaded.nets, describe(loaded)
        default = loaded.card.input_size
    info["resize"] = default if resize is None else resize
    check_resize(info["resize"])
    chosen = choose_directions(nets, directions, source)
    translators = {
        d: Translator(
            nets[d],
            device=device,
            precision=precision,
            tile=tile,
            overlap=overlap,
            batch_size=batch_size,
        )
        for d in chosen
    }
    first = translators[chosen[0]]
    info.update(
        device=str(first.device),
        precision=first.choice.name,
        tile=first.tile,
        overlap=first.overlap if first.tile else 0,
        directions=chosen,
    )
    return translators, info


def choose_directions(
    available: dict[str, Any], requested: list[str] | tuple[str, ...], source: object
) -> list[str]:
    """The requested directions (default: all of ``available``), in a2b, b2a order."""
    for direction in requested:
        pick_direction(available, direction, source)
    return [d for d in DIRECTIONS if d in available and (not requested or d in requested)]


def describe(loaded: Generators) -> dict[str, Any]:
    """What the page shows about a loaded model (plain JSON data only)."""
    info = loaded.info
    weights = "ema" if info.get("ema") else "trained"
    if info.get("importer"):
        weights = f"imported ({info['importer']})"
    elif info.get("model"):
        weights = f"pretrained model {info['model']}"
    elif info.get("format") != TrainingSnapshot.FORMAT:
        weights = "generators"
    return {
        "name": str(info.get("recipe") or loaded.source.stem),
        "method": str(info.get("method") or "—"),
        "generator": str(info.get("generator") or "?"),
        "generator_options": _plain(info.get("generator_options") or {}),
        "epoch": info.get("epoch") if isinstance(info.get("epoch"), int) else None,
        "weights": weights,
        "checkpoint": loaded.source.name,
    }


def _plain(options: dict[str, Any]) -> dict[str, Any]:
    """The options that are plain JSON scalars (what the page can show)."""
    kinds = (str, int, float, bool, type(None))
    return {str(k): v for k, v in options.items() if isinstance(v, kinds)}


def _load_app_folder(folder: Path, registries: Registries) -> tuple[dict[str, Any], dict[str, Any]]:
    """An exported app: ``model.json`` (a description) and ``a2b``/``b2a.safetensors``."""
    described = DemoApp.load(folder / APP_MODEL_FILE)
    nets = {
        d: read_generators(folder / f"{d}.safetensors", registries).nets[d]
        for d in DIRECTIONS
        if (folder / f"{d}.safetensors").is_file()
    }
    if not nets:
        raise CheckpointError(f"{folder} holds no a2b.safetensors or b2a.safetensors")
    info = {k: v for k, v in described.info.items() if isinstance(k, str)}
    return nets, info


def load_examples(
    source: str | Path, directions: list[str], *, limit: int = 4, max_pixels: int = 4096**2
) -> dict[str, list[bytes]]:
    """A few test images per direction, decoded once and held as PNG bytes.

    A run directory's come from its recipe's ``data.root`` (``testA`` for a2b, ``testB``
    for b2a); an exported app's from its ``examples/`` folder. Anything else, a missing
    dataset or an unreadable image yields fewer (or no) examples, never an error.
    """
    source = Path(source)
    folders = _example_folders(source, directions)
    examples: dict[str, list[bytes]] = {}
    for direction, folder in folders.items():
        try:
            files = list_images(folder)
        except DataError:
            continue
        if (source / APP_MODEL_FILE).is_file():
            files = [f for f in files if f.name.startswith(f"{direction}-")]
        found: list[bytes] = []
        for path in files:
            if len(found) == limit:
                break
            if (png := _png_bytes(path, max_pixels)) is not None:
                found.append(png)
        if found:
            examples[direction] = found
    return examples


def _example_folders(source: Path, directions: list[str]) -> dict[str, Path]:
    if not source.is_dir():
        return {}
    if (source / APP_MODEL_FILE).is_file():
        return {d: source / "examples" for d in directions}
    try:
        root = Path(RunDir(source).read_recipe().data.root)
    except TranslkitError:
        return {}
    return {d: root / TEST_SPLITS[d][0] for d in directions}


def _png_bytes(path: Path, max_pixels: int) -> bytes | None:
    try:
        img = load_rgb(path)
    except DataError:
        return None
    if img.width * img.height > max_pixels:
        return None
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
