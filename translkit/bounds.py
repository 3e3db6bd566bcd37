"""Valid values beyond the type: ranges, non-empty names, device names, list lengths.

A recipe key carries its bounds in its dataclass field (:mod:`translkit.recipe`); a
component factory declares them on an option with :data:`typing.Annotated`::

    from typing import Annotated
    from translkit.bounds import Range

    def cycle(weight: Annotated[float, Range(min=0)] = 10.0): ...

Both are checked when a recipe is loaded and resolved, so ``translkit run --dry-run``
refuses ``loss.cycle.weight = -10`` before anything is trained, and
:meth:`Registry.create <translkit.registry.Registry.create>` checks a factory's options
(:func:`check_options`) before it calls the factory, which therefore need not check them.
Each bound answers :meth:`problem` (``None`` when the value is fine) and :meth:`describe`
(for the docs).
"""

from __future__ import annotations

import inspect
import math
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from translkit.errors import RecipeError, suggest

__all__ = [
    "Bound",
    "DeviceName",
    "FileName",
    "Length",
    "ModuleName",
    "NonEmpty",
    "Range",
    "Resolved",
    "check_bounds",
    "check_options",
    "checkable",
    "convert",
    "is_text",
    "option_types",
    "problems",
    "type_name",
]


class Bound(Protocol):
    """One constraint on a value that already has the right type."""

    def problem(self, value: Any) -> str | None:
        """``None`` if ``value`` is valid, else what it must be (``"must be ≥ 1"``)."""
        ...

    def describe(self) -> str:
        """The valid values in a few words, for docs/recipes.md (``"≥ 1"``)."""
        ...


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)


@dataclass(frozen=True)
class Range:
    """A number in ``[min, max]`` (``min_open``/``max_open`` exclude an end).

    ``off`` is a value outside the range that switches the feature off (``0`` for
    ``eval.every``). Lists are checked item by item; booleans are not numbers here.
    """

    min: float | None = None
    max: float | None = None
    min_open: bool = False
    max_open: bool = False
    off: float | None = None

    def problem(self, value: Any) -> str | None:
        if isinstance(value, (list, tuple)):
            return next((p for p in map(self.problem, value) if p), None)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None  # the type check speaks for values of the wrong type
        if self.off is not None and value == self.off:
            return None
        if not math.isfinite(value):
            bounded = self.min is not None or self.max is not None
            return f"must be a finite number {self.describe()}" if bounded else "must be finite"
        if not self._inside(value):
            return f"must be {self.describe()}"
        return None

    def _inside(self, value: float) -> bool:
        if self.min is not None and (value <= self.min if self.min_open else value < self.min):
            return False
        return not (
            self.max is not None and (value >= self.max if self.max_open else value > self.max)
        )

    def describe(self) -> str:
        lo, hi = self.min, self.max
        if lo is not None and hi is not None:
            left, right = "(" if self.min_open else "[", ")" if self.max_open else "]"
            text = f"in {left}{_num(lo)}, {_num(hi)}{right}"
        elif lo is not None:
            text = f"{'>' if self.min_open else '≥'} {_num(lo)}"
        elif hi is not None:
            text = f"{'<' if self.max_open else '≤'} {_num(hi)}"
        else:
            text = "any number"
        return text if self.off is None else f"{text}, or {_num(self.off)} = off"


@dataclass(frozen=True)
class NonEmpty:
    """A string with at least one non-blank character, or a list with at least one item."""

    def problem(self, value: Any) -> str | None:
        if isinstance(value, str) and not value.strip():
            return "must not be empty"
        if isinstance(value, (list, tuple)) and not value:
            return "must not be empty"
        return None

    def describe(self) -> str:
        return "not empty"


@dataclass(frozen=True)
class FileName:
    """One path component: not empty, no ``/`` or ``\\``, not ``.`` or ``..``."""

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        if not value.strip() or value in (".", "..") or re.search(r"[/\\\x00]", value):
            return "must be a plain folder name (not empty, no '/', not '.' or '..')"
        return None

    def describe(self) -> str:
        return "a folder name"


_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class ModuleName:
    """A dotted Python module name (``my_plugin``, ``pkg.plugin``); lists item by item."""

    def problem(self, value: Any) -> str | None:
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, str) and not _MODULE.match(item):
                return f"must list Python module names (like my_plugin), got {item!r}"
        return None

    def describe(self) -> str:
        return "module names"


_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass(frozen=True)
class DeviceName:
    """``auto``, ``cpu``, ``mps``, ``cuda`` or ``cuda:N`` (availability is checked later)."""

    def problem(self, value: Any) -> str | None:
        if isinstance(value, str) and not _DEVICE.match(value):
            return "must be auto, cpu, cuda or cuda:N"
        return None

    def describe(self) -> str:
        return "auto, cpu, cuda, cuda:N"


