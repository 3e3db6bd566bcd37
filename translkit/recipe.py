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
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import tomli_w

from translkit.augment import PolicyNames
from translkit.bounds import (
    DeviceName,
    FileName,
    Length,
    ModuleName,
    NonEmpty,
    Range,
    Resolved,
    check_bounds,
    check_options,
    convert,
    is_text,
)
from translkit.compat import upgrade_recipe
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
    "crop_problem",
    "declared_keys",
    "key_type",
    "load_recipe",
    "parse_value",
    "read_table",
    "read_toml",
    "recipe_from_dict",
    "resolve_recipe",
]


def _doc(text: str, *bounds: Any, **kw: Any) -> Any:
    """A dataclass field whose metadata carries its one-line doc (docs/recipes.md) and its
    :mod:`bounds <translkit.bounds>` beyond the type, checked when a recipe is loaded."""
    return field(metadata={"doc": text, "bounds": bounds}, **kw)


_SEED = Range(min=0, max=2**32 - 1)
_POSITIVE = Range(min=1)
_COUNT = Range(min=0)


@dataclass
class Component:
    """A registered component: ``name`` plus the options passed to its factory."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data; a component still waiting for the method's default has no name."""
        return {"name": self.name, **self.options} if self.name else dict(self.options)


@dataclass
class RunSection:
    name: str = _doc("Run name; the run directory is `output_dir/name`.", FileName(), default="run")
    seed: int = _doc("Seed for Python, NumPy and torch RNGs.", _SEED, default=0)
    output_dir: str = _doc("Folder holding run directories.", NonEmpty(), default="runs")
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
        NonEmpty(),
        default=DEFAULT_DATA_ROOT,
    )
    resize: Literal["square", "shorter_side", "none"] = _doc(
        "How images are resized before cropping.", default="square"
    )
    load_size: int = _doc(
        "Resize target in pixels (at least `crop_size` unless `resize` is none).",
        _POSITIVE,
        default=286,
    )
    crop_size: int = _doc(
        "Random (train) / centre (test) crop size in pixels.", _POSITIVE, default=256
    )
    flip: bool = _doc("Random horizontal flip while training.", default=True)
    rotation: float = _doc(
        "Random rotation range in degrees (±) while training.", Range(0, 180), default=0.0
    )
    num_workers: int = _doc(
        "DataLoader worker processes (0 loads in the training process).", _COUNT, default=0
    )
    synthetic: bool = _doc(
        "Generate the built-in synthetic leather↔denim benchmark at `root` if it is missing.",
        default=False,
    )
    synthetic_train: int = _doc(
        "Generated benchmarks (`synthetic`, `synthetic_recolor`; image size `load_size`): "
        "training images per domain.",
        _POSITIVE,
        default=200,
    )
    synthetic_test: int = _doc(
        "Generated benchmarks: test images per domain.", _POSITIVE, default=24
    )
    synthetic_seed: int = _doc("Generated benchmarks: generator seed.", _SEED, default=0)
    check: bool = _doc("Refuse to train on unreadable images (checked up front).", default=True)

    def __post_init__(self) -> None:
        if self.dataset and self.root == DEFAULT_DATA_ROOT:
            self.root = f"data/{self.dataset}"


@dataclass
class OptimSection:
    lr: float = _doc(
        "Adam learning rate of the generators.", Range(min=0, min_open=True), default=2e-4
    )
    lr_d: float | None = _doc(
        "Learning rate of the discriminators (default: `lr`).",
        Range(min=0, min_open=True),
        default=None,
    )
    betas: list[float] = _doc(
        "Adam betas (β1, β2).",
        Length(2),
        Range(0, 1, max_open=True),
        default_factory=lambda: [0.5, 0.999],
    )
    batch_size: int = _doc(
        "Images per domain per step (global, across processes).", _POSITIVE, default=1
    )
    epochs: int = _doc("Total training epochs.", _POSITIVE, default=200)
    schedule: Literal["constant", "linear", "cosine", "step"] = _doc(
        "Learning-rate schedule: constant; linear decay to 0 from `decay_start`; cosine; step.",
        default="linear",
    )
    decay_start: int | None = _doc(
        "Epoch where `linear` decay begins (default: half of `epochs`; at most `epochs`; "
        "`--set optim.epochs=N` alone scales it in proportion, and says so).",
        _COUNT,
        default=None,
    )
    schedule_by: Literal["epoch", "time"] = _doc(
        "What the schedule follows: `epoch`; `time`: the share of `train.max_minutes` spent, "
        "as the fractional epoch `epochs × spent / max_minutes` (so `decay_start` reads as "
        "that share of the budget). `time` needs `train.max_minutes`.",
        default="epoch",
    )
    step_size: int = _doc("`step` schedule: epochs between decays.", _POSITIVE, default=50)
    gamma: float = _doc(
        "`step` schedule: multiplicative decay.", Range(0, 1, min_open=True), default=0.5
    )
    grad_clip: float = _doc(
        "Clip gradient max-norm before each optimiser step (0 disables).",
        Range(min=0, min_open=True, off=0),
        default=0.0,
    )


