"""Sweep files: a base recipe, fixed settings, a search space over recipe keys, an objective.

A sweep file is checked the way a recipe is, when it is loaded: unknown tables and keys,
bad ranges, keys the recipe does not have, and values outside a key's bounds are one
:class:`~translkit.errors.RecipeError` naming the file and the key. Every range is checked
at both ends and every choice as a whole recipe (through :func:`translkit.recipe.
recipe_from_dict` and :func:`~translkit.recipe.resolve_recipe`, the same resolution and
bounds ``translkit run`` applies), so a sampled value cannot fall outside a key's bounds;
combinations the ends do not cover (e.g. ``data.crop_size`` above a sampled
``data.load_size``) are caught again for each trial, which then fails with that line.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from translkit.errors import RecipeError, suggest
from translkit.recipe import Recipe, _key_type, apply_overrides, load_recipe, recipe_from_dict

__all__ = ["Param", "SweepSpec", "load_sweep", "violations"]

#: Keys of each table of a sweep file, with their defaults.
SWEEP_KEYS = {"recipe": None, "name": "", "output_dir": "sweeps", "trials": 20, "minutes": 0.0}
OBJECTIVE_KEYS = {"metric": None, "direction": ""}
SAMPLER_KEYS = {"name": "tpe", "seed": 0, "startup_trials": 5}
PRUNER_KEYS = {
    "name": "median",
    "startup_trials": 3,
    "warmup_epochs": 0,
    "min_trials": 1,
    "min_resource": 1,
    "reduction_factor": 3,
}
SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "halving", "none")
TABLES = ("sweep", "objective", "constraints", "sampler", "pruner", "set", "space")
BOUNDS = ("min", "max")
_PARAM_KEYS = {"low", "high", "log", "step", "choices"}


@dataclass
class Param:
    """One dimension of the search space: a recipe key and its range or choices.

    ``choices`` that are tables (whole component sections, e.g. ``generator``) are sampled
    by label — their ``name``, or their position when names repeat.
    """

    key: str
    kind: str  # "float", "int" or "categorical"
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: list[Any] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # labels of table choices given by name

    @property
    def labels(self) -> list[Any]:
        if self.names:
            return list(self.names)
        if not any(isinstance(c, dict) for c in self.choices):
            return list(self.choices)
        names = [
            c.get("name", str(i)) if isinstance(c, dict) else c for i, c in enumerate(self.choices)
        ]
        return (
            names
            if len(set(map(str, names))) == len(names)
            else [str(i) for i in range(len(names))]
        )

    def value(self, label: Any) -> Any:
        """The recipe value behind a sampled label."""
        if self.kind != "categorical":
            return label
        return copy.deepcopy(self.choices[self.labels.index(label)])

    def suggest(self, trial: Any) -> Any:
        """Ask an Optuna trial for this parameter (define-by-run)."""
        if self.kind == "categorical":
            return trial.suggest_categorical(self.key, self.labels)
        if self.kind == "int":
            return trial.suggest_int(
                self.key, int(self.low), int(self.high), step=int(self.step or 1), log=self.log
            )
        return trial.suggest_float(
            self.key, float(self.low), float(self.high), step=self.step, log=self.log
        )

    def describe(self) -> str:
        if self.kind == "categorical":
            return f"one of {', '.join(map(str, self.labels))}"
        scale = ", log scale" if self.log else ""
        step = f", step {self.step:g}" if self.step else ""
        return f"{self.kind} in [{self.low:g}, {self.high:g}]{scale}{step}"

    @property
    def short(self) -> str:
        """A short column name: ``lr`` for ``optim.lr``, ``identity.weight``, ``generator``."""
        parts = self.key.split(".")
        if parts[-1] == "name" and len(parts) > 1:
            parts = parts[:-1]
        return ".".join(parts[-2:]) if len(parts) > 2 else parts[-1]


@dataclass
class SweepSpec:
    """A loaded, checked sweep file."""

    path: Path
    name: str
    recipe_path: Path
    output_dir: Path
    trials: int
    minutes: float
    metric: str
    direction: str  # "maximize" | "minimize"
    sampler: dict[str, Any]
    pruner: dict[str, Any]
    fixed: dict[str, Any]
    space: list[Param]
    base: dict[str, Any]  # the base recipe's data with [set] applied
    plugins: list[str] = field(default_factory=list)
    #: ``[constraints]``: metric key → {"min": x} and/or {"max": y}, met at the trial's best
    #: evaluation by the objective.
    constraints: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def sweep_dir(self) -> Path:
        return self.output_dir / self.name

    def trial_raw(self, labels: dict[str, Any], number: int) -> dict[str, Any]:
        """The recipe data of trial ``number`` with the sampled ``labels`` (by key)."""
        raw = copy.deepcopy(self.base)
        for param in self.space:
            if param.key in labels:
                raw = _set_key(raw, param.key, param.value(labels[param.key]))
        raw.setdefault("run", {})
        raw["run"]["name"] = trial_name(number)
        raw["run"]["output_dir"] = str(self.sweep_dir)
        raw.setdefault("eval", {})["select"] = self.metric  # best.pt: the best by the objective
        return raw

    def trial_recipe(self, labels: dict[str, Any], number: int, registries: Any) -> Recipe:
        """Trial ``number``'s resolved recipe; a :class:`RecipeError` for a bad combination."""
        from translkit.recipe import resolve_recipe

        source = f"{self.path} (trial {number})"
        return resolve_recipe(
            recipe_from_dict(self.trial_raw(labels, number), source=source), registries
        )

    def constraint_texts(self) -> list[str]:
        """``a2b/domain_spectral_peak <= 2.5``, one per bound."""
        signs = {"min": ">=", "max": "<="}
        return [
            f"{key} {signs[bound]} {value:g}"
            for key, bounds in self.constraints.items()
            for bound, value in bounds.items()
        ]

    def to_text(self) -> str:
        """The resolved space, fixed settings and budget, for ``--dry-run``."""
        lines = [
            f"sweep {self.name}: recipe {self.recipe_path}, directory {self.sweep_dir}",
            f"objective: {self.direction} {self.metric} (best evaluation of each trial)",
            *(f"constraint: {text}" for text in self.constraint_texts()),
            f"budget: {self.trials} trials"
            + (f", {self.minutes:g} minutes" if self.minutes else ""),
            f"sampler: {_table_text(self.sampler)}",
            f"pruner: {_table_text(self.pruner)}",
        ]
        if self.fixed:
            lines.append("fixed: " + ", ".join(f"{k} = {_toml(v)}" for k, v in self.fixed.items()))
        lines.append("space:")
        width = max(len(p.key) for p in self.space)
        lines += [f"  {p.key:<{width}}  {p.describe()}" for p in self.space]
        return "\n".join(lines) + "\n"


