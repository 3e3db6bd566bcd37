"""CUT and FastCUT on the engine: fast paths equal the plain fp32 path, phase order and
freezing, the test objective, option checks, bit-identical resume, 2 processes = 1."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from training_support import tiny_recipe

from translkit import get_registry
from translkit.artifacts import load_checkpoint, load_model
from translkit.errors import ComponentError, RecipeError
from translkit.evaluation import held_out_objective
from translkit.recipe import Component
from translkit.training import train
from translkit.training.engine import Engine


def cut_recipe(tmp_path: Path, kind: str = "cut", *, name: str = "run", **sections):
    """A tiny recipe of method ``kind`` (32 px, ResNet with 1 block, ngf 4); ``sections``
    update keys."""
    merged = {"method": {"name": kind, "num_patches": 32}, "loss": None}
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}  # type: ignore[dict-item]
        else:
            merged[key] = value
    return tiny_recipe(tmp_path, name=name, replace=("loss",), **merged)


def _engine(recipe) -> Engine:
    return Engine(recipe, torch.device("cpu"), get_registry())


def _batch(seed: int = 0, n: int = 2, size: int = 32) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {d: torch.rand(n, 3, size, size, generator=g) * 2 - 1 for d in "AB"}


def _gradients(engine: Engine, batch, flip: bool | None = None):
    if flip is not None:
        engine.method.draw_flip = lambda: flip
    torch.manual_seed(7)  # the same patch positions for both paths
    return engine.gradients(batch)


@pytest.mark.parametrize(
    ("method", "gen_norm", "disc_norm", "flip"),
    [
        ("cut", "instance", "instance", None),
        ("cut", "none", "instance", None),
        ("cut", "batch", "batch", None),
        ("fastcut", "instance", "instance", True),
        ("fastcut", "instance", "none", False),
    ],
)
def test_fast_paths_match_plain_path(
    tmp_path: Path, method: str, gen_norm: str, disc_norm: str, flip: bool | None
):
    """Fused G/D passes and the sources' features taken from the translation pass give the
    plain path's losses AND gradients (G, F and D)."""
    kw = dict(
        generator={"name": "resnet", "n_blocks": 1, "ngf": 4, "norm": gen_norm},
        discriminator={"name": "patchgan", "ndf": 4, "n_layers": 2, "norm": disc_norm},
    )
    # Fusion is the only difference: both run the direct convolutions. Winograd's batched
    # products round differently at another batch size, and PatchNCE (temperature 0.07)
    # amplified that to 1e-3 of a head's bias gradient under a busy machine's probe.
    fast = _engine(cut_recipe(tmp_path, method, train={"fuse": "on", "fast_conv": "off"}, **kw))
    plain = _engine(cut_recipe(tmp_path, method, train={"fuse": "off", "fast_conv": "off"}, **kw))
    per_sample = gen_norm != "batch"
    assert fast.method.fuse_G is per_sample and fast.method.tap is per_sample
    assert not plain.method.fuse_G and not plain.method.tap
    batch = _batch()
    t_fast, g_fast = _gradients(fast, batch, flip)
    t_plain, g_plain = _gradients(plain, batch, flip)
    expected = {"G_AB_gan", "nce_A", "G_total", "D_B", "D_total"}
    assert set(t_fast) == set(t_plain) == expected | ({"nce_B"} if method == "cut" else set())
    for k in t_plain:
        torch.testing.assert_close(t_fast[k], t_plain[k], rtol=1e-5, atol=1e-6, msg=k)
    assert set(g_fast) == set(g_plain)
    assert {k.split(".")[0] for k in g_plain} == {"G_AB", "D_B", "F"}
    for k, want in g_plain.items():  # fp32 rounding (summation order) only
        scale = 1e-5 * (1 + want.abs().max())
        torch.testing.assert_close(g_fast[k], want, rtol=1e-4, atol=scale, msg=k)


def test_flipping_changes_the_step(tmp_path: Path):
    """Flip-equivariance really flips: a flipped step differs from an unflipped one."""
    engine = _engine(cut_recipe(tmp_path, "fastcut"))
    straight, _ = _gradients(engine, _batch(), flip=False)
    flipped, _ = _gradients(engine, _batch(), flip=True)
    assert not torch.allclose(straight["nce_A"], flipped["nce_A"])


