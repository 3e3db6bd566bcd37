"""``translkit run RECIPE|RUN_DIR``: validate, resolve and train (or resume a run directory)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import typer

from translkit.cli.options import plugin_option
from translkit.errors import TranslkitError


def run(
    recipe_path: Path = typer.Argument(
        ...,
        metavar="RECIPE|RUN_DIR",
        help="Recipe TOML file, or a run directory to resume with its own recipe (--resume).",
    ),
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
    no_download: bool = typer.Option(
        False,
        "--no-download",
        help="Never download the recipe's data.dataset; stop with what to run instead.",
    ),
    nproc: int = typer.Option(
        1,
        "--nproc",
        min=1,
        help="Processes (DDP) on this machine, via torch's launcher.",
        rich_help_panel="Distributed",
    ),
    plugin: list[str] = plugin_option(),
) -> None:
    """Train the model a recipe describes (or --dry-run it)."""
    from translkit.plugin_manager import load_plugins
    from translkit.recipe import load_recipe, resolve_recipe
    from translkit.rundir import RunDir

    if recipe_path.is_dir():  # a run directory: its own resolved recipe, its plugins not loaded
        if resume is None and not dry_run:
            raise TranslkitError(
                f"{recipe_path} is a run directory: continue it with --resume "
                "(or train a recipe file)"
            )
        recipe = load_recipe(RunDir(recipe_path).require().recipe_file, overrides)
        recipe.run.output_dir, recipe.run.name = str(recipe_path.parent), recipe_path.name
        modules = list(plugin)
    else:
        recipe = load_recipe(recipe_path, overrides)
        modules = [*recipe.plugins, *plugin]
    for note in recipe.notes:
        typer.echo(f"note: {note}", err=True)
    if not dry_run:  # first words at once: torch and the plugins take seconds to import
        typer.echo(f"{recipe_path} → {recipe.run_dir}: importing torch and the plugins", err=True)
    plugins = load_plugins(modules)
    if recipe_path.is_dir() or resume is not None:  # name the plugin a resumed run needs
        from translkit.artifacts import require_components, run_made_with

        run = RunDir(recipe.run_dir)
        made_with = run_made_with(run) if run.environment_file.is_file() else {}
        require_components(recipe, plugins.registries, source=run.path, made_with=made_with)
    recipe = resolve_recipe(recipe, plugins.registries)
    if dry_run:
        typer.echo(recipe.to_toml(), nl=False)
        import textwrap

        for line in textwrap.wrap(_runtime_plan(recipe), width=78):
            typer.echo(f"# {line}")
        return
    from translkit.data import ensure_dataset
    from translkit.training import train

    # before training (and before any DDP launch): one process fetches the data, once
    ensure_dataset(recipe.data, registries=plugins.registries, download=not no_download)
    result = train(
        recipe,
        registries=plugins.registries,
        plugins=plugins,
        resume=resume,
        overwrite=overwrite,
        nproc=nproc,
    )
    if result.interrupted:
        name = signal.Signals(result.interrupted).name
        typer.echo(
            f"stopped by {name} at step {result.steps}; checkpoint written. Continue with: "
            f"translkit run {result.run_dir} --resume",
            err=True,
        )
        raise typer.Exit(128 + result.interrupted)


def register(app: typer.Typer) -> None:
    app.command("run")(run)


def _runtime_plan(recipe: Any) -> str:
    """What the run's runtime would measure here (a TOML comment after the dry-run recipe)."""
    import torch

    from translkit.runtime import plan
    from translkit.threads import loader_workers, thread_budget

    try:
        from translkit.training.engine import training_device

        device = training_device(recipe.train)
    except TranslkitError as err:
        return f"runtime: not resolvable here ({str(err).strip().splitlines()[0]})"
    threads = thread_budget(loader_workers=loader_workers(recipe.data.num_workers))
    return plan(recipe, torch.device(device), threads)
