"""Names earlier versions of translkit used, mapped to today's — here and nowhere else.

The core names no metric family (``tests/test_architecture.py``), but recipes, command
lines, scripts and third-party metrics written for earlier versions name one: the
Inception weights setting and the domain metric's info-key conventions. Each old name is
read here and turned into its generic replacement (``docs/scoring.md``, "Compatibility"):

- the recipe key ``eval.inception_weights`` → ``eval.metric_weights``;
- the option ``--inception-weights`` → ``--metric-weights``;
- the keyword ``inception_weights=`` of the scoring functions → ``metric_weights=``;
- the attribute ``MetricInputs.inception_weights`` → ``MetricInputs.weights``;
- a metric without :class:`~translkit.contracts.MetricBase`: ``prepare(weights)``,
  ``baselines = True`` and the ``info`` keys ``<key>@real`` (a reference value) and
  ``<key>_untrusted`` (a trust mark).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from translkit.errors import RecipeError

__all__ = [
    "METRIC_WEIGHTS_FLAGS",
    "accepts_old_keywords",
    "old_attribute",
    "split_old_info",
    "upgrade_recipe",
]

#: The recipe key of a local weights file the metrics read (earlier: its Inception name).
_OLD_EVAL_KEYS = {"inception_weights": "metric_weights"}
#: Old keyword arguments of the scoring functions and the attributes of ``MetricInputs``.
_OLD_KEYWORDS = {"inception_weights": "metric_weights"}
_OLD_ATTRIBUTES = {"inception_weights": "weights"}
#: Extra flag names of ``--metric-weights``.
METRIC_WEIGHTS_FLAGS = ("--inception-weights",)
#: ``info`` key endings of the old metric contract.
_REFERENCE_END = "@real"
_UNTRUSTED_END = "_untrusted"
_UNTRUSTED_WHY = (
    "the classifier's accuracy on the real test split is below its threshold; "
    "do not trust these numbers"
)

F = TypeVar("F", bound=Callable[..., Any])


def upgrade_recipe(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Plain recipe data with old key names renamed (a copy; ``raw`` is not changed)."""
    section = raw.get("eval")
    if not isinstance(section, dict) or not set(section) & set(_OLD_EVAL_KEYS):
        return dict(raw)
    section = dict(section)
    for old, new in _OLD_EVAL_KEYS.items():
        if old not in section:
            continue
        value = section.pop(old)
        if section.get(new, value) not in ("", value):
            raise RecipeError(
                f"eval.{old} (its old name) and eval.{new} name different files; keep eval.{new}"
            )
        if value or new not in section:
            section[new] = value
    return {**raw, "eval": section}


def accepts_old_keywords(func: F) -> F:
    """``func`` also takes the old names of its keyword arguments (one of each pair)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for old, new in _OLD_KEYWORDS.items():
            if old in kwargs:
                if kwargs.get(new) is not None:
                    raise TypeError(f"{func.__name__}() got both {old}= and {new}=")
                kwargs[new] = kwargs.pop(old)
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def old_attribute(obj: Any, name: str) -> Any:
    """The value of an attribute read under its old name (``AttributeError`` otherwise)."""
    new = _OLD_ATTRIBUTES.get(name)
    if new is None:
        raise AttributeError(f"{type(obj).__name__!r} object has no attribute {name!r}")
    return getattr(obj, new)


def split_old_info(
    info: Mapping[str, float],
) -> tuple[dict[str, float], dict[str, float], dict[str, str]]:
    """An old-contract metric's ``info`` as ``(notes, reference values, trust marks)``:
    ``<key>@real`` is what real images score on ``<key>``; ``<key>_untrusted`` (true) marks
    numbers not to trust."""
    notes: dict[str, float] = {}
    reference: dict[str, float] = {}
    untrusted: dict[str, str] = {}
    for key, value in info.items():
        if key.endswith(_REFERENCE_END):
            reference[key[: -len(_REFERENCE_END)]] = value
        elif key.endswith(_UNTRUSTED_END):
            if value:
                untrusted[key] = _UNTRUSTED_WHY
        else:
            notes[key] = value
    return notes, reference, untrusted