def test_cut_and_fastcut_settings(tmp_path: Path):
    cut, fast = cut_recipe(tmp_path, "cut"), cut_recipe(tmp_path, "fastcut")
    assert cut.loss["nce"].options == {"weight": 1.0, "temperature": 0.07}
    assert fast.loss["nce"].options == {"weight": 10.0, "temperature": 0.07}
    assert (cut.method.options["nce_idt"], cut.method.options["flip_equivariance"]) == (True, False)
    assert (fast.method.options["nce_idt"], fast.method.options["flip_equivariance"]) == (
        False,
        True,
    )
    assert cut.head is not None and cut.head.name == "mlp_sample"
    assert cut.head.options == {"units": 256, "init": "xavier", "init_gain": 0.02}
    method = _engine(cut).method
    assert [p.name for p in method.phases] == ["D", "G"]  # D steps first, as the reference
    assert method.directions == {"a2b": "G_AB"}
    assert method.layers == (0, 4, 7, 10)  # one residual block: the fifth is the first


def test_head_is_built_eagerly_from_the_generators_widths(tmp_path: Path):
    engine = _engine(cut_recipe(tmp_path, method={"nce_layers": [0, 7]}))
    head = engine.nets["F"]
    assert head.in_channels == (3, 16)  # padded RGB input; 4·ngf after two downsamplings
    assert sorted(engine.optimizers) == ["D", "F", "G"]
    f_params = {id(p) for p in head.parameters()}
    assert {id(p) for g in engine.optimizers["F"].param_groups for p in g["params"]} == f_params
    assert (
        engine.optimizers["F"].param_groups[0]["lr"] == engine.optimizers["G"].param_groups[0]["lr"]
    )


def test_phases_freeze_and_step_the_right_networks(tmp_path: Path):
    engine = _engine(cut_recipe(tmp_path))
    batch = _batch()
    cache = engine.method.forward(batch)
    d_phase, g_phase = engine.method.phases
    engine._run_phase(d_phase, batch, cache, 1, apply=False)
    assert all(p.grad is not None for p in engine.nets["D_B"].parameters())
    assert all(p.grad is None for p in engine.nets["G_AB"].parameters())  # fake detached
    d_grads = [p.grad.clone() for p in engine.nets["D_B"].parameters()]
    terms = engine._run_phase(g_phase, batch, cache, 1, apply=False)
    assert all(p.grad is not None for p in engine.nets["G_AB"].parameters())
    assert all(p.grad is not None for p in engine.nets["F"].parameters())
    for before, p in zip(d_grads, engine.nets["D_B"].parameters(), strict=True):
        assert torch.equal(before, p.grad)  # D frozen in the G phase
    torch.testing.assert_close(
        terms["G_total"], terms["G_AB_gan"] + terms["nce_A"] + terms["nce_B"]
    )


def test_identity_nce_halves_each_term(tmp_path: Path):
    """With identity NCE, nce_A and nce_B are each half of λ·PatchNCE (their sum is the
    reference's averaged NCE term); without it nce_A is the whole term."""
    on = _engine(cut_recipe(tmp_path, method={"lambda_gan": 0.0}))
    off = _engine(cut_recipe(tmp_path, method={"lambda_gan": 0.0, "nce_idt": False}))
    t_on, _ = _gradients(on, _batch())
    t_off, _ = _gradients(off, _batch())
    assert "G_AB_gan" not in t_on and "nce_B" not in t_off
    torch.testing.assert_close(2 * t_on["nce_A"], t_off["nce_A"], rtol=1e-5, atol=1e-6)


def test_held_out_objective_is_deterministic_and_complete(tmp_path: Path):
    recipe = cut_recipe(tmp_path)
    model = _engine(recipe).eval_model()
    first = held_out_objective(model, recipe.data)
    torch.rand(5)  # the global RNG state must not matter
    second = held_out_objective(model, recipe.data)
    assert first == second
    terms = ("G_AB_gan", "nce_A", "nce_B", "G_total", "D_B")
    assert set(first) == {"objective", *(f"objective/{t}" for t in terms)}
    total = sum(first[f"objective/{t}"] for t in ("G_AB_gan", "nce_A", "nce_B"))
    assert first["objective"] == pytest.approx(total)


