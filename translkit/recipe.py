"""Typed TOML recipes: one model shared by the CLI, the Python API and the run directory.

A recipe is a TOML file of sections (``[run]``, ``[data]``, ``[generator]``, ...). Every
key is checked against the dataclasses below: an unknown key, a wrong type or an
unknown component name is a :class:`~translkit.errors.RecipeError` naming the file,
the key and the nearest valid choice. ``docs/recipes.md`` documents every key; a test
keeps it in sync with these dataclasses.
"""

from __future__ import annotations

import copy
import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import tomli_w

from translkit.errors import ComponentError, RecipeError, suggest

__all__ = [
    "Component",
    "DataSection",
    "EvalSection",
    "OptimSection",
    "Recipe",
    "RunSection",
    "TrainSection",
    "apply_overrides",
    "load_recipe",
    "recipe_from_dict",
    "resolve_recipe",
]


def _doc(text: str, **kw: Any) -> Any:
    """A dataclass field whose metadata carries the one-line doc shown in docs/recipes.md."""
    return field(metadata={"doc": text}, **kw)


@dataclass
class Component:
    """A registered component: ``name`` plus the options passed to its factory."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.options}


@dataclass
class RunSection:
    name: str = _doc("Run name; the run directory is `output_dir/name`.", default="run")
    seed: int = _doc("Seed for Python, NumPy and torch RNGs.", default=0)
    output_dir: str = _doc("Folder holding run directories.", default="runs")
    deterministic: bool = _doc(
        "Use deterministic algorithms (bit-identical resume on CPU).", default=False
    )


DEFAULT_DATA_ROOT = "data/leather_denim"


@dataclass
class DataSection:
    dataset: str = _doc(
        "A registered dataset (`translkit list datasets`) to install at `root` when it is "
        "missing: `translkit run` downloads it unless `--no-download`. Empty: none.",
        default="",
    )
    root: str = _doc(
        "Dataset root holding trainA/, trainB/, testA/, testB/ (relative to the working "
        "directory). Left at its default with `dataset` set: `data/<dataset>`.",
        default=DEFAULT_DATA_ROOT,
    )
    resize: Literal["square", "shorter_side", "none"] = _doc(
        "How images are resized before cropping.", default="square"
    )
    load_size: int = _doc("Resize target in pixels.", default=286)
    crop_size: int = _doc("Random (train) / centre (test) crop size in pixels.", default=256)
    flip: bool = _doc("Random horizontal flip while training.", default=True)
    rotation: float = _doc("Random rotation range in degrees (±) while training.", default=0.0)
    num_workers: int = _doc("DataLoader worker processes.", default=0)
    synthetic: bool = _doc(
        "Generate the built-in synthetic leather↔denim benchmark at `root` if it is missing.",
        default=False,
    )
    synthetic_train: int = _doc(
        "Generated benchmarks (`synthetic`, `synthetic_recolor`; image size `load_size`): "
        "training images per domain.",
        default=200,
    )
    synthetic_test: int = _doc("Generated benchmarks: test images per domain.", default=24)
    synthetic_seed: int = _doc("Generated benchmarks: generator seed.", default=0)
    check: bool = _doc("Refuse to train on unreadable images (checked up front).", default=True)

    def __post_init__(self) -> None:
        if self.dataset and self.root == DEFAULT_DATA_ROOT:
            self.root = f"data/{self.dataset}"


@dataclass
class OptimSection:
    lr: float = _doc("Adam learning rate of the generators.", default=2e-4)
    lr_d: float | None = _doc("Learning rate of the discriminators (default: `lr`).", default=None)
    betas: list[float] = _doc("Adam betas.", default_factory=lambda: [0.5, 0.999])
    batch_size: int = _doc("Images per domain per step (global, across processes).", default=1)
    epochs: int = _doc("Total training epochs.", default=200)
    schedule: Literal["constant", "linear", "cosine", "step"] = _doc(
        "Learning-rate schedule: constant; linear decay to 0 from `decay_start`; cosine; step.",
        default="linear",
    )
    decay_start: int | None = _doc(
        "Epoch where `linear` decay begins (default: half of `epochs`).", default=None
    )
    step_size: int = _doc("`step` schedule: epochs between decays.", default=50)
    gamma: float = _doc("`step` schedule: multiplicative decay.", default=0.5)
    grad_clip: float = _doc(
        "Clip gradient max-norm before each optimiser step (0 disables).", default=0.0
    )


@dataclass
class TrainSection:
    device: str = _doc("`auto` (CUDA when available), `cpu`, `cuda`, `cuda:1`, ...", default="auto")
    precision: Literal["fp32", "bf16", "fp16"] = _doc(
        "Autocast precision; bf16/fp16 run on CUDA only.", default="fp32"
    )
    channels_last: Literal["auto", "on", "off"] = _doc(
        "Memory format; `auto` enables it only where it is correct and faster.", default="auto"
    )
    compile: bool = _doc("Wrap the networks in torch.compile.", default=False)
    fuse: Literal["auto", "on", "off"] = _doc(
        "Batch independent passes of the same network (3 generator calls per step instead of "
        "6; one discriminator call for real + fake) when its norm is per-sample. `auto`: on "
        "CUDA, and on CPU up to 128 px crops (faster there, slower at 256 px); `on`: always; "
        "`off`: Zhu's separate passes.",
        default="auto",
    )
    fast_norm: Literal["auto", "off"] = _doc(
        "`auto`: on CPU, run each instance norm as the identical group norm (a faster kernel "
        "there; same function, same checkpoints); `off`: keep the networks' own layers.",
        default="auto",
    )
    pool_size: int = _doc("History pool of generated images (0 disables).", default=50)
    ema: float = _doc("EMA decay of generator weights (0 disables).", default=0.0)
    checkpoint_every: int = _doc("Write a checkpoint every N epochs.", default=1)
    keep_last: int = _doc("Checkpoints kept besides `best` and `latest`.", default=3)
    sample_every: int = _doc("Write a sample grid every N steps (0 disables).", default=500)
    log_every: int = _doc("Log losses to metrics.jsonl every N steps.", default=10)
    max_steps: int = _doc("Stop after N steps in total (0: run all epochs).", default=0)
    tensorboard: bool = _doc(
        "Write TensorBoard scalars and grids when it is installed.", default=True
    )


@dataclass
class EvalSection:
    every: int = _doc("Evaluate on the test split every N epochs (0 disables).", default=1)
    metrics: list[str] = _doc(
        "Metrics (registry names) computed at evaluation besides the test objective.",
        default_factory=list,
    )
    select: str = _doc(
        "Metric that picks the best checkpoint (lower is better for `objective`, `fid`, `kid`).",
        default="objective",
    )
    num_samples: int = _doc("Fixed test images per direction in sample grids.", default=4)
    inception_weights: str = _doc(
        "Local torch-fidelity Inception weights file for is/fid/kid (or env "
        "TRANSLKIT_INCEPTION_WEIGHTS).",
        default="",
    )


@dataclass
class Recipe:
    plugins: list[str] = _doc(
        "Extra plugin modules to import for this recipe (unpackaged, one-off plugins).",
        default_factory=list,
    )
    method: Component = _doc(
        "Translation method (`translkit list methods`): what is trained, in which phases. "
        'Its options go in the same table, e.g. `[method] name = "cut"`.',
        default_factory=lambda: Component("cyclegan"),
    )
    run: RunSection = field(default_factory=RunSection)
    data: DataSection = field(default_factory=DataSection)
    generator: Component = _doc(
        "Generator component (every generator role of the method).",
        default_factory=lambda: Component("resnet_9blocks"),
    )
    discriminator: Component = _doc(
        "Discriminator component (every discriminator role of the method).",
        default_factory=lambda: Component("patchgan"),
    )
    head: Component | None = _doc(
        "Projection head component, for methods that use one (CUT's F); default: the method's.",
        default=None,
    )
    loss: dict[str, Component] = _doc(
        "Loss components by slot, `[loss.<slot>]` (CycleGAN: `gan`, `cycle`, `identity`; "
        "CUT: `gan`, `nce`). A slot left out, or given without `name`, uses the method's "
        "default component (its options merged).",
        default_factory=dict,
    )
    optim: OptimSection = field(default_factory=OptimSection)
    train: TrainSection = field(default_factory=TrainSection)
    eval: EvalSection = field(default_factory=EvalSection)
    source: str = field(default="<dict>", metadata={"internal": True})

    # -- views ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain data as a TOML file would hold it (``source`` and unset keys omitted)."""
        return _drop_none(_to_plain(self))

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    @property
    def run_dir(self) -> Path:
        return Path(self.run.output_dir) / self.run.name