@dataclass(frozen=True)
class Length:
    """A list of exactly ``n`` items."""

    n: int

    def problem(self, value: Any) -> str | None:
        if isinstance(value, (list, tuple)) and len(value) != self.n:
            return f"must hold exactly {self.n} values"
        return None

    def describe(self) -> str:
        return f"{self.n} values"


@dataclass(frozen=True)
class Resolved:
    """A note for the docs: checked against the plugins when the recipe is resolved."""

    text: str

    def problem(self, value: Any) -> str | None:
        return None

    def describe(self) -> str:
        return self.text


def problems(value: Any, bounds: Iterable[Any]) -> str | None:
    """The first problem any of ``bounds`` finds with ``value`` (objects that are not
    bounds, such as other ``Annotated`` metadata, are ignored)."""
    for bound in bounds:
        check = getattr(bound, "problem", None)
        if callable(check) and (found := check(value)):
            return found
    return None


# -- types: checked before the bounds ------------------------------------------------
def type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return type_name(typing.get_args(tp)[0])
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in typing.get_args(tp))
    if origin is list:
        return f"list of {type_name(typing.get_args(tp)[0])}"
    if origin is dict:
        return "a table"
    if tp is Any:
        return "any value"
    if tp is type(None):
        return "none"
    return getattr(tp, "__name__", str(tp))


def convert(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against type ``tp``; return it (ints widen to float).

    ``Annotated[T, bound, ...]`` checks ``T``, then each :mod:`bound <translkit.bounds>`;
    ``dict[str, T]`` is a table whose values are each a ``T``; ``Any`` is any value.
    """
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin is Annotated:
        base, *bounds = typing.get_args(tp)
        return check_bounds(convert(value, base, where), bounds, where)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return convert(value, arg, where)
            except _WrongType:  # a bound error of a matching type speaks for itself
                pass
        raise _type_error(value, tp, where)
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            hint = suggest(str(value), [str(c) for c in choices])
            raise RecipeError(f"{where} must be one of {type_name(tp)}, got {value!r}{hint}")
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise _type_error(value, tp, where)
        (item,) = typing.get_args(tp)
        return [convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _type_error(value, tp, where)
        item = typing.get_args(tp)[1]
        return {k: convert(v, item, f"{where}.{k}") for k, v in value.items()}
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
    raise TypeError(f"unsupported field type {tp!r} at {where}")  # a bug, not user error


class _WrongType(RecipeError):
    """The value is not of the declared type (as opposed to out of its bounds)."""


def _type_error(value: Any, tp: Any, where: str) -> RecipeError:
    return _WrongType(f"{where} must be {type_name(tp)}, got {value!r} ({type(value).__name__})")


def check_bounds(value: Any, bounds: Any, where: str) -> Any:
    """Return ``value`` if every bound accepts it, else raise naming ``where``."""
    if value is not None and (found := problems(value, bounds)):
        raise RecipeError(f"{where} {found}, got {value!r}")
    return value


def is_text(tp: Any) -> bool:
    """Whether a value of type ``tp`` may be a string (``str``, a Literal of strings, ...)."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return is_text(typing.get_args(tp)[0])
    if origin is Literal:
        return all(isinstance(a, str) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return any(is_text(a) for a in typing.get_args(tp))
    return tp is str


def option_types(factory: Any) -> dict[str, Any]:
    """The evaluated annotations of a factory's parameters (none when they cannot be read)."""
    try:
        sig = inspect.signature(factory, eval_str=True)
    except Exception:  # unresolvable annotations: leave the checks to the factory itself
        return {}
    return {n: p.annotation for n, p in sig.parameters.items() if p.annotation is not p.empty}


def check_options(factory: Any, options: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """``options`` checked against ``factory``'s annotations and returned converted: each
    option's type, then its ``Annotated`` bounds (:func:`convert`; ints widen to a declared
    float). An option without an annotation :func:`checkable` understands passes as given,
    so a factory without annotations is left to check its own options. A problem raises
    :class:`~translkit.errors.RecipeError` naming ``prefix + option`` (``generator.ngf``)."""
    declared = option_types(factory)
    out = dict(options)
    for name, value in options.items():
        tp = declared.get(name)
        if tp is not None and checkable(tp):
            out[name] = convert(value, tp, f"{prefix}{name}")
    return out


def checkable(tp: Any) -> bool:
    """Whether :func:`convert` understands ``tp`` (other annotations are not checked)."""
    origin = typing.get_origin(tp)
    if origin in (Annotated, typing.Union, types.UnionType, list):
        args = typing.get_args(tp)
        return bool(args) and all(checkable(a) for a in args[: 1 if origin is Annotated else None])
    if origin is dict:
        return typing.get_args(tp)[:1] == (str,) and checkable(typing.get_args(tp)[1])
    if origin is Literal:
        return True
    return tp in (int, float, str, bool, type(None)) or tp is Any
