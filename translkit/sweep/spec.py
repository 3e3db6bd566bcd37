"""Sweep files: a base recipe, fixed settings, a search space over recipe keys, an objective.

A sweep file is read by the recipe's own machinery: its tables are the dataclasses of
:mod:`translkit.sweep.tables` (types and ``Annotated`` bounds), read with
:func:`translkit.recipe.read_table`, so unknown tables and keys (with the nearest valid
one), missing keys, wrong types and out-of-range values are one
:class:`~translkit.errors.RecipeError` naming the file and the key, worded as for a recipe.
What only a sweep has is checked here: keys the recipe does not have, a range's ends
against each other, and every range at both ends and every choice as a whole recipe
(through :func:`translkit.recipe.recipe_from_dict` and
:func:`~translkit.recipe.resolve_recipe`, the same resolution and bounds ``translkit run``
applies), so a sampled value cannot fall outside a key's bounds; combinations the ends do
not cover (e.g. ``data.crop_size`` above a sampled ``data.load_size``) are caught again for
each trial, which then fails with that line.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from translkit.errors import RecipeError, suggest
from translkit.recipe import (
    Recipe,
    apply_overrides,
    declared_keys,
    key_type,
    load_recipe,
    read_table,
    read_toml,
    recipe_from_dict,
)
from translkit.sweep.tables import PARAM_KEYS, Limits, SpaceRange, SweepFile

__all__ = ["Param", "SweepSpec", "load_sweep", "violations"]


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


def _flatten(table: dict[str, Any], prefix: str = "", *, params: bool) -> dict[str, Any]:
    """Dotted keys of a (possibly nested) table; in ``[space]`` a range table or a list of
    choices ends a key."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        is_leaf = not isinstance(value, dict) or (params and set(value) <= PARAM_KEYS)
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


def load_sweep(path: str | Path, registries: Any = None) -> SweepSpec:
    """Read and check a sweep file (the base recipe resolved against ``registries``;
    default: the installed plugins plus the recipe's own)."""
    path = Path(path)
    where = f"sweep {path}"
    file = _read(path, where)
    recipe_path = Path(file.sweep.recipe)
    if not recipe_path.is_absolute():
        recipe_path = (path.parent / recipe_path).resolve()  # relative to the sweep file
    fixed = _flatten(file.set, params=False)
    raw, resolved, registries = _base(load_recipe(recipe_path), fixed, path, registries)
    known = _recipe_keys(resolved.to_dict()) | declared_keys()
    for key in fixed:
        _check_known(key, known, where, "set")
    space = _space(file.space, fixed, known, raw, resolved, registries, path)
    goal = _goal(file.objective.metric, resolved, registries, where)
    return SweepSpec(
        path=path,
        name=file.sweep.name or path.stem,
        recipe_path=recipe_path,
        output_dir=Path(file.sweep.output_dir),
        trials=file.sweep.trials,
        minutes=file.sweep.minutes,
        metric=file.objective.metric,
        direction=file.objective.direction or ("maximize" if goal == "max" else "minimize"),
        sampler=asdict(file.sampler),
        pruner=file.pruner.used(),
        constraints=_constraints(file.constraints, resolved, registries, where),
        fixed=fixed,
        space=space,
        base=raw,
        plugins=list(resolved.plugins),
    )


def _read(path: Path, where: str) -> SweepFile:
    """The sweep file's tables, each checked as a recipe section is."""
    data = read_toml(path, "sweep")
    try:
        return read_table(SweepFile, data, "", top="the sweep file's top level")
    except RecipeError as err:
        raise RecipeError(f"{where}: {err}") from None


def _base(
    base: Recipe, fixed: dict[str, Any], path: Path, registries: Any
) -> tuple[dict[str, Any], Recipe, Any]:
    """The base recipe's data with ``[set]`` applied, that recipe resolved, and the
    registries it was resolved against (its plugins loaded when none are given)."""
    from translkit.recipe import resolve_recipe

    try:
        raw = _set_all(base.to_dict(), fixed)
        checked = recipe_from_dict(raw, source=f"{path} [set]")
    except RecipeError as err:
        raise RecipeError(f"sweep {path}: [set] {err}") from None
    if registries is None:
        from translkit.plugin_manager import load_plugins

        registries = load_plugins(checked.plugins).registries
    return raw, resolve_recipe(checked, registries), registries


