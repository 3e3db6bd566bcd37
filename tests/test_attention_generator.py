"""The attention-guided generator wrapper (``attention``): mask·G(x) + (1 − mask)·x around
any registered generator — its contract, the blend, a training run and its checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch
from training_support import tiny_recipe

import translkit
from translkit.checkpoint import load_generators
from translkit.testing import check_generator
from translkit.training import train

SMALL = {"name": "attention", "inner": "resnet", "n_blocks": 1, "ngf": 4, "mask_ngf": 4}


def _make(**options):
    torch.manual_seed(0)
    return translkit.get_registry().generators.create("attention", **options)


def test_it_wraps_any_generator_and_keeps_the_contract():
    for inner in (
        {"inner": "resnet", "n_blocks": 1, "ngf": 8},
        {"inner": "unet", "ngf": 8, "num_downs": 5},
    ):
        net = _make(**inner)
        check_generator(net, 32)
        assert net.size_multiple % 2 == 0 and net.size_multiple % net.content.size_multiple == 0


def test_the_mask_decides_between_the_translation_and_the_input():
    net = _make(inner="resnet", n_blocks=1, ngf=8).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    last = net.mask_head[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(-30.0)  # mask ≈ 0: the input, untouched
        torch.testing.assert_close(net(x), x, atol=1e-6, rtol=0)
        last.bias.fill_(30.0)  # mask ≈ 1: the wrapped generator's translation
        torch.testing.assert_close(net(x), net.content(x), atol=1e-6, rtol=0)
        m = net.mask(x)
    assert m.shape == (2, 1, 32, 32) and bool(((m > 0) & (m <= 1)).all())


def test_a_recipe_trains_it_and_its_checkpoint_translates_the_same(tmp_path: Path):
    recipe = tiny_recipe(tmp_path, generator=SMALL, replace=("generator",), optim={"epochs": 1})
    result = train(recipe, progress=False)
    assert result.finished
    loaded = load_generators(result.run_dir, translkit.get_registry()).nets["a2b"].eval()
    assert type(loaded).__name__ == "AttentionGenerator"
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        out = loaded(x)
    assert out.shape == x.shape and torch.isfinite(out).all()
