"""Differentiable augmentation (``train.diffaug``, Zhao et al. 2020): the policies, that
every discriminator input of every method is augmented in training (and nothing else),
that gradients reach the generator through it, and that off is today's code path."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from training_support import tiny_recipe
from typer.testing import CliRunner

import translkit
from translkit import augment as A
from translkit.cli import app
from translkit.errors import RecipeError
from translkit.recipe import recipe_from_dict
from translkit.training.engine import Engine

ALL = "color,translation,cutout"


def _images(n: int = 8, side: int = 16, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, side, side, generator=g) * 2 - 1


# -- the policies ----------------------------------------------------------------------
def test_brightness_saturation_contrast_ranges():
    torch.manual_seed(0)
    shift = A.brightness(torch.zeros(64, 3, 4, 4))
    per_image = shift[:, 0, 0, 0]
    assert torch.all(shift == per_image[:, None, None, None])  # one offset per image
    assert per_image.min() >= -0.5 and per_image.max() <= 0.5 and per_image.std() > 0.2
    x = _images()
    grey = x.mean(1, keepdim=True).expand_as(x)
    assert torch.allclose(A.saturation(grey), grey)  # grey has nothing to saturate
    scale = (A.saturation(x) - grey) / (x - grey)
    assert scale.amin() >= 0 and scale.amax() <= 2
    mean = x.mean((1, 2, 3), keepdim=True)
    ratio = ((A.contrast(x) - mean) / (x - mean)).flatten(1)
    assert torch.allclose(ratio.amin(1), ratio.amax(1), atol=1e-3)  # one factor per image
    assert ratio.amin() >= 0.5 - 1e-4 and ratio.amax() <= 1.5 + 1e-4


def test_translation_shifts_whole_pixels_up_to_an_eighth_and_fills_zeros():
    torch.manual_seed(0)
    side = 16  # shifts up to 2 pixels each way
    x = torch.arange(side * side, dtype=torch.float32).reshape(1, 1, side, side) + 1
    x = x.expand(200, 3, side, side)
    out = A.translation(x)
    seen = set()
    for img in out[:, 0]:
        rows = (img != 0).any(1).nonzero().flatten()
        cols = (img != 0).any(0).nonzero().flatten()
        top, left = int(rows[0]), int(cols[0])
        dy = top if top else -(side - 1 - int(rows[-1]))
        dx = left if left else -(side - 1 - int(cols[-1]))
        assert abs(dy) <= 2 and abs(dx) <= 2
        assert torch.equal(img, torch.roll(x[0, 0], (dy, dx), (0, 1)) * (img != 0))
        seen.add((dy, dx))
    assert len(seen) == 25  # every shift in [-2, 2]² occurs: per-sample, uniform


def test_cutout_zeroes_one_half_side_square_per_image():
    torch.manual_seed(0)
    out = A.cutout(torch.ones(100, 3, 16, 16))
    assert torch.equal(out[:, 0], out[:, 1])  # the same hole in every channel
    holes = out[:, 0] == 0
    sizes = holes.flatten(1).sum(1)
    assert sizes.max() == 64 and sizes.min() > 0  # 8×8, clipped at the borders
    for hole in holes:
        rows, cols = hole.any(1).nonzero().flatten(), hole.any(0).nonzero().flatten()
        assert int(hole.sum()) == len(rows) * len(cols)  # a rectangle
    assert len({tuple(h.nonzero()[0].tolist()) for h in holes}) > 20


def test_augmentation_is_differentiable_and_per_sample():
    x = _images(4).requires_grad_(True)
    same = x[:1].expand(4, -1, -1, -1)
    torch.manual_seed(1)
    out = A.DiffAugment(ALL)(same)
    assert not torch.allclose(out[0], out[1])  # each image draws its own transform
    torch.manual_seed(1)
    A.DiffAugment(ALL)(x).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0 and torch.isfinite(x.grad).all()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("colour", "names unknown augmentation policy 'colour' .*did you mean 'color'"),
        ("color,color", "names a policy twice"),
        ("flip", ".*color, translation, cutout"),
    ],
)
def test_bad_policies_are_refused(text: str, match: str):
    with pytest.raises(ValueError, match=match):
        A.parse_policy(text)
    with pytest.raises(RecipeError, match=f"train.diffaug {match}"):
        recipe_from_dict({"train": {"diffaug": text}})


def test_bad_policy_is_one_line_at_dry_run(tmp_path: Path):
    recipe = tmp_path / "r.toml"
    recipe.write_text(f'[run]\noutput_dir = "{tmp_path / "runs"}"\n[train]\ndiffaug = "colr"\n')
    result = CliRunner().invoke(app, ["run", str(recipe), "--dry-run"])
    lines = [ln for ln in result.stderr.strip().splitlines() if "importing" not in ln]
    assert result.exit_code == 1 and len(lines) == 1, result.stderr
    assert "train.diffaug" in lines[0] and "did you mean 'color'" in lines[0]
    assert not (tmp_path / "runs").exists()


# -- in training -------------------------------------------------------------------------
METHODS = {
    "cyclegan": {},
    "cut": {"method": {"name": "cut", "num_patches": 16}, "loss": None},
    "fastcut": {"method": {"name": "fastcut", "num_patches": 16}, "loss": None},
}


def _engine(tmp_path: Path, method: str, **train) -> Engine:
    recipe = tiny_recipe(tmp_path, train={"pool_size": 0, **train}, **METHODS[method])
    return Engine(recipe, torch.device("cpu"), translkit.get_registry())


def _batch(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {d: torch.rand(2, 3, 32, 32, generator=g) * 2 - 1 for d in "AB"}


def _record_inputs(engine: Engine) -> list[torch.Tensor]:
    seen: list[torch.Tensor] = []
    for slot in engine.method.networks:
        if slot.section == "discriminator":
            engine.nets[slot.role].register_forward_pre_hook(
                lambda _m, args: seen.append(args[0].detach().clone())
            )
    return seen


def _is_a_row_of(image: torch.Tensor, candidates: list[torch.Tensor]) -> bool:
    return any(torch.equal(image, c) for batch in candidates for c in batch)


@pytest.mark.parametrize("method", list(METHODS))
def test_every_discriminator_input_is_augmented_in_every_phase(tmp_path: Path, method: str):
    batch = _batch()
    off = _engine(tmp_path, method, fuse="off")
    seen = _record_inputs(off)
    off.train_step(batch)
    calls = len(seen)
    reals = [batch["A"], batch["B"]]
    assert any(_is_a_row_of(img, reals) for x in seen for img in x)  # off: the images as-is
    on = _engine(tmp_path, method, fuse="off", diffaug=ALL)
    seen = _record_inputs(on)
    cache: dict = {}
    real_forward = on.method.forward
    on.method.forward = lambda b: cache.update(real_forward(b)) or cache
    terms = on.train_step(batch)
    fakes = [v.detach() for v in cache.values() if isinstance(v, torch.Tensor) and v.dim() == 4]
    assert len(seen) == calls  # the same discriminator calls, each augmented
    assert seen and not any(_is_a_row_of(img, reals + fakes) for x in seen for img in x)
    assert all(torch.isfinite(t) for t in terms.values())
    # evaluation sees the bare networks
    assert all(not isinstance(n, A.Augmented) for n in on.eval_model().nets.values())


@pytest.mark.parametrize("method", list(METHODS))
def test_methods_train_with_augmentation(tmp_path: Path, method: str):
    engine = _engine(tmp_path, method, diffaug=ALL)
    roles = [s.role for s in engine.method.networks if s.section == "discriminator"]
    assert roles and all(isinstance(engine.method.run[r], A.Augmented) for r in roles)
    before = {k: v.clone() for k, v in engine.nets[roles[0]].state_dict().items()}
    for step in range(2):
        terms = engine.train_step(_batch(step), step)
        assert all(torch.isfinite(t) for t in terms.values())
    after = engine.nets[roles[0]].state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_generator_learns_through_the_augmented_fake(tmp_path: Path):
    """CUT without NCE: the generator's only gradient is D(augment(G(a)))."""
    kw = {"loss": {"nce": {"weight": 0.0}}, "train": {"pool_size": 0, "diffaug": ALL}}
    recipe = tiny_recipe(tmp_path, **{**METHODS["cut"], **kw}, replace=("loss",))
    engine = Engine(recipe, torch.device("cpu"), translkit.get_registry())
    terms, grads = engine.gradients(_batch())
    assert set(terms) == {"D_B", "D_total", "G_AB_gan", "G_total"}
    g = [v for k, v in grads.items() if k.startswith("G_AB.")]
    assert g and all(torch.isfinite(v).all() for v in g)
    assert sum(float(v.abs().sum()) for v in g) > 0


