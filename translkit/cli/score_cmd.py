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
    inception_weights: Path = typer.Option(
        None, "--inception-weights", help="Local torch-fidelity InceptionV3 weights file."
    ),
    data_root: Path = typer.Option(
        None,
        "--data-root",
        help="Override the recipe's data.root (a model: the dataset to score it on).",
    ),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or cuda:N."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Feature-extraction batch."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    plugin: list[str] = plugin_option(),
) -> None:
    """Score translations: IS/FID/KID/PRC, ground-truth PSNR/SSIM/L1, the test objective."""
    from translkit.plugin_manager import load_plugins
    from translkit.pretrained import model_name
    from translkit.scoring import (
        DEFAULT_METRICS,
        score_folders,
        score_model,
        score_run,
        skipped_lines,
    )

    registries = load_plugins(plugin).registries

    names = _names(metrics)
    weights = str(inception_weights) if inception_weights else None
    if real is not None or fake is not None:
        if real is None or fake is None or run_dir is not None:
            raise TranslkitError(
                "score two folders with both --real DIR and --fake DIR (no RUN_DIR)"
            )
        result = score_folders(
            fake,
            real,
            names or list(DEFAULT_METRICS),
            registries,
            truth=truth,
            device=device,
            batch_size=batch_size,
            inception_weights=weights,
            progress=not as_json,
            skip_unavailable=names is None,  # defaults that cannot run here are skipped
        )
        out = {
            "fake": str(fake),
            "real": str(real),
            "scores": result.values,
            "goals": result.goals,
            "info": result.info,
            "skipped": result.skipped,
        }
    elif run_dir is None:
        raise TranslkitError("give a RUN_DIR, or --real DIR and --fake DIR")
    elif model_name(run_dir, registries) is not None:  # a path that exists wins
        out = score_model(
            str(run_dir),
            registries,
            data_root=data_root,
            metrics=names,
            device=device,
            inception_weights=weights,
            progress=not as_json,
        )
    else:
        out = score_run(
            run_dir,
            registries,
            checkpoint=checkpoint,
            metrics=names,
            device=device,
            inception_weights=weights,
            data_root=data_root,
            progress=not as_json,
        )
    for line in skipped_lines(out.get("skipped") or {}):  # one line per reason, on stderr
        typer.echo(line, err=True)
    if as_json:
        typer.echo(json.dumps(out, indent=2, sort_keys=True))
        return
    console = PipeConsole()
    console.print(scores_table(out["scores"], out["goals"]))
    for key, value in sorted(out["info"].items()):
        console.print(f"[dim]{key} = {value:g}[/]", highlight=False)
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


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.6g}"


def register(app: typer.Typer) -> None:
    app.command("score")(score)
