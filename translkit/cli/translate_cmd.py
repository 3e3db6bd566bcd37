"""``translkit translate CHECKPOINT|MODEL INPUT OUTPUT``: translate a file or folder at its size."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from translkit.cli.options import check_directions, plugin_option
from translkit.cli.output import PipeConsole

if TYPE_CHECKING:
    from translkit.inference.files import TranslateReport

__all__ = ["register", "summary_line", "translate"]


def translate(
    checkpoint: Path = typer.Argument(
        ...,
        metavar="CHECKPOINT|RUN_DIR|MODEL",
        help="Checkpoint (.pt training or generators, .safetensors export), a run directory, "
        "or a pretrained model's name (`translkit list models`; a path that exists wins).",
    ),
    source: Path = typer.Argument(..., metavar="INPUT", help="Image file or folder (recursive)."),
    output: Path = typer.Argument(
        ...,
        help="Output file or folder (relative paths are kept). Never the input itself; a "
        "folder inside the input folder is left out of the walk.",
    ),
    direction: str = typer.Option("a2b", "--direction", "-d", help="a2b or b2a."),
    batch_size: int = typer.Option(8, "--batch-size", "-b", min=1, help="Images per batch."),
    resize: int = typer.Option(
        None,
        "--resize",
        min=0,
        help="Scale images whose shorter side is longer down to N pixels first (aspect kept; "
        "the outputs have that size): the scale the model learned at. Default: a model's "
        "input size (`translkit models info NAME`), else 0 (each image at its own size).",
        show_default=False,
    ),
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
    device: str = typer.Option(
        "auto", "--device", help="auto, cpu, cuda, cuda:N.", rich_help_panel="Device and speed"
    ),
    precision: str = typer.Option(
        "auto",
        "--precision",
        help="auto (bf16 where the device has native bf16, else fp32), fp32, bf16 or fp16.",
        rich_help_panel="Device and speed",
    ),
    compile: bool = typer.Option(
        None,
        "--compile/--no-compile",
        help="torch.compile the network: slow first batch of each image size, faster after. "
        "Default: auto, where this machine's recorded pace for this network says the "
        "folder earns the compilations back (every translation records its pace).",
        show_default=False,
        rich_help_panel="Device and speed",
    ),
    fast_conv: bool = typer.Option(
        None,
        "--fast-conv/--no-fast-conv",
        help="3×3 convolutions by Winograd's algorithm (fewer multiplications) or the direct "
        "kernel. Default: auto, Winograd's where it measured faster for this network here "
        "(fp32 on a CPU, convolutions of 128+ channels; measured once per machine).",
        show_default=False,
        rich_help_panel="Device and speed",
    ),
    channels_last: bool = typer.Option(
        None,
        "--channels-last/--no-channels-last",
        help="Memory format (default: on).",
        show_default=False,
        rich_help_panel="Device and speed",
    ),
    masks: Path = typer.Option(
        None,
        "--masks",
        metavar="DIR",
        help="Also write each input's attention mask here (white where the generator "
        "translated): attention-guided generators only.",
        show_default=False,
    ),
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help="Replace existing output files (default: keep them and count them as skipped, "
        "so a re-run finishes an interrupted job).",
    ),
    plugin: list[str] = plugin_option(),
) -> None:
    """Translate images with one direction of a trained generator, keeping each size
    (unless --resize, or a model's input size, scales them down).

    Inputs are never written over. Existing outputs are skipped unless --overwrite;
    files that are not images are left alone and counted.
    """
    check_directions(direction)
    from translkit.inference.files import translate_checkpoint
    from translkit.plugin_manager import load_plugins

    registries = load_plugins(plugin).registries

    console = PipeConsole(stderr=True)
    columns = (TextColumn("translating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # the bar only on a terminal: piped, it would leave an empty line behind
    live = console.is_terminal
    with Progress(*columns, console=console, transient=True, disable=not live) as bar:
        task = bar.add_task("translate", total=None)
        report = translate_checkpoint(
            checkpoint,
            source,
            output,
            registries,
            direction=direction,
            batch_size=batch_size,
            tile=tile,
            overlap=overlap,
            device=device,
            precision=precision,  # type: ignore[arg-type]
            channels_last=channels_last,
            compile="auto" if compile is None else compile,
            fast_conv=fast_conv,
            overwrite=overwrite,
            resize=resize,
            masks=masks,
            on_total=lambda n: bar.update(task, total=n),
            on_done=lambda n: bar.advance(task, n),
        )
    for path, remark in report.notes:
        console.print(
            f"[yellow]note[/] {escape(str(path))}: {escape(remark)}",
            highlight=False,
            soft_wrap=True,
        )
    for path, reason in report.failed:
        console.print(
            f"[red]failed[/] {escape(str(path))}: {escape(reason)}", highlight=False, soft_wrap=True
        )
    console.print(escape(summary_line(report, output)), highlight=False)
    console.print(f"[dim]runtime: {escape(report.runtime)}[/]", highlight=False)
    if report.failed:
        raise typer.Exit(1)


def summary_line(report: TranslateReport, output: Path) -> str:
    """``3 written to out, 2 skipped (already there; --overwrite replaces them), ...``."""
    parts = [f"{len(report.written)} written to {output}"]
    if report.skipped:
        parts.append(f"{len(report.skipped)} skipped (already there; --overwrite replaces them)")
    if report.not_images:
        n = len(report.not_images)
        parts.append(f"{n} not {'an image' if n == 1 else 'images'} (left alone)")
    parts.append(f"{len(report.failed)} failed")
    return ", ".join(parts)


def register(app: typer.Typer) -> None:
    app.command("translate")(translate)
