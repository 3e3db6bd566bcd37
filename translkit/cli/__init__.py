"""The ``translkit`` command line: a thin typer shell over library calls.

Every module ``translkit/cli/*_cmd.py`` adds its commands through ``register(app)``.
Library errors (:class:`~translkit.errors.TranslkitError`) become one red line on
stderr and exit code 1; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup, TyperOption

from translkit import __version__
from translkit.cli.output import PipeConsole
from translkit.errors import TranslkitError

__all__ = ["app", "err_console", "main", "new_group"]

err_console = PipeConsole(stderr=True)
CONTEXT = {"help_option_names": ["-h", "--help"]}


class _FlagOption(TyperOption):
    """A boolean flag: its help shows no value placeholder (typer's rich help writes
    ``--dry-run <bool>``, which reads as if it took a value)."""

    def display_type_rich(self, ctx):  # type: ignore[no-untyped-def]
        return None


class _Flags:
    """Commands and groups whose help shows flags as flags (``--help`` included)."""

    def get_params(self, ctx):  # type: ignore[no-untyped-def]
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if isinstance(param, TyperOption) and param.is_flag:
                param.__class__ = _FlagOption
        return params


class _Command(_Flags, TyperCommand):
    pass


class _App(typer.Typer):
    """Every command is a :class:`_Command` unless it names its own class."""

    def command(self, *args, cls=None, **kwargs):  # type: ignore[no-untyped-def]
        return super().command(*args, cls=cls or _Command, **kwargs)


class _Group(_Flags, TyperGroup):
    """Turns library errors raised by any subcommand into a clean exit 1."""

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except TranslkitError as err:
            err_console.print(
                f"[bold red]error:[/] {escape(str(err))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(1) from None


def new_group(name: str, help: str) -> typer.Typer:
    """A sub-command group (``translkit data ...``) with translkit's conventions."""
    return _App(
        name=name,
        help=help,
        cls=_Group,
        context_settings=CONTEXT,
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
        rich_markup_mode="rich",
    )


app = _App(
    name="translkit",
    help="Unpaired image-to-image translation (the CycleGAN family), built from plugins.",
    cls=_Group,
    context_settings=CONTEXT,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"translkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Unpaired image-to-image translation (the CycleGAN family), built from plugins."""


def _register_commands() -> None:
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.endswith("_cmd"):
            importlib.import_module(f"{__name__}.{mod.name}").register(app)


_register_commands()


def _normalise_argv(argv: list[str]) -> list[str]:
    """``--resume`` may stand alone (latest checkpoint) or take a path."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg == "--resume" and (i + 1 == len(out) or out[i + 1].startswith("-")):
            out.insert(i + 1, "latest")
            break
    return out


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    args = _normalise_argv(sys.argv[1:] if argv is None else argv)
    app(args=args, prog_name="translkit")
