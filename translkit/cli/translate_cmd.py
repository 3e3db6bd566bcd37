"""``translkit translate CHECKPOINT INPUT OUTPUT``: translate a file or folder at its size."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["register", "translate"]


def translate(
    checkpoint: Path = typer.Argument(..., help="Checkpoint (training or generators format)."),
    source: Path = typer.Argument(..., metavar="INPUT", help="Image file or folder (recursive)."),
    output: Path = typer.Argument(..., help="Output file or folder (relative paths are kept)."),
    direction: str = typer.Option("a2b", "--direction", "-d", help="a2b or b2a."),
    batch_size: int = typer.Option(8, "--batch-size", "-b", min=1, help="Images per batch."),
    tile: int = typer.Option(
        0,
        "--tile",
        min=0,
        help="Translate in tiles of N pixels (0: whole images).",
        rich_help_panel="Large images",
    ),
    overlap: int = typer.Option(
        32,
        "--overlap",
        min=0,
        help="Pixels shared by neighbouring tiles (blended).",
        rich_help_panel="Large images",
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N."),
    precision: str = typer.Option(
        "auto",
        "--precision",
        help="auto (bf16 where the device has native bf16, else fp32), fp32, bf16 or fp16.",
    ),
    compile: bool = typer.Option(
        False, "--compile", help="torch.compile the network (slow first batch, faster after)."
    ),
    channels_last: bool = typer.Option(
        None,
        "--channels-last/--no-channels-last",
        help="Memory format (default: on for CUDA, off on CPU).",
        show_default=False,
    ),
) -> None:
    """Translate images with one direction of a trained generator, keeping each size."""
    from translkit.inference.files import translate_checkpoint

    console = Console(stderr=True)
    columns = (TextColumn("translating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("translate", total=None)
        report = translate_checkpoint(
            checkpoint,
            source,
            output,
            direction=direction,
            batch_size=batch_size,
            tile=tile,
            overlap=overlap,
            device=device,
            precision=precision,  # type: ignore[arg-type]
            channels_last=channels_last,
            compile=compile,
            on_total=lambda n: bar.update(task, total=n),
            on_done=lambda n: bar.advance(task, n),
        )
    for path, reason in report.failed:
        console.print(
            f"[red]failed[/] {escape(str(path))}: {escape(reason)}", highlight=False, soft_wrap=True
        )
    console.print(
        f"{len(report.written)} written to {escape(str(output))}, {len(report.failed)} failed",
        highlight=False,
    )
    console.print(f"[dim]precision: {escape(report.precision)}[/]", highlight=False)
    if report.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("translate")(translate)