@dataclass
class TrainSection:
    device: str = _doc(
        "`auto` (CUDA when available), `cpu`, `cuda`, `cuda:1`, ...", DeviceName(), default="auto"
    )
    precision: Literal["auto", "fp32", "bf16", "fp16"] = _doc(
        "Arithmetic precision. `auto`: bf16 autocast where the device has native bf16 units "
        "(CUDA with bf16; CPUs with AMX-BF16 or AVX512-BF16 where a short probe of the run's own "
        "networks measured it faster), else "
        "fp32. `bf16`/`fp16` force autocast (refused where the device would emulate it); "
        "weights, optimiser state and checkpoints stay fp32.",
        default="auto",
    )
    channels_last: Literal["auto", "on", "off"] = _doc(
        "Memory format. `auto`: on CUDA; on a CPU where the runtime measured it faster on this "
        "run's networks (only those with no instance norm left: its channels_last backward is "
        "wrong at batch 1 on this torch build).",
        default="auto",
    )
    compile: Literal["auto", "on", "off"] = _doc(
        "Wrap the networks in torch.compile (inductor). `auto`: where a gain measured for "
        "these networks on this machine earns the first compile back twice over the run, "
        "and, with no compiled pace recorded, a trial on the way in a CPU run of about an "
        'hour or more (docs/training.md, "The runtime"); `on`: always (eager, with one line, where '
        "compilation fails); `off`: never. `true`/`false` mean `on`/`off`.",
        default="auto",
    )
    fuse: Literal["auto", "on", "off"] = _doc(
        "Batch independent passes of the same network (3 generator calls per step instead of "
        "6; one discriminator call for real + fake) when its norm is per-sample. `auto`: on "
        "CUDA, and on CPU up to 128 px crops (faster there, slower at 256 px); `on`: always; "
        "`off`: Zhu's separate passes.",
        default="auto",
    )
    fast_norm: Literal["auto", "on", "off"] = _doc(
        "Run each instance norm as the identical group norm (same function, same checkpoints). "
        "`auto`: on a CPU where the runtime measured it faster on this run's networks (a faster "
        "kernel on some CPUs, slower on others); `on`: always; `off`: keep the networks' own "
        "layers.",
        default="auto",
    )
    fast_conv: Literal["auto", "on", "off"] = _doc(
        "Compute 3×3 stride-1 convolutions by Winograd's F(4×4, 3×3): the same function with "
        "4× fewer multiplications (rounding differs by about 1e-5; same checkpoints). `auto`: "
        "on a CPU in fp32 where the runtime measured it faster on this run's networks (wide "
        "layers on CPUs without bf16 units); `on`: always in fp32 on a CPU; "
        "`off`: the direct convolution.",
        default="auto",
    )
    pool_size: int = _doc(
        "History pool of generated images (0 disables).", Range(min=1, off=0), default=50
    )
    ema: float = _doc(
        "EMA decay of generator weights, used for evaluation, samples and export; warms up "
        "as min(decay, (1 + n) / (10 + n)) over the first updates (0 disables).",
        Range(0, 1, min_open=True, max_open=True, off=0),
        default=0.0,
    )
    diffaug: str = _doc(
        "Differentiable augmentation of every discriminator input, real and fake, in every "
        "phase (Zhao et al. 2020): comma-separated policies `color`, `translation`, "
        '`cutout` (e.g. `"color,translation,cutout"`); empty: off. For every method and '
        "discriminator; evaluation sees the images unchanged.",
        PolicyNames(),
        default="",
    )
    checkpoint_every: int = _doc(
        "Write `epoch_NNNN.pt` (and `latest.pt`) every N epochs; the last epoch always.",
        _POSITIVE,
        default=1,
    )
    keep_last: int = _doc(
        "Epoch checkpoints (`epoch_NNNN.pt`) kept besides `best.pt` and `latest.pt`; 0 keeps "
        "none of them.",
        _COUNT,
        default=3,
    )
    sample_every: int = _doc(
        "Write a sample grid every N steps (0 disables).", Range(min=1, off=0), default=500
    )
    log_every: int = _doc("Log losses to metrics.jsonl every N steps.", _POSITIVE, default=10)
    max_steps: int = _doc(
        "Stop after N steps in total (0: no limit, run all epochs).",
        Range(min=1, off=0),
        default=0,
    )
    max_minutes: float = _doc(
        "Stop after N minutes of training in total, resumes included (0: no limit): "
        "checkpoint, a final evaluation, and `summary.json` saying why it stopped.",
        Range(min=0, min_open=True, off=0),
        default=0.0,
    )
    tensorboard: bool = _doc(
        "Write TensorBoard scalars and grids when it is installed.", default=True
    )