@pytest.mark.parametrize("method", ["cyclegan", "cut"])
def test_off_is_todays_code_path_bit_for_bit(tmp_path: Path, method: str):
    """diffaug = "" runs the networks themselves: weights after 3 steps equal those of a
    recipe without the key, bit for bit."""
    plain = _engine(tmp_path / "a", method)
    off = _engine(tmp_path / "b", method, diffaug="")
    assert off.augment is None
    assert all(off.method.run[r] is off.nets[r] for r in off.nets)
    for engine in (plain, off):
        torch.manual_seed(5)
        engine.losses_seen = [engine.train_step(_batch(s), s) for s in range(3)]
    for a, b in zip(plain.losses_seen, off.losses_seen, strict=True):
        assert all(torch.equal(a[k], b[k]) for k in a)
    for role, net in plain.nets.items():
        other = off.nets[role].state_dict()
        assert all(torch.equal(v, other[k]) for k, v in net.state_dict().items()), role


def test_resume_with_augmentation_is_bit_identical(tmp_path: Path):
    """The transforms draw from torch's RNG, which snapshots restore."""
    from translkit.artifacts import load_checkpoint
    from translkit.training import train

    def recipe(name: str):
        return tiny_recipe(
            tmp_path,
            name=name,
            train={"diffaug": ALL, "sample_every": 0},
            eval={"every": 0, "num_samples": 0},
        )

    straight = train(recipe("straight"), progress=False)
    part = recipe("parts")
    part.train.max_steps = 3  # mid-epoch 2
    train(part, progress=False)
    resumed = train(recipe("parts"), resume="latest", progress=False)
    assert straight.steps == resumed.steps == 4
    a = load_checkpoint(straight.run_dir / "checkpoints/latest.pt")
    b = load_checkpoint(resumed.run_dir / "checkpoints/latest.pt")
    for role, state in a["models"].items():
        for key, value in state.items():
            assert torch.equal(value, b["models"][role][key]), f"{role}.{key}"


