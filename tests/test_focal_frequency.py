"""The focal frequency loss (Jiang et al., ICCV 2021) as a pixel loss for the identity or
cycle slot: zero for a perfect copy, dominated by a grid's few frequencies, differentiable
through the output only, usable in a recipe."""

from __future__ import annotations

import pytest
import torch

import translkit
from translkit.testing import check_pixel_loss


def _loss(**options):
    return translkit.get_registry().losses.create("focal_frequency", **options)


def test_it_is_a_pixel_loss_and_zero_for_a_copy():
    loss = _loss()
    check_pixel_loss(loss)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert loss(x, x).item() == 0.0


def test_a_grid_costs_more_in_frequency_than_noise_of_the_same_l1():
    torch.manual_seed(0)
    target = torch.rand(1, 3, 32, 32) * 2 - 1
    yy, xx = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    grid = (((yy % 4) < 2) ^ ((xx % 4) < 2)).float() * 0.2 - 0.1
    noise = torch.randn(1, 3, 32, 32).sign() * 0.1  # the same |change| at every pixel
    frequency_only = _loss(weight=0.0, frequency_weight=1.0)
    gridded, noisy = frequency_only(target + grid, target), frequency_only(target + noise, target)
    l1 = _loss(weight=1.0, frequency_weight=0.0)
    assert l1(target + grid, target).item() == pytest.approx(l1(target + noise, target).item())
    # equal energy (Parseval), but the focus weighs the grid's few strong frequencies most
    assert gridded > 1.5 * noisy


def test_the_focus_weights_carry_no_gradient_and_the_target_gets_none():
    output = (torch.rand(1, 3, 8, 8) * 2 - 1).requires_grad_()
    target = torch.rand(1, 3, 8, 8) * 2 - 1
    _loss(weight=0.0)(output, target).backward()
    assert output.grad is not None and output.grad.abs().sum() > 0
    assert not target.requires_grad


def test_options_are_checked_and_zero_disables():
    x, y = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    assert _loss(weight=0.0, frequency_weight=0.0)(x, y).item() == 0.0
    with pytest.raises(translkit.errors.ComponentError, match="frequency_weight"):
        _loss(frequency_weight=-1.0)
