"""Losses on hand-computed values; the WGAN-GP penalty against autograd."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import translkit
from translkit.contracts import GANLoss, PixelLoss
from translkit.errors import ComponentError

REAL = torch.tensor([2.0, 0.0])
FAKE = torch.tensor([1.0, -1.0])


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def loss(name: str, **options):
    return translkit.get_registry().losses.create(name, **options)


@pytest.mark.parametrize(
    ("name", "options", "g", "d"),
    [
        # G: mean((f-1)²) = (0+4)/2; D: ½·(mean((r-1)²) + mean(f²)) = ½·(1 + 1)
        ("lsgan", {}, 2.0, 1.0),
        # labels 0.9 / 0.1: G = (0.1² + 1.9²)/2; D = ½·((1.1²+0.9²)/2 + (0.9²+1.1²)/2)
        ("lsgan", {"real_label": 0.9, "fake_label": 0.1}, 1.81, 1.01),
        # G = mean softplus(-f); D = ½·(mean softplus(-r) + mean softplus(f))
        (
            "bce",
            {},
            (softplus(-1) + softplus(1)) / 2,
            0.5 * ((softplus(-2) + softplus(0)) / 2 + (softplus(1) + softplus(-1)) / 2),
        ),
        # G = -mean f = 0; D = ½·(mean relu(1-r) + mean relu(1+f)) = ½·(0.5 + 1)
        ("hinge", {}, 0.0, 0.75),
        # G = -mean f = 0; D = ½·(-mean r + mean f) = ½·(-1 + 0)
        ("wgan_gp", {}, 0.0, -0.5),
    ],
)
def test_gan_losses_hand_computed(name, options, g, d):
    obj = loss(name, **options)
    assert isinstance(obj, GANLoss)
    assert float(obj.generator_loss(FAKE)) == pytest.approx(g, abs=1e-6)
    assert float(obj.discriminator_loss(REAL, FAKE)) == pytest.approx(d, abs=1e-6)


@pytest.mark.parametrize("name", ["lsgan", "bce", "hinge"])
def test_no_penalty_but_wgan_gp(name):
    net = nn.Conv2d(3, 1, 1)
    x = torch.rand(2, 3, 4, 4)
    assert loss(name).penalty(net, x, x) is None
    assert loss("wgan_gp", gp_weight=0.0).penalty(net, x, x) is None


@pytest.mark.parametrize(
    ("name", "weight", "expected"),
    [("cycle", 10.0, 5.0), ("identity", 5.0, 2.5), ("change", 1.0, 0.5)],
)
def test_pixel_losses_defaults_and_values(name, weight, expected):
    obj = loss(name)
    assert isinstance(obj, PixelLoss) and obj.weight == weight
    out, target = torch.tensor([0.0, 1.0]), torch.tensor([0.5, 0.5])
    assert float(obj(out, target)) == pytest.approx(expected)  # weight · mean|0.5|
    assert float(loss(name, weight=0.0)(out, target)) == 0.0
    assert float(loss(name, weight=2.0)(out, target)) == pytest.approx(1.0)


def test_pixel_loss_shape_mismatch():
    with pytest.raises(ComponentError, match="equal shapes"):
        loss("cycle")(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 5))


def test_wgan_gp_linear_critic_closed_form():
    """D(x) = Σ w·x over pixels: ∇ₓD = w at every pixel, ‖∇‖ = ‖w‖·√(HW) for any mix."""
    net = nn.Conv2d(3, 1, 1, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([0.1, -0.2, 0.3]).view(1, 3, 1, 1))
    real, fake = torch.rand(4, 3, 5, 5), torch.rand(4, 3, 5, 5)
    norm = math.sqrt(0.01 + 0.04 + 0.09) * 5
    expected = 7.0 * (norm - 1.5) ** 2
    got = loss("wgan_gp", gp_weight=7.0, target=1.5).penalty(net, real, fake)
    assert float(got.detach()) == pytest.approx(expected, rel=1e-5)


class TinyCritic(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Tanh(), nn.Conv2d(4, 1, 3))

    def forward(self, x):
        return self.net(x)


def test_wgan_gp_penalty_matches_per_sample_autograd():
    torch.manual_seed(0)
    critic = TinyCritic().double()
    real, fake = torch.rand(3, 3, 8, 8).double(), torch.rand(3, 3, 8, 8).double()
    gp = loss("wgan_gp")
    torch.manual_seed(42)
    got = gp.penalty(critic, real, fake)
    torch.manual_seed(42)  # the same interpolation weights, then one image at a time
    alpha = torch.rand(3, 1, 1, 1).double()
    terms = []
    for i in range(3):
        x = (alpha[i] * real[i] + (1 - alpha[i]) * fake[i]).unsqueeze(0).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x).sum(), x)
        terms.append((grad.norm() - 1) ** 2)
    expected = 10 * torch.stack(terms).mean()
    assert float(got.detach()) == pytest.approx(float(expected), rel=1e-9)


def test_wgan_gp_penalty_gradient_reaches_the_critic():
    """d(penalty)/d(weight) by double backprop equals a central finite difference."""
    torch.manual_seed(1)
    critic = TinyCritic().double()
    real, fake = torch.rand(2, 3, 6, 6).double(), torch.rand(2, 3, 6, 6).double()
    gp = loss("wgan_gp")

    def value() -> torch.Tensor:
        torch.manual_seed(7)
        return gp.penalty(critic, real, fake)

    value().backward()
    weight = critic.net[0].weight
    analytic = float(weight.grad[0, 0, 0, 0])
    eps = 1e-6
    with torch.no_grad():
        weight[0, 0, 0, 0] += eps
    up = float(value().detach())
    with torch.no_grad():
        weight[0, 0, 0, 0] -= 2 * eps
    down = float(value().detach())
    assert analytic == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-8)


def test_wgan_gp_needs_equal_batches():
    with pytest.raises(ComponentError, match="one shape"):
        loss("wgan_gp").penalty(TinyCritic(), torch.rand(2, 3, 8, 8), torch.rand(3, 3, 8, 8))


def test_penalty_does_not_backprop_into_the_generator():
    fake = torch.rand(2, 3, 8, 8, requires_grad=True)
    gp = loss("wgan_gp").penalty(TinyCritic(), torch.rand(2, 3, 8, 8), fake)
    gp.backward()
    assert fake.grad is None
