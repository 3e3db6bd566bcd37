"""Scoring translations: metric plugins over folders, generators and run directories.

Three entry points, from the smallest to the largest:

- :func:`score_folders` — metrics (registry names) on a folder of translated images
  against a folder of real target-domain images (and a ground-truth folder, if any);
- :func:`score_generators` — translate each test split of a dataset with the generators
  of a model, then score each direction (the training loop calls this to evaluate);
- :func:`score_run` — the same for a run directory's checkpoint, loaded once, plus the
  method's test objective (``objective``) when asked, writing ``scores.json``.

Result keys are ``"<direction>/<key>"`` for metrics (keys: the ``KEY_*`` constants of
:mod:`translkit.contracts`) and ``objective``, ``objective/<term>`` for the objective.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from translkit.cache import cache_dir as default_cache
from translkit.contracts import KEY_OBJECTIVE, MetricInputs
from translkit.data.io import TEST_SPLITS, TRUTH_SPLITS
from translkit.errors import MetricError, MetricUnavailable, MissingComponentError
from translkit.fileio import ensure_writable
from translkit.registry import Registries

__all__ = [
    "BASELINES",
    "DEFAULT_METRICS",
    "TRUTH_METRICS",
    "ScoreResult",
    "check_metrics",
    "colour_transfer",
    "pivot_scores",
    "score_baselines",
    "score_folders",
    "score_generators",
    "score_model",
    "score_run",
    "skipped_lines",
]

#: Metrics of ``translkit score`` when neither the command nor the recipe names any.
DEFAULT_METRICS = ("fid", "kid", "is")
#: Ground-truth metrics added automatically when a truth folder exists.
TRUTH_METRICS = ("psnr", "ssim", "l1")
#: What a translation must beat, scored like a model by :func:`score_baselines`:
#: the input itself, and the input's colours moved to the target domain's statistics.
BASELINES = ("copy_input", "colour_transfer")

log = logging.getLogger("translkit.metrics")


@dataclass
class ScoreResult:
    """Metric values, their goals (``min``/``max``) and what was adapted (``info``)."""

    values: dict[str, float] = field(default_factory=dict)
    goals: dict[str, str] = field(default_factory=dict)
    info: dict[str, float] = field(default_factory=dict)
    #: Metrics that could not run here (name -> why), when skipping was allowed.
    skipped: dict[str, str] = field(default_factory=dict)

    def prefixed(self, prefix: str) -> ScoreResult:
        def add(d: Mapping[str, Any]) -> dict[str, Any]:
            return {f"{prefix}/{k}": v for k, v in d.items()}

        return ScoreResult(add(self.values), add(self.goals), add(self.info))

    def update(self, other: ScoreResult) -> None:
        self.values.update(other.values)
        self.goals.update(other.goals)
        self.info.update(other.info)
        self.skipped.update(other.skipped)


def check_metrics(
    metrics: Sequence[str],
    registries: Registries,
    *,
    inception_weights: str | Path | None = None,
    required: Sequence[str] = (),
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[list[str], dict[str, str]]:
    """Preflight, before any long work: call each metric's ``prepare``.

    A metric whose ``prepare`` raises :class:`~translkit.errors.MetricUnavailable` (e.g.
    Inception weights neither given, cached nor downloadable) is skipped — unless it is in
    ``required`` (the user named it), where the error is raised. ``objective`` is passed
    through (the core computes it). Any other error is raised.

    :returns: ``(metrics that can run, {skipped metric: why})``.
    """
    weights = Path(inception_weights) if inception_weights else None
    runnable, skipped = [], {}
    for name in dict.fromkeys(metrics):
        if name != KEY_OBJECTIVE:
            metric = registries.metrics.create(name, **dict((options or {}).get(name, {})))
            prepare = getattr(metric, "prepare", None)
            try:
                if callable(prepare):
                    prepare(weights)
            except MetricUnavailable as err:
                if name in required:
                    raise MetricUnavailable(f"metric {name!r} cannot run: {err}") from None
                skipped[name] = str(err)
                continue
        runnable.append(name)
    return runnable, skipped


def skipped_lines(skipped: Mapping[str, str]) -> list[str]:
    """One line per reason: ``not scored: fid, kid, is — <why>``."""
    by_reason: dict[str, list[str]] = {}
    for name, why in skipped.items():
        by_reason.setdefault(why, []).append(name)
    return [f"not scored: {', '.join(names)} — {why}" for why, names in by_reason.items()]


def score_folders(
    fake: str | Path,
    real: str | Path,
    metrics: Sequence[str],
    registries: Registries,
    *,
    truth: str | Path | None = None,
    device: str = "cpu",
    batch_size: int = 32,
    cache_dir: str | Path | None = None,
    inception_weights: str | Path | None = None,
    progress: bool = False,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    skip_unavailable: bool = False,
    data_root: str | Path | None = None,
    direction: str | None = None,
) -> ScoreResult:
    """Compute ``metrics`` (registry names) on translated images ``fake`` vs ``real``.

    :param truth: ground-truth twins of ``fake`` under the same relative names; the
        ``psnr``/``ssim``/``l1`` metrics need it.
    :param cache_dir: where metrics keep features between calls (default: the translkit
        cache).
    :param options: per-metric factory options, e.g. ``{"kid": {"subsets": 50}}``.
    :param skip_unavailable: skip a metric that cannot run here (its ``prepare`` raises
        :class:`~translkit.errors.MetricUnavailable`) and record why in ``skipped``,
        instead of raising; a :class:`MetricError` if nothing is left to score.
    :param data_root: the dataset (``trainA/`` ...) and ``direction`` (``a2b``/``b2a``)
        the translations come from, for metrics that learn from its training split
        (``domain``).
    """
    result = ScoreResult()
    if skip_unavailable:
        metrics, result.skipped = check_metrics(
            metrics, registries, inception_weights=inception_weights, options=options
        )
        if not metrics:
            raise MetricError(_nothing_scored(result.skipped))
    inputs = MetricInputs(
        fake=Path(fake),
        real=Path(real),
        cache_dir=Path(cache_dir) if cache_dir else default_cache("metrics"),
        truth=Path(truth) if truth else None,
        device=device,
        batch_size=batch_size,
        inception_weights=Path(inception_weights) if inception_weights else None,
        progress=progress,
        data_root=Path(data_root) if data_root else None,
        direction=direction,
    )
    for name in dict.fromkeys(metrics):
        if name == KEY_OBJECTIVE:
            raise MetricError(
                "objective is the method's own loss on a model's test split: score it from a "
                "run directory or checkpoint (`translkit score RUN_DIR -m objective`), not from "
                "two folders"
            )
        metric = registries.metrics.create(name, **dict((options or {}).get(name, {})))
        _require_images(name, metric, inputs.fake)
        with warnings.catch_warnings(record=True) as caught:  # numpy's, torch's: not for users
            warnings.simplefilter("always")
            values = metric(inputs)
        for w in caught:
            log.debug("metric %s: %s: %s", name, w.category.__name__, w.message)
        _require_finite(name, values, inputs.fake)
        result.values.update(values)
        result.goals.update({k: metric.goals.get(k, "min") for k in values})
        result.info.update(metric.info)
    return result


def _nothing_scored(skipped: Mapping[str, str]) -> str:
    return "nothing could be scored: " + "; ".join(skipped_lines(skipped))


def _require_images(name: str, metric: Any, fake: Path) -> None:
    """One line when ``fake`` holds fewer images than the metric's ``min_images``."""
    need = metric.min_images
    if need <= 0 or not fake.is_dir():  # a missing folder: the metric names it
        return
    from translkit.data.io import list_images

    have = len(list_images(fake))
    if have == 0:
        raise MetricError(f"translated-image folder {fake} holds no images (png, jpg, ...)")
    if have < need:
        raise MetricError(
            f"metric {name!r} needs at least {need} translated images; {fake} has {have}"
        )