@pytest.mark.parametrize(
    ("method", "match"),
    [
        ({"nce_layers": [0, 0]}, "nce_layers"),
        ({"nce_layers": []}, "nce_layers"),
        ({"num_patches": 0}, "num_patches"),
        ({"nce_idt": "yes"}, "nce_idt"),
        ({"lambda_gan": -1}, "lambda_gan"),
    ],
)
def test_bad_method_options_are_recipe_errors(tmp_path: Path, method, match: str):
    with pytest.raises(
        RecipeError, match=rf"\[method\] option {match}=|method\.{match} must (not )?be"
    ):
        cut_recipe(tmp_path, method=method)


def test_layers_beyond_the_generator_are_refused(tmp_path: Path):
    with pytest.raises(ComponentError, match=r"feature layers \[0, 99\] must be indices"):
        _engine(cut_recipe(tmp_path, method={"nce_layers": [0, 99]}))


def test_a_generator_without_features_is_refused(tmp_path: Path):
    registries = get_registry()
    registries.generators.add("plain", lambda: torch.nn.Conv2d(3, 3, 1))
    recipe = cut_recipe(tmp_path)
    recipe.generator = Component("plain", {})
    with pytest.raises(ComponentError, match="needs a generator exposing its encoder"):
        Engine(recipe, torch.device("cpu"), registries)


def test_unet_features_are_what_its_skips_carry():
    """Level k is the k-th downsampling's output: the input of the (k+1)-th level's block,
    which its skip concatenates; the walk leaves input and forward pass unchanged."""
    from translkit_plugins.generators import UnetBlock

    net = get_registry().generators.create("unet", num_downs=5, ngf=4)
    seen: list[torch.Tensor] = []
    for block in net.modules():
        if isinstance(block, UnetBlock) and not block.outermost:
            block.register_forward_pre_hook(lambda _, args: seen.append(args[0].clone()))
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    kept = x.detach().clone()
    features = net.features(x, range(6))
    assert torch.equal(x, kept) and features[0] is x
    assert [f.shape[-1] for f in features] == [32, 16, 8, 4, 2, 1]
    out = net(x)
    for level, skip in enumerate(seen, start=1):
        torch.testing.assert_close(features[level], skip)
    torch.testing.assert_close(out, net(kept))
    assert net.features(x, [3, 1])[0].shape[1] == 4 * 4  # in the order asked
    sum(f.sum() for f in features[1:]).backward()  # differentiable: CUT trains through it
    assert x.grad is not None and x.grad.abs().sum() > 0
    with pytest.raises(ComponentError, match=r"levels 0..5 of this U-Net"):
        net.features(x, [6])


def test_cut_trains_a_unet(tmp_path: Path):
    recipe = tiny_recipe(
        tmp_path,
        replace=("loss", "generator"),
        method={"name": "cut", "num_patches": 32},
        loss=None,
        generator={"name": "unet", "num_downs": 5, "ngf": 4},
    )
    result = train(recipe, progress=False)
    assert result.finished
    head = load_checkpoint(result.run_dir / "checkpoints/latest.pt")["models"]["F"]
    assert head  # the head was built from the U-Net's five taps


def test_the_head_width_is_the_methods_to_set(tmp_path: Path):
    recipe = cut_recipe(tmp_path, head={"name": "mlp_sample", "in_channels": [3]})
    with pytest.raises(RecipeError, match=r"\[head\] in_channels: set by the method"):
        _engine(recipe)


def test_nothing_to_train_is_refused(tmp_path: Path):
    recipe = cut_recipe(tmp_path, method={"lambda_gan": 0.0}, loss={"nce": {"weight": 0.0}})
    with pytest.raises(ComponentError, match="nothing to train"):
        _engine(recipe)


def test_checkpoint_holds_every_role_and_loads(tmp_path: Path):
    recipe = cut_recipe(tmp_path, optim={"epochs": 1}, train={"sample_every": 0})
    result = train(recipe, progress=False)
    ckpt = load_checkpoint(result.run_dir / "checkpoints/latest.pt")
    assert set(ckpt["models"]) == {"G_AB", "D_B", "F"}
    assert set(ckpt["optimizers"]) == {"G", "F", "D"}
    model, _, _ = load_model(result.run_dir, get_registry())
    assert model.directions == ("a2b",) and set(model.nets) == {"G_AB", "D_B", "F"}
    assert result.summary["method"] == "cut" and result.summary["directions"] == ["a2b"]


