"""``precision = "auto"`` in training decides from the networks being trained: the timing
loop (with an injected clock), the decision (with an injected measurement), the cache key,
the engine's use of it, and the refusals that need no measurement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from test_precision import SAPPHIRE
from training_support import AVX2_CPU, tiny_recipe

from translkit import get_registry
from translkit import precision as P
from translkit.errors import RecipeError
from translkit.models import build_model
from translkit.training import probe as probe_mod
from translkit.training.engine import Engine


@pytest.fixture(autouse=True)
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("TRANSLKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


class FakeClock:
    """A clock whose steps take the times listed per dtype (the step records the call)."""

    def __init__(self, fp32: list[float], bf16: list[float]) -> None:
        self.now, self.calls = 0.0, []
        self.times = {torch.float32: list(fp32), torch.bfloat16: list(bf16)}

    def __call__(self) -> float:
        return self.now

    def steps(self) -> dict[torch.dtype, object]:
        def step(dtype):
            def run() -> None:
                self.calls.append(dtype)
                self.now += self.times[dtype].pop(0)

            return run

        return {dtype: step(dtype) for dtype in self.times}


def test_measure_steps_takes_the_best_of_interleaved_rounds():
    clock = FakeClock(fp32=[0.30, 0.10, 0.12], bf16=[0.50, 0.05, 0.04])
    result = P.measure_steps(clock.steps(), rounds=2, clock=clock)
    assert clock.calls == [torch.float32, torch.bfloat16] * 3  # warm-up, then 2 rounds
    assert result == pytest.approx({"fp32_ms": 100.0, "bf16_ms": 40.0, "ratio": 2.5})


def test_measure_steps_stops_at_its_budget_and_on_emulated_bf16():
    slow = FakeClock(fp32=[1.2, 1.0, 1.0], bf16=[0.9, 0.5, 0.5])  # a big model: one round
    result = P.measure_steps(slow.steps(), rounds=2, clock=slow, budget=1.5)
    assert len(slow.calls) == 4 and result["ratio"] == pytest.approx(2.0)
    emulated = FakeClock(fp32=[0.01, 0.01], bf16=[1.0, 1.0])
    assert P.measure_steps(emulated.steps(), clock=emulated)["ratio"] == pytest.approx(0.01)
    assert len(emulated.calls) == 2


def _model(tmp_path: Path, **sections):
    recipe = tiny_recipe(tmp_path, **sections)
    return recipe, build_model(recipe, get_registry())


def _fake_measure(ratio: float, calls: list):
    def measure(steps):
        calls.append(steps)
        for step in steps.values():  # the real steps run: forward and backward
            step()
        return {"fp32_ms": 10.0 * ratio, "bf16_ms": 10.0, "ratio": ratio}

    return measure


@pytest.mark.parametrize(("ratio", "want"), [(1.9, "bf16"), (0.8, "fp32"), (1.1, "fp32")])
def test_auto_decides_from_the_models_own_probe(monkeypatch, tmp_path, ratio, want):
    monkeypatch.setattr(P, "cpu_info", lambda: SAPPHIRE)
    monkeypatch.setattr(P, "measure_cpu_bf16", lambda: pytest.fail("the conv probe ran"))
    recipe, model = _model(tmp_path)
    calls: list = []
    probe = probe_mod.model_probe(recipe, model, measure=_fake_measure(ratio, calls))
    choice = P.choose_precision("auto", "cpu", probe=probe)
    assert choice.name == want and len(calls) == 1
    assert "generator and discriminator at 32 px, batch 2" in choice.reason
    assert f"bf16 at {ratio:.2f}× the speed of fp32" in choice.reason
    assert P.choose_precision("auto", "cpu", probe=probe).name == want
    assert len(calls) == 1  # cached
    entry = next(iter(json.loads((P.cache_root() / P.PROBE_FILE).read_text()).values()))
    assert entry["ratio"] == ratio and json.loads(entry["model"])["size"] == 32


def test_the_cache_key_changes_with_the_model(monkeypatch, tmp_path):
    monkeypatch.setattr(P, "cpu_info", lambda: SAPPHIRE)
    calls: list = []
    measure = _fake_measure(2.0, calls)
    variants = [
        {},
        {"generator": {"name": "resnet", "n_blocks": 1, "ngf": 8, "norm": "instance"}},
        {"generator": {"name": "mobile_resnet", "n_blocks": 1, "ngf": 4}},
        {"discriminator": {"name": "patchgan", "ndf": 8, "n_layers": 2}},
        {"optim": {"batch_size": 1}},
        {"data": {"load_size": 64, "crop_size": 64}},
        {},  # the first again: cached
    ]
    signatures = []
    for sections in variants:
        recipe, model = _model(tmp_path, **sections)
        probe = probe_mod.model_probe(recipe, model, measure=measure)
        signatures.append(probe.signature)
        P.choose_precision("auto", "cpu", probe=probe)
    assert len(set(signatures)) == len(variants) - 1 == len(calls)
    assert signatures[0] == signatures[-1]


def test_forced_precisions_are_still_refused_without_native_units(monkeypatch, tmp_path):
    monkeypatch.setattr(P, "cpu_info", lambda: AVX2_CPU)
    recipe, model = _model(tmp_path)
    calls: list = []
    probe = probe_mod.model_probe(recipe, model, measure=_fake_measure(5.0, calls))
    auto = P.choose_precision("auto", "cpu", probe=probe)
    assert auto.name == "fp32" and "no AMX-BF16 or AVX512-BF16" in auto.reason
    for forced in ("bf16", "fp16"):
        with pytest.raises(RecipeError, match=f"train.precision = '{forced}'.*emulated"):
            P.choose_precision(
                forced, "cpu", option="train.precision", error=RecipeError, probe=probe
            )
    assert calls == []  # the flags decide: nothing measured


def test_engine_probes_its_own_networks_and_leaves_the_run_untouched(monkeypatch, tmp_path):
    monkeypatch.setattr(P, "cpu_info", lambda: SAPPHIRE)
    calls: list = []
    monkeypatch.setattr(P, "measure_steps", _fake_measure(1.9, calls))
    recipe = tiny_recipe(tmp_path, train={"precision": "auto"})
    auto = Engine(recipe, torch.device("cpu"), get_registry())
    rng_after_probe = torch.get_rng_state()
    assert auto.precision.name == "bf16" and len(calls) == 1
    assert "this run's generator and discriminator at 32 px" in auto.precision.describe()
    fp32 = Engine(tiny_recipe(tmp_path), torch.device("cpu"), get_registry())
    assert torch.equal(rng_after_probe, torch.get_rng_state())  # the random stream untouched
    for role, net in fp32.nets.items():  # same initial weights: the probe used copies
        other = auto.nets[role].state_dict()
        assert all(torch.equal(v, other[k]) for k, v in net.state_dict().items()), role


def test_the_real_probe_measures_both_precisions(tmp_path):
    recipe, model = _model(tmp_path)
    result = probe_mod.model_probe(recipe, model).measure()
    assert result["fp32_ms"] > 0 and result["bf16_ms"] > 0 and result["ratio"] > 0
