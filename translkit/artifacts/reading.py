"""Opening what the records hold: generators (translate, export, demo, scoring of
translations) or the whole model (resume, the test objective), from any file or run
directory.

Two ways in, kept apart: :func:`read_generators` builds only the generators, each from its
own stored spec — a training snapshot describes them under ``generators``, so a run trained
with a training-only plugin (a discriminator, a loss) translates without it.
:func:`load_model` resolves the whole stored recipe and needs every component.

Loading never imports anything: components are looked up in the registries the caller
passes. A file that needs a component no loaded plugin provides is refused with one line
(:class:`~translkit.errors.MissingComponentError`) naming the component, the plugin module
it was made with, and how to load that plugin deliberately.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from translkit.artifacts.files import load_checkpoint, malformed, one_line, state_dict_problem
from translkit.artifacts.generator_file import GeneratorsFile
from translkit.artifacts.safetensors_export import SafetensorsExport
from translkit.artifacts.snapshot import StoredGenerator, TrainingSnapshot
from translkit.contracts import GeneratorSpec
from translkit.errors import CheckpointError, ComponentError, MissingComponentError, RecipeError
from translkit.networks import DIRECTIONS, Model, build_generator, build_model
from translkit.recipe import Recipe, components, recipe_from_dict, resolve_recipe
from translkit.registry import Registries
from translkit.rundir import RunDir

__all__ = [
    "Generators",
    "ModelCard",
    "checkpoint_source",
    "component_provenance",
    "generator_index",
    "load_model",
    "read_file",
    "read_generator_specs",
    "read_generators",
    "require_components",
    "run_made_with",
    "save_generators",
]


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
    specs = {
        d: GeneratorSpec(generator, dict(options or {}), n.state_dict()) for d, n in nets.items()
    }
    return GeneratorsFile(specs).save(path)


def checkpoint_source(source: str | Path, which: str = "best") -> Path:
    """The file ``source`` stands for: itself, or a run directory's ``which`` checkpoint."""
    source = Path(source)
    if source.is_dir():
        return RunDir(source).require().checkpoint(which)
    if not source.exists():
        raise CheckpointError(f"checkpoint {source} does not exist")
    return source


def read_file(path: Path) -> TrainingSnapshot | GeneratorsFile | SafetensorsExport:
    """The record of any translkit model file (by its suffix and format tag)."""
    if path.suffix == ".safetensors":
        return SafetensorsExport.load(path)
    data = load_checkpoint(path)
    tag = data.get("format") if isinstance(data.get("format"), str) else ""
    if tag.startswith("translkit.training/"):
        return TrainingSnapshot.from_dict(data, path)
    if tag.startswith("translkit.generators/"):
        return GeneratorsFile.from_dict(data, path)
    raise CheckpointError(
        f"{path} is not a translkit checkpoint (format {one_line(repr(data.get('format')), 60)}); "
        "reference CycleGAN files are converted with `translkit import junyanz`"
    )


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


def _made_with(snapshot: TrainingSnapshot, recipe: Recipe) -> dict[tuple[str, str], str]:
    """``(kind, name) -> plugin module`` from a snapshot's ``components``."""
    out = {}
    for key, (kind, comp) in components(recipe).items():
        module = (snapshot.components.get(key) or {}).get("module")
        if module:
            out[kind, comp.name] = module
    return out


def run_made_with(run: RunDir) -> dict[tuple[str, str], str]:
    """``(kind, name) -> plugin module`` from a run directory's ``environment.json``: which
    plugin registered each component when the run trained (empty when unknown)."""
    from translkit.artifacts.run_files import Environment

    env = Environment.read(run.environment_file)
    return env.component_modules() if env is not None else {}


def stored_recipe(snapshot: TrainingSnapshot, registries: Registries) -> Recipe:
    """The snapshot's whole recipe, resolved against the registries (nothing imported):
    what resuming and the test objective need — every component, discriminators too."""
    recipe = _plain_recipe(snapshot)
    made_with = _made_with(snapshot, recipe)
    require_components(recipe, registries, source=snapshot.path or "", made_with=made_with)
    try:
        return resolve_recipe(recipe, registries)
    except RecipeError as err:
        raise CheckpointError(f"checkpoint {snapshot.path}: {one_line(err)}") from None


def _plain_recipe(snapshot: TrainingSnapshot) -> Recipe:
    """The snapshot's recipe, checked as data only (no registry consulted)."""
    try:
        return recipe_from_dict(snapshot.recipe, source=str(snapshot.path))
    except (RecipeError, KeyError, TypeError) as err:
        problem = one_line(err)
        raise CheckpointError(
            f"checkpoint {snapshot.path}: its recipe is not valid: {problem}"
        ) from None


def generator_index(model: Model, registries: Registries) -> dict[str, StoredGenerator] | None:
    """What a training snapshot stores so that its generators load on their own, without
    the rest of the recipe (discriminators, losses, the method). ``None`` when the options
    are not plain data (then loading falls back to the recipe)."""
    sections = {slot.role: slot.section for slot in model.method.networks}
    out = {}
    for direction in model.directions:
        role = model.method.directions[direction]
        comp = getattr(model.recipe, sections[role])
        options = {**comp.options, **model.extras.get(role, {})}
        if not _is_json_data(options):
            return None
        module = registries.generators.get(comp.name).module
        out[direction] = StoredGenerator(role, comp.name, options, module)
    return out


