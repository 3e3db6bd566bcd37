"""Winograd 3×3 convolutions (translkit.winograd): the same function and gradients as
``nn.Conv2d`` on any shape, padding mode and bias, double backward for gradient penalties,
and the direct convolution wherever the rewrite does not apply.

Tolerance: F(4×4, 3×3) multiplies by transform entries up to 8 and divides by up to 24, so
its fp32 rounding is about ten times the direct convolution's: we allow 1e-4 of the largest
magnitude of each result (measured: 1e-6 to 1.3e-5 on 256 channels)."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from translkit.winograd import WinogradConv2d, eligible, winograd_conv2d, winograd_convs

RELATIVE = 1e-4


def close(got: torch.Tensor, want: torch.Tensor) -> None:
    scale = want.abs().max().item() or 1.0
    assert (got - want).abs().max().item() <= RELATIVE * scale


def pair(conv: nn.Conv2d) -> nn.Conv2d:
    fast = copy.deepcopy(conv)
    assert winograd_convs(fast) == 1 and type(fast) is WinogradConv2d
    return fast


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3),
    channels=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    size=st.tuples(st.integers(1, 19), st.integers(1, 19)),
    padding=st.integers(0, 2),
    mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
    bias=st.booleans(),
)
def test_outputs_and_gradients_match_the_direct_convolution(n, channels, size, padding, mode, bias):
    h, w = size[0] + 2, size[1] + 2  # at least 3 × 3
    if mode == "reflect" and padding >= min(h, w):
        padding = 1
    torch.manual_seed(n * 100 + h * 10 + w)
    conv = nn.Conv2d(*channels, 3, padding=padding, padding_mode=mode, bias=bias)
    fast = pair(conv)
    x = torch.randn(n, channels[0], h, w, requires_grad=True)
    want, got = conv(x), fast(x)
    assert got.shape == want.shape
    close(got, want)
    g = torch.randn_like(want)
    for a, b in zip(
        torch.autograd.grad(got, [x, *fast.parameters()], g),
        torch.autograd.grad(want, [x, *conv.parameters()], g),
        strict=True,
    ):
        close(a, b)


def test_wide_layers_match_within_the_stated_tolerance():
    torch.manual_seed(0)
    conv = nn.Conv2d(256, 256, 3, padding=1, padding_mode="reflect")
    fast = pair(conv)
    x = torch.randn(2, 256, 18, 18)
    close(fast(x), conv(x))


def test_double_backward_matches_for_a_gradient_penalty():
    torch.manual_seed(1)
    conv = nn.Conv2d(4, 3, 3, padding=1)
    fast = pair(conv)
    x = torch.randn(2, 4, 9, 11, requires_grad=True)

    def penalty(net: nn.Module) -> torch.Tensor:
        (grad,) = torch.autograd.grad(net(x).square().sum(), x, create_graph=True)
        return grad.square().sum()

    for a, b in zip(
        torch.autograd.grad(penalty(fast), [x, fast.weight]),
        torch.autograd.grad(penalty(conv), [x, conv.weight]),
        strict=True,
    ):
        close(a, b)


def test_only_plain_3x3_stride_1_convolutions_are_rewritten_and_the_state_dict_is_kept():
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),  # rewritten
        nn.Conv2d(4, 4, 3, stride=2),
        nn.Conv2d(4, 4, 5, padding=2),
        nn.Conv2d(4, 4, 3, dilation=2),
        nn.Conv2d(4, 4, 3, groups=2),
        nn.Conv2d(4, 4, 3, padding="same"),
        nn.ConvTranspose2d(4, 4, 3),
    )
    keys = net.state_dict().keys()
    assert [eligible(m) for m in net] == [True] + [False] * 6
    assert winograd_convs(net) == 1
    assert [type(m).__name__ for m in net][:2] == ["WinogradConv2d", "Conv2d"]
    assert net.state_dict().keys() == keys
    assert winograd_convs(net) == 0  # already rewritten


def test_the_direct_convolution_runs_under_autocast_and_outside_fp32():
    conv = nn.Conv2d(3, 4, 3, padding=1)
    fast = pair(conv)
    x = torch.randn(1, 3, 8, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(fast(x), conv(x))  # bf16: exactly the direct kernel
    assert torch.equal(fast.double()(x.double()), conv.double()(x.double()))


def test_winograd_conv2d_crops_partial_tiles():
    x, w = torch.randn(1, 2, 7, 10), torch.randn(3, 2, 3, 3)
    y = winograd_conv2d(x, w)
    assert y.shape == (1, 3, 5, 8)
    close(y, torch.nn.functional.conv2d(x, w))


@pytest.mark.parametrize("requires", [(True, False), (False, True)])
def test_only_the_gradients_asked_for_are_computed(requires):
    x = torch.randn(1, 2, 6, 6, requires_grad=requires[0])
    w = torch.randn(3, 2, 3, 3, requires_grad=requires[1])
    y = winograd_conv2d(x, w)
    y.sum().backward()
    assert (x.grad is not None, w.grad is not None) == requires
