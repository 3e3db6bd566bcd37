"""Checkpoint files: atomic writes, safe reads, and one loader for every format.

Three formats, all plain data (never pickled code), all read by :func:`read_generators`
(users open any source, a registered model's name included, with
:func:`translkit.load_generators`):

- ``translkit.training/1`` (``.pt``) — a training snapshot: ``recipe`` (resolved, as plain
  data), ``models`` (state dicts by role), optional ``ema``, optimisers, schedule, RNG
  states, epoch/step, ``components`` (which plugin provided each component) and
  ``generators`` (direction -> the generator's role, name, options and plugin module;
  absent from files written before it, whose generators come from the recipe's
  ``[generator]`` and the method's direction map);
- ``translkit.generators/1`` (``.pt``) — generators only (imports): ``generators`` maps a
  direction (``a2b``, ``b2a``) to ``{"name", "options", "state_dict", "module"}``;
- ``translkit.safetensors/1`` (``.safetensors``) — one exported generator, its
  name, options and direction in the file's metadata.

A run directory stands for its ``checkpoints/best.pt`` (else ``latest.pt``).

Two ways in, kept apart: :func:`read_generators` (translate, export, demo, scoring of
translations) builds only the generators, each from its own spec stored in the file — a
training checkpoint keeps them under ``generators`` (direction -> role, name, options,
module; the weights under ``models``/``ema``), so a run trained with a training-only plugin
(a discriminator, a loss) translates without it. :func:`load_model` (resume, the test
objective) resolves the whole stored recipe and needs every component.

Loading never imports anything: components are looked up in the registries the caller
passes (the installed plugins, plus any the user loaded on purpose). A file that needs a
component no loaded plugin provides is refused with one line
(:class:`~translkit.errors.MissingComponentError`) naming the component, the plugin module
it was made with, and how to load that plugin deliberately.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from translkit.errors import (
    CheckpointError,
    ComponentError,
    MissingComponentError,
    RecipeError,
    TranslkitError,
)
from translkit.fileio import atomic_path
from translkit.models import DIRECTIONS, Model, build_generator, build_model
from translkit.recipe import Recipe, components, recipe_from_dict, resolve_recipe
from translkit.registry import Registries
from translkit.rundir import RunDir

__all__ = [
    "GENERATORS_FORMAT",
    "SAFETENSORS_FORMAT",
    "TRAINING_FORMAT",
    "Generators",
    "ModelCard",
    "checkpoint_source",
    "component_provenance",
    "generator_index",
    "load_checkpoint",
    "load_model",
    "load_weights_only",
    "one_line",
    "read_generator_specs",
    "read_generators",
    "require_components",
    "run_made_with",
    "save_checkpoint",
    "save_generators",
    "state_dict_problem",
]

TRAINING_FORMAT = "translkit.training/1"
GENERATORS_FORMAT = "translkit.generators/1"
SAFETENSORS_FORMAT = "translkit.safetensors/1"


def save_checkpoint(obj: dict[str, Any], path: str | Path) -> Path:
    """Write ``obj`` with ``torch.save`` atomically: temporary file, fsync, rename.

    A crash mid-write leaves the previous file intact, never a truncated one.
    """
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(obj, fh)  # a file object: a full disk is an OSError, not "unexpected pos"
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
    return path


def save_generators(
    nets: Mapping[str, nn.Module],
    path: str | Path,
    *,
    generator: str,
    options: Mapping[str, Any] | None = None,
) -> Path:
    """Write generators trained anywhere as a translkit generators file (``.pt``), atomically:
    ``nets`` maps a direction (``a2b``/``b2a``) to a module built by the registered
    ``generator`` with ``options``. ``translate``, ``export`` and ``demo`` read it.
    """
    spec = {"name": generator, "options": dict(options or {})}
    return save_checkpoint(
        {
            "format": GENERATORS_FORMAT,
            "generators": {d: {**spec, "state_dict": n.state_dict()} for d, n in nets.items()},
        },
        path,
    )


def _looks_like_torch_file(path: Path) -> bool:
    """A zip archive (torch >= 1.6) or a legacy pickle stream (starts with PROTO 0x80)."""
    if zipfile.is_zipfile(path):
        return True
    with open(path, "rb") as fh:
        return fh.read(1) == b"\x80"


def load_checkpoint(path: str | Path, *, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a ``.pt`` file with ``weights_only=True``: a checkpoint is untrusted input."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if not _looks_like_torch_file(path):
        raise CheckpointError(f"checkpoint {path} is corrupt or not a torch file")
    obj = load_weights_only(path, map_location=map_location, what="checkpoint")
    if not isinstance(obj, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(obj).__name__}, not a dict")
    return obj


def load_weights_only(path: Path, *, map_location: Any = "cpu", what: str = "file") -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain data, never code.

    A file that holds other Python objects is refused in one line naming the object it
    asks for; torch's advice to retry with ``weights_only=False`` is not passed on, since
    that is exactly what would run the code.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        found = _GLOBAL.search(str(err))
        named = f" ({found.group(1)})" if found else ""
        raise CheckpointError(
            f"{what} {path} is refused: it holds a Python object{named}, not only tensors and "
            "plain data, and loading it could run code"
        ) from None
    except Exception as err:  # a damaged file fails anywhere in torch's reader, any type
        raise CheckpointError(
            f"{what} {path} is corrupt or not a torch file: {one_line(err)}"
        ) from None


def one_line(err: Exception | str, limit: int = 200) -> str:
    """``err`` as one line of at most ``limit`` characters (messages quoting stored values
    — a tensor's repr — can span lines)."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def state_dict_problem(err: Exception) -> str:
    """The first informative line of torch's ``load_state_dict`` error (which key, which
    shapes), without the multi-line preamble."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("size mismatch", "Missing key", "Unexpected key")):
            return line.rstrip(".")
    return lines[0] if lines else type(err).__name__


def checkpoint_source(source: str | Path, which: str = "best") -> Path:
    """The file ``source`` stands for: itself, or a run directory's ``which`` checkpoint."""
    source = Path(source)
    if source.is_dir():
        return RunDir(source).require().checkpoint(which)
    if not source.exists():
        raise CheckpointError(f"checkpoint {source} does not exist")
    return source


def component_provenance(recipe: Recipe, registries: Registries) -> dict[str, dict[str, str]]:
    """For each component of a resolved recipe: its name and the plugin that provided it."""
    out = {}
    for key, (kind, comp) in components(recipe).items():
        entry = registries.kind(kind).get(comp.name)
        out[key] = {"name": comp.name, "plugin": entry.plugin, "module": entry.module}
    return out


@dataclass
class Generators:
    """What a checkpoint translates with: direction -> generator (eval mode, CPU)."""

    nets: dict[str, nn.Module]
    source: Path
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def card(self) -> ModelCard:
        """What a user needs to translate with them (:class:`ModelCard`)."""
        size = self.info.get("input_size", 0)
        return ModelCard(
            name=str(self.info.get("model") or self.source),
            method=str(self.info.get("method") or ""),
            generator=str(self.info.get("generator") or ""),
            directions=tuple(self.nets),
            input_size=size if isinstance(size, int) and size >= 0 else 0,
        )


@dataclass(frozen=True)
class ModelCard:
    """Loaded generators, described: the model's name (or the file read), its method and
    generator, the directions it translates and ``input_size``, the shorter side images
    are scaled down to by default (the scale it learned at; 0: each image at its own)."""

    name: str
    method: str
    generator: str
    directions: tuple[str, ...]
    input_size: int = 0


@dataclass
class _Spec:
    name: str
    options: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    module: str = ""


def _missing_hint(path: Path | str, what: str, module: str) -> str:
    if module:
        return (
            f"{path} needs {what}, which no loaded plugin provides; it was made with plugin "
            f"module {module!r}: install its distribution, or, if you trust it, load it "
            f"with --plugin {module}"
        )
    return (
        f"{path} needs {what}, which no loaded plugin provides; install the plugin that "
        "provides it, or load its module with --plugin MODULE"
    )


def require_components(
    recipe: Recipe,
    registries: Registries,
    *,
    source: Path | str,
    made_with: Mapping[tuple[str, str], str] | None = None,
) -> None:
    """Raise :class:`MissingComponentError` for the first component of ``recipe`` (every
    section: the method, networks, losses) that no loaded plugin provides, naming it and
    the plugin module it was made with (``made_with``: ``(kind, name) -> module``)."""
    for kind, comp in components(recipe).values():
        if comp.name and comp.name not in registries.kind(kind):
            module = (made_with or {}).get((kind, comp.name)) or ", ".join(recipe.plugins)
            singular = registries.kind(kind).singular
            raise MissingComponentError(_missing_hint(source, f"{singular} {comp.name!r}", module))


def _made_with(ckpt: dict[str, Any], recipe: Recipe) -> dict[tuple[str, str], str]:
    """``(kind, name) -> plugin module`` from a training checkpoint's ``components``."""
    stored = ckpt.get("components") or {}
    out = {}
    for key, (kind, comp) in components(recipe).items():
        module = (stored.get(key) or {}).get("module")
        if module:
            out[kind, comp.name] = module
    return out


def run_made_with(run: RunDir) -> dict[tuple[str, str], str]:
    """``(kind, name) -> plugin module`` from a run directory's ``environment.json``: which
    plugin registered each component when the run trained (empty when unknown)."""
    try:
        env = json.loads(run.environment_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out = {}
    for plugin in env.get("plugins") or []:
        if not isinstance(plugin, dict) or not plugin.get("module"):
            continue
        for kind, names in (plugin.get("registered") or {}).items():
            for name in names if isinstance(names, list) else []:
                out[kind, name] = plugin["module"]
    return out


def _stored_recipe(ckpt: dict[str, Any], path: Path, registries: Registries) -> Recipe:
    """The checkpoint's whole recipe, resolved against the registries (nothing imported):
    what resuming and the test objective need — every component, discriminators too."""
    recipe = _plain_recipe(ckpt, path)
    require_components(recipe, registries, source=path, made_with=_made_with(ckpt, recipe))
    try:
        return resolve_recipe(recipe, registries)
    except RecipeError as err:
        raise CheckpointError(f"checkpoint {path}: {one_line(err)}") from None


def _plain_recipe(ckpt: dict[str, Any], path: Path) -> Recipe:
    """The checkpoint's recipe, checked as data only (no registry consulted)."""
    try:
        return recipe_from_dict(ckpt["recipe"], source=str(path))
    except (RecipeError, KeyError, TypeError) as err:
        problem = one_line(err)
        raise CheckpointError(f"checkpoint {path}: its recipe is not valid: {problem}") from None


def generator_index(model: Model, registries: Registries) -> dict[str, dict[str, Any]] | None:
    """What a training checkpoint stores so that its generators load on their own, without
    the rest of the recipe (discriminators, losses, the method): direction -> ``{"role",
    "name", "options", "module"}``, the weights being ``models[role]`` (or ``ema[role]``).
    ``None`` when the options are not plain data (then loading falls back to the recipe)."""
    sections = {slot.role: slot.section for slot in model.method.networks}
    out = {}
    for direction in model.directions:
        role = model.method.directions[direction]
        comp = getattr(model.recipe, sections[role])
        options = {**comp.options, **model.extras.get(role, {})}
        if not _is_plain(options):
            return None
        entry = registries.generators.get(comp.name)
        out[direction] = {"role": role, "name": comp.name, "options": options}
        out[direction]["module"] = entry.module
    return out


def _is_plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def _index_from_recipe(
    ckpt: dict[str, Any], path: Path, registries: Registries
) -> dict[str, dict[str, Any]]:
    """:func:`generator_index` of a checkpoint written before it was stored: the method's
    direction map and the recipe's generator section (nothing else is looked up)."""
    recipe = _plain_recipe(ckpt, path)
    made_with = _made_with(ckpt, recipe)
    name = recipe.method.name
    if name not in registries.methods:
        module = made_with.get(("methods", name), "")
        raise MissingComponentError(_missing_hint(path, f"method {name!r}", module))
    try:
        method = registries.methods.create(name, **recipe.method.options)
    except ComponentError as err:
        raise CheckpointError(f"checkpoint {path}: [method] {err}") from None
    sections = {slot.role: slot.section for slot in method.networks}
    out = {}
    for direction, role in method.directions.items():
        comp = getattr(recipe, sections[role])
        module = made_with.get(("generators", comp.name), "")
        out[direction] = {"role": role, "name": comp.name, "options": comp.options}
        out[direction]["module"] = module
    return out


def _training_specs(
    ckpt: dict[str, Any], path: Path, registries: Registries, use_ema: bool
) -> tuple[dict[str, _Spec], dict[str, Any]]:
    """The generators of a training checkpoint from their own stored specs: no other
    component of the recipe is looked up, so a run trained with a training-only plugin
    (a discriminator, a loss) translates without it."""
    index = ckpt.get("generators") or _index_from_recipe(ckpt, path, registries)
    weights = ckpt.get("ema") if use_ema and ckpt.get("ema") else ckpt["models"]
    specs = {}
    for direction, spec in index.items():
        role = spec["role"]
        if role not in weights:
            raise CheckpointError(f"checkpoint {path} holds no weights for {role} ({direction})")
        specs[direction] = _Spec(
            spec["name"], dict(spec["options"]), weights[role], spec.get("module", "")
        )
    recipe = ckpt.get("recipe") if isinstance(ckpt.get("recipe"), dict) else {}
    first = next(iter(specs.values()), None)
    info = {
        "format": TRAINING_FORMAT,
        "recipe": _table(recipe, "run").get("name", "run"),
        "method": _table(recipe, "method").get("name", "cyclegan"),
        "generator": first.name if first else None,
        "generator_options": dict(first.options) if first else {},
        "epoch": ckpt.get("epoch"),
        "step": ckpt.get("step"),
        "ema": weights is ckpt.get("ema"),
    }
    return specs, info


def _table(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, dict) else {}


def _generators_specs(ckpt: dict[str, Any]) -> tuple[dict[str, _Spec], dict[str, Any]]:
    specs = {
        d: _Spec(s["name"], dict(s["options"]), s["state_dict"], s.get("module", ""))
        for d, s in ckpt["generators"].items()
    }
    first = next(iter(specs.values()), None)
    info: dict[str, Any] = {
        "format": GENERATORS_FORMAT,
        "generator": first.name if first else None,
        "generator_options": dict(first.options) if first else {},
    }
    info.update({k: v for k, v in (ckpt.get("meta") or {}).items() if isinstance(v, str)})
    return specs, info


def _safetensors_specs(path: Path) -> tuple[dict[str, _Spec], dict[str, Any]]:
    from safetensors import safe_open
    from safetensors.torch import load_file

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        state = load_file(str(path))
    except Exception as err:  # safetensors raises its own error types
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(f"{path} is not a readable safetensors file: {first}") from None
    if meta.get("format") != SAFETENSORS_FORMAT:
        raise CheckpointError(
            f"{path} was not exported by translkit (metadata format {meta.get('format')!r})"
        )
    try:
        options = json.loads(meta["options"])
        direction = meta["direction"]
        if not isinstance(options, dict) or direction not in DIRECTIONS:
            raise ValueError(f"options {meta['options']!r}, direction {direction!r}")
        spec = _Spec(meta["generator"], options, state, meta.get("plugin_module", ""))
    except (KeyError, ValueError) as err:
        raise CheckpointError(f"{path}: translkit metadata is incomplete ({err})") from None
    info = {
        "format": SAFETENSORS_FORMAT,
        "generator": spec.name,
        "generator_options": dict(options),
        "method": meta.get("method") or None,
    }
    return {direction: spec}, info


def read_generator_specs(
    source: str | Path, registries: Registries, *, use_ema: bool = True, which: str = "best"
) -> tuple[dict[str, _Spec], dict[str, Any], Path]:
    """``(direction -> spec, info, file)`` of any checkpoint format or run directory."""
    path = checkpoint_source(source, which)
    ckpt = load_checkpoint(path) if path.suffix != ".safetensors" else {}
    fmt = ckpt.get("format")
    with _malformed(path):
        if path.suffix == ".safetensors":
            specs, info = _safetensors_specs(path)
        elif fmt == TRAINING_FORMAT:
            specs, info = _training_specs(ckpt, path, registries, use_ema)
        elif fmt == GENERATORS_FORMAT:
            specs, info = _generators_specs(ckpt)
        else:
            raise CheckpointError(
                f"{path} is not a translkit checkpoint (format {fmt!r}); reference CycleGAN "
                "files are converted with `translkit import junyanz`"
            )
        for direction, spec in specs.items():
            if not isinstance(spec.name, str) or not isinstance(spec.state_dict, dict):
                raise TypeError(f"the {direction} generator's name or weights")
    return specs, info, path


@contextmanager
def _malformed(path: Path) -> Iterator[None]:
    """A checkpoint whose data has the wrong shape (a key missing, a table where a tensor
    belongs, ...) is refused in one line, whichever key it is."""
    try:
        yield
    except TranslkitError as err:
        if "\n" in str(err):  # a message quoting a stored value (a tensor) spans lines
            raise CheckpointError(one_line(err, 300)) from None
        raise
    except (KeyError, TypeError, AttributeError, ValueError, IndexError, RuntimeError) as err:
        what = f"missing {err}" if isinstance(err, KeyError) else one_line(err)
        raise CheckpointError(
            f"checkpoint {path} is damaged or was not written by translkit ({what})"
        ) from None


def read_generators(
    source: str | Path, registries: Registries, *, use_ema: bool = True, which: str = "best"
) -> Generators:
    """Build the generators stored in the file ``source`` (any format, or a run directory);
    :func:`translkit.load_generators` also takes a registered model's name."""
    specs, info, path = read_generator_specs(source, registries, use_ema=use_ema, which=which)
    nets = {}
    for direction, spec in specs.items():
        if spec.name not in registries.generators:
            raise MissingComponentError(
                _missing_hint(path, f"generator {spec.name!r}", spec.module)
            )
        try:
            with _malformed(path):
                nets[direction] = build_generator(
                    registries, spec.name, spec.options, spec.state_dict
                )
        except ComponentError as err:
            raise CheckpointError(f"{path}: {direction}: {one_line(err)}") from None
    info["directions"] = sorted(nets, key=DIRECTIONS.index)
    return Generators(nets, path, info)


def load_model(
    source: str | Path, registries: Registries, *, use_ema: bool = True, which: str = "best"
) -> tuple[Model, dict[str, Any], Path]:
    """The whole model of a training checkpoint (every role, weights loaded, eval mode).

    :returns: ``(model, checkpoint data without weights, file)``.
    """
    path = checkpoint_source(source, which)
    ckpt = load_checkpoint(path)
    if ckpt.get("format") != TRAINING_FORMAT:
        raise CheckpointError(
            f"{path} has format {one_line(repr(ckpt.get('format')), 60)}; this needs a "
            f"training checkpoint ({TRAINING_FORMAT}) with every network, not generators only"
        )
    with _malformed(path):
        recipe = _stored_recipe(ckpt, path, registries)
        torch.manual_seed(recipe.run.seed)
        model = build_model(recipe, registries)
        weights = dict(ckpt["models"])
        if use_ema and ckpt.get("ema"):
            weights.update(ckpt["ema"])
    for role, net in model.nets.items():
        try:
            net.load_state_dict(weights[role])
        except (KeyError, RuntimeError, TypeError, AttributeError) as err:
            problem = one_line(state_dict_problem(err))
            raise CheckpointError(f"{path}: the {role} weights do not fit: {problem}") from None
        net.eval()
    meta = {k: v for k, v in ckpt.items() if k not in ("models", "ema", "optimizers", "ranks")}
    return model, meta, path