def _space(
    given: dict[str, Any],
    fixed: dict[str, Any],
    known: set[str],
    raw: dict[str, Any],
    resolved: Recipe,
    registries: Any,
    path: Path,
) -> list[Param]:
    """``[space]``'s parameters, each range at both ends and each choice resolved as a
    whole recipe (so a sampled value cannot fall outside the key's bounds)."""
    from translkit.recipe import resolve_recipe

    where = f"sweep {path}"
    if not given:
        raise RecipeError(
            f"{where}: [space] is missing or empty; add e.g. "
            '"optim.lr" = { low = 1e-4, high = 1e-2, log = true }'
        )
    space = []
    for key, spec in _flatten(given, params=True).items():
        _check_known(key, known, where, "space")
        if key in fixed:
            raise RecipeError(
                f"{where}: {key} is both fixed in [set] and searched in [space]; keep one"
            )
        param = _param(key, spec, resolved, where)
        for value in _ends(param):
            source = f"{path} [space] {key} = {_toml(value)}"
            resolve_recipe(recipe_from_dict(_set_key(raw, key, value), source=source), registries)
        space.append(param)
    return space


def _param(key: str, spec: Any, resolved: Recipe, where: str) -> Param:
    """One ``[space]`` entry: a list (or table) of choices, or a :class:`SpaceRange` whose
    kind, int or float, is the recipe key's."""
    label = f"{where}: [space] {key}"
    if isinstance(spec, list):
        spec = {"choices": spec}
    if not isinstance(spec, dict):
        raise RecipeError(
            f"{label} must be a range {{low, high}} or a list of choices, got {spec!r}"
        )
    if "choices" in spec:
        if set(spec) != {"choices"}:
            raise RecipeError(f"{label}: give either choices or low/high, not both")
        return _choices(key, spec["choices"], label)
    try:
        rng = read_table(SpaceRange, spec, f"space.{key}")
    except RecipeError as err:
        raise RecipeError(f"{where}: {err}") from None
    _check_ends(rng, label)
    declared = key_type(key.split("."))
    current = _lookup(resolved.to_dict(), key)
    is_int = declared is int or (declared is None and type(current) is int)
    if declared is None and current is None:  # an option without a plain default: the range says
        is_int = all(isinstance(v, int) for v in (rng.low, rng.high))
    if not is_int:
        step = float(rng.step) if rng.step is not None else None
        return Param(key, "float", low=float(rng.low), high=float(rng.high), log=rng.log, step=step)
    if not all(float(v).is_integer() for v in (rng.low, rng.high, rng.step or 1)):
        raise RecipeError(
            f"{label}: {key} holds whole numbers; low, high and step must be integers"
        )
    step = int(rng.step) if rng.step is not None else None
    return Param(key, "int", low=int(rng.low), high=int(rng.high), log=rng.log, step=step)


def _check_ends(rng: SpaceRange, label: str) -> None:
    """What a range's bounds cannot say: how its ends, scale and step go together."""
    low, high, step = rng.low, rng.high, rng.step
    if not low < high:
        raise RecipeError(f"{label}: low ({low}) must be below high ({high})")
    if rng.log and low <= 0:
        raise RecipeError(f"{label}: a log-scale range needs low > 0, got {low}")
    if step is not None and step > high - low:
        raise RecipeError(f"{label}: step must be in (0, high - low], got {step}")
    if rng.log and step is not None:
        raise RecipeError(f"{label}: give log or step, not both (Optuna samples one or the other)")


def _choices(key: str, choices: Any, label: str) -> Param:
    names: list[str] = []
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


def _lookup(data: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _set_all(raw: dict[str, Any], fixed: dict[str, Any]) -> dict[str, Any]:
    for key, value in fixed.items():
        raw = _set_key(raw, key, value)
    return raw


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


def _goal(metric: str, resolved: Recipe, registries: Any, where: str) -> str:
    """``"min"`` or ``"max"``: the objective's own goal (it must be a key the evaluation
    yields, and the recipe must evaluate)."""
    from translkit.recipe import selection_goal

    if not resolved.eval.every:
        raise RecipeError(
            f"{where}: the objective needs evaluations, but the recipe sets eval.every = 0; "
            'set it in [set], e.g. "eval.every" = 1'
        )
    probe = copy.deepcopy(resolved)
    probe.eval.select = metric
    try:
        return selection_goal(probe, registries)
    except RecipeError as err:
        raise RecipeError(f"{where}: [objective] metric: {str(err).split(': ', 1)[-1]}") from None


def _constraints(
    given: dict[str, Limits], resolved: Recipe, registries: Any, where: str
) -> dict[str, dict[str, float]]:
    """``[constraints]``: each key a metric the evaluation yields, with a min and/or max."""
    from translkit.recipe import selection_goal

    out: dict[str, dict[str, float]] = {}
    for key, limits in given.items():
        bounds = {b: v for b, v in asdict(limits).items() if v is not None}
        if not bounds:
            raise RecipeError(
                f'{where}: [constraints] {key} needs min and/or max, e.g. "{key}" = {{ max = 2.5 }}'
            )
        probe = copy.deepcopy(resolved)
        probe.eval.select = key
        try:
            selection_goal(probe, registries)
        except RecipeError as err:
            raise RecipeError(f"{where}: [constraints] {str(err).split(': ', 1)[-1]}") from None
        out[key] = bounds
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