def _require_finite(name: str, values: Mapping[str, float], fake: Path) -> None:
    """A metric that returns NaN or infinity fails instead of printing ``nan``."""
    import math

    for key, value in values.items():
        if not math.isfinite(float(value)):
            raise MetricError(
                f"metric {name!r} gave {key} = {value} on {fake}: the set is too small or "
                "degenerate for it"
            )


def score_generators(
    generators: Mapping[str, nn.Module],
    data: Any,
    metrics: Sequence[str],
    registries: Registries,
    *,
    out_dir: Path,
    device: str = "cpu",
    inception_weights: str | None = None,
    batch_size: int = 8,
    progress: bool = False,
    resize: int = 0,
) -> ScoreResult:
    """Translate ``data.root``'s test splits with each generator and score each direction.

    :param generators: direction -> generator (``a2b``, ``b2a``, or just one of them).
    :param data: a :class:`~translkit.recipe.DataSection` (``root`` is read).
    :param metrics: metric names; the truth metrics are added for a direction whose
        truth folder (``testA_truth``/``testB_truth``) exists.
    :param out_dir: translations are written to ``out_dir/<direction>/``.
    :param resize: test images are scaled down to this shorter side before translating
        (:func:`~translkit.inference.files.scale_down`; 0: each at its own size); the real
        images they are compared with are not.
    :returns: keys ``"a2b/<key>"``, ``"b2a/<key>"``.
    """
    from translkit.inference.files import plan_outputs, translate_files
    from translkit.inference.translate import Translator

    root = Path(data.root)
    total = ScoreResult()
    for direction, net in generators.items():
        src_name, real_name = TEST_SPLITS[direction]
        src, real = root / src_name, root / real_name
        for folder in (src, real):
            if not folder.is_dir():
                raise MetricError(f"test folder {folder} does not exist (data.root = {root})")
        fake = Path(out_dir) / direction
        # fp32 whatever the CPU: scores must not depend on the machine that computes them
        translator = Translator(net, device=device, batch_size=batch_size, precision="fp32")
        report = translate_files(translator, plan_outputs(src, fake), resize=resize)
        if report.failed:
            _, reason = report.failed[0]
            raise MetricError(f"{len(report.failed)} test image(s) failed to translate: {reason}")
        part = _score_direction(
            fake,
            root,
            direction,
            metrics,
            registries,
            device,
            inception_weights,
            progress,
            truth=_scaled_truth(root, direction, Path(out_dir), resize),
        )
        total.update(part.prefixed(direction))
    return total


