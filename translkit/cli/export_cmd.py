"""``translkit export CHECKPOINT|RUN_DIR|MODEL --format onnx|torchscript|safetensors -o FILE``."""

from __future__ import annotations

from pathlib import Path

import typer

from translkit.cli.options import check_directions, plugin_option

__all__ = ["export", "register"]


def export(
    checkpoint: Path = typer.Argument(
        ...,
        metavar="CHECKPOINT|RUN_DIR|MODEL",
        help="Checkpoint (.pt training or generators, .safetensors export), a run directory, "
        "or a pretrained model's name (`translkit list models`; a path that exists wins).",
    ),
    format: str = typer.Option(
        "onnx", "--format", "-f", help="onnx, torchscript or safetensors (weights only)."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="File to write."),
    direction: str = typer.Option("a2b", "--direction", "-d", help="a2b or b2a."),
    opset: int = typer.Option(None, "--opset", help="ONNX opset version (default: exporter's)."),
    half: bool = typer.Option(
        False,
        "--half",
        help="safetensors: store the weights in fp16 (half the size; loaded back as fp32).",
    ),
    ema: bool = typer.Option(
        True,
        "--ema/--no-ema",
        help="A training checkpoint's EMA weights (train.ema) where it has them, or the raw "
        "weights of its last step.",
    ),
    plugin: list[str] = plugin_option(),
) -> None:
    """Export one generator with dynamic batch, height and width."""
    check_directions(direction)
    from translkit.inference.export import export_generator
    from translkit.plugin_manager import load_plugins

    registries = load_plugins(plugin).registries
    path = export_generator(
        checkpoint,
        output,
        registries,
        format=format,
        direction=direction,
        opset=opset,  # type: ignore[arg-type]
        half=half,
        ema=ema,
    )
    typer.echo(f"wrote {path} ({format}, {direction}, {path.stat().st_size / 1e6:.1f} MB)")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
