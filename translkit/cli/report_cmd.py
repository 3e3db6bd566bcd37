"""``translkit report RUN_DIR [-o FILE]``: a self-contained HTML page of a run."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register", "report"]


def report(
    run_dir: Path = typer.Argument(..., help="Run directory."),
    output: Path = typer.Option(
        None, "--output", "-o", help="HTML file to write (default: RUN_DIR/report.html)."
    ),
) -> None:
    """Write a run's report: recipe, loss curves, samples, scores, environment, timings."""
    from translkit.report import write_report

    path = write_report(run_dir, output)
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