def _score_direction(
    fake: Path,
    root: Path,
    direction: str,
    metrics: Sequence[str],
    registries: Registries,
    device: str,
    inception_weights: str | None,
    progress: bool,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    truth: Path | None = None,
) -> ScoreResult:
    """``metrics`` of the translations ``fake`` of ``root``'s test split in ``direction``
    (plus the truth metrics where the truth folder exists; ``truth`` replaces it, e.g.
    scaled as the inputs were)."""
    real = root / TEST_SPLITS[direction][1]
    truth = truth or root / TRUTH_SPLITS[direction]
    names = list(metrics)
    if truth.is_dir():
        names += [m for m in TRUTH_METRICS if m in registries.metrics and m not in names]
    return score_folders(
        fake,
        real,
        names,
        registries,
        truth=truth if truth.is_dir() else None,
        device=device,
        inception_weights=inception_weights or None,
        progress=progress,
        data_root=root,
        direction=direction,
        options=options,
    )


def colour_transfer(src: Path, out: Path, reference: Sequence[Path]) -> None:
    """Write each image of ``src`` to ``out`` (PNG, same stem) with its per-channel RGB mean
    and standard deviation replaced by those of all pixels of ``reference`` together."""
    import numpy as np
    from PIL import Image

    from translkit.data.io import list_images, load_rgb

    total, sq, count = np.zeros(3), np.zeros(3), 0
    for path in reference:
        px = np.asarray(load_rgb(path), dtype=np.float64).reshape(-1, 3)
        total += px.sum(0)
        sq += (px**2).sum(0)
        count += len(px)
    if count == 0:
        raise MetricError("the colour-transfer baseline needs the target domain's training images")
    mean = total / count
    std = np.sqrt(np.maximum(sq / count - mean**2, 0))
    out.mkdir(parents=True, exist_ok=True)
    for path in list_images(src):
        x = np.asarray(load_rgb(path), dtype=np.float64)
        mu, sd = x.mean((0, 1)), np.maximum(x.std((0, 1)), 1e-3)
        y = np.clip((x - mu) / sd * std + mean, 0, 255).round().astype(np.uint8)
        dest = out / path.relative_to(src).with_suffix(".png")
        dest.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(y).save(dest)


