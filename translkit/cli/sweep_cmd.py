"""``translkit sweep SWEEP.toml``: search recipe settings with Optuna; ``--show`` a sweep."""

from __future__ import annotations

import signal
from pathlib import Path

import typer

from translkit.errors import TranslkitError


def sweep(
    target: Path = typer.Argument(
        ..., metavar="SWEEP.toml|SWEEP_DIR", help="Sweep file, or a sweep directory to --show."
    ),
    storage: str = typer.Option(
        None,
        "--storage",
        metavar="URL",
        help="Optuna storage shared by several processes or machines, e.g. "
        "postgresql://user:pass@host/db (default: SQLite in the sweep directory).",
    ),
    jobs: int = typer.Option(
        1, "--jobs", "-j", min=1, help="Trials at once on this machine (sharing its cores)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check the sweep file, print the resolved space; run nothing."
    ),
    show: bool = typer.Option(
        False, "--show", help="Print the table of trials; write best.toml and report.html."
    ),
) -> None:
    """Search recipe settings with Optuna: trials, pruning, resume after a kill."""
    from rich.console import Console

    from translkit.sweep import finish, load_sweep, run_sweep, save_spec

    if target.is_dir():
        if not show:
            raise TranslkitError(
                f"{target} is a directory: show a sweep with --show, or run a sweep file"
            )
        file = target / "sweep.toml"
        if not file.is_file():
            raise TranslkitError(f"{target} is not a sweep directory (it has no sweep.toml)")
        spec = load_sweep(file)
        spec.output_dir, spec.name = target.parent, target.name
    else:
        spec = load_sweep(target)
    out = Console()
    if dry_run:
        out.print(spec.to_text(), end="", highlight=False, soft_wrap=True)
        return
    from translkit.sweep.report import pruning_savings, trials_table
    from translkit.sweep.study import open_storage, open_study, storage_url

    outcome = None
    if show:
        url = storage_url(spec.sweep_dir, storage)
        if storage is None and not (spec.sweep_dir / "study.db").is_file():
            raise TranslkitError(f"{spec.sweep_dir} has no study.db; give its --storage URL")
        study = open_study(spec, open_storage(url), create=False)
    else:
        spec.sweep_dir.mkdir(parents=True, exist_ok=True)
        save_spec(spec)
        outcome = run_sweep(spec, storage=storage, jobs=jobs)
        study = open_study(spec, open_storage(storage_url(spec.sweep_dir, storage)))
    out.print(trials_table(spec, study))
    paths = finish(spec, study)
    n_pruned, spent, full = pruning_savings(study)
    if n_pruned:
        out.print(
            f"{n_pruned} pruned after {spent:.1f} min; run to the end ≈ {full:.1f} min "
            f"(saved {max(full - spent, 0):.1f})",
            highlight=False,
        )
    if paths["best"] is not None:
        out.print(f"best: translkit run {paths['best']}", highlight=False, soft_wrap=True)
    elif spec.constraints:
        met = ", ".join(spec.constraint_texts())
        out.print(f"no completed trial meets the constraints ({met})", highlight=False)
    out.print(f"report: {paths['report']}", highlight=False, soft_wrap=True)
    if outcome is not None and outcome.interrupted:
        name = signal.Signals(outcome.interrupted).name
        typer.echo(
            f"sweep stopped by {name}; finished trials are kept. Continue with the same "
            "command (interrupted trials resume from their checkpoints)",
            err=True,
        )
        raise typer.Exit(128 + outcome.interrupted)
    if outcome is not None and outcome.timed_out:
        typer.echo(
            f"the sweep's {spec.minutes:g} minutes are spent ({outcome.done} of "
            f"{spec.trials} trials done); run the same command to continue",
            err=True,
        )


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