@dataclass
class EvalSection:
    every: int = _doc(
        "Evaluate on the test split every N epochs and after the last (0 disables).",
        Range(min=1, off=0),
        default=1,
    )
    metrics: list[str] = _doc(
        "Metrics (registry names) computed at evaluation besides the test objective.",
        Resolved("registered metrics"),
        default_factory=list,
    )
    select: str = _doc(
        "Metric that picks the best checkpoint (lower is better for `objective`, `fid`, `kid`).",
        NonEmpty(),
        Resolved("a key the evaluation yields"),
        default="objective",
    )
    num_samples: int = _doc(
        "Fixed test images per direction in sample grids (0 disables the grids).",
        Range(min=1, off=0),
        default=4,
    )
    metric_weights: str = _doc(
        "Local weights file for the metrics, passed to each as is (the built-in is/fid/kid "
        "read it as their feature extractor's).",
        default="",
    )


@dataclass
class Recipe:
    plugins: list[str] = _doc(
        "Extra plugin modules to import for this recipe (unpackaged, one-off plugins).",
        ModuleName(),
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
        "Loss components by slot, `[loss.<slot>]` (CycleGAN: `gan`, `cycle`, `identity`, `change`; "
        "CUT: `gan`, `nce`). A slot left out, or given without `name`, uses the method's "
        "default component (its options merged).",
        default_factory=dict,
    )
    optim: OptimSection = field(default_factory=OptimSection)
    train: TrainSection = field(default_factory=TrainSection)
    eval: EvalSection = field(default_factory=EvalSection)
    source: str = field(default="<dict>", metadata={"internal": True})
    #: one-line remarks for the user about how the recipe was read (e.g. a scaled key)
    notes: list[str] = field(default_factory=list, compare=False, metadata={"internal": True})

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


#: A component given without ``name`` where the method decides: the resolver substitutes
#: the method's default component (a loss slot, the head).
DEFAULT_NAME = ""


def _component(raw: Any, where: str, default: Component | None) -> Component:
    """A component section; one without ``name`` sets options of the default component
    (``default``, or the method's when ``default`` is ``None``)."""
    if isinstance(raw, str):  # shorthand: generator = "resnet_9blocks"
        return Component(raw)
    if not isinstance(raw, dict):
        raise RecipeError(f"[{where}] must be a table with a `name` key, got {raw!r}")
    options = copy.deepcopy({k: v for k, v in raw.items() if k != "name"})
    if "name" not in raw:  # `--set loss.cycle.weight=5` on a recipe without [loss.cycle]
        if default is None:
            return Component(DEFAULT_NAME, options)
        return Component(default.name, {**copy.deepcopy(default.options), **options})
    if not isinstance(raw["name"], str) or not raw["name"]:
        raise RecipeError(f"{where}.name must name a registered component, got {raw['name']!r}")
    return Component(raw["name"], options)


def _component_table(raw: Any, where: str) -> dict[str, Component]:
    if not isinstance(raw, dict):
        raise RecipeError(f"[{where}] must be a table of components, got {raw!r}")
    return {slot: _component(value, f"{where}.{slot}", None) for slot, value in raw.items()}


