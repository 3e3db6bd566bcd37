"""Scoring translations: metric plugins over folders, generators and run directories.

Three entry points, from the smallest to the largest:

- :func:`score_folders` — metrics (registry names) on a folder of translated images
  against a folder of real target-domain images (and a ground-truth folder, if any);
- :func:`score_generators` — translate each test split of a dataset with a pair of
  generators, then score each direction (the training loop calls this to evaluate);
- :func:`score_run` — the same for a run directory's checkpoint, writing ``scores.json``
  (``translkit score RUN_DIR``).

Result keys are ``"<direction>/<key>"`` with the keys below (torch-fidelity's long names
are shortened to these).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from translkit.errors import TranslkitError
from translkit.fileio import write_text_atomic
from translkit.recipe import Recipe, load_recipe
from translkit.rundir import RECIPE_FILE

__all__ = [
    "DEFAULT_METRICS",
    "KEY_FID",
    "KEY_F_SCORE",
    "KEY_IS",
    "KEY_IS_STD",
    "KEY_KID",
    "KEY_KID_STD",
    "KEY_L1",
    "KEY_OBJECTIVE",
    "KEY_PRECISION",
    "KEY_PSNR",
    "KEY_RECALL",
    "KEY_SSIM",
    "SCORES_FILE",
    "TEST_FOLDERS",
    "TRUTH_FOLDERS",
    "TRUTH_METRICS",
    "MetricError",
    "ScoreResult",
    "default_cache_dir",
    "pivot_scores",
    "score_folders",
    "score_generators",
    "score_run",
    "scores_table",
]

KEY_IS = "is"
KEY_IS_STD = "is_std"
KEY_FID = "fid"
KEY_KID = "kid"
KEY_KID_STD = "kid_std"
KEY_PRECISION = "precision"
KEY_RECALL = "recall"
KEY_F_SCORE = "f_score"
KEY_PSNR = "psnr"
KEY_SSIM = "ssim"
KEY_L1 = "l1"
KEY_OBJECTIVE = "objective"

SCORES_FILE = "scores.json"
#: Metrics of ``translkit score`` when neither the command nor the recipe names any.
DEFAULT_METRICS = ("fid", "kid", "is")
#: Ground-truth metrics added automatically when a truth folder exists.
TRUTH_METRICS = ("psnr", "ssim", "l1")
#: direction -> (source test split, real target-domain test split)
TEST_FOLDERS = {"a2b": ("testA", "testB"), "b2a": ("testB", "testA")}
#: direction -> folder of hidden ground-truth twins of the source split (synthetic data)
TRUTH_FOLDERS = {"a2b": "testA_truth", "b2a": "testB_truth"}


class MetricError(TranslkitError):
    """A metric could not be computed from the inputs given."""


def default_cache_dir() -> Path:
    """``$TRANSLKIT_CACHE`` or ``$XDG_CACHE_HOME/translkit`` (``~/.cache/translkit``),
    plus ``/fidelity``: where feature statistics of real-image folders are kept."""
    if os.environ.get("TRANSLKIT_CACHE"):
        return Path(os.environ["TRANSLKIT_CACHE"]) / "fidelity"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "translkit" / "fidelity"


@dataclass
class ScoreResult:
    """Metric values, their goals (``min``/``max``) and what was adapted (``info``)."""

    values: dict[str, float] = field(default_factory=dict)
    goals: dict[str, str] = field(default_factory=dict)
    info: dict[str, float] = field(default_factory=dict)

    def prefixed(self, prefix: str) -> ScoreResult:
        def add(d: Mapping[str, Any]) -> dict[str, Any]:
            return {f"{prefix}/{k}": v for k, v in d.items()}

        return ScoreResult(add(self.values), add(self.goals), add(self.info))

    def update(self, other: ScoreResult) -> None:
        self.values.update(other.values)
        self.goals.update(other.goals)
        self.info.update(other.info)


def _registry(plugins: Sequence[str] = ()) -> Any:
    from translkit.plugins import get_registry

    return get_registry(tuple(plugins))


def score_folders(
    fake: str | Path,
    real: str | Path,
    metrics: Sequence[str],
    *,
    truth: str | Path | None = None,
    device: str = "cpu",
    batch_size: int = 32,
    cache_dir: str | Path | None = None,
    inception_weights: str | Path | None = None,
    extras: dict[str, Any] | None = None,
    registry: Any = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> ScoreResult:
    """Compute ``metrics`` (registry names) on translated images ``fake`` vs ``real``.

    :param truth: ground-truth twins of ``fake`` under the same relative names; the
        ``psnr``/``ssim``/``l1`` metrics need it.
    :param options: per-metric factory options, e.g. ``{"kid": {"kid_subsets": 50}}``.
    """
    from translkit.contracts import MetricInputs

    registry = registry or _registry()
    inputs = MetricInputs(
        fake=Path(fake),
        real=Path(real),
        truth=Path(truth) if truth else None,
        device=device,
        batch_size=batch_size,
        cache_dir=Path(cache_dir) if cache_dir else None,
        inception_weights=Path(inception_weights) if inception_weights else None,
        extras=dict(extras or {}),
    )
    result = ScoreResult()
    for name in dict.fromkeys(metrics):
        metric = registry.metrics.create(name, **dict((options or {}).get(name, {})))
        values = metric(inputs)
        result.values.update(values)
        result.goals.update({k: metric.goals.get(k, "min") for k in values})
        result.info.update(getattr(metric, "info", {}) or {})
    return result


def score_generators(
    generators: Mapping[str, nn.Module],
    data: Any,
    metrics: Sequence[str],
    *,
    out_dir: Path,
    device: str = "cpu",
    inception_weights: str | None = None,
    checkpoint: str | Path | None = None,
    batch_size: int = 8,
    progress: bool = False,
    result: ScoreResult | None = None,
    plugins: Sequence[str] = (),
) -> dict[str, float]:
    """Translate ``data.root``'s test splits and score each direction.

    :param generators: ``{"a2b": G_AB, "b2a": G_BA}`` (either may be missing).
    :param data: a :class:`~translkit.recipe.DataSection` (only ``root`` is read).
    :param metrics: metric names; the truth metrics are added for a direction whose
        truth folder (``testA_truth``/``testB_truth``) exists.
    :param out_dir: translations are written to ``out_dir/<direction>/``.
    :param checkpoint: passed to metrics as ``extras["checkpoint"]`` (``objective``).
    :param result: filled with goals and info as well, when given.
    :param plugins: extra plugin modules providing metrics (a recipe's ``plugins``).
    :returns: ``{"a2b/<key>": value, "b2a/<key>": value, ...}``.
    """
    from translkit.inference.files import plan_outputs, translate_files
    from translkit.inference.translate import Translator

    root = Path(data.root)
    total = result if result is not None else ScoreResult()
    registry = _registry(plugins)
    shared = [m for m in metrics if not _directional(registry, m)]
    metrics = [m for m in metrics if m not in shared]
    for direction, net in generators.items():
        src_name, real_name = TEST_FOLDERS[direction]
        src, real = root / src_name, root / real_name
        for folder in (src, real):
            if not folder.is_dir():
                raise MetricError(f"test folder {folder} does not exist (data.root = {root})")
        fake = Path(out_dir) / direction
        # fp32 whatever the CPU: scores must not depend on the machine that computes them
        translator = Translator(net, device=device, batch_size=batch_size, precision="fp32")
        report = translate_files(translator, plan_outputs(src, fake))
        if report.failed:
            _, reason = report.failed[0]
            raise MetricError(f"{len(report.failed)} test image(s) failed to translate: {reason}")
        truth = root / TRUTH_FOLDERS[direction]
        names = list(metrics)
        if truth.is_dir():
            names += [m for m in TRUTH_METRICS if m in registry.metrics and m not in names]
        extras = {"direction": direction, "progress": progress}
        if checkpoint is not None:
            extras["checkpoint"] = Path(checkpoint)
        part = score_folders(
            fake,
            real,
            names,
            truth=truth if truth.is_dir() else None,
            device=device,
            inception_weights=inception_weights or None,
            extras=extras,
            registry=registry,
        )
        total.update(part.prefixed(direction))
    if shared:  # model-wide metrics (the test objective): once, keys not prefixed
        extras = {"checkpoint": Path(checkpoint)} if checkpoint is not None else {}
        total.update(
            score_folders(
                out_dir,
                root,
                shared,
                device=device,
                extras=extras,
                registry=registry,
            )
        )
    return dict(total.values)


def _directional(registry: Any, name: str) -> bool:
    """Whether metric ``name`` is scored per direction (``objective`` is not)."""
    return bool(getattr(registry.metrics.create(name), "directional", True))


# -- run directories -------------------------------------------------------------------------
def _checkpoint_path(run_dir: Path, checkpoint: str) -> Path:
    if checkpoint in ("best", "latest"):
        path = run_dir / "checkpoints" / f"{checkpoint}.pt"
        if checkpoint == "best" and not path.is_file():
            path = run_dir / "checkpoints" / "latest.pt"
        if not path.is_file():
            raise TranslkitError(
                f"run directory {run_dir} has no checkpoints/{checkpoint}.pt; train it first "
                "or pass --checkpoint PATH"
            )
        return path
    path = Path(checkpoint)
    if not path.is_file():
        raise TranslkitError(f"checkpoint {path} does not exist (use best, latest or a file)")
    return path


def _run_recipe(run_dir: Path) -> Recipe:
    """The run's resolved recipe, read through the same typed model as any recipe."""
    path = run_dir / RECIPE_FILE
    if not path.is_file():
        raise TranslkitError(
            f"{run_dir} is not a run directory: {path.name} is missing (`translkit run` writes it)"
        )
    return load_recipe(path)


def _atomic_json(path: Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def score_run(
    run_dir: str | Path,
    *,
    checkpoint: str = "best",
    metrics: Sequence[str] | None = None,
    device: str = "cpu",
    inception_weights: str | None = None,
    data_root: str | Path | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Score a run directory's checkpoint on its test splits; write ``scores.json``.

    :param checkpoint: ``best`` (falls back to ``latest``), ``latest`` or a file path.
    :param metrics: defaults to the recipe's ``eval.metrics``, else :data:`DEFAULT_METRICS`.
    :param data_root: overrides the recipe's ``data.root``.
    :returns: what ``scores.json`` holds: ``scores``, ``goals``, ``info``, ``checkpoint``...
    """
    from translkit.checkpoint import load_generators

    run_dir = Path(run_dir)
    recipe = _run_recipe(run_dir)
    ckpt = _checkpoint_path(run_dir, checkpoint)
    names = list(metrics or recipe.eval.metrics or DEFAULT_METRICS)
    weights = inception_weights or recipe.eval.inception_weights or None
    data = dataclasses.replace(recipe.data, root=str(data_root or recipe.data.root))
    started = time.perf_counter()
    result = ScoreResult()
    with tempfile.TemporaryDirectory(prefix="translkit-score-") as tmp:
        score_generators(
            load_generators(ckpt),
            data,
            names,
            out_dir=Path(tmp),
            device=device,
            inception_weights=weights,
            checkpoint=ckpt,
            progress=progress,
            result=result,
            plugins=recipe.plugins,
        )
    out = {
        "run_dir": str(run_dir),
        "checkpoint": str(ckpt),
        "data_root": data.root,
        "metrics": names,
        "scores": result.values,
        "goals": result.goals,
        "info": result.info,
        "seconds": round(time.perf_counter() - started, 3),
    }
    _atomic_json(run_dir / SCORES_FILE, out)
    return out


def pivot_scores(
    scores: Mapping[str, float], goals: Mapping[str, str] | None = None
) -> tuple[list[str], list[tuple[str, str, dict[str, float]]]]:
    """Columns (``a2b``, ``b2a``, ``value`` for unprefixed keys) and rows
    ``(metric, "lower" | "higher" | "", {column: value})`` of a flat score dict."""
    goals = goals or {}
    columns: list[str] = []
    rows: dict[str, dict[str, float]] = {}
    for key, value in scores.items():
        head, _, rest = key.partition("/")
        col, metric = (head, rest) if head in TEST_FOLDERS and rest else ("value", key)
        if col not in columns:
            columns.append(col)
        rows.setdefault(metric, {})[col] = value
    order = [*TEST_FOLDERS, "value"]
    columns.sort(key=order.index)
    out = []
    for metric, vals in rows.items():
        goal = next(
            (goals[f"{c}/{metric}"] for c in columns if f"{c}/{metric}" in goals),
            goals.get(metric, ""),
        )
        out.append((metric, {"min": "lower", "max": "higher"}.get(goal, ""), vals))
    return columns, out


def scores_table(scores: Mapping[str, float], goals: Mapping[str, str] | None = None) -> Any:
    """A rich table: one row per metric key, one column per direction (or ``value``)."""
    from rich.table import Table

    columns, rows = pivot_scores(scores, goals)
    table = Table(title="scores")
    table.add_column("metric")
    table.add_column("better")
    for col in columns:
        table.add_column(col, justify="right")
    for metric, better, vals in rows:
        table.add_row(metric, better, *(_fmt(vals.get(c)) for c in columns))
    return table


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}"
