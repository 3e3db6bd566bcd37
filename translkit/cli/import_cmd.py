"""``translkit import junyanz SRC.pth -o DST``: bring generators trained elsewhere."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import typer

from translkit.cli import new_group
from translkit.errors import ComponentError

__all__ = ["register"]

group = new_group(
    "import", "Convert generators trained with other code into translkit checkpoints."
)


def _parse_options(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs, each value read as TOML (bare words stay strings)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ComponentError(f"--set {item!r} must look like option=value (e.g. dropout=true)")
        try:
            out[key.strip()] = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = raw.strip()
    return out


@group.command("junyanz")
def junyanz(
    src: Path = typer.Argument(..., metavar="SRC.pth", help="latest_net_G_A.pth or similar."),
    output: Path = typer.Option(..., "--output", "-o", metavar="DST", help="File to write."),
    generator: str = typer.Option(
        "resnet_9blocks",
        "--generator",
        "-g",
        help="Generator it was trained as (the reference's --netG), or 'auto' to read "
        "generator, --norm and --ngf off the file.",
    ),
    norm: str = typer.Option("instance", "--norm", help="instance or batch (the --norm used)."),
    ngf: int = typer.Option(64, "--ngf", help="Filters of the first conv (the --ngf used)."),
    direction: str = typer.Option(
        "a2b", "--direction", help="a2b for G_A (A→B), b2a for G_B (B→A)."
    ),
    other: Path = typer.Option(
        None,
        "--other",
        metavar="SRC2.pth",
        help="The opposite direction's generator (e.g. latest_net_G_B.pth), into the same file.",
    ),
    options: list[str] = typer.Option(
        [], "--set", metavar="OPTION=VALUE", help="Other generator options, e.g. dropout=true."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace DST if it exists."),
) -> None:
    """Import a generator saved by Zhu et al.'s pytorch-CycleGAN-and-pix2pix."""
    from translkit import importers  # torch: imported when used, keeping the CLI start fast
    from translkit.checkpoint import load_checkpoint

    sources: dict[str, Path] = {direction: src}
    if other is not None:
        sources[{"a2b": "b2a", "b2a": "a2b"}.get(direction, "b2a")] = other
    dst = importers.import_junyanz(
        sources if other is not None else src,
        output,
        generator=generator,
        norm=norm,
        ngf=ngf,
        direction=direction,
        options=_parse_options(options),
        overwrite=overwrite,
    )
    if generator == "auto":  # say what was detected
        spec = next(iter(load_checkpoint(dst)["generators"].values()))
        generator, norm, ngf = spec["name"], spec["options"]["norm"], spec["options"]["ngf"]
    typer.echo(f"wrote {dst} ({', '.join(sorted(sources))}: {generator}, norm {norm}, ngf {ngf})")


def register(app: typer.Typer) -> None:
    app.add_typer(group)
