"""The attention-guided generator wrapper (``attention``): mask·G(x) + (1 − mask)·x around
any registered generator — its contract, the blend, a training run and its checkpoint."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import numpy as np
import torch
from PIL import Image
from training_support import tiny_recipe
from translkit_plugins.generators import AttentionGenerator
from typer.testing import CliRunner

import translkit
from translkit.cli import app
from translkit.pretrained import load_generators
from translkit.testing import check_generator
from translkit.training import train

runner = CliRunner()
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


def test_mask_bias_sets_where_training_starts():
    """``mask_bias`` 3: the mask starts near sigmoid(3) ≈ 0.95 everywhere (the plain
    generator), 0: near ½."""
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    for bias, want in ((3.0, 0.9526), (0.0, 0.5)):
        net = _make(inner="resnet", n_blocks=1, ngf=8, mask_bias=bias).eval()
        with torch.no_grad():
            assert abs(float(net.mask(x).mean()) - want) < 0.03


def test_a_recipe_trains_it_and_translate_writes_its_masks(tmp_path: Path):
    recipe = tiny_recipe(tmp_path, generator=SMALL, replace=("generator",), optim={"epochs": 1})
    result = train(recipe, progress=False)
    assert result.finished
    photos = recipe.data.root + "/testA"
    out, masks = tmp_path / "out", tmp_path / "masks"
    done = runner.invoke(
        app, ["translate", str(result.run_dir), photos, str(out), "--masks", str(masks)]
    )
    assert done.exit_code == 0, done.output
    names = sorted(p.name for p in Path(photos).iterdir())
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in masks.iterdir())
    assert len(names) == len(list(masks.iterdir()))
    mask = np.asarray(Image.open(next(masks.iterdir())).convert("RGB"), dtype=np.int16)
    assert (mask[..., 0] == mask[..., 1]).all() and (mask[..., 1] == mask[..., 2]).all()
    plain = tiny_recipe(tmp_path, name="plain", optim={"epochs": 1})
    plain_run = train(plain, progress=False).run_dir
    refused = runner.invoke(
        app, ["translate", str(plain_run), photos, str(tmp_path / "o2"), "--masks", str(masks)]
    )
    assert refused.exit_code == 1 and "has no attention mask" in refused.output
    assert not (tmp_path / "o2").exists()
    loaded = load_generators(result.run_dir, translkit.get_registry()).nets["a2b"].eval()
    assert type(loaded).__name__ == "AttentionGenerator"
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        out = loaded(x)
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_the_sample_grid_shows_the_mask_row() -> None:
    from translkit.training.samples import render_grid

    net = _make(inner="resnet", n_blocks=1, ngf=8).eval()
    plain = translkit.get_registry().generators.create("resnet", n_blocks=1, ngf=8).eval()
    samples = {"A": torch.rand(2, 3, 32, 32) * 2 - 1, "B": torch.empty(0)}
    with_mask = render_grid({"a2b": net, "b2a": plain}, samples, "cpu")
    without = render_grid({"a2b": plain, "b2a": plain}, samples, "cpu")
    assert with_mask.shape[1] == 4 * 32 and without.shape[1] == 3 * 32  # one more row
    mask_row = with_mask[:, 64:96]
    assert torch.allclose(mask_row[0], mask_row[1]) and torch.allclose(mask_row[1], mask_row[2])
    torch.testing.assert_close(mask_row[0, :, :32], net.mask(samples["A"][:1])[0, 0])


def test_mask_warmup_holds_the_mask_at_one_then_fades():
    """``mask_warmup`` W: the mask is 1 for steps 1..W (the output is the wrapped
    generator's), fades linearly to the learnt mask over steps W..2W, and is the learnt
    mask after; the mask head still gets gradients while the hold fades."""
    net = _make(inner="resnet", n_blocks=1, ngf=8, mask_warmup=10)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        learnt = torch.sigmoid(net.mask_head(x))
    for step, floor in ((0, 1.0), (1, 1.0), (10, 1.0), (15, 0.5), (20, 0.0), (500, 0.0)):
        net.set_training_step(step)
        with torch.no_grad():
            torch.testing.assert_close(net.mask(x), floor + (1 - floor) * learnt)
    net.set_training_step(1)
    with torch.no_grad():
        torch.testing.assert_close(net(x), net.content(x), atol=1e-6, rtol=0)
    net.set_training_step(15)
    net.zero_grad()
    net(x).sum().backward()
    assert net.mask_head[-1].bias.grad is not None and net.mask_head[-1].bias.grad.abs() > 0
    assert "mask_floor" not in str(net.state_dict().keys())  # a schedule, not saved state


def test_the_engine_sets_the_step_of_each_network_before_its_step(tmp_path: Path):
    """The engine calls ``set_training_step`` with the 1-based step, so a resumed run
    continues the warm-up where it was."""
    options = {**SMALL, "mask_warmup": 2}
    recipe = tiny_recipe(
        tmp_path, generator=options, replace=("generator",), train={"max_steps": 3}
    )
    seen: list[int] = []
    original = AttentionGenerator.set_training_step

    def spy(self, step):
        seen.append(step)
        original(self, step)

    with mock.patch.object(AttentionGenerator, "set_training_step", spy):
        result = train(recipe, progress=False)
    assert result.finished
    assert [s for s in seen if s > 0] == [1, 1, 2, 2, 3, 3]  # G_AB and G_BA each step
