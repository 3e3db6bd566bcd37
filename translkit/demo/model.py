"""What the demo runs: a checkpoint, run directory or exported app folder → translators.

:func:`load_demo_model` is the one place that turns what the user named into one
:class:`~translkit.inference.translate.Translator` per direction plus a description of
the model for the page. Nothing read from a file decides what is imported: the caller
passes the registries (the CLI builds them with :func:`translkit.get_registry`).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from translkit.checkpoint import DIRECTIONS, TRAINING_FORMAT, load_checkpoint, load_generators
from translkit.data.io import list_images, load_rgb
from translkit.errors import CheckpointError, DataError, TranslkitError
from translkit.inference.translate import Precision, Translator, pick_direction
from translkit.recipe import load_recipe
from translkit.registry import Registries
from translkit.rundir import RECIPE_FILE

__all__ = [
    "APP_FORMAT",
    "APP_MODEL_FILE",
    "METHOD",
    "checkpoint_info",
    "choose_directions",
    "load_demo_model",
    "load_examples",
    "run_dir_paths",
]

#: Every translkit checkpoint today holds a CycleGAN pair of generators.
METHOD = "cyclegan"
#: The description an exported app folder carries (see :mod:`translkit.demo.export`).
APP_MODEL_FILE = "model.json"
APP_FORMAT = "translkit.demo-app/1"
#: Example images: from which test folder, per direction.
_TEST_FOLDERS = {"a2b": "testA", "b2a": "testB"}


def run_dir_paths(run_dir: Path) -> tuple[Path, Path]:
    """``(checkpoint, recipe)`` of a run directory: ``checkpoints/best.pt``, else ``latest.pt``."""
    recipe = run_dir / RECIPE_FILE
    for name in ("best.pt", "latest.pt"):
        path = run_dir / "checkpoints" / name
        if path.is_file():
            return path, recipe
    raise CheckpointError(
        f"run directory {run_dir} has no checkpoints/best.pt or checkpoints/latest.pt; "
        "train it first (`translkit run`) or name a checkpoint file"
    )


def load_demo_model(
    source: str | Path,
    registries: Registries,
    *,
    directions: list[str] | tuple[str, ...] = (),
    device: str = "auto",
    precision: Precision = "fp32",
    tile: int = 1024,
    overlap: int = 32,
    batch_size: int = 8,
) -> tuple[dict[str, Translator], dict[str, Any]]:
    """Translators per direction and the model's description, from what the user named.

    :param source: a checkpoint file (training or generators format), a run directory
        (its ``checkpoints/best.pt``, else ``latest.pt``) or a folder written by
        ``translkit demo --export``.
    :param registries: where generator names are looked up (nothing is imported).
    :param directions: the directions to serve (default: every one the model holds).
    :returns: ``({direction: Translator}, info)``; ``info`` holds ``name``, ``method``,
        ``generator``, ``generator_options``, ``epoch``, ``weights``, ``checkpoint``,
        ``device``, ``precision``, ``tile``, ``overlap`` and ``directions``.
    """
    source = Path(source)
    if (source / APP_MODEL_FILE).is_file():
        nets, info = _load_app_folder(source, registries)
    else:
        ckpt_path = run_dir_paths(source)[0] if source.is_dir() else source
        nets, info = _load_checkpoint(ckpt_path, registries)
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
        method=METHOD,
        device=str(first.device),
        precision=precision,
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
        if direction not in DIRECTIONS:
            raise TranslkitError(f"--direction must be a2b or b2a, got {direction!r}")
        pick_direction(available, direction, source)  # type: ignore[arg-type]
    return [d for d in DIRECTIONS if d in available and (not requested or d in requested)]


def _load_checkpoint(path: Path, registries: Registries) -> tuple[dict[str, Any], dict[str, Any]]:
    ckpt = load_checkpoint(path)
    info = checkpoint_info(ckpt, path)
    del ckpt  # the generators are built from a second read, through the shared loader
    return load_generators(path, registry=registries), info


def checkpoint_info(ckpt: dict[str, Any], path: Path) -> dict[str, Any]:
    """Name, generator and epoch of either checkpoint format (only plain data is read)."""
    if ckpt.get("format") == TRAINING_FORMAT:
        recipe = ckpt.get("recipe") or {}
        generator = dict(recipe.get("generator") or {})
        epoch = ckpt.get("epoch")
        return {
            "name": str((recipe.get("run") or {}).get("name") or path.stem),
            "generator": str(generator.pop("name", "?")),
            "generator_options": _plain(generator),
            "epoch": int(epoch) if isinstance(epoch, int) else None,
            "weights": "ema" if ckpt.get("ema") else "trained",
            "checkpoint": path.name,
        }
    specs = ckpt.get("generators") or {}
    spec = next(iter(specs.values()), {}) if isinstance(specs, dict) else {}
    meta = ckpt.get("meta") or {}
    return {
        "name": path.stem,
        "generator": str(spec.get("name", "?")),
        "generator_options": _plain(spec.get("options") or {}),
        "epoch": None,
        "weights": f"imported ({meta['importer']})" if meta.get("importer") else "generators",
        "checkpoint": path.name,
    }


def _plain(options: dict[str, Any]) -> dict[str, Any]:
    """The options that are plain JSON scalars (what the page can show)."""
    kinds = (str, int, float, bool, type(None))
    return {str(k): v for k, v in options.items() if isinstance(v, kinds)}


def _load_app_folder(folder: Path, registries: Registries) -> tuple[dict[str, Any], dict[str, Any]]:
    """An exported app: ``model.json`` (a description) and ``a2b``/``b2a.safetensors``."""
    from translkit.inference.export import load_safetensors

    path = folder / APP_MODEL_FILE
    try:
        described = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is not readable JSON ({err})") from None
    if not isinstance(described, dict) or described.get("format") != APP_FORMAT:
        raise CheckpointError(f"{path} is not a translkit demo description ({APP_FORMAT})")
    nets = {
        d: load_safetensors(folder / f"{d}.safetensors", registry=registries)
        for d in DIRECTIONS
        if (folder / f"{d}.safetensors").is_file()
    }
    if not nets:
        raise CheckpointError(f"{folder} holds no a2b.safetensors or b2a.safetensors")
    info = {k: v for k, v in dict(described.get("info") or {}).items() if isinstance(k, str)}
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
    recipe_path = run_dir_paths(source)[1]
    try:
        root = Path(load_recipe(recipe_path).data.root)
    except TranslkitError:
        return {}
    return {d: root / _TEST_FOLDERS[d] for d in directions}


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
