"""``translkit score``: score a run directory's checkpoint, or two folders directly."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from translkit.errors import TranslkitError

__all__ = ["register", "score"]


def _names(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [n.strip() for n in text.split(",") if n.strip()]


def score(
    run_dir: Path = typer.Argument(None, help="Run directory (omit with --real/--fake)."),
    checkpoint: str = typer.Option(
        "best", "--checkpoint", "-c", help="best (else latest), latest, or a checkpoint file."
    ),
    metrics: str = typer.Option(
        None,
        "--metrics",
        "-m",
        help="Comma-separated metric names (default: the recipe's eval.metrics, else fid,kid,is).",
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
    data_root: Path = typer.Option(None, "--data-root", help="Override the recipe's data.root."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or cuda:N."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Feature-extraction batch."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Score translations: IS/FID/KID/PRC, ground-truth PSNR/SSIM/L1, the test objective."""
    from translkit.scoring import DEFAULT_METRICS, score_folders, score_run, scores_table

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
            truth=truth,
            device=device,
            batch_size=batch_size,
            inception_weights=weights,
            extras={"progress": not as_json},
        )
        out = {
            "fake": str(fake),
            "real": str(real),
            "scores": result.values,
            "goals": result.goals,
            "info": result.info,
        }
    elif run_dir is None:
        raise TranslkitError("give a RUN_DIR, or --real DIR and --fake DIR")
    else:
        out = score_run(
            run_dir,
            checkpoint=checkpoint,
            metrics=names,
            device=device,
            inception_weights=weights,
            data_root=data_root,
            progress=not as_json,
        )
    if as_json:
        typer.echo(json.dumps(out, indent=2, sort_keys=True))
        return
    console = Console()
    console.print(scores_table(out["scores"], out["goals"]))
    for key, value in sorted(out["info"].items()):
        console.print(f"[dim]{key} = {value:g}[/]", highlight=False)
    if run_dir is not None:
        console.print(f"wrote {Path(run_dir) / 'scores.json'}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("score")(score)