def _field_default(f: dataclasses.Field) -> Any:
    """The field's default (``dataclasses.MISSING`` for a field that must be given)."""
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def read_table(cls: type, raw: Any, where: str, *, top: str = "the recipe's top level") -> Any:
    """Plain data (a TOML table) checked into the dataclass ``cls``, the way every recipe
    section is read: an unknown key is refused with the nearest valid one, a field without
    a default must be given (a missing table is read as empty, so its own missing keys are
    named), and each value is checked against the field's type and bounds — ``Annotated``
    ones and those in its metadata (:func:`_doc`) — by :func:`translkit.bounds.convert`.
    Fields that are dataclasses, or tables of them, are read the same way.

    :param where: the table's dotted name (``optim``; ``""`` for the top level, called
        ``top`` in messages). Errors are :class:`~translkit.errors.RecipeError`s naming
        ``[where]`` or ``where.key``.
    """
    label = f"[{where}]" if where else top
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    if not isinstance(raw, dict):
        raise RecipeError(f"{label} must be a table of {', '.join(fields)}, got {raw!r}")
    hints = typing.get_type_hints(cls, include_extras=True)
    for key in raw:
        if key not in fields:
            hint = suggest(key, fields)
            valid = "" if hint else f"; valid keys: {', '.join(fields)}"
            raise RecipeError(f"{label}: unknown key {key!r}{hint}{valid}")
    kwargs = {}
    for key, f in fields.items():
        dotted = f"{where}.{key}" if where else key
        if key in raw:
            kwargs[key] = _read_value(hints[key], f, raw[key], dotted)
        elif _field_default(f) is dataclasses.MISSING:
            if not dataclasses.is_dataclass(hints[key]):
                raise RecipeError(f"{label} needs key {key!r}")
            kwargs[key] = read_table(hints[key], {}, dotted)
    return cls(**kwargs)


def _read_value(tp: Any, f: dataclasses.Field, value: Any, dotted: str) -> Any:
    """One value of :func:`read_table`, by the kind of its field."""
    if tp is Component or tp == Component | None:
        return _component(value, dotted, _field_default(f))
    if tp == dict[str, Component]:
        return _component_table(value, dotted)
    if dataclasses.is_dataclass(tp):
        return read_table(tp, value, dotted)
    if typing.get_origin(tp) is dict and dataclasses.is_dataclass(typing.get_args(tp)[1]):
        table = convert(value, dict[str, Any], dotted)
        return {k: read_table(typing.get_args(tp)[1], v, f"{dotted}.{k}") for k, v in table.items()}
    return check_bounds(convert(value, tp, dotted), f.metadata.get("bounds", ()), dotted)


def crop_problem(resize: str, load_size: int, crop_size: int) -> str | None:
    """Why ``data.load_size`` and ``data.crop_size`` do not go together (``None`` when they
    do): the one statement of the rule, for recipes and for the image transforms."""
    if resize != "none" and load_size < crop_size:
        return (
            f"data.load_size ({load_size}) is smaller than data.crop_size ({crop_size}); "
            "set load_size >= crop_size (e.g. 286 and 256, as Zhu et al.)"
        )
    return None


def _check_together(recipe: Recipe) -> None:
    """Keys that are valid alone but not together."""
    data, optim = recipe.data, recipe.optim
    if problem := crop_problem(data.resize, data.load_size, data.crop_size):
        raise RecipeError(problem)
    # only the linear schedule reads decay_start; others keep a copied value harmlessly
    linear = optim.schedule == "linear"
    if linear and optim.decay_start is not None and optim.decay_start > optim.epochs:
        raise RecipeError(
            f"optim.decay_start ({optim.decay_start}) is after the last epoch "
            f"(optim.epochs = {optim.epochs}); set it to at most {optim.epochs}"
        )
    if optim.schedule_by == "time" and not recipe.train.max_minutes:
        raise RecipeError(
            'optim.schedule_by = "time" follows train.max_minutes, which is not set; '
            'set train.max_minutes (e.g. 60) or use schedule_by = "epoch"'
        )


def recipe_from_dict(raw: dict[str, Any], *, source: str = "<dict>") -> Recipe:
    """Validate plain data (as parsed from TOML) into a :class:`Recipe`."""
    raw = upgrade_recipe(raw)  # keys under their old names
    train = raw.get("train")
    if isinstance(train, dict) and train.get("compile") in (True, False, "true", "false"):
        on = train["compile"] in (True, "true")  # recipes before compile had "auto"
        raw = {**raw, "train": {**train, "compile": "on" if on else "off"}}
    try:
        recipe = read_table(Recipe, raw, "")
        _check_together(recipe)
    except RecipeError as err:
        raise RecipeError(f"recipe {source}: {err}") from None
    recipe.source = source
    return recipe