def _scaled_truth(root: Path, direction: str, out_dir: Path, resize: int) -> Path | None:
    """The ground-truth twins scaled down as the inputs were (``None``: as they are)."""
    truth = root / TRUTH_SPLITS[direction]
    if not resize or not truth.is_dir():
        return None
    return _scaled_copy(truth, out_dir / "truth" / direction, resize)


def _scaled_copy(src: Path, out: Path, resize: int) -> Path:
    """``src``'s images scaled down to a shorter side of ``resize`` (PNG, same stems)."""
    from translkit.data.io import list_images, load_rgb
    from translkit.inference.files import scale_down

    for path in list_images(src):
        dest = out / path.relative_to(src).with_suffix(".png")
        dest.parent.mkdir(parents=True, exist_ok=True)
        scale_down(load_rgb(path), resize).save(dest)
    return out


def score_baselines(
    data: Any,
    metrics: Sequence[str],
    registries: Registries,
    *,
    directions: Sequence[str] = tuple(TEST_SPLITS),
    out_dir: Path,
    device: str = "cpu",
    inception_weights: str | None = None,
    progress: bool = False,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    resize: int = 0,
) -> dict[str, ScoreResult]:
    """Score :data:`BASELINES` like a model's translations of ``data.root``'s test splits:
    ``copy_input`` (the test images themselves) and ``colour_transfer`` (each test image's
    per-channel mean and deviation set to the target training split's). A translation
    that does no better than these has not learnt the target domain.

    :param options: per-metric factory options, as for :func:`score_folders`.
    :param resize: the test images scaled down first, as the model's inputs were
        (:func:`score_generators`).
    :returns: baseline name -> result with keys ``"a2b/<key>"``, ``"b2a/<key>"``.
    """
    from translkit.data.io import list_images

    root = Path(data.root)
    out: dict[str, ScoreResult] = {name: ScoreResult() for name in BASELINES}
    for direction in directions:
        src_name = TEST_SPLITS[direction][0]
        src = root / src_name
        if not src.is_dir():
            raise MetricError(f"test folder {src} does not exist (data.root = {root})")
        target_train = root / ("trainB" if direction == "a2b" else "trainA")
        truth = _scaled_truth(root, direction, Path(out_dir), resize)  # once for both
        if resize:
            src = _scaled_copy(src, Path(out_dir) / "copy_input" / direction, resize)
        fakes = {"copy_input": src}
        if "colour_transfer" in out:
            moved = Path(out_dir) / "colour_transfer" / direction
            reference = list_images(target_train) if target_train.is_dir() else []
            colour_transfer(src, moved, reference)
            fakes["colour_transfer"] = moved
        for name, fake in fakes.items():
            part = _score_direction(
                fake,
                root,
                direction,
                metrics,
                registries,
                device,
                inception_weights,
                progress,
                options,
                truth=truth,
            )
            out[name].update(part.prefixed(direction))
    return out


