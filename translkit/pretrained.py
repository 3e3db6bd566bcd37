"""Pretrained models by name: ``translkit translate leather_denim photos/ out/``.

A model plugin registers a :class:`~translkit.contracts.PretrainedModel` (``registry.models``):
its card and, per direction, one ``.safetensors`` export with its size and sha256, either
inside the plugin's distribution or at URLs. This module turns what the user typed into
generators:

- a path that exists always wins (a checkpoint, run directory or export named like a model);
- else a registered model name: each direction's file is found (package data) or
  downloaded into ``<cache>/models/NAME/`` (resumable, through
  :mod:`translkit.data.download`), verified against its size and sha256 *every time it is
  loaded*, then read by :func:`translkit.artifacts.read_generators` like any export — the
  file is data: its metadata names a registered generator, nothing is imported;
- else one line: no such file, no such model, the close matches.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from translkit.artifacts import Generators, read_generators
from translkit.contracts import ModelWeights, PretrainedModel
from translkit.data.checksums import is_sha256, sha256_of
from translkit.data.download import DownloadError, DownloadProgress, fetch, format_bytes
from translkit.directions import DIRECTIONS, direction_problem
from translkit.errors import CheckpointError, ComponentError, DataError, suggest
from translkit.fileio import atomic_path
from translkit.networks import pick_direction
from translkit.registry import Registries

__all__ = [
    "PRETRAINED_FORMAT",
    "cached_path",
    "check_model",
    "create_model",
    "load_generators",
    "model_name",
    "recipe_text",
    "resolve",
    "weights_file",
]

#: ``Generators.info["format"]`` of a model loaded by name.
PRETRAINED_FORMAT = "translkit.pretrained/1"
_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")


# -- the contract ------------------------------------------------------------------------
def create_model(registries: Registries, name: str) -> PretrainedModel:
    """``registries.models.create(name)``, checked against the contract."""
    model = registries.models.create(name)
    return check_model(model, name, registries.models.get(name).plugin)


def check_model(model: Any, name: str, plugin: str = "?") -> PretrainedModel:
    """Raise :class:`ComponentError` naming the plugin if ``model`` breaks the contract."""

    def bad(why: str) -> ComponentError:
        return ComponentError(f"model {name!r} from plugin {plugin!r}: {why}")

    if not isinstance(model, PretrainedModel):
        raise bad(f"factory returned {type(model).__name__}, not a PretrainedModel")
    if model.name != name:
        raise bad(f"the model says its name is {model.name!r}")
    if not model.weights:
        raise bad("it has no weights")
    for w in model.weights:
        if not isinstance(w, ModelWeights):
            raise bad(f"weights {w!r} must be a ModelWeights")
        if problem := direction_problem(w.direction, "a weights file's direction"):
            raise bad(problem)
        if not is_sha256(w.sha256) or not isinstance(w.size, int) or w.size <= 0:
            raise bad(f"{w.direction} weights need a size and a lower-case hex sha256")
        if (w.resource is None) == (not w.url):
            raise bad(f"{w.direction} weights: set exactly one of resource and url")
        if w.resource is not None and not w.resource.name.endswith(".safetensors"):
            raise bad(f"{w.direction} weights {w.resource.name!r} must be a .safetensors file")
    if len(set(model.directions)) != len(model.weights):
        raise bad("two weights files have the same direction")
    size = model.input_size
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise bad(f"input_size must be a whole number of pixels ≥ 0, got {model.input_size!r}")
    return model


def model_name(source: str | Path, registries: Registries) -> str | None:
    """The registered model ``source`` names, or ``None`` when it is a path that exists
    (a local path always wins) or no model is called that."""
    text = str(source)
    if Path(text).expanduser().exists() or text not in registries.models:
        return None
    return text


def _unknown(source: str | Path, registries: Registries) -> CheckpointError | None:
    """The error for a name-like ``source`` that is neither a path nor a model."""
    text = str(source)
    if Path(text).expanduser().exists() or not _NAME.match(text):
        return None  # a path: the checkpoint loader says what is wrong with it
    models = registries.models.names()
    return CheckpointError(
        f"{text} is no file or folder and no registered model{suggest(text, models)}; "
        f"`translkit list models` shows the {len(models)} available"
    )


# -- files -------------------------------------------------------------------------------
def cached_path(model: PretrainedModel, weights: ModelWeights) -> Path:
    """Where downloaded ``weights`` are kept: ``<cache>/models/NAME/DIR-SHA16.safetensors``."""
    from translkit.cache import cache_dir

    return (
        cache_dir("models", model.name) / f"{weights.direction}-{weights.sha256[:16]}.safetensors"
    )


def weights_file(model: PretrainedModel, direction: str, *, console: Console | None = None) -> Path:
    """The verified weights file of ``model``'s ``direction`` (downloaded first if needed).

    :raises CheckpointError: one line: a missing or corrupt file, a failed download.
    """
    weights = model.weights_for(direction)
    if weights is None:
        pick_direction(dict.fromkeys(model.directions), direction, f"model {model.name}")
        raise AssertionError(direction)  # pick_direction raised
    if weights.resource is not None:
        path = _packaged(model, weights)
        _verify(model, weights, path, where="its plugin's distribution")
        return path
    path = cached_path(model, weights)
    if path.is_file():
        _verify(model, weights, path, where="translkit's cache")
        return path
    _download(model, weights, path, console or Console(stderr=True))
    return path


def _packaged(model: PretrainedModel, weights: ModelWeights) -> Path:
    """The package-data file as a real path (copied into the cache from a zipped install)."""
    resource = weights.resource
    assert resource is not None
    if not resource.is_file():
        raise CheckpointError(
            f"model {model.name}: its {weights.direction} weights {resource} are missing "
            "from its plugin's distribution; reinstall the plugin"
        )
    if isinstance(resource, Path):
        return resource
    path = cached_path(model, weights)
    if not path.is_file():
        with atomic_path(path) as tmp:
            tmp.write_bytes(resource.read_bytes())
    return path


def _verify(model: PretrainedModel, weights: ModelWeights, path: Path, *, where: str) -> None:
    size = path.stat().st_size
    got = sha256_of(path) if size == weights.size else None
    if got != weights.sha256:
        found = f"sha256 {got}" if got else f"{size} bytes"
        fix = "reinstall the plugin" if weights.resource is not None else f"delete {path}"
        raise CheckpointError(
            f"model {model.name}: {path} ({weights.direction}, in {where}) has {found}, "
            f"expected {weights.size} bytes with sha256 {weights.sha256}: the file is corrupt "
            f"or was changed; nothing was loaded — {fix}"
        )


def _download(model: PretrainedModel, weights: ModelWeights, path: Path, console: Console) -> None:
    """Fetch into ``path``'s ``.part`` (resuming one left by an interrupted run), verify,
    rename into place: the cache holds verified files only."""
    part = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        if path.is_file():  # another process finished it while we waited
            _verify(model, weights, path, where="translkit's cache")
            return
        console.print(
            f"downloading model {model.name} ({weights.direction}, "
            f"{format_bytes(weights.size)}) from {weights.url}; terms: {model.terms}",
            highlight=False,
            soft_wrap=True,
        )
        label = f"{model.name} {weights.direction}"
        error: DownloadError | None = None
        with DownloadProgress(label, weights.size, console=console) as progress:
            for url in (weights.url, *weights.mirrors):
                try:
                    fetch(url, part, progress, size=weights.size)
                    error = None
                    break
                except DownloadError as err:
                    error = error or err
        if error is not None:
            raise CheckpointError(
                f"model {model.name}: {error}; fetch it some other way and save it as {path} "
                f"({format_bytes(weights.size)}, sha256 {weights.sha256})"
            ) from None
        got = sha256_of(part)
        if got != weights.sha256:
            part.unlink(missing_ok=True)
            raise DataError(
                f"model {model.name}: {weights.url} has sha256 {got}, expected "
                f"{weights.sha256}: the file is corrupt or was changed at its source; "
                "nothing was cached"
            )
        part.replace(path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One downloader per file at a time (others wait, then find it there)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; the rename is still atomic
        yield
        return
    with open(path.with_name(path.name + ".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def recipe_text(model: PretrainedModel) -> str:
    """The recipe the model was trained with (TOML), ``""`` when it names none."""
    recipe = model.recipe
    if isinstance(recipe, str):
        return recipe
    try:
        return recipe.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CheckpointError(
            f"model {model.name}: its recipe {recipe} is unreadable ({err})"
        ) from None


# -- what the commands call --------------------------------------------------------------
def _path_or_name(source: str | Path, registries: Registries) -> str | None:
    """``source``'s model name, or ``None`` for a path; a name-like ``source`` that is
    neither raises (one line, close matches)."""
    name = model_name(source, registries)
    if name is None and (err := _unknown(source, registries)) is not None:
        raise err
    return name


def resolve(source: str | Path, registries: Registries, *, direction: str = "a2b") -> Path:
    """The checkpoint file ``source`` stands for: a path as it is (it always wins), a
    model name as its verified ``direction`` weights file.

    :raises CheckpointError: for a name-like ``source`` that is neither.
    """
    name = _path_or_name(source, registries)
    if name is None:
        return Path(source)
    return weights_file(create_model(registries, name), direction)


def load_generators(
    source: str | Path,
    registries: Registries,
    *,
    directions: Sequence[str] = (),
    use_ema: bool = True,
    which: str = "best",
) -> Generators:
    """The one way to open a model: the generators of a registered model's name, a run
    directory, a checkpoint or an export, with their card (``.card``: name, method,
    generator, directions, input size). The source is resolved once; a path that exists
    always wins over a name.

    :param directions: for a model: the directions to load (default: all it has), so a
        command that needs one direction fetches one file.
    :param use_ema: a training checkpoint's EMA weights when it has them.
    :param which: a run directory's ``best`` (default) or ``latest`` checkpoint.
    """
    name = _path_or_name(source, registries)
    if name is None:
        return read_generators(source, registries, use_ema=use_ema, which=which)
    model = create_model(registries, name)
    for direction in directions:
        pick_direction(dict.fromkeys(model.directions), direction, f"model {name}")
    wanted = [d for d in DIRECTIONS if d in model.directions and d in (directions or DIRECTIONS)]
    nets, files, options = {}, [], {}
    for direction in wanted:
        path = weights_file(model, direction)
        loaded = read_generators(path, registries)
        if direction not in loaded.nets or loaded.info.get("generator") != model.generator:
            raise CheckpointError(
                f"model {name}: {path} holds the {', '.join(loaded.nets)} generator "
                f"{loaded.info.get('generator')!r}, not the {direction} {model.generator!r} "
                "its plugin declares"
            )
        nets[direction] = loaded.nets[direction]
        files.append(path)
        options = loaded.info.get("generator_options") or {}
    info = {
        "format": PRETRAINED_FORMAT,
        "model": name,
        "recipe": name,
        "method": model.method,
        "generator": model.generator,
        "generator_options": options,
        "terms": model.terms,
        "directions": list(nets),
        "input_size": model.input_size,
    }
    return Generators(nets, files[0], info)
