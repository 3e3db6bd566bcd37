"""Options shared by several commands."""

from __future__ import annotations

import typer

__all__ = ["plugin_option"]


def plugin_option() -> list[str]:
    """``--plugin MODULE`` (repeatable): load a plugin module deliberately.

    Checkpoints and run directories never choose what is imported; a component that only
    an uninstalled plugin provides is loaded this way, by the user's explicit choice.
    """
    return typer.Option(
        [],
        "--plugin",
        "-p",
        metavar="MODULE",
        help="Load this plugin module too (repeatable). Files never choose what is imported.",
        rich_help_panel="Plugins",
    )
