"""Recipes fuzzed (Hypothesis): recipe files whose keys get values of every type and
range — huge and negative numbers, NaN and infinities, unicode, lists, nested tables where
a scalar belongs, unknown keys and sections — plus `--set` values the same way, through
`translkit run --dry-run` in-process. Each ends in exit 0 (a resolved recipe) or exit 1
with one `error:` line; never a traceback."""

from __future__ import annotations

import datetime
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from translkit.cli import app

ROOT = Path(__file__).resolve().parents[1]
BASE = tomllib.loads((ROOT / "recipes" / "quickstart.toml").read_text(encoding="utf-8"))
runner = CliRunner()


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))


def _leaves(node: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for key, value in node.items():
        path = (*prefix, key)
        out += _leaves(value, path) if isinstance(value, dict) else [path]
    return out


#: Every key the recipe has (``plugins`` is left alone: it names modules to import, by
#: the user's explicit choice, and a fuzzer must not pick them).
KEYS = [k for k in _leaves(BASE) if k[0] != "plugins"]
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, -1, 1, 2**31, 2**62, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 5e-324]),
    st.booleans(),
    text,
    st.sampled_from(["", "auto", "cpu", "cuda:99", "../../etc", "é✓", "\x00", "1e3"]),
    st.just(datetime.date(2026, 1, 1)),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=2),
    max_leaves=5,
)
paths = st.one_of(
    st.sampled_from(KEYS),
    st.tuples(st.sampled_from(sorted(BASE)), text),  # an unknown key in a known section
    st.tuples(text),  # an unknown top-level key or section
    st.tuples(st.sampled_from(sorted(BASE)), text, text),
)


def _set(raw: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = raw
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def _check(result: Any) -> None:
    assert result.exit_code in (0, 1), (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output, result.output
    if result.exit_code == 1:
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:"), result.output


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("recipes")


@fuzz(150)
@given(changes=st.lists(st.tuples(paths, values), min_size=1, max_size=3))
def test_recipe_files_with_any_values_dry_run_to_exit_0_or_one_line(
    folder: Path, changes: list[tuple[tuple[str, ...], Any]]
) -> None:
    raw = tomllib.loads(tomli_w.dumps(BASE))  # a deep copy
    for path, value in changes:
        _set(raw, path, value)
    recipe = folder / "r.toml"
    recipe.write_text(tomli_w.dumps(raw), encoding="utf-8")
    _check(runner.invoke(app, ["run", str(recipe), "--dry-run"]))


def _toml_text(value: Any) -> str:
    return tomli_w.dumps({"v": value})[4:].strip()


set_values = st.one_of(values.map(_toml_text), text, st.binary(max_size=10).map(repr))
set_keys = st.one_of(st.sampled_from(KEYS).map(".".join), text, st.just(""))


@fuzz(150)
@given(sets=st.lists(st.tuples(set_keys, set_values), min_size=1, max_size=3))
def test_set_values_of_any_kind_dry_run_to_exit_0_or_one_line(
    folder: Path, sets: list[tuple[str, str]]
) -> None:
    recipe = folder / "base.toml"
    if not recipe.exists():
        recipe.write_text(tomli_w.dumps(BASE), encoding="utf-8")
    args = ["run", str(recipe), "--dry-run"]
    for key, value in sets:
        args += ["--set", f"{key}={value}"]
    _check(runner.invoke(app, args))


@fuzz(40)
@given(blob=st.binary(max_size=200))
def test_recipe_files_that_are_not_toml_or_not_text(folder: Path, blob: bytes) -> None:
    recipe = folder / "junk.toml"
    recipe.write_bytes(blob)
    _check(runner.invoke(app, ["run", str(recipe), "--dry-run"]))


@pytest.mark.parametrize(
    "setting",
    [
        "optim.lr=nan",
        "optim.lr=inf",
        "optim.epochs=-inf",
        "data.crop_size={a = 1}",
        "generator.ngf=[1, [2]]",
        "train.device=\x00",
        "run.name=é/../x",
        "eval.every=1e999",
    ],
)
def test_hostile_set_values_are_refused_in_one_line(folder: Path, setting: str) -> None:
    recipe = folder / "base.toml"
    recipe.write_text(tomli_w.dumps(BASE), encoding="utf-8")
    result = runner.invoke(app, ["run", str(recipe), "--dry-run", "--set", setting])
    _check(result)
    assert result.exit_code == 1, result.output


def test_a_recipe_that_is_not_utf8_is_one_line(folder: Path) -> None:
    recipe = folder / "latin1.toml"
    recipe.write_bytes('[run]\nname = "caf\xe9"\n'.encode("latin-1"))
    result = runner.invoke(app, ["run", str(recipe), "--dry-run"])
    _check(result)
    assert result.exit_code == 1 and "is not UTF-8 text" in result.output
