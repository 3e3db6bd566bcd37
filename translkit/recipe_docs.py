"""Render docs/recipes.md's key reference from the recipe dataclasses.

``python -m translkit.recipe_docs > docs/recipes.md`` regenerates it; a test checks the
committed file matches, so the reference cannot drift from the code.
"""

from __future__ import annotations

import dataclasses
import typing

from translkit.bounds import type_name as _type_name
from translkit.recipe import Component, Recipe, _to_plain

INTRO = """# Recipe reference

A recipe is a TOML file that describes one training run. Every key below is optional:
the default applies when a key is left out. Unknown keys, wrong types, values outside the
**valid** column and unknown component names are errors naming the key, what it must be
and the value given — all caught when the recipe is loaded, so `translkit run RECIPE
--dry-run` (which prints the fully resolved recipe) finds every one of them before any
training starts. Where `0` switches a feature off, the valid column says so.

Override any key from the command line with `--set section.key=value` (values are read
as TOML, so `--set optim.betas=[0.5,0.99]` and `--set train.compile=true` work; bare words
are strings). A key that holds text keeps exactly what was typed: `--set run.name=nan`
names the run `nan`, `--set run.name=2024` names it `2024`.

Component sections (`[method]`, `[generator]`, `[discriminator]`, `[head]` and the loss
slots `[loss.<slot>]` — CycleGAN's `gan`, `cycle`, `identity`, `change`; CUT's `gan`, `nce`) hold
`name`, a registered component (`translkit list`), plus that component's own options,
which are checked against its factory's signature: the option must exist, have the
annotated type and lie in the bounds the factory declares (`weight: Annotated[float,
Range(min=0)]`, see docs/plugins.md). The method says which sections it uses and what
each loss slot must be (an adversarial loss, a pixel loss, a patch loss); a section
without `name` sets options of the default component (the recipe's, or the method's for
`[head]` and the loss slots), so `--set loss.cycle.weight=5` works on any recipe. The dry
run fills in every option's default. See `docs/components.md` for each component's
options.

Relative paths are relative to the working directory.
"""


def _fmt_default(value: typing.Any) -> str:
    plain = _to_plain(value)
    if plain is None:
        return "—"
    if plain == {}:
        return "the method's"
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


_COMPONENT_TYPES = {
    Component: "component",
    Component | None: "component (the method's by default)",
    dict[str, Component]: "components by slot",
}


def _valid(f: dataclasses.Field, tp: typing.Any) -> str:
    """The ``valid`` column: the field's bounds, or its choices for a Literal."""
    if tp in _COMPONENT_TYPES:
        return "registered component; its options as declared"
    bounds = [b.describe() for b in f.metadata.get("bounds", ())]
    if typing.get_origin(tp) is typing.Literal:
        bounds.insert(0, "one of the listed")
    return "; ".join(bounds)


def _rows(cls: type) -> list[tuple[str, str, str, str, str]]:
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal") or (
            dataclasses.is_dataclass(hints[f.name]) and hints[f.name] is not Component
        ):
            continue
        tp = _COMPONENT_TYPES.get(hints[f.name]) or _type_name(hints[f.name])
        valid = _valid(f, hints[f.name])
        rows.append((f.name, tp, valid, _fmt_default(_default_of(f)), f.metadata.get("doc", "")))
    return rows


def _table(title: str, cls: type) -> str:
    lines = [
        f"## {title}",
        "",
        "| key | type | valid | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for name, tp, valid, default, doc in _rows(cls):
        tp = tp.replace("|", "&#124;")
        lines.append(f"| `{name}` | {tp} | {valid} | {default} | {doc} |")
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
