"""Every bad recipe value is one line before anything runs: `run --dry-run` and `run` alike.

A table names an out-of-range and a wrong-type value for every recipe key (a meta-test
keeps it complete), and every option of every built-in component is walked the same way
from its factory's annotations.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from typer.testing import CliRunner

import translkit
from translkit.bounds import Range, checkable, option_types
from translkit.cli import app
from translkit.errors import ComponentError, RecipeError
from translkit.recipe import (
    Component,
    OptimSection,
    Recipe,
    TrainSection,
    load_recipe,
    recipe_from_dict,
    resolve_recipe,
)

runner = CliRunner()

# key: (out-of-range value or None where every value of the type is valid, wrong-type value)
BAD: dict[str, tuple[Any, Any]] = {
    "plugins": (["not a module"], "my_plugin"),
    "method": ("nosuch_method", 3),
    "generator": ("nosuch_gen", 3),
    "discriminator": ("nosuch_disc", [1]),
    "head": ("mlp", 3),  # CycleGAN has no head: naming one is refused
    "loss": ({"gan": "nosuch_gan"}, 1.0),
    "run.name": ("", 12),
    "run.seed": (-1, "zero"),
    "run.output_dir": ("", 3),
    "run.deterministic": (None, "yes"),
    "data.dataset": ("nosuch_dataset", 3),
    "data.root": ("  ", 3),
    "data.resize": ("stretch", 1),
    "data.load_size": (0, "big"),
    "data.crop_size": (0, 2.5),
    "data.flip": (None, "no"),
    "data.rotation": (-5.0, "ten"),
    "data.num_workers": (-1, "two"),
    "data.synthetic": (None, 1),
    "data.synthetic_train": (0, "many"),
    "data.synthetic_test": (0, 1.5),
    "data.synthetic_seed": (-1, "x"),
    "data.check": (None, "on"),
    "optim.lr": (-0.001, "fast"),
    "optim.lr_d": (0.0, "fast"),
    "optim.betas": ([2, 3], 0.5),
    "optim.batch_size": (0, 1.5),
    "optim.epochs": (-1, "ten"),
    "optim.schedule": ("exponential", 3),
    "optim.schedule_by": ("hours", 1),
    "optim.decay_start": (-1, "half"),
    "optim.step_size": (0, "x"),
    "optim.gamma": (0.0, "half"),
    "optim.grad_clip": (-1.0, "x"),
    "train.device": ("gpu", 0),
    "train.precision": ("fp8", 16),
    "train.channels_last": ("yes", True),
    "train.compile": ("sometimes", 3),
    "train.fuse": ("maybe", 1),
    "train.fast_norm": ("maybe", 0),
    "train.fast_conv": ("maybe", 0),
    "train.pool_size": (-1, "x"),
    "train.ema": (1.0, "x"),
    "train.diffaug": ("color,colour", 3),
    "train.checkpoint_every": (0, "x"),
    "train.keep_last": (-1, "x"),
    "train.sample_every": (-1, "x"),
    "train.log_every": (0, "x"),
    "train.max_steps": (-1, "x"),
    "train.max_minutes": (-1.0, "x"),
    "train.tensorboard": (None, "x"),
    "eval.every": (-1, "x"),
    "eval.metrics": (["nosuch_metric"], "fid"),
    "eval.select": ("fid", 1),  # fid is not among eval.metrics: the evaluation never yields it
    "eval.num_samples": (-1, "x"),
    "eval.metric_weights": (None, 1),
}


def recipe_keys() -> dict[str, Any]:
    """Every key of the recipe model: dotted name -> declared type."""
    out: dict[str, Any] = {}

    def walk(cls: type, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.metadata.get("internal"):
                continue
            tp = hints[f.name]
            if dataclasses.is_dataclass(tp) and tp is not Component:
                walk(tp, f"{prefix}{f.name}.")
            else:
                out[prefix + f.name] = tp

    walk(Recipe, "")
    return out


def test_the_table_covers_every_recipe_key() -> None:
    keys = recipe_keys()
    assert set(BAD) == set(keys)
    unbounded = {k for k, (out_of_range, _) in BAD.items() if out_of_range is None}
    assert unbounded == {k for k, tp in keys.items() if tp is bool} | {"eval.metric_weights"}


def _nest(key: str, value: Any) -> dict[str, Any]:
    *parents, leaf = key.split(".")
    raw: dict[str, Any] = {leaf: value}
    for part in reversed(parents):
        raw = {part: raw}
    return raw


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _recipe(tmp_path: Path, extra: dict[str, Any]) -> Path:
    base = {"run": {"name": "bounds", "output_dir": str(tmp_path / "runs")}}
    path = tmp_path / "recipe.toml"
    path.write_text(tomli_w.dumps(_merge(base, extra)))
    return path


def _refused(tmp_path: Path, extra: dict[str, Any], key: str, *, dry_run: bool) -> str:
    """Run the CLI on a recipe holding ``extra``; assert one clean line naming ``key``."""
    recipe = _recipe(tmp_path, extra)
    result = runner.invoke(app, ["run", str(recipe), *(["--dry-run"] if dry_run else [])])
    progress = "importing torch and the plugins"  # what `run` says before the slow imports
    lines = [ln for ln in result.stderr.strip().splitlines() if progress not in ln]
    assert result.exit_code == 1, (key, result.stdout, result.stderr)
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: recipe ") and key.split(".")[-1] in lines[0], lines
    assert result.stdout == ""
    assert not (tmp_path / "runs").exists()  # nothing was written, nothing trained
    return lines[0]


CASES = [
    pytest.param(key, value, kind, id=f"{key}-{kind}")
    for key, (out_of_range, wrong_type) in BAD.items()
    for kind, value in (("range", out_of_range), ("type", wrong_type))
    if value is not None
]


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "run"])
@pytest.mark.parametrize(("key", "value", "kind"), CASES)
def test_every_bad_recipe_value_is_one_line(tmp_path, key, value, kind, dry_run) -> None:
    line = _refused(tmp_path, _nest(key, value), key, dry_run=dry_run)
    components = ("method", "generator", "discriminator", "head", "loss")
    if kind == "type" and key not in components:
        assert f"{key} must be" in line and repr(value) in line, line


def _bad_option_values(annotation: Any) -> dict[str, Any]:
    """A wrong-type value and, where the annotation bounds it, an out-of-range value."""
    base, bounds = annotation, ()
    if typing.get_origin(annotation) is typing.Annotated:
        base, *bounds = typing.get_args(annotation)
    out: dict[str, Any] = {"type": [1] if base is str else "ten"}
    if typing.get_origin(base) is typing.Literal:
        out.update(type=7, range="bogus")
    for bound in bounds:
        if isinstance(bound, Range) and bound.min is not None:
            out["range"] = bound.min if bound.min_open else bound.min - 1
        elif isinstance(bound, Range) and bound.max is not None:
            out["range"] = bound.max if bound.max_open else bound.max + 1
    return out


_SECTION = {"generators": "generator", "discriminators": "discriminator"}
_LOSS_SECTION = {
    "cycle": "loss.cycle",
    "identity": "loss.identity",
    "focal_frequency": "loss.identity",
}


def _option_cases() -> list[Any]:
    registry = translkit.get_registry()
    cases = []
    for kind in ("generators", "discriminators", "losses"):
        for entry in registry.kind(kind).entries():
            if not entry.plugin.startswith("translkit."):
                continue
            section = _SECTION.get(kind) or _LOSS_SECTION.get(entry.name, "loss.gan")
            wrapped = entry.inner()
            for option, annotation in option_types(entry.factory).items():
                if wrapped and option == wrapped[0]:
                    continue  # the wrapped component's name: tests/test_wrappers.py
                assert checkable(annotation), f"{entry.name}.{option}: {annotation}"
                for what, value in _bad_option_values(annotation).items():
                    key = f"{section}.{option}"
                    cases.append(
                        pytest.param(
                            section, entry.name, key, value, id=f"{entry.name}.{option}-{what}"
                        )
                    )
    return cases


@pytest.mark.parametrize(("section", "name", "key", "value"), _option_cases())
def test_every_builtin_component_option_is_checked_at_resolve(
    tmp_path, section, name, key, value
) -> None:
    extra = _nest(section, {"name": name, key.split(".")[-1]: value})
    line = _refused(tmp_path, extra, key, dry_run=True)
    assert f"{key} must be" in line and repr(value).strip("[]") in line, line


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["generator.name=resnet", "generator.n_blocks=six"],
            "generator.n_blocks must be int, got 'six' (str)",
        ),
        (["loss.cycle.weight=ten"], "loss.cycle.weight must be float, got 'ten' (str)"),
        (["loss.cycle.weight=-10"], "loss.cycle.weight must be ≥ 0, got -10.0"),
        (["optim.lr=-0.001"], "optim.lr must be > 0, got -0.001"),
        (["optim.betas=[2,3]"], "optim.betas must be in [0, 1), got [2.0, 3.0]"),
        (["optim.lr=nan"], "optim.lr must be a finite number > 0, got nan"),
        (["data.num_workers=-1"], "data.num_workers must be ≥ 0, got -1"),
        (["train.pool_size=-1"], "train.pool_size must be ≥ 1, or 0 = off, got -1"),
        (["optim.epochs=-1"], "optim.epochs must be ≥ 1, got -1"),
        (["train.log_every=0"], "train.log_every must be ≥ 1, got 0"),
        (["train.checkpoint_every=0"], "train.checkpoint_every must be ≥ 1, got 0"),
        (["train.keep_last=-1"], "train.keep_last must be ≥ 0, got -1"),
        (["optim.grad_clip=-1"], "optim.grad_clip must be > 0, or 0 = off, got -1.0"),
        (["data.load_size=128"], "data.load_size (128) is smaller than data.crop_size (256)"),
        (["optim.epochs=10", "optim.decay_start=11"], "optim.decay_start (11) is after the last"),
    ],
)
def test_issue_examples_via_set(tmp_path, overrides, message) -> None:
    recipe = _recipe(tmp_path, {})
    args = ["run", str(recipe), "--dry-run"]
    for item in overrides:
        args += ["--set", item]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_zero_means_off_where_documented(tmp_path) -> None:
    off = ["eval.every=0", "train.keep_last=0", "optim.grad_clip=0", "train.ema=0"]
    off += ["train.pool_size=0", "train.sample_every=0", "train.max_steps=0"]
    off += ["eval.num_samples=0", "optim.epochs=4", "optim.decay_start=4"]
    recipe = resolve_recipe(load_recipe(_recipe(tmp_path, {}), off), translkit.get_registry())
    assert recipe.eval.every == 0 and recipe.train.keep_last == 0 and recipe.optim.grad_clip == 0


@pytest.mark.parametrize("word", ["nan", "inf", "2024", "true", "1e3"])
def test_set_text_key_keeps_the_word_typed(tmp_path, word) -> None:
    result = runner.invoke(
        app, ["run", str(_recipe(tmp_path, {})), "--dry-run", "--set", f"run.name={word}"]
    )
    assert result.exit_code == 0, result.stderr
    assert f'name = "{word}"' in result.stdout
    assert load_recipe(_recipe(tmp_path, {}), [f"run.name={word}"]).run.name == word


def test_set_on_a_missing_component_section_merges_into_the_default(tmp_path) -> None:
    recipe = load_recipe(_recipe(tmp_path, {}), ["loss.cycle.weight=5", "generator.ngf=16"])
    assert recipe.loss["cycle"] == Component("", {"weight": 5})  # the method's default, later
    assert recipe.generator == Component("resnet_9blocks", {"ngf": 16})
    resolved = resolve_recipe(recipe, translkit.get_registry())
    assert resolved.loss["cycle"] == Component("cycle", {"weight": 5.0})


def test_python_api_recipes_are_checked_when_resolved() -> None:
    with pytest.raises(RecipeError, match=r"optim.lr must be > 0, got -1"):
        resolve_recipe(Recipe(optim=OptimSection(lr=-1)), translkit.get_registry())
    with pytest.raises(RecipeError, match=r"train.keep_last must be ≥ 0"):
        resolve_recipe(Recipe(train=TrainSection(keep_last=-2)), translkit.get_registry())


def test_component_option_ints_widen_to_declared_floats() -> None:
    raw = {"loss": {"cycle": {"name": "cycle", "weight": 3}}}
    resolved = resolve_recipe(recipe_from_dict(raw), translkit.get_registry())
    weight = resolved.loss["cycle"].options["weight"]
    assert isinstance(weight, float) and math.isclose(weight, 3.0)


def test_one_bound_two_wordings_the_recipe_key_or_the_option() -> None:
    """The factory's bound, checked once by ``translkit.bounds``: a recipe names its key,
    ``Registry.create`` the component and its option."""
    registries = translkit.get_registry()
    raw = {"generator": {"name": "resnet", "ngf": 0}}
    with pytest.raises(RecipeError, match=r"^recipe <dict>: generator.ngf must be ≥ 1, got 0$"):
        resolve_recipe(recipe_from_dict(raw), registries)
    wording = r"^generator 'resnet': option ngf must be ≥ 1, got 0$"
    with pytest.raises(ComponentError, match=wording):
        registries.generators.create("resnet", ngf=0)
