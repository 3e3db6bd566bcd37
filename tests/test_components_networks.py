"""Built-in networks: reference parameter counts and output shapes, options, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from translkit_plugins.generators import RESNET_PRESETS, UNET_PRESETS, ResnetBlock

import translkit
from translkit.errors import ComponentError

# SPEC.md §1: reference parameter counts (3→3 channels, ngf/ndf 64).
GENERATOR_COUNTS = {
    ("resnet_9blocks", "instance"): 11_378_179,
    ("resnet_9blocks", "batch"): 11_383_427,
    ("resnet_6blocks", "instance"): 7_837_699,
    ("resnet_6blocks", "batch"): 7_841_411,
    ("unet_256", "instance"): 54_409_603,
    ("unet_256", "batch"): 54_413_955,
    ("unet_128", "instance"): 41_825_667,
    ("unet_128", "batch"): 41_828_995,
}
DISCRIMINATOR_COUNTS = {
    ("patchgan", "instance"): 2_764_737,
    ("patchgan", "batch"): 2_765_633,
    ("pixel", "instance"): 8_705,
}


def registry():
    return translkit.get_registry()


def count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def on_meta(kind: str, name: str, **options):
    """Full-size networks without allocating their weights."""
    with torch.device("meta"):
        return registry().kind(kind).create(name, **options)


@pytest.mark.parametrize(("name", "norm"), list(GENERATOR_COUNTS))
def test_generator_parameter_counts(name, norm):
    assert count(on_meta("generators", name, norm=norm)) == GENERATOR_COUNTS[name, norm]


@pytest.mark.parametrize(("name", "norm"), list(DISCRIMINATOR_COUNTS))
def test_discriminator_parameter_counts(name, norm):
    net = on_meta("discriminators", name, norm=norm)
    assert count(net) == DISCRIMINATOR_COUNTS[name, norm]


@pytest.mark.parametrize("variant", ["study", "bansal"])
def test_five_layer_count(variant):
    assert count(on_meta("discriminators", "five_layer", variant=variant)) == 2_764_737


def test_presets_equal_general_forms():
    for name, fixed in {**RESNET_PRESETS, **UNET_PRESETS}.items():
        general = "resnet" if name.startswith("resnet") else "unet"
        a, b = on_meta("generators", name), on_meta("generators", general, **fixed)
        assert [(k, v.shape) for k, v in a.state_dict().items()] == [
            (k, v.shape) for k, v in b.state_dict().items()
        ]
    entry = registry().generators.get("resnet_9blocks")
    assert "n_blocks" not in entry.parameters() and "ngf" in entry.parameters()
    with pytest.raises(ComponentError, match="no option 'n_blocks'"):
        registry().generators.create("resnet_9blocks", n_blocks=3)


@pytest.mark.parametrize(
    ("name", "options", "shape"),
    [
        ("patchgan", {}, (1, 1, 30, 30)),
        ("five_layer", {}, (1, 1, 34, 30)),
        ("five_layer", {"variant": "bansal"}, (1, 1, 32, 32)),
        ("pixel", {}, (1, 1, 256, 256)),
        ("patchgan", {"n_layers": 1}, (1, 1, 126, 126)),
    ],
)
def test_discriminator_output_shapes_at_256(name, options, shape):
    net = registry().discriminators.create(name, ndf=4, **options)
    with torch.no_grad():
        assert tuple(net(torch.zeros(1, 3, 256, 256)).shape) == shape


def test_five_layer_bansal_has_instance_norm_study_none():
    study = registry().discriminators.create("five_layer", ndf=4)
    bansal = registry().discriminators.create("five_layer", ndf=4, variant="bansal")
    assert not any(isinstance(m, nn.InstanceNorm2d) for m in study.modules())
    assert sum(isinstance(m, nn.InstanceNorm2d) for m in bansal.modules()) == 3


def test_size_multiples():
    gens = registry().generators
    assert gens.create("resnet_9blocks", ngf=4).size_multiple == 4
    assert gens.create("unet_128", ngf=4).size_multiple == 128
    assert gens.create("unet", num_downs=6, ngf=4).size_multiple == 64


def test_generator_refuses_sizes_off_the_multiple():
    net = registry().generators.create("resnet", n_blocks=1, ngf=4)
    with pytest.raises(ComponentError, match="divisible by 4"):
        net(torch.zeros(1, 3, 30, 32))


@pytest.mark.parametrize(("n", "bottleneck"), [(1, 32), (2, 16), (3, 8)])
def test_resnet_downsamplings_set_the_bottleneck_and_the_size_rules(n, bottleneck):
    """``n_downsampling`` puts the residual blocks at ``1/2^n`` of the side with ``ngf·2^n``
    channels; the size multiple, the smallest side and PatchNCE's layers follow."""
    net = registry().generators.create("resnet", n_blocks=2, ngf=4, n_downsampling=n)
    assert (net.size_multiple, net.min_size) == (2**n, max(8, 2 * 2**n))
    x = torch.randn(1, 3, 64, 64)
    assert net(x).shape == x.shape
    first_block = net.feature_layers[-2]
    assert isinstance(net.model[first_block], ResnetBlock)
    feats = net.features(x, net.feature_layers)
    assert feats[-1].shape == (1, 4 * 2**n, bottleneck, bottleneck)
    with pytest.raises(ComponentError, match=f"divisible by {2**n}"):
        net(torch.zeros(1, 3, 64 + 2 ** (n - 1), 64))


