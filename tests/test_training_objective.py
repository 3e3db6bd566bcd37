"""The CycleGAN method on the engine: fast paths equal the plain fp32 NCHW path, phases
freeze what they must, pools, schedules, EMA, clipping, the non-finite guard."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest
import torch
from training_support import AVX2_CPU, tiny_recipe
from translkit_plugins._pool import ImagePool

from translkit import get_registry
from translkit.contracts import is_per_sample
from translkit.errors import RecipeError
from translkit.recipe import OptimSection, TrainSection, recipe_from_dict, resolve_recipe
from translkit.training.ema import EMA
from translkit.training.engine import Engine, training_device
from translkit.training.schedules import lr_factor


def _engine(recipe) -> Engine:
    return Engine(recipe, torch.device("cpu"), get_registry())


def _batch(seed: int = 0, n: int = 2, size: int = 32) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "A": torch.rand(n, 3, size, size, generator=g) * 2 - 1,
        "B": torch.rand(n, 3, size, size, generator=g) * 2 - 1,
    }


@pytest.mark.parametrize(
    ("gen_norm", "disc_norm", "pool", "idt"),
    [
        ("instance", "instance", 0, 5.0),
        ("instance", "none", 4, 5.0),
        ("none", "instance", 0, 0.0),
        ("batch", "batch", 0, 5.0),
    ],
)
def test_fast_paths_match_plain_path(
    tmp_path: Path, gen_norm: str, disc_norm: str, pool: int, idt: float
):
    """Fused generator/discriminator passes give the plain path's losses AND gradients."""
    kw = dict(
        generator={"name": "resnet", "n_blocks": 1, "ngf": 4, "norm": gen_norm},
        discriminator={"name": "patchgan", "ndf": 4, "n_layers": 2, "norm": disc_norm},
        loss={"identity": {"name": "identity", "weight": idt}},
    )
    # fusion is the only difference: both run the direct convolutions (Winograd's batched
    # products round differently at another batch size)
    same = {"pool_size": pool, "fast_conv": "off"}
    fast = _engine(tiny_recipe(tmp_path, train={"fuse": "auto", **same}, **kw))
    plain = _engine(tiny_recipe(tmp_path, train={"fuse": "off", **same}, **kw))
    per_sample = gen_norm != "batch"
    assert fast.method.fuse_G is per_sample and fast.method.fuse_D is (disc_norm != "batch")
    assert not plain.method.fuse_G and not plain.method.fuse_D
    batch = _batch()
    t_fast, g_fast = fast.gradients(batch)
    t_plain, g_plain = plain.gradients(batch)
    assert set(t_fast) == set(t_plain) >= {"G_AB_gan", "cycle_A", "D_A", "D_B"}
    assert ("idt_A" in t_fast) is (idt > 0)
    for k in t_plain:
        torch.testing.assert_close(t_fast[k], t_plain[k], rtol=1e-5, atol=1e-6, msg=k)
    assert set(g_fast) == set(g_plain)
    for k in g_plain:
        torch.testing.assert_close(g_fast[k], g_plain[k], rtol=1e-4, atol=1e-6, msg=k)


def test_generator_phase_freezes_discriminators(tmp_path: Path):
    """D gets gradients only from its own phase: the G phase computes none for it."""
    engine = _engine(tiny_recipe(tmp_path, train={"pool_size": 0}))
    batch = _batch()
    cache = engine.method.forward(batch)
    g_phase, d_phase = engine.method.phases
    terms = engine._run_phase(g_phase, batch, cache, 1, apply=False)
    assert all(p.grad is None for p in engine.nets["D_A"].parameters())
    assert all(p.grad is not None for p in engine.nets["G_AB"].parameters())
    expected = sum(v for k, v in terms.items() if k != "G_total")
    torch.testing.assert_close(terms["G_total"], expected)
    engine._run_phase(d_phase, batch, cache, 1, apply=False)
    assert all(p.grad is not None for p in engine.nets["D_A"].parameters())
    assert all(p.requires_grad for net in engine.nets.values() for p in net.parameters())


def test_identity_off_skips_identity_passes(tmp_path: Path):
    engine = _engine(tiny_recipe(tmp_path, loss={"identity": {"name": "identity", "weight": 0.0}}))
    assert not engine.method.identity and engine.method.fuse_G  # 3 calls instead of 4
    cache = engine.method.forward(_batch())
    assert cache["idt_A"] is None
    terms, _ = engine.gradients(_batch())
    assert "idt_A" not in terms


