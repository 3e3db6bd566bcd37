"""Training in bf16 autocast on the CPU: agrees with fp32, keeps fp32 state, guards non-finite.

Tolerance (documented in docs/training.md): the bf16 default path against the plain fp32
path (instance norms, Zhu's separate passes, NCHW) on the same weights and batch —

- every loss term within 1 % (relative);
- the cosine similarity of every parameter's gradient at least 0.85, and their median at
  least 0.93; parameters whose fp32 gradient is zero by construction (a convolution bias
  right before an instance norm) get bf16 gradients below 1 % of the largest gradient norm.

For scale: merely rounding the fp32 weights to bf16 and staying in fp32 gives cosines of
0.97–0.98 on these networks (L1 losses and instance norms make the gradient sensitive);
the known channels_last InstanceNorm backward bug at batch 1 gives 0.47.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from training_support import assert_bf16_gradients_track, needs_cpu_bf16, tiny_recipe

import translkit
from translkit import get_registry
from translkit.artifacts import TrainingSnapshot, load_checkpoint
from translkit.training import train
from translkit.training.engine import Engine, NonFiniteLossError

PLAIN_FP32 = {"precision": "fp32", "fuse": "off", "fast_norm": "off", "channels_last": "off"}
NETS = {
    "generator": {"name": "resnet", "n_blocks": 2, "ngf": 8, "norm": "instance"},
    "discriminator": {"name": "patchgan", "ndf": 8, "n_layers": 2},
}


def _engine(tmp_path: Path, n: int, **train_keys) -> Engine:
    recipe = tiny_recipe(
        tmp_path, optim={"batch_size": n}, train={"pool_size": 0, **train_keys}, **NETS
    )
    return Engine(recipe, torch.device("cpu"), get_registry())


def _losses_and_grads(engine: Engine, n: int):
    g = torch.Generator().manual_seed(1)
    batch = {d: torch.rand(n, 3, 32, 32, generator=g) * 2 - 1 for d in "AB"}
    return engine.gradients(batch)


@needs_cpu_bf16
@pytest.mark.parametrize("n", [1, 2])  # batch 1: where channels_last instance norm goes wrong
def test_bf16_default_path_agrees_with_plain_fp32(tmp_path: Path, n: int):
    ref_terms, ref = _losses_and_grads(_engine(tmp_path, n, **PLAIN_FP32), n)
    engine = _engine(tmp_path, n, precision="bf16")  # auto may pick fp32 for nets this small
    assert engine.precision.name == "bf16"
    terms, grads = _losses_and_grads(engine, n)
    for key, value in ref_terms.items():
        assert terms[key].item() == pytest.approx(value.item(), rel=1e-2), key
    for key, want in ref.items():
        assert grads[key].dtype == torch.float32 and grads[key].shape == want.shape, key
    assert_bf16_gradients_track(ref, grads)


@needs_cpu_bf16
def test_bf16_keeps_weights_optimiser_state_and_checkpoints_fp32(tmp_path: Path):
    recipe = tiny_recipe(tmp_path, train={"precision": "bf16", "ema": 0.5}, eval={"every": 0})
    result = train(recipe, progress=False)
    assert result.finished and result.summary["precision"]["name"] == "bf16"
    ckpt = load_checkpoint(result.run_dir / "checkpoints/latest.pt")
    tensors = [*ckpt["models"]["G_AB"].values(), *ckpt["ema"]["G_AB"].values()]
    tensors += [s["exp_avg"] for s in ckpt["optimizers"]["G"]["state"].values()]
    assert all(t.dtype == torch.float32 for t in tensors if t.is_floating_point())
    gens = translkit.load_generators(result.run_dir, get_registry()).nets  # plain fp32 nets
    assert gens["a2b"](torch.zeros(1, 3, 32, 32)).dtype == torch.float32
    fp32 = Engine(tiny_recipe(tmp_path, name="fp32"), torch.device("cpu"), get_registry())
    snapshot = TrainingSnapshot.load(result.run_dir / "checkpoints/latest.pt")
    fp32.load_state_dict(snapshot.state)  # a bf16-trained checkpoint loads into an fp32 engine
    assert fp32.precision.name == "fp32"


@needs_cpu_bf16
def test_bf16_non_finite_loss_stops_before_the_weights_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    engine = _engine(tmp_path, 2, precision="bf16")
    before = {k: v.clone() for k, v in engine.nets["G_AB"].state_dict().items()}
    method = type(engine.method)
    original = method.phase_losses

    def poisoned(self, phase, batch, cache):
        terms = original(self, phase, batch, cache)
        if phase == "G":
            terms["cycle_A"] = terms["cycle_A"] * float("nan")
        return terms

    monkeypatch.setattr(method, "phase_losses", poisoned)
    batch = {d: torch.rand(2, 3, 32, 32) for d in "AB"}
    with pytest.raises(NonFiniteLossError, match="step 1: loss term 'cycle_A' is nan"):
        engine.train_step(batch, 1)
    after = engine.nets["G_AB"].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not engine.optimizers["G"].state  # the optimiser never stepped


def _poison_gradients(engine: Engine, role: str = "G_AB") -> None:
    """Every backward gives ``role``'s first parameter a NaN gradient; the losses stay finite."""
    next(engine.nets[role].parameters()).register_hook(lambda g: g * float("nan"))


