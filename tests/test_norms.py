"""The instance-norm → group-norm swap is exact: same outputs, gradients and checkpoints."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import translkit
from translkit.norms import swap_instance_norms


def _grads(net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x = x.clone().requires_grad_(True)
    net.zero_grad(set_to_none=True)
    y = net(x)
    (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()
    flat = torch.cat([p.grad.flatten() for p in net.parameters()])
    return y.detach(), flat, x.grad


@pytest.mark.parametrize("affine", [False, True])
def test_swap_keeps_function_and_gradients(affine: bool) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.InstanceNorm2d(8, affine=affine),
        nn.ReLU(),
        nn.Conv2d(8, 3, 3, padding=1),
    )
    if affine:
        with torch.no_grad():
            net[1].weight.uniform_(0.5, 1.5)
            net[1].bias.uniform_(-0.5, 0.5)
    swapped = copy.deepcopy(net)
    assert swap_instance_norms(swapped) == 1
    assert isinstance(swapped[1], nn.GroupNorm)
    assert swapped.state_dict().keys() == net.state_dict().keys()
    x = torch.randn(1, 3, 12, 10)  # batch 1: where the channels_last bug showed
    for a, b in zip(_grads(net, x), _grads(swapped, x), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_running_stat_instance_norms_are_left_alone() -> None:
    net = nn.Sequential(nn.InstanceNorm2d(4, track_running_stats=True))
    assert swap_instance_norms(net) == 0
    assert isinstance(net[0], nn.InstanceNorm2d)


def test_engine_swaps_when_on_and_keeps_them_when_off(tmp_path) -> None:
    """``auto`` measures which is faster (tests/test_runtime.py); ``on``/``off`` force it."""
    from translkit.recipe import recipe_from_dict, resolve_recipe
    from translkit.training.engine import Engine

    def engine(fast_norm: str) -> Engine:
        raw = {
            "generator": {"name": "resnet", "n_blocks": 1, "ngf": 4},
            "discriminator": {"name": "patchgan", "ndf": 4, "norm": "instance"},
            "train": {"fast_norm": fast_norm, "device": "cpu"},
        }
        reg = translkit.get_registry()
        return Engine(resolve_recipe(recipe_from_dict(raw), reg), torch.device("cpu"), reg)

    fast, plain = engine("on"), engine("off")
    modules = list(fast.nets["G_AB"].modules())  # GroupNorm, or its fp32 kind under bf16
    assert any(isinstance(m, nn.GroupNorm) for m in modules)
    assert not any(isinstance(m, nn.InstanceNorm2d) for m in modules)
    assert nn.InstanceNorm2d in {type(m) for m in plain.nets["G_AB"].modules()}
    for key in fast.nets:  # checkpoints do not change
        fsd, psd = fast.nets[key].state_dict(), plain.nets[key].state_dict()
        assert fsd.keys() == psd.keys()
        assert all(torch.equal(fsd[k], psd[k]) for k in fsd)