def test_change_loss_charges_each_translation_for_moving_its_source(tmp_path: Path):
    """``[loss.change]`` adds weight · mean|G_AB(a) − a| and weight · mean|G_BA(b) − b|, in
    training and in the held-out objective; its gradient pulls each output towards its
    source; off (weight 0, the default) it adds no term."""
    assert "change_A" not in _engine(tiny_recipe(tmp_path)).gradients(_batch())[0]
    recipe = tiny_recipe(tmp_path, loss={"change": {"name": "change", "weight": 2.0}})
    engine = _engine(recipe)
    batch = _batch()
    cache = engine.method.forward(batch)
    terms = engine.method.phase_losses("G", batch, cache)
    for src, fake in (("A", "fake_B"), ("B", "fake_A")):
        expected = 2.0 * (cache[fake] - batch[src]).abs().mean()
        torch.testing.assert_close(terms[f"change_{src}"], expected)
    fake = cache["fake_B"].detach().requires_grad_(True)
    engine.method.loss["change"](fake, batch["A"]).backward()
    assert torch.equal(fake.grad.sign(), (fake - batch["A"]).sign())  # descent moves to a
    held_out = engine.method.held_out_objective(
        engine.nets, engine.method.loss, lambda d: iter([batch[d]])
    )
    assert held_out["objective/change_A"] > 0 and held_out["objective/change_B"] > 0


def test_a_cyclegan_subclass_without_the_change_slot_still_trains(tmp_path: Path):
    """A third party's subclass written before the change loss declares fewer slots: the
    method treats the missing slot as off instead of failing on it."""
    from translkit_plugins.cyclegan import CycleGAN

    class Older(CycleGAN):
        name = "older"
        losses = tuple(s for s in CycleGAN.losses if s.name != "change")

    registries = get_registry()
    registries.methods.add("older", Older)
    raw = tomllib.loads(tiny_recipe(tmp_path).to_toml())
    raw["method"], _ = {"name": "older"}, raw["loss"].pop("change")
    recipe = resolve_recipe(recipe_from_dict(raw), registries)
    engine = Engine(recipe, torch.device("cpu"), registries)
    assert "change" not in engine.method.loss and not engine.method.change
    terms = engine.train_step(_batch(), 1)
    assert "change_A" not in terms and torch.isfinite(terms["G_total"])
    held_out = engine.method.held_out_objective(
        engine.nets, engine.method.loss, lambda d: iter([_batch()[d]])
    )
    assert "objective/change_A" not in held_out


def test_is_per_sample():
    assert is_per_sample(torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1), torch.nn.InstanceNorm2d(3)))
    assert not is_per_sample(torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1), torch.nn.BatchNorm2d(3)))


def test_per_sample_attribute_overrides_the_batch_norm_rule():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1), torch.nn.InstanceNorm2d(3))
    net.per_sample = False  # a plugin opting out of batched passes
    assert not is_per_sample(net)