def _weights(engine: Engine, role: str) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in engine.nets[role].state_dict().items()}


def _unchanged(engine: Engine, role: str, before: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(before[k], v) for k, v in engine.nets[role].state_dict().items())


def test_fp32_non_finite_gradients_stop_before_the_weights_change(tmp_path: Path):
    """Finite losses, non-finite gradients: in fp32 that is a real divergence, so the step
    stops with the same error as a non-finite loss, before any weight moves."""
    engine = _engine(tmp_path, 2, precision="fp32")
    _poison_gradients(engine)
    before = _weights(engine, "G_AB")
    batch = {d: torch.rand(2, 3, 32, 32) * 2 - 1 for d in "AB"}
    with pytest.raises(NonFiniteLossError, match=r"step 4: the gradients of optimiser 'G' are"):
        engine.train_step(batch, 4)
    assert _unchanged(engine, "G_AB", before) and not engine.optimizers["G"].state


def test_reduced_precision_skips_an_update_with_non_finite_gradients(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """Under bf16 (rounding on an all-flat crop can overflow the gradient) the generators'
    update is skipped and said, the discriminators still train, and too many skips in a
    row stop the run."""
    from translkit.precision import Choice
    from translkit.training import engine as engine_module

    engine = _engine(tmp_path, 2, precision="fp32")
    engine.precision = Choice("bf16", torch.bfloat16, "test")  # emulated where not native
    _poison_gradients(engine)
    g_before, d_before = _weights(engine, "G_AB"), _weights(engine, "D_A")
    batch = {d: torch.rand(2, 3, 32, 32) * 2 - 1 for d in "AB"}
    terms = engine.train_step(batch, 5)
    assert all(torch.isfinite(v) for v in terms.values())
    assert _unchanged(engine, "G_AB", g_before) and not _unchanged(engine, "D_A", d_before)
    assert "step 5: non-finite gradients in bf16 for optimiser 'G'" in capsys.readouterr().out
    monkeypatch.setattr(engine_module, "MAX_SKIPPED_IN_A_ROW", 3)
    engine.train_step(batch, 6)
    with pytest.raises(NonFiniteLossError, match="not finite in 3 steps in a row"):
        engine.train_step(batch, 7)


def test_a_gradient_whose_norm_overflows_counts_as_non_finite():
    """Finite but huge (1e30): its square would fill Adam's second moment with infinities."""
    from translkit.training.engine import _finite_gradients

    p = torch.nn.Parameter(torch.zeros(3))
    assert _finite_gradients([p])  # no gradient yet
    p.grad = torch.tensor([1.0, -2.0, 3.0])
    assert _finite_gradients([p])
    p.grad = torch.tensor([1e30, 1.0, 1.0])
    assert not _finite_gradients([p])
