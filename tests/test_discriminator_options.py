"""The options of ``patchgan`` and ``five_layer`` against grid artefacts: anti-aliased
strides, spectral normalisation and several scales (translkit_plugins.discriminators)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from translkit_plugins._antialias import BlurDownsample
from translkit_plugins.discriminators import MultiScale

import translkit
from translkit.errors import ComponentError
from translkit.testing import check_discriminator

NAMES = ("patchgan", "five_layer")


def _make(name: str, **options) -> nn.Module:
    torch.manual_seed(0)
    return translkit.get_registry().discriminators.create(name, ndf=8, **options)


def _params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "options",
    [{"antialias": True}, {"spectral_norm": True}, {"scales": 2}, {"antialias": True, "scales": 2}],
)
def test_each_option_keeps_the_discriminator_contract(name, options):
    check_discriminator(_make(name, **options), 64)


@pytest.mark.parametrize("name", NAMES)
def test_antialias_blurs_before_every_stride_and_adds_no_parameters(name):
    plain, blurred = _make(name), _make(name, antialias=True)
    convs = [m for m in blurred.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.stride == (1, 1) for c in convs)
    strided = sum(1 for m in plain.modules() if isinstance(m, nn.Conv2d) and m.stride == (2, 2))
    assert sum(isinstance(m, BlurDownsample) for m in blurred.modules()) == strided == 3
    assert _params(blurred) == _params(plain)
    layers = list(blurred.model)
    for i, layer in enumerate(layers):  # the blur comes after the activation, before a conv
        if isinstance(layer, BlurDownsample):
            assert isinstance(layers[i - 1], nn.LeakyReLU) and isinstance(layers[i + 1], nn.Conv2d)


@pytest.mark.parametrize("name", NAMES)
def test_spectral_norm_bounds_every_conv_by_one(name):
    net = _make(name, spectral_norm=True).train()
    x = torch.rand(2, 3, 64, 64)
    for _ in range(20):  # the power iteration converges as the network is used
        net(x)
    with torch.no_grad():
        for conv in (m for m in net.modules() if isinstance(m, nn.Conv2d)):
            sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2).item()
            assert sigma == pytest.approx(1.0, abs=0.05)


def test_scales_see_average_pooled_copies_and_weigh_the_same():
    net = _make("patchgan", scales=3, n_layers=2).eval()
    assert isinstance(net, MultiScale) and len(net.nets) == 3
    assert _params(net) == 3 * _params(_make("patchgan", n_layers=2))
    x = torch.rand(1, 3, 128, 128)
    out = net(x)
    fine = net.nets[0](x)
    assert out.shape == (1, 3, *fine.shape[-2:])
    torch.testing.assert_close(out[:, :1], fine)
    half = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
    coarse = F.interpolate(net.nets[1](half), size=fine.shape[-2:], mode="nearest")
    torch.testing.assert_close(out[:, 1:2], coarse)


def test_scales_are_bounded():
    with pytest.raises(ComponentError, match="scales"):
        _make("patchgan", scales=5)