# -- overrides ---------------------------------------------------------------------------
def parse_value(text: str, target: Any = None) -> Any:
    """A TOML value (``1e-4``, ``true``, ``[0.5, 0.99]``, ``"x"``); bare words stay strings.

    For a key declared as text (``run.name``), a bare scalar stays the text typed:
    ``nan``, ``inf``, ``12`` and ``true`` are names there, not numbers.
    """
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    if is_text(target) and not isinstance(value, (str, list, dict)):
        return text
    return value


def key_type(path: list[str]) -> Any:
    """The declared type of the recipe key at ``path`` (``["optim", "lr"]``); ``None`` for
    component options, which their factories declare."""
    tp: Any = Recipe
    for part in path:
        if not dataclasses.is_dataclass(tp):
            return None
        hints = typing.get_type_hints(tp)
        if part not in hints:
            return None
        tp = hints[part]
    return tp


def declared_keys() -> set[str]:
    """Every key the recipe declares, dotted: each section and its keys (``optim``,
    ``optim.lr``, ...) and each component section (``generator``; its options are its
    factory's)."""

    def walk(cls: type, prefix: str) -> set[str]:
        keys: set[str] = set()
        for f in dataclasses.fields(cls):
            if f.metadata.get("internal"):
                continue
            keys.add(prefix + f.name)
            tp = typing.get_type_hints(cls)[f.name]
            if dataclasses.is_dataclass(tp) and tp is not Component:
                keys |= walk(tp, f"{prefix}{f.name}.")
        return keys

    return walk(Recipe, "")


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
        node[leaf] = parse_value(value.strip(), key_type([*parents, leaf]))
    return out


def read_toml(path: Path, kind: str) -> dict[str, Any]:
    """The tables of the TOML file at ``path``; a :class:`RecipeError` naming the ``kind``
    of file (``recipe``, ``sweep``) and the path when it is missing, unreadable, not UTF-8
    or not TOML."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(f"{kind} file {path} does not exist") from None
    except OSError as err:
        raise RecipeError(f"{kind} file {path} cannot be read: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise RecipeError(
            f"{kind} file {path} is not UTF-8 text (byte {err.start}); save it as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RecipeError(f"{kind} {path} is not valid TOML: {err}") from None


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """Read, override and validate a recipe file (components are checked by resolve)."""
    path = Path(path)
    raw = read_toml(path, "recipe")
    try:
        overridden = apply_overrides(raw, overrides)
    except RecipeError as err:
        raise RecipeError(f"recipe {path}: {err}") from None
    note = _decay_follows_epochs(raw, overridden, overrides)
    recipe = recipe_from_dict(overridden, source=str(path))
    recipe.notes.extend([note] if note else [])
    return recipe


def _decay_follows_epochs(
    raw: dict[str, Any], overridden: dict[str, Any], overrides: list[str] | tuple[str, ...]
) -> str | None:
    """``--set optim.epochs=N`` alone shortens (or lengthens) the whole schedule: the file's
    ``decay_start`` is scaled in proportion (in place in ``overridden``) and the change is
    returned as a note. A ``decay_start`` the user sets too is kept, and checked as given."""
    keys = {item.partition("=")[0].strip() for item in overrides}
    if "optim.epochs" not in keys or "optim.decay_start" in keys:
        return None
    before, after = raw.get("optim", {}), overridden.get("optim", {})
    start = before.get("decay_start")
    old = before.get("epochs", OptimSection.__dataclass_fields__["epochs"].default)
    new = after.get("epochs")
    counts = (start, old, new)
    if (
        after.get("schedule", "linear") != "linear"
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts)
        or old == 0
        or new == old
    ):
        return None  # not linear, no decay_start in the file, or a bad value checked later
    scaled = min(new, start * new // old)
    if scaled == start:
        return None
    after["decay_start"] = scaled
    return (
        f"optim.decay_start {start} → {scaled}, scaled with optim.epochs {old} → {new} "
        f"(--set optim.decay_start=N to choose)"
    )


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
    # a Recipe built in Python skipped load-time validation: check every key again
    resolved = recipe_from_dict(recipe.to_dict(), source=recipe.source)
    where = f"recipe {recipe.source}"
    _fill_options(registries.methods, resolved.method, f"{where}: [method]")
    try:
        method = registries.methods.create(resolved.method.name, **resolved.method.options)
    except ComponentError as err:
        raise RecipeError(f"{where}: [method] {err}") from None
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
        _fill_options(
            registries.kind(SECTION_KINDS[section]),
            comp,
            f"{where}: [{section}]",
            supplied=tuple(sections[section].supplied),
        )
    resolved.loss = _resolve_losses(resolved.loss, method, registries, where)
    _check_dataset(resolved, registries)
    for name in resolved.eval.metrics:
        if name not in registries.metrics and name != "objective":
            hint = suggest(name, [*registries.metrics.names(), "objective"])
            raise RecipeError(f"{where}: [eval] metrics: unknown metric {name!r}{hint}")
    selection_goal(resolved, registries)  # eval.select must name what the evaluation yields
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


def _fill_options(
    registry: Any, comp: Component, label: str, *, supplied: tuple[str, ...] = ()
) -> None:
    """Check ``comp`` against ``registry`` — option names, types and bounds from the
    factory's annotations, required options (except ``supplied`` ones, which the method
    passes when it builds the network) — and add its factory's plain defaults."""
    key = label.rsplit("[", 1)[-1].rstrip("]")
    try:
        registry.check_options(comp.name, comp.options)
        _check_option_values(comp, registry, key, supplied)
        defaults = _plain_defaults(registry, comp.name, comp.options)
    except ComponentError as err:
        raise RecipeError(f"{label} {err}") from None
    except RecipeError as err:
        raise RecipeError(f"{label.split(': [')[0]}: {err}") from None
    comp.options = {**defaults, **comp.options}