@pytest.mark.parametrize("method", ["cut", "fastcut"])
def test_resume_is_bit_identical(tmp_path: Path, method: str):
    """Patch positions and flips come from torch's RNG, which snapshots restore."""
    common = {"train": {"ema": 0.9, "sample_every": 0}, "eval": {"every": 0, "num_samples": 0}}
    straight = train(cut_recipe(tmp_path, method, name="straight", **common), progress=False)
    part = cut_recipe(tmp_path, method, name="parts", **common)
    part.train.max_steps = 3  # mid-epoch 2
    train(part, progress=False)
    rest = cut_recipe(tmp_path, method, name="parts", **common)
    resumed = train(rest, resume="latest", progress=False)
    assert straight.steps == resumed.steps == 4
    a = load_checkpoint(straight.run_dir / "checkpoints/latest.pt")
    b = load_checkpoint(rest.run_dir / "checkpoints/latest.pt")
    for group in ("models", "ema"):
        for role, state in a[group].items():
            for key, value in state.items():
                assert torch.equal(value, b[group][role][key]), f"{group}.{role}.{key}"
    for name, state in a["optimizers"].items():
        for i, s in state["state"].items():
            assert torch.equal(s["exp_avg"], b["optimizers"][name]["state"][i]["exp_avg"])


@pytest.mark.slow
def test_two_processes_equal_one(tmp_path: Path):
    """DDP on CPU (gloo): with every position sampled (num_patches ≥ H·W) the loss does
    not depend on the draw, so 2 processes × 1 image equal 1 process × 2 images."""

    def recipe(name: str):
        return cut_recipe(
            tmp_path,
            name=name,
            method={"num_patches": 4096},
            generator={"name": "resnet", "n_blocks": 1, "ngf": 4, "norm": "batch"},
            discriminator={"name": "patchgan", "ndf": 4, "n_layers": 2, "norm": "batch"},
            optim={"epochs": 1, "batch_size": 2},
            # each process times its own convolution algorithm: fixed, the same arithmetic
            train={"sample_every": 0, "log_every": 1, "fast_conv": "off"},
            eval={"every": 0, "num_samples": 0},
        )

    single = train(recipe("single"), progress=False)
    double = train(recipe("double"), nproc=2, progress=False)
    assert double.finished and double.steps == single.steps == 2
    a = load_checkpoint(single.run_dir / "checkpoints/latest.pt")
    b = load_checkpoint(double.run_dir / "checkpoints/latest.pt")
    for role in ("G_AB", "D_B", "F"):
        for key, value in a["models"][role].items():
            torch.testing.assert_close(
                b["models"][role][key].float(),
                value.float(),
                rtol=1e-4,
                atol=1e-5,
                msg=f"{role}.{key}",
            )


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_cuda_fast_path_matches_fp32_nchw(tmp_path: Path, precision: str):
    """On CUDA, fused passes, channels_last and bf16 stay close to the plain fp32 NCHW path."""
    device = torch.device("cuda")
    plain = {"device": "cuda", "fuse": "off", "channels_last": "off"}
    ref = Engine(cut_recipe(tmp_path, train=plain), device, get_registry())
    fast = Engine(
        cut_recipe(tmp_path, train={"device": "cuda", "precision": precision}),
        device,
        get_registry(),
    )
    assert fast.method.fuse_G and not ref.method.fuse_G
    t_ref, g_ref = _gradients(ref, _batch())
    t_fast, g_fast = _gradients(fast, _batch())
    tol = {"fp32": (1e-4, 1e-5), "bf16": (5e-2, 5e-3)}[precision]
    for k in t_ref:
        torch.testing.assert_close(t_fast[k], t_ref[k], rtol=tol[0], atol=tol[1], msg=k)
    for k in g_ref:
        torch.testing.assert_close(
            g_fast[k].float(), g_ref[k], rtol=tol[0] * 10, atol=tol[1] * 10, msg=k
        )
