"""``translkit score``: score a run directory's checkpoint, or two folders directly."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from translkit.cli.options import plugin_option
from translkit.cli.output import PipeConsole
from translkit.compat import METRIC_WEIGHTS_FLAGS
from translkit.directions import direction_problem
from translkit.errors import TranslkitError

__all__ = ["register", "score"]


def _names(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [n.strip() for n in text.split(",") if n.strip()]


def score(
    run_dir: Path = typer.Argument(
        None,
        metavar="RUN_DIR|MODEL",
        help="Run directory, or a pretrained model's name with --data-root (omit with "
        "--real/--fake).",
    ),
    checkpoint: str = typer.Option(
        "best", "--checkpoint", "-c", help="best (else latest), latest, or a checkpoint file."
    ),
    metrics: str = typer.Option(
        None,
        "--metrics",
        "-m",
        help="Comma-separated metric names (default: the recipe's eval.metrics, else "
        "fid,kid,is; defaults that cannot run here are skipped, named ones are required).",
    ),
    real: Path = typer.Option(
        None, "--real", help="Folder of real target-domain images.", rich_help_panel="Two folders"
    ),
    fake: Path = typer.Option(
        None, "--fake", help="Folder of translated images.", rich_help_panel="Two folders"
    ),
    truth: Path = typer.Option(
        None,
        "--truth",
        help="Ground-truth twins of --fake (psnr/ssim/l1).",
        rich_help_panel="Two folders",
    ),
    metric_weights: Path = typer.Option(
        None,
        "--metric-weights",
        help="Local weights file for the metrics (is/fid/kid: their feature extractor's).",
    ),
    old_weights: Path = typer.Option(None, *METRIC_WEIGHTS_FLAGS, hidden=True),
    data_root: Path = typer.Option(
        None,
        "--data-root",
        help="Override the recipe's data.root (a model: the dataset to score it on; two "
        "folders: the dataset they come from).",
    ),
    direction: str = typer.Option(
        None,
        "--direction",
        help="a2b or b2a: the direction --fake was translated in (domain metric).",
        rich_help_panel="Two folders",
    ),
    baselines: bool = typer.Option(
        None,
        "--baselines/--no-baselines",
        help="Also score translations that learnt nothing: copying the input, and those the "
        "metrics offer (default: when a metric asks for them, e.g. domain).",
        rich_help_panel="Baselines",
    ),
    resize: int = typer.Option(
        None,
        "--resize",
        min=0,
        help="Scale test images whose shorter side is longer down to N pixels before "
        "translating (the scale the model learned at). Default: a model's input size, "
        "else 0 (each image at its own size).",
        show_default=False,
    ),
    ema: bool = typer.Option(
        True,
        "--ema/--no-ema",
        help="A run's EMA weights (train.ema) where it kept them, or the raw weights of the "
        "checkpoint's step.",
    ),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or cuda:N."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Feature-extraction batch."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    plugin: list[str] = plugin_option(),
) -> None:
    """Score translations: IS/FID/KID/PRC, ground-truth PSNR/SSIM/L1, the test objective."""
    from translkit.plugin_manager import load_plugins
    from translkit.scoring import skipped_lines

    registries = load_plugins(plugin).registries
    metric_weights = metric_weights or old_weights  # its earlier name (translkit.compat)
    common = {
        "metrics": _names(metrics),
        "device": device,
        "metric_weights": str(metric_weights) if metric_weights else None,
        "data_root": data_root,
        "progress": not as_json,
    }
    if real is not None or fake is not None:
        _check_two_folders(real, fake, run_dir, baselines, resize)
        out = _score_folders(fake, real, registries, common, truth, batch_size, direction)
    elif run_dir is None:
        raise TranslkitError("give a RUN_DIR, or --real DIR and --fake DIR")
    else:
        out = _score_source(
            run_dir, registries, common, checkpoint, resize=resize, baselines=baselines, ema=ema
        )
    for line in skipped_lines(out.get("skipped") or {}):  # one line per reason, on stderr
        typer.echo(line, err=True)
    if as_json:
        typer.echo(json.dumps(out, indent=2, sort_keys=True))
    else:
        _print_scores(out, run_dir)


def _check_two_folders(
    real: Path | None, fake: Path | None, run_dir: Path | None, baselines: Any, resize: Any
) -> None:
    if real is None or fake is None or run_dir is not None:
        raise TranslkitError("score two folders with both --real DIR and --fake DIR (no RUN_DIR)")
    if baselines or resize:
        raise TranslkitError(
            f"{'--baselines' if baselines else '--resize'} applies to a RUN_DIR or MODEL "
            "(it translates a dataset's test splits), not to --real/--fake"
        )


def _score_folders(
    fake: Path,
    real: Path,
    registries: Any,
    common: dict[str, Any],
    truth: Path | None,
    batch_size: int,
    direction: str | None,
) -> dict[str, Any]:
    from translkit.scoring import DEFAULT_METRICS, score_folders

    names = common["metrics"]
    result = score_folders(
        fake,
        real,
        names or list(DEFAULT_METRICS),
        registries,
        truth=truth,
        batch_size=batch_size,
        skip_unavailable=names is None,  # defaults that cannot run here are skipped
        direction=_direction(direction),
        **{k: v for k, v in common.items() if k != "metrics"},
    )
    return {"fake": str(fake), "real": str(real), **result.record()}


def _score_source(
    source: Path, registries: Any, common: dict[str, Any], checkpoint: Any, **options: Any
) -> dict[str, Any]:
    """A registered model's name (on a dataset) or a run directory; a path that exists wins."""
    from translkit.pretrained import model_name
    from translkit.scoring import score_model, score_run

    if model_name(source, registries) is not None:
        options.pop("ema")
        return score_model(str(source), registries, **common, **options)
    options["resize"] = options["resize"] or 0
    return score_run(source, registries, checkpoint=checkpoint, **common, **options)


