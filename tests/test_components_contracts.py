"""Every registered generator, discriminator and loss meets its contract.

Parametrized over the live registry, so installed third-party components are checked
too (with :data:`translkit.testing.SMALL_OPTIONS` where their factories accept them).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import translkit
from translkit.testing import (
    check_discriminator,
    check_gan_loss,
    check_generator,
    check_patch_head,
    check_pixel_loss,
    check_registered,
    fit_size,
    small_options,
)

# Built-in options that make a component quick; unknown (third-party) names get defaults.
EXTRA = {"timm": {"backbone": "test_resnet", "ndf": 8}}
REG = translkit.get_registry()


def _names(kind: str) -> list[str]:
    return REG.kind(kind).names()


@pytest.mark.parametrize("name", _names("generators"))
def test_generator_contract(name):
    check_registered("generators", name, registries=REG, options=EXTRA.get(name))


@pytest.mark.parametrize("name", _names("discriminators"))
def test_discriminator_contract(name):
    check_registered("discriminators", name, registries=REG, options=EXTRA.get(name))


@pytest.mark.parametrize("name", _names("losses"))
def test_loss_contract(name):
    check_registered("losses", name, registries=REG)


@pytest.mark.parametrize("name", _names("heads"))
def test_head_contract(name):
    check_registered("heads", name, registries=REG)


def test_head_check_catches_a_head_ignoring_the_ids():
    class Resampling(nn.Module):
        """Draws new positions on every call, whatever ids it is given."""

        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(1))

        def forward(self, feats, num_patches, patch_ids=None):
            rows, ids = [], []
            for f in feats:
                pick = torch.randperm(f.shape[2] * f.shape[3])[:num_patches]
                rows.append(self.scale * f.flatten(2)[:, :, pick].transpose(1, 2).flatten(0, 1))
                ids.append(pick)
            return rows, ids

    with pytest.raises(AssertionError, match="same patch ids must give the same rows"):
        check_patch_head(Resampling(), num_patches=4)


@pytest.mark.parametrize("kind", ["generators", "discriminators", "heads", "losses"])
def test_every_component_has_a_summary(kind):
    for entry in translkit.get_registry().kind(kind).entries():
        assert entry.summary and len(entry.summary) < 120, entry.name


def test_fit_size_keeps_non_square():
    assert fit_size(64, 4) == (64, 64)
    assert fit_size((64, 96), 256, non_square=True) == (256, 512)
    assert fit_size((64, 96), 32, non_square=True) == (64, 96)


def test_small_options_only_what_the_factory_takes():
    entry = translkit.get_registry().generators.get("resnet_9blocks")
    assert small_options(entry) == {"ngf": 8}
    assert small_options(entry, {"norm": "batch"}) == {"ngf": 8, "norm": "batch"}


# -- the checks themselves must fail on broken components ------------------------------
class ShapeChanger(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3)

    def forward(self, x):
        return self.conv(x)


class DeadBranch(nn.Module):
    def __init__(self):
        super().__init__()
        self.used, self.unused = nn.Conv2d(3, 3, 1), nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return self.used(x)


class Random(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return self.conv(x) + torch.rand_like(x)


class NaNs(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return self.conv(x) * float("nan")


class BadMultiple(nn.Module):
    size_multiple = 0.5

    def forward(self, x):
        return x


@pytest.mark.parametrize(
    ("net", "match"),
    [
        (ShapeChanger(), "maps"),
        (DeadBranch(), "no gradient for 2 parameters"),
        (Random(), "not deterministic"),
        (NaNs(), "non-finite"),
        (BadMultiple(), "size_multiple must be an int"),
    ],
)
def test_check_generator_catches(net, match):
    with pytest.raises(AssertionError, match=match):
        check_generator(net, size=16)


def test_check_generator_rejects_sizes_off_the_multiple():
    net = translkit.get_registry().generators.create("resnet", n_blocks=1, ngf=4)
    with pytest.raises(AssertionError, match="size_multiple 4"):
        check_generator(net, size=(30, 32))


class Scalar(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 3)

    def forward(self, x):
        return self.conv(x).mean()


class Detached(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 3)

    def forward(self, x):
        return self.conv(x.detach())


@pytest.mark.parametrize(
    ("net", "match"), [(Scalar(), "one row per image"), (Detached(), "input images")]
)
def test_check_discriminator_catches(net, match):
    with pytest.raises(AssertionError, match=match):
        check_discriminator(net, size=16)


class NoHalf:
    """A GAN loss whose generator term gives no gradient (constant)."""

    def generator_loss(self, fake_logits):
        return torch.zeros(())

    def discriminator_loss(self, real_logits, fake_logits):
        return real_logits.mean()

    def penalty(self, discriminator, real, fake):
        return None


class Offset:
    weight = 1.0

    def __call__(self, output, target):
        return (output - target).abs().mean() + 1.0


def test_loss_checks_catch():
    with pytest.raises(AssertionError, match="generator_loss does not depend on the logits"):
        check_gan_loss(NoHalf())
    with pytest.raises(AssertionError, match="equal images is not 0"):
        check_pixel_loss(Offset())


def test_builtin_options_are_plain_defaults():
    """Recipes and `translkit run --dry-run` can show every option of every built-in."""
    reg = translkit.get_registry()
    for kind in ("generators", "discriminators", "losses"):
        for entry in reg.kind(kind).entries():
            if not entry.plugin.startswith("translkit."):
                continue
            for name, param in entry.parameters().items():
                assert param.kind is param.POSITIONAL_OR_KEYWORD or param.kind is param.KEYWORD_ONLY
                assert isinstance(param.default, (bool, int, float, str)), (entry.name, name)


def test_recipe_resolution_fills_every_factory_default():
    """The resolved recipe holds each component's factory defaults (a property, not a copy)."""
    from translkit.recipe import Recipe, components, resolve_recipe

    recipe = resolve_recipe(Recipe(), REG)
    for key, (kind, comp) in components(recipe).items():
        defaults = REG.kind(kind).get(comp.name).defaults()
        slot_fixed = {k: v for k, v in comp.options.items() if defaults.get(k) != v}
        assert set(defaults) <= set(comp.options), key
        if key in ("loss.identity", "loss.change"):  # CycleGAN turns both off by default
            assert slot_fixed == {"weight": 0.0}
        else:
            assert slot_fixed == {}, key


def test_cli_lists_builtins_with_summaries():
    import json

    from typer.testing import CliRunner

    from translkit.cli import app

    expected = {
        "generators": {
            "resnet",
            "resnet_9blocks",
            "resnet_6blocks",
            "unet",
            "unet_256",
            "unet_128",
        },
        "discriminators": {"five_layer", "patchgan", "pixel", "timm"},
        "losses": {"lsgan", "bce", "hinge", "wgan_gp", "cycle", "identity"},
    }
    for kind, names in expected.items():
        result = CliRunner().invoke(app, ["list", kind, "--json"])
        assert result.exit_code == 0, result.output
        rows = {row["name"]: row for row in json.loads(result.output)[kind]}
        assert names <= set(rows)
        assert all(rows[n]["summary"] and rows[n]["plugin"].startswith("translkit.") for n in names)
