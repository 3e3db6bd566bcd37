"""Options shared by several commands."""

from __future__ import annotations

from typing import Any

import typer

from translkit.directions import DIRECTIONS, direction_problem
from translkit.errors import ComponentError, TranslkitError

__all__ = ["DIRECTIONS", "check_directions", "parse_key_values", "plugin_option"]


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


def parse_key_values(items: list[str], flag: str) -> dict[str, Any]:
    """``KEY=VALUE`` pairs given with ``flag``; values read as ``--set`` reads them
    (:func:`translkit.recipe.parse_value`: TOML, ``128``, ``true``, ``[1, 2]``; bare words
    as text)."""
    from translkit.recipe import parse_value

    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ComponentError(f"{flag} {item!r} must look like KEY=VALUE (e.g. dropout=true)")
        out[key.strip()] = parse_value(raw.strip())
    return out


def check_directions(*directions: str) -> None:
    """Refuse a ``--direction`` that no model has, at once (before torch is imported)."""
    for direction in directions:
        if problem := direction_problem(direction, "--direction"):
            raise TranslkitError(problem)
