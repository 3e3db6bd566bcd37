"""``translkit plugins`` and ``translkit list``: what the installed plugins provide.

Both tables fit the terminal (80 columns when piped): names are never broken or cut,
only the free text (summaries, what a plugin registered) wraps, at word boundaries.
"""

from __future__ import annotations

import json

import typer
from rich import box
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from translkit.cli.output import PipeConsole
from translkit.plugin_manager import load_plugins
from translkit.registry import KINDS


def show_plugins(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List loaded plugins: distribution, version and what each registered."""
    loaded = load_plugins()
    rows = [
        {
            "name": p.name,
            "module": p.module,
            "distribution": p.distribution,
            "version": p.version,
            "registered": loaded.registered_by(p.name),
        }
        for p in loaded.plugins
    ]
    if as_json:
        typer.echo(json.dumps({"plugins": rows, "blocked": loaded.blocked}, indent=2))
        return
    PipeConsole().print(_plugins_view(rows))
    if loaded.blocked:
        typer.echo(f"blocked: {', '.join(loaded.blocked)}")


def _plugins_view(rows: list[dict]) -> Group:  # type: ignore[type-arg]
    """One heading line per plugin (name, distribution and version), then what it
    registered, one kind a line, at the full width of the terminal: the names wrap at
    word boundaries under their kind, never squeezed into a narrow column."""
    parts: list[RenderableType] = [
        Text(
            "translkit plugins: name, distribution version, and what each registered",
            style="italic",
        )
    ]
    for row in rows:
        parts.append(
            Text.assemble("\n", (row["name"], "bold"), f"  {row['distribution']} {row['version']}")
        )
        grid = Table.grid(padding=(0, 2), pad_edge=False)
        grid.add_column(no_wrap=True, style="dim")
        grid.add_column(overflow="fold")
        for kind, names in row["registered"].items():
            grid.add_row(kind, ", ".join(names))
        if not row["registered"]:
            grid.add_row("-", "registered nothing")
        parts.append(Padding(grid, (0, 0, 0, 2)))
    return Group(*parts)


def list_components(
    kind: str = typer.Argument(
        None, help=f"One of {', '.join(KINDS)} (default: all kinds).", show_default=False
    ),
    pattern: str = typer.Argument("*", help="Shell-style wildcard on names, e.g. 'resnet*'."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List registered components with a one-line summary."""
    registry = load_plugins().registries
    from translkit.cli.models_cmd import model_rows, models_table

    kinds = [registry.kind(kind).kind] if kind else list(KINDS)
    data = {
        k: [
            {"name": e.name, "plugin": e.plugin, "summary": e.summary}
            for e in registry.kind(k).entries(pattern)
        ]
        for k in kinds
    }
    if "models" in data:  # with directions, size and where the weights come from
        data["models"] = model_rows(registry, pattern)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    console = PipeConsole()
    for k, entries in data.items():
        if k == "models":
            console.print(models_table(entries))
            continue
        table = Table(title=k, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("name", no_wrap=True)
        table.add_column("plugin", no_wrap=True)
        table.add_column("summary")
        for e in entries:
            table.add_row(e["name"], e["plugin"], e["summary"])
        console.print(table)


def register(app: typer.Typer) -> None:
    app.command("plugins")(show_plugins)
    app.command("list")(list_components)
