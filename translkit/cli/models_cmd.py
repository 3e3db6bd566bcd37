"""``translkit models``: the registered pretrained models — list, model card, download."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from translkit.cli import new_group
from translkit.cli.output import print_fields

__all__ = ["model_rows", "models_table", "register"]

group = new_group(
    "models", "Pretrained models by name: `translkit translate NAME photos/ out/` (no training)."
)
console = Console()


def model_rows(registries: Any, pattern: str = "*") -> list[dict[str, Any]]:
    """One plain-data row per registered model: name, plugin, summary, directions, size,
    source (``package`` or ``url``)."""
    from translkit.pretrained import create_model

    rows = []
    for entry in registries.models.entries(pattern):
        model = create_model(registries, entry.name)
        rows.append(
            {
                "name": model.name,
                "plugin": entry.plugin,
                "summary": model.summary,
                "directions": list(model.directions),
                "size": model.size,
                "source": "+".join(sorted({w.where for w in model.weights})),
            }
        )
    return rows


def models_table(rows: list[dict[str, Any]]) -> Table:
    from translkit.data.download import format_bytes

    table = Table(title="models", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("name", "plugin", "directions", "size", "source"):
        table.add_column(col, no_wrap=True)
    table.add_column("summary")
    for r in rows:
        table.add_row(
            r["name"],
            r["plugin"],
            ", ".join(r["directions"]),
            format_bytes(r["size"]),
            r["source"],
            r["summary"],
        )
    return table


@group.command("list")
def list_models(
    pattern: str = typer.Argument("*", help="Shell-style wildcard on names."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The registered models: name, directions, size, where the weights come from."""
    from translkit.plugin_manager import load_plugins

    rows = model_rows(load_plugins().registries, pattern)
    if as_json:
        typer.echo(json.dumps({"models": rows}, indent=2))
        return
    console.print(models_table(rows))


@group.command("info")
def info(
    name: str = typer.Argument(..., help="A registered model (`translkit list models`)."),
    recipe: bool = typer.Option(False, "--recipe", help="Print the recipe it was trained with."),
) -> None:
    """A model's card: what it does, how it was trained, terms of use, citation, weights."""
    from translkit.data.download import format_bytes
    from translkit.plugin_manager import load_plugins
    from translkit.pretrained import cached_path, create_model, recipe_text

    registries = load_plugins().registries
    model = create_model(registries, name)
    if recipe:
        text = recipe_text(model)
        typer.echo(text if text else f"model {name} names no recipe")
        return
    rows = [
        ("name", model.name),
        ("summary", model.summary),
        ("plugin", registries.models.get(name).plugin),
        ("method", model.method),
        ("generator", model.generator),
        ("directions", ", ".join(model.directions)),
        (
            "input size",
            f"photos are scaled down to a shorter side of {model.input_size} px (--resize)"
            if model.input_size
            else "each image at its own size",
        ),
        ("size", format_bytes(model.size)),
    ]
    for w in model.weights:
        where = (
            f"in the distribution: {w.resource}"
            if w.resource is not None
            else f"{w.url} → {cached_path(model, w)}"
        )
        rows.append((w.direction, f"{format_bytes(w.size)}, sha256 {w.sha256}, {where}"))
    has_recipe = bool(model.recipe)
    rows += [
        ("recipe", f"`translkit models info {name} --recipe` prints it" if has_recipe else "-"),
        ("terms", model.terms),
        ("homepage", model.homepage or "-"),
        ("citation", model.citation or "-"),
        ("card", model.card or "-"),
    ]
    print_fields(console, rows, width=10)


@group.command("download")
def download(
    name: str = typer.Argument(..., help="A registered model (`translkit list models`)."),
) -> None:
    """Fetch and verify a model's weights now (translate and demo fetch them when needed)."""
    from translkit.plugin_manager import load_plugins
    from translkit.pretrained import create_model, weights_file

    model = create_model(load_plugins().registries, name)
    for direction in model.directions:
        path = weights_file(model, direction)
        console.print(f"{name} {direction}: {path} (verified)", soft_wrap=True, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(group)