def test_a_residual_resnet_changes_its_input_and_keeps_what_it_does_not_change():
    """``residual = true``: the output is ``x + f(x)``. With its last convolution zeroed
    the generator returns its input exactly; it has the plain generator's parameters;
    features and the output agree with ``forward``; the input's fine detail reaches the
    output, and gradients reach every parameter."""
    gens = registry().generators
    options = {"n_blocks": 2, "ngf": 4, "n_downsampling": 1, "upsample": "bilinear"}
    torch.manual_seed(0)
    net = gens.create("resnet", residual=True, **options)
    plain = gens.create("resnet", **options)
    assert net.state_dict().keys() == plain.state_dict().keys() and count(net) == count(plain)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    y, feats = net.forward_with_features(x, net.feature_layers)
    assert torch.equal(y, net(x)) and y.shape == x.shape
    assert torch.equal(feats[0], net.features(x, net.feature_layers)[0])
    y.square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    with torch.no_grad():
        last = net.model[-2]
        last.weight.zero_()
        last.bias.zero_()
        assert torch.equal(net(x), x)
        # a checkerboard finer than the bottleneck passes through; plain loses it
        checker = (torch.arange(32)[:, None] + torch.arange(32)[None]) % 2 * 1.0 - 0.5
        z = checker.expand(1, 3, 32, 32).contiguous()
        assert torch.equal(net(z), z)
        plain.model[-2].weight.zero_()
        assert (plain(z) - z).abs().max() > 0.4


def _types(net: nn.Module) -> set[type]:
    return {type(m) for m in net.modules()}


def test_norm_padding_upsample_dropout_options():
    gens = registry().generators
    net = gens.create("resnet", n_blocks=2, ngf=4, norm="none", padding="zeros")
    assert nn.InstanceNorm2d not in _types(net) and nn.ReflectionPad2d not in _types(net)
    assert all(m.bias is not None for m in net.modules() if isinstance(m, nn.Conv2d))
    net = gens.create("resnet", n_blocks=2, ngf=4, norm="batch", upsample="resize_conv")
    assert nn.ConvTranspose2d not in _types(net) and nn.Upsample in _types(net)
    assert count(net) == count(gens.create("resnet", n_blocks=2, ngf=4, norm="batch"))
    net = gens.create("resnet", n_blocks=2, ngf=4, dropout=True)
    assert [m.p for m in net.modules() if isinstance(m, nn.Dropout)] == [0.5, 0.5]
    net = gens.create("unet", num_downs=7, ngf=4, dropout=0.3, upsample="resize_conv")
    assert [m.p for m in net.modules() if isinstance(m, nn.Dropout)] == [0.3, 0.3]
    assert nn.ConvTranspose2d not in _types(net)
    y = net(torch.zeros(1, 3, 128, 128))
    assert y.shape == (1, 3, 128, 128)


