"""Every command's --help reads as the command line works: a boolean option is a flag
(``--dry-run``), never shown with a value placeholder (``--dry-run <bool>``) that invites
``--dry-run true``."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from translkit.cli import app

runner = CliRunner()
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _commands() -> list[tuple[list[str], Any]]:
    out: list[tuple[list[str], Any]] = []

    def walk(path: list[str], cmd: Any) -> None:
        out.append((path, cmd))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk([*path, name], sub)

    walk([], typer.main.get_command(app))
    return out


COMMANDS = _commands()


def test_every_command_is_walked() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"run", "translate", "data download", "plugins", "list"} <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "root")
def test_boolean_options_read_as_flags_in_help(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    text = ANSI.sub("", result.output)
    assert "<bool>" not in text and "BOOLEAN" not in text, text
    cmd = dict((tuple(p), c) for p, c in COMMANDS)[tuple(path)]
    ctx = cmd.make_context("translkit", [], resilient_parsing=True)
    flags = [
        opt
        for param in cmd.get_params(ctx)
        if param.param_type_name == "option" and getattr(param, "is_flag", False)
        for opt in param.opts
        if opt.startswith("--")
    ]
    assert "--help" in flags
    for flag in flags:
        (line,) = [ln for ln in text.splitlines() if re.search(rf"{flag}(?![\w-])", ln)][:1]
        after = line.split(flag, 1)[1]
        assert not re.match(r"\s+(-\w\s+)?<\w+", after), f"{flag} shows a placeholder: {line}"