def trial_name(number: int) -> str:
    return f"trial_{number:04d}"


def _table_text(table: dict[str, Any]) -> str:
    name = table.get("name", "")
    rest = ", ".join(f"{k} {v}" for k, v in table.items() if k != "name")
    return f"{name} ({rest})" if rest else str(name)


def _toml(value: Any) -> str:
    return tomli_w.dumps({"v": value}).strip()[4:] if not isinstance(value, dict) else str(value)


def _set_key(raw: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """``raw`` with recipe key ``key`` set to ``value`` (a table replaces the section)."""
    if isinstance(value, dict):
        out = copy.deepcopy(raw)
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = copy.deepcopy(value)
        return out
    return apply_overrides(raw, [f"{key}={_toml(value)}"])  # the --set path: shorthands too


def _table(data: dict[str, Any], name: str, keys: dict[str, Any], where: str) -> dict[str, Any]:
    given = data.get(name, {})
    if not isinstance(given, dict):
        raise RecipeError(f"{where}: [{name}] must be a table, got {given!r}")
    for key in given:
        if key not in keys:
            hint = suggest(key, keys) or f"; valid keys: {', '.join(keys)}"
            raise RecipeError(f"{where}: [{name}] unknown key {key!r}{hint}")
    out = {**keys, **given}
    for key, default in keys.items():
        if default is None and out[key] is None:
            raise RecipeError(f"{where}: [{name}] needs {key!r}")
        if (
            default is not None
            and not isinstance(out[key], type(default))
            and not (isinstance(default, float) and isinstance(out[key], int))
        ):
            kind = type(default).__name__
            raise RecipeError(f"{where}: [{name}] {key} must be {kind}, got {out[key]!r}")
    return out


def _flatten(table: dict[str, Any], prefix: str = "", *, params: bool) -> dict[str, Any]:
    """Dotted keys of a (possibly nested) table; in ``[space]`` a range table or a list of
    choices ends a key."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        is_leaf = not isinstance(value, dict) or (params and set(value) <= _PARAM_KEYS)
        if is_leaf:
            out[dotted] = value
        else:
            out.update(_flatten(value, f"{dotted}.", params=params))
    return out


def _recipe_keys(data: Any, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            keys.add(f"{prefix}{key}")
            keys |= _recipe_keys(value, f"{prefix}{key}.")
    return keys


def _param(key: str, spec: Any, resolved: Recipe, where: str) -> Param:
    label = f"{where}: [space] {key}"
    if isinstance(spec, list):
        spec = {"choices": spec}
    if not isinstance(spec, dict):
        raise RecipeError(
            f"{label} must be a range {{low, high}} or a list of choices, got {spec!r}"
        )
    unknown = set(spec) - _PARAM_KEYS
    if unknown:
        bad = sorted(unknown)[0]
        raise RecipeError(f"{label}: unknown key {bad!r}{suggest(bad, _PARAM_KEYS)}")
    if "choices" in spec:
        if set(spec) != {"choices"}:
            raise RecipeError(f"{label}: give either choices or low/high, not both")
        choices, names = spec["choices"], []
        if isinstance(choices, dict):  # labelled tables: {unet = {...}, resnet6 = {...}}
            names = list(choices)
            choices = list(choices.values())
            if not all(isinstance(c, dict) for c in choices):
                raise RecipeError(f"{label}: labelled choices must all be tables")
        if not isinstance(choices, list) or not choices:
            raise RecipeError(f"{label}: choices must be a non-empty list, got {choices!r}")
        if len({repr(c) for c in choices}) != len(choices):
            raise RecipeError(f"{label}: choices repeat a value: {choices!r}")
        return Param(key, "categorical", choices=choices, names=names)
    if "low" not in spec or "high" not in spec:
        raise RecipeError(f"{label}: a range needs both low and high")
    low, high, log, step = spec["low"], spec["high"], spec.get("log", False), spec.get("step")
    for name, value in (("low", low), ("high", high), ("step", step)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise RecipeError(f"{label}: {name} must be a number, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise RecipeError(f"{label}: {name} must be finite, got {value!r}")
    if not isinstance(log, bool):
        raise RecipeError(f"{label}: log must be true or false, got {log!r}")
    if not low < high:
        raise RecipeError(f"{label}: low ({low}) must be below high ({high})")
    if log and low <= 0:
        raise RecipeError(f"{label}: a log-scale range needs low > 0, got {low}")
    if step is not None and (step <= 0 or step > high - low):
        raise RecipeError(f"{label}: step must be in (0, high - low], got {step}")
    if log and step is not None:
        raise RecipeError(f"{label}: give log or step, not both (Optuna samples one or the other)")
    declared = _key_type(key.split("."))
    current = _lookup(resolved.to_dict(), key)
    is_int = declared is int or (declared is None and type(current) is int)
    if declared is None and current is None:  # an option without a plain default: the range says
        is_int = all(isinstance(v, int) for v in (low, high) if v is not None)
    if is_int and not all(float(v).is_integer() for v in (low, high, step or 1)):
        raise RecipeError(
            f"{label}: {key} holds whole numbers; low, high and step must be integers"
        )
    kind = "int" if is_int else "float"
    if is_int:
        low, high = int(low), int(high)
        step = int(step) if step is not None else None
    else:
        low, high = float(low), float(high)
        step = float(step) if step is not None else None
    return Param(key, kind, low=low, high=high, log=log, step=step)


def _lookup(data: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def load_sweep(path: str | Path, registries: Any = None) -> SweepSpec:
    """Read and check a sweep file (the base recipe resolved against ``registries``;
    default: the installed plugins plus the recipe's own)."""
    from translkit.recipe import resolve_recipe, selection_goal

    path = Path(path)
    where = f"sweep {path}"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipeError(f"sweep file {path} does not exist") from None
    except OSError as err:
        raise RecipeError(f"sweep file {path} cannot be read: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise RecipeError(f"{where} is not valid TOML: {err}") from None
    for name in data:
        if name not in TABLES:
            hint = suggest(name, TABLES) or f"; its tables: {', '.join(TABLES)}"
            raise RecipeError(f"{where}: unknown table [{name}]{hint}")
    sweep = _table(data, "sweep", SWEEP_KEYS, where)
    objective = _table(data, "objective", OBJECTIVE_KEYS, where)
    sampler = _table(data, "sampler", SAMPLER_KEYS, where)
    pruner = _table(data, "pruner", PRUNER_KEYS, where)
    if sweep["trials"] < 1:
        raise RecipeError(f"{where}: [sweep] trials must be at least 1, got {sweep['trials']}")
    if sweep["minutes"] < 0:
        raise RecipeError(
            f"{where}: [sweep] minutes must be >= 0 (0: no limit), got {sweep['minutes']}"
        )
    for table, names in ((sampler, SAMPLERS), (pruner, PRUNERS)):
        if table["name"] not in names:
            kind = "sampler" if names is SAMPLERS else "pruner"
            hint = suggest(table["name"], names)
            raise RecipeError(
                f"{where}: [{kind}] name {table['name']!r} is unknown{hint}; "
                f"choose one of {', '.join(names)}"
            )
    counts = [("sampler", sampler, "startup_trials"), ("sampler", sampler, "seed")]
    counts += [("pruner", pruner, k) for k in ("startup_trials", "warmup_epochs")]
    counts += [("pruner", pruner, k) for k in ("min_resource", "min_trials")]
    for kind, table, key in counts:
        if table[key] < 0:
            raise RecipeError(f"{where}: [{kind}] {key} must be >= 0, got {table[key]}")
    if pruner["reduction_factor"] < 2:
        raise RecipeError(
            f"{where}: [pruner] reduction_factor must be >= 2, got {pruner['reduction_factor']}"
        )

    recipe_path = (
        (path.parent / str(sweep["recipe"])).resolve()
        if not Path(sweep["recipe"]).is_absolute()
        else Path(sweep["recipe"])
    )
    base = load_recipe(recipe_path)
    fixed = _flatten(data.get("set", {}), params=False)
    try:
        raw = _set_all(base.to_dict(), fixed)
        checked = recipe_from_dict(raw, source=f"{path} [set]")
    except RecipeError as err:
        raise RecipeError(f"{where}: [set] {err}") from None
    if registries is None:
        from translkit.plugin_manager import load_plugins

        registries = load_plugins(checked.plugins).registries
    resolved = resolve_recipe(checked, registries)
    known = _recipe_keys(resolved.to_dict()) | _recipe_keys(_declared())
    for key in fixed:
        _check_known(key, known, where, "set")

    space_raw = data.get("space", {})
    if not isinstance(space_raw, dict) or not space_raw:
        raise RecipeError(
            f"{where}: [space] is missing or empty; add e.g. "
            '"optim.lr" = { low = 1e-4, high = 1e-2, log = true }'
        )
    space = []
    for key, spec in _flatten(space_raw, params=True).items():
        _check_known(key, known, where, "space")
        if key in fixed:
            raise RecipeError(
                f"{where}: {key} is both fixed in [set] and searched in [space]; keep one"
            )
        param = _param(key, spec, resolved, where)
        for value in _ends(param):
            try:
                one = recipe_from_dict(
                    _set_key(raw, key, value), source=f"{path} [space] {key} = {_toml(value)}"
                )
                resolve_recipe(one, registries)
            except RecipeError as err:
                raise RecipeError(str(err)) from None
        space.append(param)

    metric = objective["metric"]
    if not resolved.eval.every:
        raise RecipeError(
            f"{where}: the objective needs evaluations, but the recipe sets eval.every = 0; "
            'set it in [set], e.g. "eval.every" = 1'
        )
    probe = copy.deepcopy(resolved)
    probe.eval.select = metric
    try:
        goal = selection_goal(probe, registries)
    except RecipeError as err:
        raise RecipeError(f"{where}: [objective] metric: {str(err).split(': ', 1)[-1]}") from None
    constraints = _constraints(data.get("constraints", {}), resolved, registries, where)
    direction = objective["direction"] or ("maximize" if goal == "max" else "minimize")
    if direction not in ("maximize", "minimize"):
        raise RecipeError(
            f"{where}: [objective] direction must be maximize or minimize, got {direction!r}"
        )
    return SweepSpec(
        path=path,
        name=sweep["name"] or path.stem,
        recipe_path=recipe_path,
        output_dir=Path(sweep["output_dir"]),
        trials=int(sweep["trials"]),
        minutes=float(sweep["minutes"]),
        metric=metric,
        direction=direction,
        sampler={k: sampler[k] for k in SAMPLER_KEYS},
        pruner=_pruner_table(pruner),
        constraints=constraints,
        fixed=fixed,
        space=space,
        base=raw,
        plugins=list(resolved.plugins),
    )


def _pruner_table(pruner: dict[str, Any]) -> dict[str, Any]:
    keys = {
        "median": ("startup_trials", "warmup_epochs", "min_trials"),
        "halving": ("min_resource", "reduction_factor"),
        "none": (),
    }[pruner["name"]]
    return {"name": pruner["name"], **{k: pruner[k] for k in keys}}


def _set_all(raw: dict[str, Any], fixed: dict[str, Any]) -> dict[str, Any]:
    for key, value in fixed.items():
        raw = _set_key(raw, key, value)
    return raw


def _declared() -> dict[str, Any]:
    """Every declared recipe key (optional ones without a value included), as nested data."""

    def walk(cls: type) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            tp = _key_type([f.name]) if cls is Recipe else None
            if cls is Recipe and tp is not None and dataclasses.is_dataclass(tp):
                out[f.name] = walk(tp)
            else:
                out[f.name] = None
        return out

    return walk(Recipe)


def _check_known(key: str, known: set[str], where: str, table: str) -> None:
    if key not in known:
        hint = suggest(key, sorted(known))
        raise RecipeError(
            f"{where}: [{table}] {key!r} is not a key of the recipe{hint} "
            "(`translkit run RECIPE --dry-run` lists them all)"
        )


def _ends(param: Param) -> list[Any]:
    if param.kind == "categorical":
        return list(param.choices)
    return [param.low, param.high]


def _constraints(
    given: Any, resolved: Recipe, registries: Any, where: str
) -> dict[str, dict[str, float]]:
    """``[constraints]``: each key a metric the evaluation yields, each bound a number."""
    from translkit.recipe import selection_goal

    if not isinstance(given, dict):
        raise RecipeError(f"{where}: [constraints] must be a table, got {given!r}")
    out: dict[str, dict[str, float]] = {}
    for key, bounds in given.items():
        example = f'"{key}" = {{ max = 2.5 }}'
        if not isinstance(bounds, dict) or not bounds:
            raise RecipeError(
                f"{where}: [constraints] {key} must be a table of min and/or max, e.g. {example}"
            )
        for bound, value in bounds.items():
            if bound not in BOUNDS:
                raise RecipeError(
                    f"{where}: [constraints] {key}: unknown bound {bound!r}; use min or max"
                )
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise RecipeError(
                    f"{where}: [constraints] {key}: {bound} must be a number, got {value!r}"
                )
        probe = copy.deepcopy(resolved)
        probe.eval.select = key
        try:
            selection_goal(probe, registries)
        except RecipeError as err:
            raise RecipeError(f"{where}: [constraints] {str(err).split(': ', 1)[-1]}") from None
        out[key] = {b: float(bounds[b]) for b in BOUNDS if b in bounds}
    return out


def violations(constraints: dict[str, dict[str, float]], record: dict[str, Any]) -> list[float]:
    """An evaluation's ``[constraints]`` values for Optuna (≤ 0 where met; a metric the
    evaluation did not yield counts as far from met)."""
    out = []
    for key, bounds in constraints.items():
        value = record.get(key)
        finite = isinstance(value, int | float) and math.isfinite(value)
        for bound, limit in bounds.items():
            if not finite:
                out.append(1e9)
            else:
                out.append(value - limit if bound == "max" else limit - value)
    return out
