"""Each metric as the core uses it: its required and optional parts, typed, in one place.

A metric that inherits :class:`~translkit.contracts.MetricBase` declares its optional parts
(preflight, data preparation, baselines, reference values, trust marks) and is read by
them. A metric written against the older contract is adapted here, through
:mod:`translkit.compat`, and nowhere else: ``prepare(weights)`` is its preflight,
``prepare_data`` its data preparation, ``baselines = True`` asks for the baselines, and
its reference values and trust marks are read off its ``info`` keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from translkit.compat import split_old_info
from translkit.contracts import Baseline, MetricBase, MetricInputs, MetricSetup
from translkit.registry import Registries

__all__ = ["AdaptedMetric", "MetricOutput", "build_metrics"]


@dataclass
class MetricOutput:
    """One call's values, notes, reference values and trust marks (keys unprefixed)."""

    values: dict[str, float]
    info: dict[str, float] = field(default_factory=dict)
    reference: dict[str, float] = field(default_factory=dict)
    untrusted: dict[str, str] = field(default_factory=dict)


class AdaptedMetric:
    """A built metric and its parts: what the core calls, whichever contract it follows."""

    def __init__(self, name: str, metric: Any) -> None:
        self.name = name
        self.metric = metric
        self.typed = isinstance(metric, MetricBase)
        self.goals: Mapping[str, str] = metric.goals
        self.min_images: int = metric.min_images
        if self.typed:
            self.baselines: tuple[Baseline, ...] = tuple(metric.baselines)
            self.show_baselines = bool(metric.show_baselines)
            self.prepares_data = bool(metric.prepares_data)
        else:  # the older contract: optional members found by name, here only
            self.baselines = ()
            self.show_baselines = getattr(metric, "baselines", False) is True
            self.prepares_data = callable(getattr(metric, "prepare_data", None))

    def __repr__(self) -> str:
        return f"AdaptedMetric({self.name!r}, {self.metric!r})"

    def preflight(self, setup: MetricSetup) -> None:
        """The metric's cheap check that it can run (old contract: ``prepare(weights)``)."""
        if self.typed:
            self.metric.preflight(setup)
            return
        prepare: Callable[[Path | None], None] | None = getattr(self.metric, "prepare", None)
        if callable(prepare):
            prepare(setup.weights)

    def prepare_data(self, data_root: Path, cache_dir: Path, *, progress: bool = False) -> None:
        """The metric's long work on the dataset, when it has any."""
        if self.prepares_data:
            self.metric.prepare_data(Path(data_root), Path(cache_dir), progress=progress)

    def __call__(self, inputs: MetricInputs) -> MetricOutput:
        values = dict(self.metric(inputs))
        if self.typed:
            return MetricOutput(
                values,
                dict(self.metric.info),
                dict(self.metric.reference),
                dict(self.metric.untrusted),
            )
        notes, reference, untrusted = split_old_info(self.metric.info)
        return MetricOutput(values, notes, reference, untrusted)


def build_metrics(
    names: Sequence[str],
    registries: Registries,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, AdaptedMetric]:
    """Each named metric built once, with its factory options (``{name: {option: value}}``)."""
    return {
        name: AdaptedMetric(
            name, registries.metrics.create(name, **dict((options or {}).get(name, {})))
        )
        for name in dict.fromkeys(names)
    }