def score_run(
    run_dir: str | Path,
    registries: Registries,
    *,
    checkpoint: str = "best",
    metrics: Sequence[str] | None = None,
    device: str = "cpu",
    inception_weights: str | None = None,
    data_root: str | Path | None = None,
    progress: bool = False,
    baselines: bool | None = None,
    resize: int = 0,
    ema: bool = True,
) -> dict[str, Any]:
    """Score a run directory's checkpoint on its test splits; write ``scores.json``.

    The checkpoint is loaded once: its generators translate, and, when ``objective`` is
    among ``metrics``, the whole model gives the method's test objective.

    Metrics the caller did not name (the defaults) that cannot run here — Inception
    weights unavailable offline, the objective of a run whose training-only plugin is not
    loaded — are skipped and listed under ``skipped`` (name -> why); a metric named in
    ``metrics`` that cannot run is the error. Nothing scored at all is a
    :class:`MetricError`.

    :param checkpoint: ``best`` (falls back to ``latest``), ``latest`` or a file path.
    :param metrics: defaults to the recipe's ``eval.metrics``, else :data:`DEFAULT_METRICS`.
    :param data_root: overrides the recipe's ``data.root``.
    :param baselines: also score :data:`BASELINES` on the same metrics (``scores.json``'s
        ``baselines``); ``None``: when a metric asks for them (``baselines = True``).
    :param resize: scale test images down to this shorter side before translating them
        (:func:`score_generators`; 0: each at its own size).
    :param ema: the checkpoint's EMA weights where it has them (``train.ema``); ``False``:
        the raw weights of its step.
    :returns: what ``scores.json`` holds: ``scores``, ``goals``, ``info``, ``checkpoint``...
    """
    from translkit.artifacts import Scores, load_model
    from translkit.evaluation import held_out_objective
    from translkit.rundir import RunDir

    run = RunDir(run_dir).require()
    recipe = run.read_recipe()
    names = list(metrics or recipe.eval.metrics or DEFAULT_METRICS)
    required = names if metrics else ()  # named by the caller: must run
    ensure_writable(run.scores_file)  # before minutes of scoring, not after
    weights = inception_weights or recipe.eval.inception_weights or None
    data = dataclasses.replace(recipe.data, root=str(data_root or recipe.data.root))
    started = time.perf_counter()
    result = ScoreResult()
    runnable, result.skipped = check_metrics(
        names, registries, inception_weights=weights, required=required
    )
    generators, path = None, None
    if KEY_OBJECTIVE in runnable:
        try:  # the objective needs the whole model: every network, discriminators too
            model, _, path = load_model(run.path, registries, use_ema=ema, which=checkpoint)
        except MissingComponentError as err:
            if KEY_OBJECTIVE in required:
                raise
            result.skipped[KEY_OBJECTIVE] = f"the test objective needs every network: {err}"
        else:
            generators = model.generators()
            values = held_out_objective(model, data, device=device)
            result.values.update(values)
            result.goals.update({k: "min" for k in values})
    if generators is None:  # translating needs only the generators
        from translkit.pretrained import load_generators

        loaded = load_generators(run.path, registries, use_ema=ema, which=checkpoint)
        generators, path = loaded.nets, loaded.source
    folder_metrics = [m for m in runnable if m != KEY_OBJECTIVE]
    if folder_metrics or not result.values:  # the truth metrics join where truth exists
        with tempfile.TemporaryDirectory(prefix="translkit-score-") as tmp:
            part = score_generators(
                generators,
                data,
                folder_metrics,
                registries,
                out_dir=Path(tmp),
                device=device,
                inception_weights=weights,
                progress=progress,
                resize=resize,
            )
            baselines = _wants_baselines(folder_metrics, registries, baselines)
            if baselines:
                extra = score_baselines(
                    data,
                    folder_metrics,
                    registries,
                    directions=list(generators),
                    out_dir=Path(tmp) / "baselines",
                    device=device,
                    inception_weights=weights,
                    progress=progress,
                    resize=resize,
                )
        result.update(part)
    if not result.values:
        raise MetricError(_nothing_scored(result.skipped))
    scores = Scores(
        run_dir=str(run.path),
        checkpoint=str(path),
        data_root=data.root,
        resize=resize,
        ema=ema,
        metrics=names,
        scores=result.values,
        goals=result.goals,
        info=result.info,
        skipped=result.skipped,
        seconds=round(time.perf_counter() - started, 3),
        baselines=_baseline_record(extra) if folder_metrics and baselines else None,
    )
    scores.save(run.scores_file)
    return scores.to_dict()