def _is_json_data(value: Any) -> bool:
    """Whether an option value is plain JSON data (None, dicts and lists included): what a
    stored generator spec may hold."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json_data(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_is_json_data(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def _index_from_recipe(
    snapshot: TrainingSnapshot, registries: Registries
) -> dict[str, StoredGenerator]:
    """The generators of a snapshot that does not describe them (``generators`` is None):
    the method's direction map and the recipe's generator section (nothing else is
    looked up)."""
    recipe, path = _plain_recipe(snapshot), snapshot.path
    made_with = _made_with(snapshot, recipe)
    name = recipe.method.name
    if name not in registries.methods:
        module = made_with.get(("methods", name), "")
        raise MissingComponentError(_missing_hint(path or "", f"method {name!r}", module))
    try:
        method = registries.methods.create(name, **recipe.method.options)
    except ComponentError as err:
        raise CheckpointError(f"checkpoint {path}: [method] {err}") from None
    sections = {slot.role: slot.section for slot in method.networks}
    out = {}
    for direction, role in method.directions.items():
        comp = getattr(recipe, sections[role])
        module = made_with.get(("generators", comp.name), "")
        out[direction] = StoredGenerator(role, comp.name, dict(comp.options), module)
    return out


def _snapshot_specs(
    snapshot: TrainingSnapshot, registries: Registries, use_ema: bool
) -> tuple[dict[str, GeneratorSpec], dict[str, Any]]:
    """The generators of a training snapshot from their own stored specs: no other
    component of the recipe is looked up."""
    index = snapshot.generators or _index_from_recipe(snapshot, registries)
    weights = snapshot.weights(use_ema)
    specs = {}
    for direction, stored in index.items():
        if stored.role not in weights:
            raise CheckpointError(
                f"checkpoint {snapshot.path} holds no weights for {stored.role} ({direction})"
            )
        specs[direction] = stored.spec(weights[stored.role])
    recipe = snapshot.recipe
    first = next(iter(specs.values()), None)
    info = {
        "format": TrainingSnapshot.FORMAT,
        "recipe": _table(recipe, "run").get("name", "run"),
        "method": _table(recipe, "method").get("name", "cyclegan"),
        "generator": first.name if first else None,
        "generator_options": dict(first.options) if first else {},
        "epoch": snapshot.epoch,
        "step": snapshot.step,
        "ema": bool(use_ema and snapshot.state.ema),
    }
    return specs, info


def _table(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, dict) else {}


def _file_specs(record: GeneratorsFile) -> tuple[dict[str, GeneratorSpec], dict[str, Any]]:
    first = next(iter(record.generators.values()), None)
    info: dict[str, Any] = {
        "format": GeneratorsFile.FORMAT,
        "generator": first.name if first else None,
        "generator_options": dict(first.options) if first else {},
    }
    info.update({k: v for k, v in record.meta.items() if isinstance(v, str)})
    return dict(record.generators), info


def _export_specs(record: SafetensorsExport) -> tuple[dict[str, GeneratorSpec], dict[str, Any]]:
    info = {
        "format": SafetensorsExport.FORMAT,
        "generator": record.spec.name,
        "generator_options": dict(record.spec.options),
        "method": record.method or None,
    }
    return {record.direction: record.spec}, info


def read_generator_specs(
    source: str | Path, registries: Registries, *, use_ema: bool = True, which: str = "best"
) -> tuple[dict[str, GeneratorSpec], dict[str, Any], Path]:
    """``(direction -> spec, info, file)`` of any model file or run directory."""
    path = checkpoint_source(source, which)
    record = read_file(path)
    with malformed(path):
        if isinstance(record, TrainingSnapshot):
            specs, info = _snapshot_specs(record, registries, use_ema)
        elif isinstance(record, GeneratorsFile):
            specs, info = _file_specs(record)
        else:
            specs, info = _export_specs(record)
        for direction, spec in specs.items():
            if not isinstance(spec.name, str) or not isinstance(spec.state_dict, dict):
                raise TypeError(f"the {direction} generator's name or weights")
    return specs, info, path


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
            with malformed(path):
                nets[direction] = build_generator(
                    registries, spec.name, spec.options, spec.state_dict
                )
        except ComponentError as err:
            raise CheckpointError(f"{path}: {direction}: {one_line(err)}") from None
    info["directions"] = sorted(nets, key=DIRECTIONS.index)
    return Generators(nets, path, info)


def load_model(
    source: str | Path, registries: Registries, *, use_ema: bool = True, which: str = "best"
) -> tuple[Model, TrainingSnapshot, Path]:
    """The whole model of a training snapshot (every role, weights loaded, eval mode).

    :returns: ``(model, the snapshot, file)``.
    """
    path = checkpoint_source(source, which)
    record = read_file(path)
    if not isinstance(record, TrainingSnapshot):
        raise CheckpointError(
            f"{path} has format {type(record).FORMAT}; this needs a training checkpoint "
            f"({TrainingSnapshot.FORMAT}) with every network, not generators only"
        )
    with malformed(path):
        recipe = stored_recipe(record, registries)
        torch.manual_seed(recipe.run.seed)
        model = build_model(recipe, registries)
        weights = record.weights(use_ema)
    for role, net in model.nets.items():
        try:
            net.load_state_dict(weights[role])
        except (KeyError, RuntimeError, TypeError, AttributeError) as err:
            problem = one_line(state_dict_problem(err))
            raise CheckpointError(f"{path}: the {role} weights do not fit: {problem}") from None
        net.eval()
    return model, record, path
