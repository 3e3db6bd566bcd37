"""``translkit import IMPORTER SRC -o DST``: bring generators trained elsewhere.

``translkit list importers`` shows the importers; ``junyanz`` reads Zhu et al.'s
``latest_net_G_A.pth``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from translkit.cli.options import parse_key_values, plugin_option

__all__ = ["register"]


def import_weights(
    importer: str = typer.Argument(..., metavar="IMPORTER", help="e.g. junyanz."),
    src: Path = typer.Argument(..., metavar="SRC", help="Weights file, e.g. latest_net_G_A.pth."),
    output: Path = typer.Option(..., "--output", "-o", metavar="DST", help="File to write."),
    generator: str = typer.Option(
        None,
        "--generator",
        "-g",
        help="Generator it was trained as (junyanz: the reference's --netG, default "
        "resnet_9blocks), or 'auto' to read it (and its options) off the file.",
    ),
    norm: str = typer.Option(None, "--norm", help="Shortcut for --set norm=... (instance, batch)."),
    ngf: int = typer.Option(None, "--ngf", help="Shortcut for --set ngf=..."),
    direction: str = typer.Option(
        "a2b", "--direction", help="a2b for G_A (A→B), b2a for G_B (B→A)."
    ),
    other: Path = typer.Option(
        None,
        "--other",
        metavar="SRC2",
        help="The opposite direction's generator (e.g. latest_net_G_B.pth), into the same file.",
    ),
    options: list[str] = typer.Option(
        [], "--set", metavar="OPTION=VALUE", help="Other generator options, e.g. dropout=true."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace DST if it exists."),
    plugin: list[str] = plugin_option(),
) -> None:
    """Import generator weights saved by other code into a translkit checkpoint."""
    from translkit.artifacts import GeneratorsFile
    from translkit.importing import import_generators
    from translkit.plugin_manager import load_plugins

    registries = load_plugins(plugin).registries
    sources: dict[str, Path] = {direction: src}
    if other is not None:
        sources[{"a2b": "b2a", "b2a": "a2b"}.get(direction, "b2a")] = other
    opts = parse_key_values(options, "--set")
    opts.update({k: v for k, v in (("norm", norm), ("ngf", ngf)) if v is not None})
    dst = import_generators(
        importer,
        sources,
        output,
        registries,
        generator=generator,
        options=opts,
        direction=direction,
        overwrite=overwrite,
    )
    spec = next(iter(GeneratorsFile.load(dst).generators.values()))
    shown = ", ".join(f"{k} {spec.options[k]}" for k in ("norm", "ngf") if k in spec.options)
    typer.echo(f"wrote {dst} ({', '.join(sorted(sources))}: {spec.name}, {shown})")


def register(app: typer.Typer) -> None:
    app.command("import")(import_weights)