@pytest.mark.parametrize("init", ["normal", "xavier", "kaiming", "orthogonal"])
def test_init_schemes(init):
    torch.manual_seed(0)
    net = registry().discriminators.create("patchgan", ndf=16, init=init, init_gain=0.02)
    conv = net.model[0]
    std = float(conv.weight.detach().std())
    expected = {
        "normal": 0.02,
        "xavier": 0.02 * (2 / (3 * 16 + 16 * 16)) ** 0.5,
        "kaiming": (2 / (3 * 16)) ** 0.5,
        "orthogonal": None,
    }[init]
    if expected is not None:
        assert abs(std - expected) / expected < 0.15
    assert float(conv.bias.detach().abs().max()) == 0.0
    if init == "orthogonal":
        w = conv.weight.detach().flatten(1)  # 16 rows: orthogonal rows scaled by the gain
        assert torch.allclose(w @ w.T, 0.02**2 * torch.eye(16), atol=1e-6)


def test_batch_norm_init_is_normal_around_one():
    torch.manual_seed(0)
    net = registry().generators.create("resnet", n_blocks=4, ngf=16, norm="batch")
    weights = torch.cat([m.weight.detach() for m in net.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(float(weights.mean()) - 1) < 0.01 and abs(float(weights.std()) - 0.02) < 0.005


@pytest.mark.parametrize(
    ("kind", "name", "options", "match"),
    [
        ("generators", "resnet", {"norm": "layer"}, "option norm must be one of .*got 'layer'"),
        ("generators", "resnet", {"padding": "reflection"}, "did you mean 'reflect'"),
        (
            "generators",
            "resnet",
            {"upsample": "bicubic"},
            r"'transposed' \| 'resize_conv' \| 'bilinear'",
        ),
        (
            "generators",
            "resnet",
            {"init": "he"},
            r"'normal' \| 'xavier' \| 'kaiming' \| 'orthogonal'",
        ),
        ("generators", "resnet", {"init_gain": -1.0}, "option init_gain must be > 0, got -1.0"),
        ("generators", "resnet", {"ngf": 0}, "option ngf must be ≥ 1, got 0"),
        ("generators", "resnet", {"dropout": 1.5}, r"option dropout must be in \[0, 1\), got 1.5"),
        ("generators", "resnet", {"n_blocks": 2.5}, "option n_blocks must be int, got 2.5"),
        ("generators", "resnet", {"antialias": "yes"}, "option antialias must be bool"),
        (
            "generators",
            "resnet",
            {"n_downsampling": 0},
            r"option n_downsampling must be in \[1, 4\], got 0",
        ),
        ("generators", "unet", {"num_downs": 4}, "option num_downs must be ≥ 5, got 4"),
        ("generators", "attention", {"mask_ngf": 0}, "option mask_ngf must be ≥ 1, got 0"),
        ("generators", "attention", {"ngf": 0}, "generator 'resnet': option ngf must be ≥ 1"),
        ("discriminators", "patchgan", {"n_layers": 0}, "option n_layers must be ≥ 1, got 0"),
        ("discriminators", "patchgan", {"scales": 5}, r"option scales must be in \[1, 4\], got 5"),
        ("discriminators", "five_layer", {"variant": "tf"}, r"'study' \| 'bansal', got 'tf'"),
        ("discriminators", "timm", {"backbone": " "}, "option backbone must not be empty"),
        ("heads", "mlp_sample", {"in_channels": [], "units": 4}, "in_channels must not be empty"),
        ("heads", "mlp_sample", {"in_channels": [3], "units": 0}, "option units must be ≥ 1"),
        ("losses", "cycle", {"weight": -1.0}, "loss 'cycle': option weight must be ≥ 0, got -1.0"),
        ("losses", "bce", {"real_label": 2.0}, r"option real_label must be in \[0, 1\], got 2.0"),
        ("losses", "lsgan", {"real_label": "one"}, "option real_label must be float, got 'one'"),
        ("losses", "patchnce", {"temperature": 0.0}, "option temperature must be > 0, got 0.0"),
        ("methods", "cut", {"num_patches": 0}, "method 'cut': option num_patches must be ≥ 1"),
        ("methods", "cut", {"nce_layers": [0, 0]}, "nce_layers=.* must be a list of distinct"),
    ],
)
def test_bad_options_are_clear_errors(kind, name, options, match):
    """``Registry.create`` checks each option's type and bounds, naming the component, the
    option, the value and the valid range (the factories no longer check them)."""
    with pytest.raises(ComponentError, match=match):
        registry().kind(kind).create(name, **options)