def test_channels_last_auto_stays_off_on_cpu_while_instance_norms_remain(tmp_path: Path):
    """channels_last's instance-norm backward is wrong at batch 1 on this torch: not a
    candidate while instance norms remain; forcing it is the user's call."""
    kept = {"pool_size": 0, "fast_norm": "off"}
    auto = Engine(tiny_recipe(tmp_path, train=kept), torch.device("cpu"), get_registry())
    assert not auto.runtime.channels_last and "instance norms remain" in auto.runtime.describe()
    forced = {**kept, "channels_last": "on"}
    on = Engine(tiny_recipe(tmp_path, train=forced), torch.device("cpu"), get_registry())
    assert on.runtime.channels_last


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_on_cpu_without_native_units_is_a_recipe_error(
    precision: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("translkit.precision.cpu_info", lambda: AVX2_CPU)
    with pytest.raises(RecipeError, match=r"train.precision = '(bf|fp)16'.*emulated"):
        training_device(TrainSection(device="cpu", precision=precision))


def test_bad_device_is_a_recipe_error():
    with pytest.raises(RecipeError, match="not a device"):
        training_device(TrainSection(device="toaster"))


def test_pool_returns_mix_and_round_trips():
    pool = ImagePool(2, seed=0)
    first = torch.zeros(2, 3, 4, 4)
    assert torch.equal(pool.query(first), first)  # filling: returns its input
    state = pool.state_dict()
    clone = ImagePool(2, seed=99)
    clone.load_state_dict(state)
    new = torch.ones(8, 3, 4, 4)
    out_a, out_b = pool.query(new), clone.query(new)
    assert torch.equal(out_a, out_b)
    assert 0 < (out_a.flatten(1).mean(1) == 0).sum() < 8  # some old, some new
    assert torch.equal(ImagePool(0).query(new), new)


def test_schedules():
    lin = OptimSection(epochs=200, schedule="linear", decay_start=100)
    assert lr_factor(lin, 0) == 1.0 and lr_factor(lin, 98) == 1.0
    assert lr_factor(lin, 99) == pytest.approx(1 - 0 / 101) and lr_factor(
        lin, 100
    ) == pytest.approx(1 - 1 / 101)
    assert lr_factor(lin, 199) == pytest.approx(1 - 100 / 101)
    assert lr_factor(OptimSection(epochs=10, schedule="constant"), 9) == 1.0
    cos = OptimSection(epochs=10, schedule="cosine")
    assert lr_factor(cos, 0) == 1.0 and lr_factor(cos, 5) == pytest.approx(0.5)
    assert lr_factor(cos, 10) == pytest.approx(0.0, abs=1e-12)
    step = OptimSection(epochs=10, schedule="step", step_size=3, gamma=0.5)
    assert [lr_factor(step, e) for e in (0, 2, 3, 6)] == [1, 1, 0.5, 0.25]
    assert not math.isnan(lr_factor(OptimSection(epochs=1, schedule="linear"), 0))


def test_ema_tracks_weights():
    net = torch.nn.Linear(2, 2)
    ema = EMA({"G": net}, decay=0.5, updates=100)  # past the warm-up
    before = ema.shadow["G"].weight.detach().clone()
    with torch.no_grad():
        net.weight.add_(1.0)
    ema.update()
    torch.testing.assert_close(ema.shadow["G"].weight, before + 0.5)


def test_ema_warms_up_so_the_initial_weights_fade_early():
    net = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        net.weight.zero_()
    ema = EMA({"G": net}, decay=0.999)
    assert ema.current_decay() == pytest.approx(2 / 11)
    with torch.no_grad():
        net.weight.fill_(1.0)
    for _ in range(200):
        ema.update()
    # without the warm-up the shadow would still be 1 - 0.999**200 = 0.18 of the way
    assert ema.shadow["G"].weight.min().item() > 0.99
    assert ema.current_decay() == pytest.approx(202 / 211)  # still warming up
    assert ema.updates == 200


def test_grad_clip_applies_before_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The clipped gradient is what the optimiser sees (the study clipped after stepping)."""
    engine = _engine(tiny_recipe(tmp_path, optim={"grad_clip": 1e-3}))
    seen = []
    opt_G = engine.optimizers["G"]
    original = opt_G.step

    def step(*a, **k):
        grads = [p.grad for g in opt_G.param_groups for p in g["params"] if p.grad is not None]
        seen.append(
            torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(x) for x in grads]))
        )
        return original(*a, **k)

    monkeypatch.setattr(opt_G, "step", step)
    engine.train_step(_batch(), step=1)
    assert seen and seen[0] <= 1e-3 * (1 + 1e-4)


def test_non_finite_loss_names_step_and_term(tmp_path: Path):
    from translkit.training.engine import NonFiniteLossError

    engine = _engine(tiny_recipe(tmp_path))
    before = {k: v.clone() for k, v in engine.nets["G_AB"].state_dict().items()}
    batch = _batch()
    batch["A"][0, 0, 0, 0] = float("nan")
    with pytest.raises(NonFiniteLossError, match=r"step 7: loss term '\w+' is nan"):
        engine.train_step(batch, step=7)
    after = engine.nets["G_AB"].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_cuda_fast_paths_match_fp32_nchw(tmp_path: Path, precision: str):
    """On CUDA, channels_last ("auto") and reduced precision stay close to the fp32 NCHW path."""
    device = torch.device("cuda")
    ref = Engine(
        tiny_recipe(
            tmp_path,
            train={"device": "cuda", "pool_size": 0, "fuse": "off", "channels_last": "off"},
        ),
        device,
        get_registry(),
    )
    fast = Engine(
        tiny_recipe(tmp_path, train={"device": "cuda", "pool_size": 0, "precision": precision}),
        device,
        get_registry(),
    )
    assert fast.runtime.channels_last
    batch = _batch()
    t_ref, g_ref = ref.gradients(batch)
    t_fast, g_fast = fast.gradients(batch)
    tol = {"fp32": (1e-4, 1e-5), "bf16": (5e-2, 5e-3), "fp16": (2e-2, 2e-3)}[precision]
    scale = fast.scaler.get_scale() if precision == "fp16" else 1.0
    for k in t_ref:
        torch.testing.assert_close(t_fast[k], t_ref[k], rtol=tol[0], atol=tol[1], msg=k)
    for k in g_ref:
        got = g_fast[k].float() / scale
        torch.testing.assert_close(got, g_ref[k], rtol=tol[0] * 10, atol=tol[1] * 10, msg=k)


def test_fuse_policy():
    from translkit.training.engine import fuses_passes

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert fuses_passes(TrainSection(), 64, cpu) and fuses_passes(TrainSection(), 128, cpu)
    assert not fuses_passes(TrainSection(), 256, cpu)  # measured slower there on CPU
    assert fuses_passes(TrainSection(), 256, cuda)
    assert fuses_passes(TrainSection(fuse="on"), 256, cpu)
    assert not fuses_passes(TrainSection(fuse="off"), 32, cuda)
