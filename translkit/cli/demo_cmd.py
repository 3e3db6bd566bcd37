"""``translkit demo CKPT|RUN_DIR|MODEL``: a local web page to try a model; ``--export DIR``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from translkit.cli.options import check_directions
from translkit.cli.output import PipeConsole

__all__ = ["demo", "register"]

_SAFETY = "Limits"
_LARGE = "Large images"


def demo(
    source: Path = typer.Argument(
        ...,
        metavar="CKPT|RUN_DIR|MODEL",
        help="Checkpoint, run directory (best.pt, else latest.pt), exported app folder, or a "
        "pretrained model's name (`translkit list models`; a path that exists wins).",
    ),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (others than this machine: warned)."
    ),
    port: int = typer.Option(7860, "--port", min=0, max=65535, help="Port (0: any free port)."),
    direction: list[str] = typer.Option(
        None, "--direction", "-d", help="a2b or b2a; repeat for both (default: all it has)."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N."),
    precision: str = typer.Option(
        "auto",
        "--precision",
        help="auto (bf16 where the device has native bf16, else fp32), fp32, bf16 or fp16.",
    ),
    resize: int = typer.Option(
        None,
        "--resize",
        min=0,
        help="Scale uploads whose shorter side is longer down to N px first (the scale the "
        "model learned at). Default: a model's input size, else 0 (each at its own size).",
        show_default=False,
        rich_help_panel=_LARGE,
    ),
    tile: int = typer.Option(
        1024,
        "--tile",
        min=0,
        help="Tiles of N px for larger images (0: whole).",
        rich_help_panel=_LARGE,
    ),
    overlap: int = typer.Option(
        32, "--overlap", min=0, help="Pixels shared by neighbouring tiles.", rich_help_panel=_LARGE
    ),
    max_upload_mb: float = typer.Option(
        25.0, "--max-upload-mb", min=0.001, help="Largest upload in MiB.", rich_help_panel=_SAFETY
    ),
    max_pixels: int = typer.Option(
        4096 * 4096, "--max-pixels", min=1, help="Largest image in pixels.", rich_help_panel=_SAFETY
    ),
    max_queue: int = typer.Option(
        8,
        "--max-queue",
        min=1,
        help="Uploads queued (running one included) before 'busy'.",
        rich_help_panel=_SAFETY,
    ),
    export: Path = typer.Option(
        None, "--export", help="Write a self-contained app folder (a Hugging Face Space) instead."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="With --export: replace DIR."),
    examples: bool = typer.Option(
        False, "--examples", help="With --export: copy a few test images into the folder."
    ),
) -> None:
    """Try a model in the browser: drop images, see them translated (at their own size,
    unless --resize or a model's input size scales them down)."""
    check_directions(*(direction or ()))
    import translkit

    registries = translkit.get_registry()
    if export is not None:
        from translkit.demo.export import export_demo

        out = export_demo(
            source,
            export,
            registries,
            directions=direction or (),
            overwrite=overwrite,
            examples=examples,
            resize=resize,
        )
        typer.echo(f"wrote {out}: run it with `python {out / 'app.py'}`, or push it to a Space")
        return
    from translkit.demo import require_demo_extra

    require_demo_extra()
    from translkit.demo.server import Limits, run_demo

    err = PipeConsole(stderr=True)
    run_demo(
        source,
        registries,
        host=host,
        port=port,
        limits=Limits(int(max_upload_mb * 2**20), max_pixels, max_queue),
        echo=lambda line: typer.echo(line),
        warn=lambda line: err.print(f"[yellow]{escape(line)}[/]", highlight=False, soft_wrap=True),
        directions=direction or (),
        device=device,
        precision=precision,
        tile=tile,
        overlap=overlap,
        resize=resize,
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
