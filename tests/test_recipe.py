"""Typed recipes: validation errors, overrides, resolution against registries, round trips."""

from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path

import pytest
from translkit_plugins.cyclegan import cyclegan

from translkit.errors import RecipeError
from translkit.recipe import (
    Component,
    Recipe,
    apply_overrides,
    load_recipe,
    recipe_from_dict,
    resolve_recipe,
)
from translkit.registry import Registries


class Gen:
    """Test generator."""

    def __init__(self, ngf: int = 64, norm: str = "instance", dropout: bool = False) -> None:
        pass


class Disc:
    """Test discriminator."""

    def __init__(self, ndf: int = 64, n_layers: int = 3) -> None:
        pass


class Loss:
    """Test pixel loss."""

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    def __call__(self, output, target):
        return 0.0


class GanLoss:
    """Test adversarial loss."""

    def generator_loss(self, fake_logits):
        return 0.0

    def discriminator_loss(self, real_logits, fake_logits):
        return 0.0


@pytest.fixture
def registry() -> Registries:
    reg = Registries()
    reg.methods.add("cyclegan", cyclegan)
    reg.generators.add("resnet_9blocks", Gen)
    reg.discriminators.add("patchgan", Disc)
    reg.losses.add("lsgan", GanLoss)
    reg.losses.add("hinge", GanLoss)
    for name in ("cycle", "identity", "change"):
        reg.losses.add(name, Loss)
    reg.metrics.add("fid", lambda: None)
    return reg


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_defaults_apply_when_keys_are_left_out(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path, "[optim]\nlr = 1e-3\n"))
    assert recipe.optim.lr == 1e-3
    assert recipe.optim.betas == [0.5, 0.999]
    assert recipe.generator == Component("resnet_9blocks")
    assert recipe.method == Component("cyclegan")
    assert recipe.loss == {}  # the method's defaults are filled in by resolve_recipe
    assert recipe.run_dir == Path("runs/run")
    assert recipe.source == str(tmp_path / "r.toml")


def test_unknown_key_names_file_section_and_nearest_key(tmp_path: Path) -> None:
    path = write(tmp_path, "[optim]\nlearning_rate = 1e-3\nbeta = [0.5, 0.9]\n")
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    msg = str(err.value)
    assert str(path) in msg and "[optim]" in msg and "'learning_rate'" in msg


def test_misspelled_key_suggests_the_valid_one(tmp_path: Path) -> None:
    with pytest.raises(
        RecipeError, match=r"\[optim\]: unknown key 'bettas' \(did you mean 'betas'"
    ):
        load_recipe(write(tmp_path, "[optim]\nbettas = [0.5, 0.9]\n"))


def test_unknown_section_suggests_the_valid_one(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="unknown key 'optimizer'.*'optim'"):
        load_recipe(write(tmp_path, "[optimizer]\nlr = 1\n"))


@pytest.mark.parametrize(
    ("toml", "pattern"),
    [
        ('[optim]\nlr = "fast"\n', r"optim.lr must be float, got 'fast' \(str\)"),
        ("[optim]\nbatch_size = 2.5\n", "optim.batch_size must be int"),
        ("[run]\nseed = true\n", "run.seed must be int"),
        ('[optim]\nbetas = [0.5, "x"]\n', r"optim.betas\[1\] must be float"),
        ('[train]\nprecision = "bf61"\n', r"train.precision must be one of .*did you mean 'bf16'"),
        ("generator = 3\n", r"\[generator\] must be a table"),
    ],
)
def test_wrong_types_are_named(tmp_path: Path, toml: str, pattern: str) -> None:
    with pytest.raises(RecipeError, match=pattern):
        load_recipe(write(tmp_path, toml))


def test_integers_widen_to_floats_and_optional_accepts_none() -> None:
    recipe = recipe_from_dict({"optim": {"lr": 1, "lr_d": 2}})
    assert recipe.optim.lr == 1.0 and isinstance(recipe.optim.lr, float)
    assert recipe.optim.lr_d == 2.0


def test_invalid_toml_and_missing_file_are_recipe_errors(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="not valid TOML"):
        load_recipe(write(tmp_path, "[optim\n"))
    with pytest.raises(RecipeError, match="does not exist"):
        load_recipe(tmp_path / "missing.toml")


def test_overrides_parse_toml_values_and_create_keys(tmp_path: Path) -> None:
    path = write(tmp_path, '[generator]\nname = "resnet_9blocks"\n')
    recipe = load_recipe(
        path,
        [
            "optim.lr=1e-4",
            "generator.ngf=32",
            "optim.betas=[0.9, 0.99]",
            "train.compile=true",
            "run.name=my run",
            "loss.gan.name=hinge",
        ],
    )
    assert recipe.optim.lr == 1e-4
    assert recipe.generator.options == {"ngf": 32}
    assert recipe.optim.betas == [0.9, 0.99]
    assert recipe.train.compile == "on"  # `true` means "on"
    assert recipe.run.name == "my run"
    assert recipe.loss["gan"].name == "hinge"