def _check_option_values(
    comp: Component, registry: Any, key: str, supplied: tuple[str, ...] = ()
) -> None:
    """Check ``comp``'s options against its factory's annotations (types and
    ``Annotated`` bounds, converting ints to floats where a float is declared) and
    require the options the factory has no default for (but ``supplied``). A wrapper's
    inner component (:class:`~translkit.registry.Inner`) is checked the same way with the
    options the wrapper does not declare."""
    entry = registry.get(comp.name)
    own, inner = registry.split_inner(comp.name, comp.options)
    if inner is not None and inner[0] in own:
        name, value = inner[0], own[inner[0]]
        if not isinstance(value, str) or not value:
            raise RecipeError(
                f"{key}.{name} must name a registered {inner[1].singular}, got {value!r}"
            )
    comp.options.update(check_options(entry.factory, own, f"{key}."))
    for name, param in entry.parameters().items():
        if param.default is param.empty and name not in comp.options and name not in supplied:
            raise ComponentError(f"{comp.name!r} needs option {name!r}; set {key}.{name}")
    if inner is not None:
        _, inner_registry, inner_name, rest = inner
        wrapped = Component(inner_name, rest)
        _check_option_values(wrapped, inner_registry, key, supplied)
        comp.options.update(wrapped.options)


def _plain_defaults(registry: Any, name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The factory's defaults that TOML can hold, and, for a wrapper, those of the
    component it wraps (for the options it does not declare itself)."""
    entry = registry.get(name)
    out = {n: v for n, v in entry.defaults().items() if _is_toml_value(v)}
    _, inner = registry.split_inner(name, {**out, **options})
    if inner is not None and isinstance(inner[2], str):
        _, inner_registry, inner_name, rest = inner
        for key, value in _plain_defaults(inner_registry, inner_name, rest).items():
            if key not in entry.parameters():
                out.setdefault(key, value)
    return out


def selection_goal(recipe: Recipe, registries: Any) -> str:
    """``"min"`` or ``"max"`` for ``eval.select``; a :class:`RecipeError` if the evaluation
    yields no such key (checked when the recipe is resolved, not after the first epoch)."""
    select = recipe.eval.select
    if select == "objective" or select.startswith("objective/"):
        return "min"
    goals: dict[str, str] = {}
    for name in recipe.eval.metrics:
        if name != "objective":
            goals.update(registries.metrics.create(name).goals)
    key = select.split("/", 1)[1] if select.startswith(("a2b/", "b2a/")) else select
    if key in goals:
        return goals[key]
    choices = ["objective", *goals, *(f"{d}/{k}" for d in ("a2b", "b2a") for k in goals)]
    raise RecipeError(
        f"recipe {recipe.source}: eval.select = {select!r} is not produced by the evaluation"
        f"{suggest(select, choices)}; choose one of {', '.join(choices)} (add its metric to "
        "eval.metrics)"
    )


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


def _is_toml_value(value: Any) -> bool:
    """Whether a default can be written to TOML (None and objects are left out)."""
    if isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_toml_value(v) for v in value)
    return False
