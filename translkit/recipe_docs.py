"""Render docs/recipes.md's key reference from the recipe dataclasses.

``python -m translkit.recipe_docs > docs/recipes.md`` regenerates it; a test checks the
committed file matches, so the reference cannot drift from the code.
"""

from __future__ import annotations

import dataclasses
import typing

from translkit.recipe import Component, Recipe, _to_plain, _type_name

INTRO = """# Recipe reference

A recipe is a TOML file that describes one training run. Every key below is optional:
the default applies when a key is left out. Unknown keys, wrong types and unknown
component names are errors naming the key and the nearest valid choice.

Override any key from the command line with `--set section.key=value` (values are read
as TOML, so `--set optim.betas=[0.5,0.99]` and `--set train.compile=true` work; bare words
are strings). `translkit run RECIPE --dry-run` prints the fully resolved recipe.

Component sections (`[generator]`, `[discriminator]`, `[loss.gan]`, `[loss.cycle]`,
`[loss.identity]`) hold `name`, a registered component (`translkit list`), plus that
component's own options, which are checked against its factory's signature. The dry run
fills in every option's default. See `docs/components.md` for each component's options.

Relative paths are relative to the working directory.
"""


def _fmt_default(value: typing.Any) -> str:
    plain = _to_plain(value)
    if plain is None:
        return "—"
    if isinstance(plain, dict):
        return "`" + ", ".join(f"{k} = {v!r}" for k, v in plain.items()) + "`"
    if isinstance(plain, bool):
        return f"`{str(plain).lower()}`"
    if isinstance(plain, str):
        return f'`"{plain}"`'
    return f"`{plain}`"


def _default_of(f: dataclasses.Field) -> typing.Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def _rows(cls: type) -> list[tuple[str, str, str, str]]:
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal") or (
            dataclasses.is_dataclass(hints[f.name]) and hints[f.name] is not Component
        ):
            continue
        tp = "component" if hints[f.name] is Component else _type_name(hints[f.name])
        rows.append((f.name, tp, _fmt_default(_default_of(f)), f.metadata.get("doc", "")))
    return rows


def _table(title: str, cls: type) -> str:
    lines = [f"## {title}", "", "| key | type | default | meaning |", "|---|---|---|---|"]
    for name, tp, default, doc in _rows(cls):
        lines.append(f"| `{name}` | {tp.replace('|', '&#124;')} | {default} | {doc} |")
    return "\n".join(lines) + "\n"


def render() -> str:
    parts = [INTRO, _table("Top level", Recipe)]
    hints = typing.get_type_hints(Recipe)
    for f in dataclasses.fields(Recipe):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp) and tp is not Component:
            parts.append(_table(f"[{f.name}]", tp))
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