def _print_scores(out: dict[str, Any], run_dir: Path | None) -> None:
    console = PipeConsole()
    if out.get("baselines") or out.get("reference"):
        for table in baseline_tables(out):
            console.print(table)
    else:
        console.print(scores_table(out["scores"], out["goals"]))
    lines = {key: f"[dim]{key} = {value:g}[/]" for key, value in out["info"].items()}
    lines.update({k: f"[bold red]{k}: {why}[/]" for k, why in (out.get("untrusted") or {}).items()})
    for _, line in sorted(lines.items()):  # notes and trust marks, by key
        console.print(line, highlight=False)
    if out.get("run_dir"):
        console.print(f"wrote {Path(run_dir) / 'scores.json'}", highlight=False)


def scores_table(scores: Mapping[str, float], goals: Mapping[str, str] | None = None) -> Table:
    """A rich table: one row per metric key, one column per direction (or ``value``)."""
    from translkit.scoring import pivot_scores

    columns, rows = pivot_scores(scores, goals)
    table = Table(title="scores")
    table.add_column("metric")
    table.add_column("better")
    for col in columns:
        table.add_column(col, justify="right")
    for metric, better, vals in rows:
        table.add_row(metric, better, *(_fmt(vals.get(c)) for c in columns))
    return table


def baseline_tables(out: Mapping[str, Any]) -> list[Table]:
    """One table per direction: a row per metric key; columns for the model, each
    baseline (``out["baselines"]``) and the real images (``out["reference"]``)."""
    from translkit.data.io import TEST_SPLITS

    scores, goals = out["scores"], out["goals"]
    reference = out.get("reference") or {}
    baselines = out.get("baselines") or {}
    tables = []
    splits: dict[str, tuple[str, str] | None] = dict(TEST_SPLITS)
    if not any("/" in k for k in scores):  # folders scored (--real/--fake): one table
        splits = {"": None}
    for direction, split in splits.items():
        prefix = f"{direction}/" if direction else ""

        def mine(key: str, prefix: str = prefix) -> bool:
            return key.startswith(prefix) and (bool(prefix) or "/" not in key)

        keys = [k[len(prefix) :] for k in [*scores, *reference] if mine(k)]
        keys = list(dict.fromkeys(keys))
        if not keys:
            continue
        title = f"{direction} ({split[0]} → {split[1]})" if split else "scores"
        table = Table(title=title, caption="↓ lower, ↑ higher is better")
        has_model = any(k.startswith(prefix) for k in scores)
        table.add_column("metric", no_wrap=True)
        if has_model:
            table.add_column("model", justify="right")
        for name in baselines:
            table.add_column(name.replace("_", " "), justify="right")
        table.add_column("real", justify="right")
        for key in keys:
            full = prefix + key
            goal = goals.get(full, "")
            arrow = {"min": " ↓", "max": " ↑"}.get(goal, "")
            row = [_cell(goal, scores.get(full))] if has_model else []
            row += [_cell(goal, b["scores"].get(full)) for b in baselines.values()]
            row.append(_cell(goal, reference.get(full)))
            table.add_row(key + arrow, *row)
        tables.append(table)
    return tables


def _direction(value: str | None) -> str | None:
    if value is not None and (problem := direction_problem(value, "--direction")):
        raise TranslkitError(problem)
    return value


def _fmt(value: Any, digits: int = 6) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _cell(goal: str, value: Any) -> str:
    """A table cell; a lower-is-better value below zero (an unbiased estimate, such as a
    KID, of a distance that cannot be) is what it is, an estimate of zero."""
    if value is not None and goal == "min" and value < 0:
        return f"≈0 ({value:.1g})"
    return _fmt(value, 4)


def register(app: typer.Typer) -> None:
    app.command("score")(score)