def score_model(
    name: str,
    registries: Registries,
    *,
    data_root: str | Path | None,
    metrics: Sequence[str] | None = None,
    device: str = "cpu",
    inception_weights: str | None = None,
    progress: bool = False,
    resize: int | None = None,
    baselines: bool | None = None,
) -> dict[str, Any]:
    """Score a registered pretrained model (:mod:`translkit.pretrained`) on the test splits
    of ``data_root``; nothing is written (a model has no run directory).

    :param baselines: also score :data:`BASELINES` (``baselines`` in the result), as
        :func:`score_run` does; ``None``: when a metric asks for them.

    :param resize: test images scaled down to this shorter side first
        (:func:`score_generators`); ``None``: the model's ``input_size``.
    :returns: ``model``, ``checkpoint`` (its first weights file), ``data_root``,
        ``resize``, ``metrics``, ``scores``, ``goals``, ``info``, ``seconds``.
    """
    from translkit.pretrained import load_generators

    if data_root is None:
        raise MetricError(
            f"scoring model {name} needs --data-root DIR: a dataset with testA/ and testB/ "
            "(e.g. data/<dataset> after `translkit data download <dataset>`)"
        )
    names = list(metrics or DEFAULT_METRICS)
    if metrics and KEY_OBJECTIVE in names:
        raise MetricError(
            f"{KEY_OBJECTIVE} needs a training checkpoint; model {name} has generators only"
        )
    names = [m for m in names if m != KEY_OBJECTIVE]
    runnable, skipped = check_metrics(
        names, registries, inception_weights=inception_weights, required=metrics or ()
    )
    started = time.perf_counter()
    loaded = load_generators(name, registries)
    if resize is None:
        resize = loaded.card.input_size
    with tempfile.TemporaryDirectory(prefix="translkit-score-") as tmp:
        result = score_generators(
            loaded.nets,
            _Root(str(data_root)),
            runnable,
            registries,
            out_dir=Path(tmp),
            device=device,
            inception_weights=inception_weights,
            progress=progress,
            resize=resize,
        )
        baselines = _wants_baselines(runnable, registries, baselines)
        if baselines:
            extra = score_baselines(
                _Root(str(data_root)),
                runnable,
                registries,
                directions=list(loaded.nets),
                out_dir=Path(tmp) / "baselines",
                device=device,
                inception_weights=inception_weights,
                progress=progress,
                resize=resize,
            )
    out = {
        "model": name,
        "checkpoint": str(loaded.source),
        "data_root": str(data_root),
        "resize": resize,
        "metrics": names,
        "scores": result.values,
        "goals": result.goals,
        "info": result.info,
        "skipped": skipped,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if baselines:
        out["baselines"] = _baseline_record(extra)
    return out


def _wants_baselines(metrics: Sequence[str], registries: Registries, asked: bool | None) -> bool:
    """``asked``, or (``None``) whether a metric asks for the baselines beside it."""
    if asked is not None:
        return asked and bool(metrics)
    return any(getattr(registries.metrics.create(m), "baselines", False) for m in metrics)


def _baseline_record(extra: Mapping[str, ScoreResult]) -> dict[str, dict[str, Any]]:
    return {name: {"scores": r.values, "info": r.info} for name, r in extra.items()}


@dataclass(frozen=True)
class _Root:
    """The part of a recipe's data section :func:`score_generators` reads."""

    root: str


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
        col, metric = (head, rest) if head in TEST_SPLITS and rest else ("value", key)
        if col not in columns:
            columns.append(col)
        rows.setdefault(metric, {})[col] = value
    order = [*TEST_SPLITS, "value"]
    columns.sort(key=order.index)
    out = []
    for metric, vals in rows.items():
        goal = next(
            (goals[f"{c}/{metric}"] for c in columns if f"{c}/{metric}" in goals),
            goals.get(metric, ""),
        )
        out.append((metric, {"min": "lower", "max": "higher"}.get(goal, ""), vals))
    return columns, out
