"""``translkit run RECIPE``: validate, resolve and train."""

from __future__ import annotations

from pathlib import Path

import typer

from translkit.recipe import load_recipe, resolve_recipe


def run(
    recipe_path: Path = typer.Argument(..., metavar="RECIPE", help="Recipe TOML file."),
    overrides: list[str] = typer.Option(
        [],
        "--set",
        "-s",
        metavar="KEY=VALUE",
        help="Override a recipe key, e.g. --set optim.lr=1e-4 (repeatable).",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the fully resolved recipe and exit; write nothing."
    ),
    resume: str = typer.Option(
        None,
        "--resume",
        metavar="[PATH]",
        help="Resume from the run directory's latest checkpoint, or from PATH.",
        rich_help_panel="Run directory",
    ),
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help="Replace an existing run directory.",
        rich_help_panel="Run directory",
    ),
    nproc: int = typer.Option(
        1,
        "--nproc",
        min=1,
        help="Processes (DDP) on this machine, via torch's launcher.",
        rich_help_panel="Distributed",
    ),
) -> None:
    """Train the model a recipe describes (or --dry-run it)."""
    recipe = load_recipe(recipe_path, overrides)
    if not dry_run:  # first words at once: torch and the plugins take seconds to import
        typer.echo(f"{recipe_path} → {recipe.run_dir}: importing torch and the plugins", err=True)
    recipe = resolve_recipe(recipe)
    if dry_run:
        typer.echo(recipe.to_toml(), nl=False)
        return
    from translkit.training import train

    result = train(recipe, resume=resume, overwrite=overwrite, nproc=nproc)
    if result is not None and getattr(result, "interrupted", False):
        typer.echo(
            f"interrupted at step {result.steps}; checkpoint written. Continue with: "
            f"translkit run {recipe_path} --resume",
            err=True,
        )
        raise typer.Exit(130)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