def test_override_of_component_shorthand_keeps_its_name() -> None:
    raw = apply_overrides({"generator": "resnet_9blocks"}, ["generator.ngf=16"])
    assert raw == {"generator": {"name": "resnet_9blocks", "ngf": 16}}


def test_bad_overrides_are_recipe_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    with pytest.raises(RecipeError, match="section.key=value"):
        load_recipe(path, ["optim.lr"])
    with pytest.raises(RecipeError, match=r"unknown key 'lrr'.*'lr'"):
        load_recipe(path, ["optim.lrr=1"])
    with pytest.raises(RecipeError, match="optim.lr is not a table"):
        load_recipe(path, ["optim.lr=1", "optim.lr.x=2"])


def test_resolve_fills_component_defaults(registry: Registries) -> None:
    recipe = recipe_from_dict({"generator": {"name": "resnet_9blocks", "ngf": 32}})
    resolved = resolve_recipe(recipe, registry)
    assert resolved.generator.options == {"ngf": 32, "norm": "instance", "dropout": False}
    assert resolved.discriminator.options == {"ndf": 64, "n_layers": 3}
    assert recipe.generator.options == {"ngf": 32}  # the input is not mutated


def test_resolve_rejects_unknown_component_with_suggestion(registry: Registries) -> None:
    recipe = recipe_from_dict({"generator": {"name": "resnet9blocks"}}, source="x.toml")
    with pytest.raises(RecipeError, match=r"x.toml.*\[generator\].*did you mean 'resnet_9blocks'"):
        resolve_recipe(recipe, registry)


def test_resolve_rejects_unknown_component_option(registry: Registries) -> None:
    recipe = recipe_from_dict({"discriminator": {"name": "patchgan", "n_layer": 4}})
    with pytest.raises(RecipeError, match=r"\[discriminator\].*'n_layer'.*'n_layers'"):
        resolve_recipe(recipe, registry)


def test_resolve_rejects_unknown_metric(registry: Registries) -> None:
    recipe = recipe_from_dict({"eval": {"metrics": ["fdi"]}})
    with pytest.raises(RecipeError, match=r"unknown metric 'fdi'.*'fid'"):
        resolve_recipe(recipe, registry)


def test_to_toml_round_trips(registry: Registries, tmp_path: Path) -> None:
    recipe = resolve_recipe(
        recipe_from_dict({"generator": {"name": "resnet_9blocks", "ngf": 8}, "optim": {"lr": 0.5}}),
        registry,
    )
    text = recipe.to_toml()
    again = recipe_from_dict(tomllib.loads(text))
    assert again.to_dict() == recipe.to_dict()
    assert "lr_d" not in text  # None values are left out of TOML


def test_recipe_defaults_are_independent_instances() -> None:
    a, b = Recipe(), Recipe()
    a.optim.betas.append(1.0)
    a.generator.options["x"] = 1
    assert b.optim.betas == [0.5, 0.999] and b.generator.options == {}


def test_resolve_fills_the_methods_loss_slots(registry: Registries) -> None:
    resolved = resolve_recipe(recipe_from_dict({}), registry)
    assert {k: c.name for k, c in resolved.loss.items()} == {
        "gan": "lsgan",
        "cycle": "cycle",
        "identity": "identity",
        "change": "change",
    }
    assert resolved.loss["cycle"].options == {"weight": 10.0}
    assert resolved.loss["identity"].options == {"weight": 0.0}  # CycleGAN: identity off
    assert resolved.loss["change"].options == {"weight": 0.0}  # and the change loss


def test_a_loss_slot_without_name_merges_into_the_default(registry: Registries) -> None:
    raw = apply_overrides({}, ["loss.cycle.weight=5"])
    resolved = resolve_recipe(recipe_from_dict(raw), registry)
    assert resolved.loss["cycle"] == Component("cycle", {"weight": 5})


def test_a_loss_of_the_wrong_kind_is_refused_at_resolve_time(registry: Registries) -> None:
    recipe = recipe_from_dict({"loss": {"cycle": {"name": "lsgan"}}}, source="x.toml")
    with pytest.raises(RecipeError, match=r"x.toml: \[loss.cycle\] 'lsgan' is not a PixelLoss"):
        resolve_recipe(recipe, registry)


def test_unknown_loss_slot_lists_the_methods_slots(registry: Registries) -> None:
    recipe = recipe_from_dict({"loss": {"cycel": {"name": "cycle"}}})
    with pytest.raises(RecipeError, match=r"not a loss slot.*'cycle'.*gan, cycle, identity"):
        resolve_recipe(recipe, registry)


def test_a_head_is_refused_for_a_method_without_one(registry: Registries) -> None:
    recipe = recipe_from_dict({"head": {"name": "mlp"}})
    with pytest.raises(RecipeError, match=r"\[head\] is not used by method 'cyclegan'"):
        resolve_recipe(recipe, registry)


def test_a_section_without_name_keeps_the_default_component(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path, "[generator]\nngf = 32\n"))
    assert recipe.generator == Component("resnet_9blocks", {"ngf": 32})
