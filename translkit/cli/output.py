"""The console every command prints through.

On a terminal rich lays text and tables out as usual. Piped (a file, ``less``, another
program), a line of text is never hard-wrapped (a note is one line however long) and no
line carries trailing padding, so ``grep`` and ``cut`` see what a person reads; tables
still fit the width (80 columns when piped).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

__all__ = ["PipeConsole", "print_fields"]


class PipeConsole(Console):
    """A :class:`rich.console.Console` that, piped, soft-wraps text and strips padding."""

    def print(self, *objects: Any, soft_wrap: bool | None = None, **kwargs: Any) -> None:
        if self.is_terminal:
            super().print(*objects, soft_wrap=soft_wrap, **kwargs)
            return
        with self.capture() as captured:
            super().print(*objects, soft_wrap=True if soft_wrap is None else soft_wrap, **kwargs)
        text = captured.get()
        lines = [line.rstrip() for line in text.split("\n")]
        self.file.write("\n".join(lines))
        self.file.flush()


def print_fields(console: Console, rows: list[tuple[str, str]], width: int) -> None:
    """``key value`` lines of a card (`data info`, `models info`): keys bold in a column of
    ``width``, continuation lines indented under the value; never wrapped (URLs, hashes)."""
    from rich.markup import escape

    for key, value in rows:
        value = value.replace("\n", "\n" + " " * (width + 1))
        console.print(f"[bold]{key:<{width}}[/] {escape(value)}", soft_wrap=True, highlight=False)