@pytest.mark.parametrize("method", ["cyclegan", "cut"])
def test_a_gradient_penalty_sees_augmented_inputs_too(tmp_path: Path, method: str):
    """WGAN-GP's penalty calls the discriminator it is given: the augmented one."""
    gan = {"gan": {"name": "wgan_gp", "gp_weight": 10.0}}
    loss = gan if method == "cut" else {**gan, "identity": {"name": "identity", "weight": 5.0}}
    sections = {**METHODS[method], "loss": loss, "train": {"pool_size": 0, "diffaug": ALL}}
    recipe = tiny_recipe(tmp_path, replace=("loss",), **sections)
    engine = Engine(recipe, torch.device("cpu"), translkit.get_registry())
    seen = _record_inputs(engine)
    augmented: list[int] = []
    engine.augment.transforms.append(lambda x: augmented.append(len(x)) or x)
    terms = engine.train_step(_batch())
    penalties = [k for k in terms if k.endswith("_penalty")]
    assert penalties and all(torch.isfinite(terms[k]) and terms[k] >= 0 for k in penalties)
    # every discriminator call went through the augmentation: the generators' phase, the
    # discriminators' (real and fake) and the penalty's interpolates
    assert augmented == [len(x) for x in seen]
    assert len(seen) == (3 if method == "cut" else 6)  # real + fake fused in one call