# -- (de)serialisation -------------------------------------------------------------------
def _to_plain(obj: Any) -> Any:
    if isinstance(obj, Component):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj):
        return {
            f.name: _to_plain(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if not f.metadata.get("internal")
        }
    if isinstance(obj, (list, tuple)):
        return [_to_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _to_plain(v) for k, v in obj.items()}
    return obj


def _drop_none(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    return d


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is list:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    if tp is type(None):
        return "none"
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against type ``tp``; return it (ints widen to float)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, where)
            except RecipeError:
                pass
        raise _type_error(value, tp, where)
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            hint = suggest(str(value), [str(c) for c in choices])
            raise RecipeError(f"{where} must be one of {_type_name(tp)}, got {value!r}{hint}")
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise _type_error(value, tp, where)
        (item,) = typing.get_args(tp)
        return [_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _type_error(value, tp, where)
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(value, tp, where)
        return value
    if tp in (str, bool):
        if not isinstance(value, tp):
            raise _type_error(value, tp, where)
        return value
    raise TypeError(f"unsupported recipe field type {tp!r} at {where}")  # a bug, not user error


def _type_error(value: Any, tp: Any, where: str) -> RecipeError:
    return RecipeError(f"{where} must be {_type_name(tp)}, got {value!r} ({type(value).__name__})")


#: A component given without ``name``: the resolver substitutes the method's default.
DEFAULT_NAME = ""


def _component(raw: Any, where: str) -> Component:
    if isinstance(raw, str):  # shorthand: generator = "resnet_9blocks"
        return Component(raw)
    if not isinstance(raw, dict):
        raise RecipeError(f"[{where}] must be a table with a `name` key, got {raw!r}")
    name = raw.get("name", DEFAULT_NAME)
    if not isinstance(name, str):
        raise RecipeError(f"{where}.name must be a string, got {name!r}")
    options = {k: v for k, v in raw.items() if k != "name"}
    return Component(name, copy.deepcopy(options))


def _component_table(raw: Any, where: str) -> dict[str, Component]:
    if not isinstance(raw, dict):
        raise RecipeError(f"[{where}] must be a table of components, got {raw!r}")
    return {slot: _component(value, f"{where}.{slot}") for slot, value in raw.items()}


def _section(cls: type, raw: Any, where: str) -> Any:
    label = f"[{where}]" if where else "the recipe's top level"
    if not isinstance(raw, dict):
        raise RecipeError(f"{label} must be a table, got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    hints = typing.get_type_hints(cls)
    for key in raw:
        if key not in fields:
            hint = suggest(key, fields)
            valid = "" if hint else f"; valid keys: {', '.join(fields)}"
            raise RecipeError(f"{label}: unknown key {key!r}{hint}{valid}")
    kwargs = {}
    for key, value in raw.items():
        tp = hints[key]
        dotted = f"{where}.{key}" if where else key
        if tp is Component or tp == Component | None:
            comp = _component(value, dotted)
            default = fields[key].default_factory() if tp is Component else None  # type: ignore[misc]
            if comp.name == DEFAULT_NAME and default is not None:
                comp.name = default.name  # `[generator] ngf = 32`: the default generator
            kwargs[key] = comp
        elif tp == dict[str, Component]:
            kwargs[key] = _component_table(value, dotted)
        elif dataclasses.is_dataclass(tp):
            kwargs[key] = _section(tp, value, dotted)
        else:
            kwargs[key] = _convert(value, tp, dotted)
    return cls(**kwargs)


def recipe_from_dict(raw: dict[str, Any], *, source: str = "<dict>") -> Recipe:
    """Validate plain data (as parsed from TOML) into a :class:`Recipe`."""
    try:
        recipe = _section(Recipe, raw, "")
    except RecipeError as err:
        raise RecipeError(f"recipe {source}: {err}") from None
    recipe.source = source
    return recipe


# -- overrides ---------------------------------------------------------------------------
def _parse_value(text: str) -> Any:
    """A TOML value (``1e-4``, ``true``, ``[0.5, 0.99]``, ``"x"``); bare words stay strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides to plain recipe data (returns a copy)."""
    out = copy.deepcopy(raw)
    for item in overrides:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise RecipeError(f"override {item!r} must look like section.key=value")
        *parents, leaf = key.split(".")
        node = out
        for i, part in enumerate(parents):
            child = node.setdefault(part, {})
            if isinstance(child, str) and i == len(parents) - 1 and leaf != "name":
                child = node[part] = {"name": child}  # `generator = "x"` shorthand
            if not isinstance(child, dict):
                raise RecipeError(f"override {item!r}: {'.'.join(parents[: i + 1])} is not a table")
            node = child
        node[leaf] = _parse_value(value.strip())
    return out


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """Read, override and validate a recipe file (components are checked by resolve)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(f"recipe file {path} does not exist") from None
    except OSError as err:
        raise RecipeError(f"recipe file {path} cannot be read: {err.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RecipeError(f"recipe {path} is not valid TOML: {err}") from None
    try:
        raw = apply_overrides(raw, overrides)
    except RecipeError as err:
        raise RecipeError(f"recipe {path}: {err}") from None
    return recipe_from_dict(raw, source=str(path))


# -- resolution against the registries ---------------------------------------------------
#: Recipe section -> the registry kind its component comes from.
SECTION_KINDS = {"generator": "generators", "discriminator": "discriminators", "head": "heads"}


def components(recipe: Recipe) -> dict[str, tuple[str, Component]]:
    """Each component section of a *resolved* recipe: dotted key -> (kind, component)."""
    out: dict[str, tuple[str, Component]] = {"method": ("methods", recipe.method)}
    for section, kind in SECTION_KINDS.items():
        comp = getattr(recipe, section)
        if comp is not None:
            out[section] = (kind, comp)
    out.update({f"loss.{slot}": ("losses", comp) for slot, comp in recipe.loss.items()})
    return out


def resolve_recipe(recipe: Recipe, registries: Any) -> Recipe:
    """Check every component against the registries and the method; fill in defaults.

    The method (``[method]``) says which sections it builds networks from and which loss
    slots it has; a slot the recipe leaves out (or gives without ``name``) gets the
    method's default component. Each loss is built once to check it is of the kind its
    slot needs (an adversarial loss in ``[loss.cycle]`` is refused here, not at step 1).

    :param registries: a :class:`~translkit.registry.Registries` (``load_plugins(...)``).
    """
    resolved = copy.deepcopy(recipe)
    where = f"recipe {recipe.source}"
    _fill_options(registries.methods, resolved.method, f"{where}: [method]")
    method = registries.methods.create(resolved.method.name, **resolved.method.options)
    sections = {slot.section: slot for slot in method.networks}
    for section in SECTION_KINDS:
        comp = getattr(resolved, section)
        if section not in sections:
            if section == "head" and comp is not None:
                raise RecipeError(
                    f"{where}: [head] is not used by method {method.name!r}; remove it"
                )
            continue
        if comp is None or comp.name == DEFAULT_NAME:
            slot = sections[section]
            comp = _merged(slot.default, slot.options, comp)
            setattr(resolved, section, comp)
        _fill_options(registries.kind(SECTION_KINDS[section]), comp, f"{where}: [{section}]")
    resolved.loss = _resolve_losses(resolved.loss, method, registries, where)
    _check_dataset(resolved, registries)
    for name in resolved.eval.metrics:
        if name not in registries.metrics and name != "objective":
            hint = suggest(name, [*registries.metrics.names(), "objective"])
            raise RecipeError(f"{where}: [eval] metrics: unknown metric {name!r}{hint}")
    return resolved


def _merged(default: str, options: Any, given: Component | None) -> Component:
    """The method's default component with the recipe's options laid over it."""
    return Component(default, {**dict(options), **(given.options if given else {})})


def _resolve_losses(
    given: dict[str, Component], method: Any, registries: Any, where: str
) -> dict[str, Component]:
    from translkit.contracts import satisfies

    slots = {slot.name: slot for slot in method.losses}
    for name in given:
        if name not in slots:
            raise RecipeError(
                f"{where}: [loss.{name}] is not a loss slot of method {method.name!r}"
                f"{suggest(name, slots)}; its slots: {', '.join(slots) or 'none'}"
            )
    out = {}
    for name, slot in slots.items():
        comp = given.get(name)
        if comp is None or comp.name == DEFAULT_NAME:
            comp = _merged(slot.default, slot.options, comp)
        label = f"{where}: [loss.{name}]"
        _fill_options(registries.losses, comp, label)
        try:
            loss = registries.losses.create(comp.name, **comp.options)
        except ComponentError as err:
            raise RecipeError(f"{label} {err}") from None
        if not satisfies(loss, slot.contract):
            raise RecipeError(
                f"{label} {comp.name!r} is not a {slot.contract.__name__} (the slot needs one); "
                f"`translkit list losses` shows the losses"
            )
        out[name] = comp
    return out


def _fill_options(registry: Any, comp: Component, label: str) -> None:
    """Check ``comp`` against ``registry`` and add its factory's plain defaults."""
    try:
        registry.check_options(comp.name, comp.options)
        entry = registry.get(comp.name)
    except ComponentError as err:
        raise RecipeError(f"{label} {err}") from None
    defaults = {n: v for n, v in entry.defaults().items() if _is_plain(v)}
    comp.options = {**defaults, **comp.options}


def _check_dataset(recipe: Recipe, registry: Any) -> None:
    """``data.dataset`` must be registered, and agree with the legacy ``data.synthetic``."""
    name = recipe.data.dataset
    if name and name not in registry.datasets:
        hint = suggest(name, registry.datasets.names())
        raise RecipeError(
            f"recipe {recipe.source}: [data] dataset: unknown dataset {name!r}{hint}; "
            "`translkit list datasets` shows them"
        )
    if recipe.data.synthetic and name not in ("", "synthetic"):
        raise RecipeError(
            f"recipe {recipe.source}: [data] synthetic = true contradicts dataset = {name!r}; "
            "drop one of them"
        )


def _is_plain(value: Any) -> bool:
    """Whether a default can be written to TOML (None and objects are left out)."""
    if isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    return False
