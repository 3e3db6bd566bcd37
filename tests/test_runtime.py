"""The runtime (translkit.runtime): every CPU fast path chosen by measuring the run's own
networks — the timing loop and the choice with fake clocks and measurements, the candidates,
the cache (keys, lock, damage), the engine's use of it, compilation's decision and fallback,
and the refusals that need no measurement."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
import torch
from test_precision import SAPPHIRE
from torch import nn
from training_support import AVX2_CPU, tiny_recipe

from translkit import get_registry
from translkit import precision as P
from translkit import runtime as R
from translkit.errors import RecipeError
from translkit.networks import build_model
from translkit.training.engine import Engine
from translkit.winograd import WinogradConv2d, eligible


@pytest.fixture(autouse=True)
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("TRANSLKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


class FakeClock:
    """A clock whose steps take the times listed per key (each call is recorded)."""

    def __init__(self, **times: list[float]) -> None:
        self.now, self.calls, self.times = 0.0, [], {k: list(v) for k, v in times.items()}

    def __call__(self) -> float:
        return self.now

    def steps(self) -> dict[str, object]:
        def step(key):
            def run() -> None:
                self.calls.append(key)
                self.now += self.times[key].pop(0)

            return run

        return {key: step(key) for key in self.times}


def test_measure_variants_takes_the_best_of_interleaved_rounds_after_a_warm_up():
    clock = FakeClock(plain=[0.01, 0.10, 0.12, 0.11], fast=[0.01, 0.05, 0.04, 0.06])
    ms = R.measure_variants(clock.steps(), rounds=3, clock=clock)
    assert clock.calls == ["plain", "fast"] * 4  # warm-up, then 3 rounds, interleaved
    assert ms == pytest.approx({"plain": 100.0, "fast": 40.0})  # the warm-ups do not count


def test_measure_variants_stops_at_its_budget_and_drops_emulated_variants():
    slow = FakeClock(plain=[2.0, 1.0, 1.2, 1.0], fast=[2.0, 0.6, 0.5, 0.5])  # over budget
    assert R.measure_variants(slow.steps(), rounds=3, clock=slow, budget=1.5) == {
        "plain": 1000.0,
        "fast": 500.0,
    }
    assert len(slow.calls) == 6  # two timed rounds at least, none after the budget
    emulated = FakeClock(plain=[0.01, 0.01, 0.01], bf16=[1.0])
    assert set(R.measure_variants(emulated.steps(), rounds=1, clock=emulated)) == {"plain"}


@pytest.mark.parametrize(
    ("measured", "want"),
    [
        # plain wins unless another variant beats it by its margin
        ({"instance/fp32/nchw": 100, "group/fp32/nchw": 99}, "instance/fp32/nchw"),
        ({"instance/fp32/nchw": 100, "group/fp32/nchw": 90}, "group/fp32/nchw"),
        ({"instance/fp32/nchw": 100, "instance/bf16/nchw": 90}, "instance/fp32/nchw"),
        ({"instance/fp32/nchw": 100, "instance/bf16/nchw": 60}, "instance/bf16/nchw"),
        # the fastest of those that pay; a group+bf16 variant needs both margins
        (
            {"instance/fp32/nchw": 100, "group/fp32/nchw": 90, "group/bf16/nchw": 85},
            "group/fp32/nchw",
        ),
        (
            {"instance/fp32/nchw": 100, "group/bf16/nchw": 50, "group/bf16/cl": 45},
            "group/bf16/cl",
        ),
        # slower than plain: never chosen
        ({"instance/fp32/nchw": 100, "group/fp32/nchw": 115}, "instance/fp32/nchw"),
        # Winograd convolutions need their own margin, on top of the group norm's
        ({"instance/fp32/nchw": 100, "instance/fp32/nchw/wino": 97}, "instance/fp32/nchw"),
        ({"instance/fp32/nchw": 100, "instance/fp32/nchw/wino": 70}, "instance/fp32/nchw/wino"),
        (
            {"instance/fp32/nchw": 100, "group/fp32/nchw": 96, "group/fp32/nchw/wino": 93},
            "group/fp32/nchw",
        ),
        (
            {"instance/fp32/nchw": 100, "group/fp32/nchw/wino": 60, "group/bf16/nchw": 80},
            "group/fp32/nchw/wino",
        ),
    ],
)
def test_the_choice_follows_the_measurement_and_is_never_slower_than_plain(measured, want):
    chosen = R.choose_variant(measured)
    assert chosen.key == want
    assert measured[chosen.key] <= measured["instance/fp32/nchw"]


def _nets(norm: str = "instance"):
    g = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.InstanceNorm2d(4, affine=True))
    if norm == "batch":
        g = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4))
    return [g, nn.Conv2d(4, 1, 3)]


def test_candidates_are_what_the_recipe_leaves_open_and_what_is_correct():
    keys = lambda vs: [v.key for v in vs]  # noqa: E731
    open_all = R.candidate_variants(_nets(), group_norm=None, bf16=None, channels_last=None)
    # channels_last only where no instance norm is left (its backward is wrong at batch 1)
    assert keys(open_all) == [
        "instance/fp32/nchw",
        "group/bf16/cl",
        "group/bf16/nchw",
        "group/fp32/cl",
        "group/fp32/nchw",
        "instance/bf16/nchw",
    ]
    fixed = R.candidate_variants(_nets(), group_norm=False, bf16=False, channels_last=None)
    assert keys(fixed) == ["instance/fp32/nchw"]
    batch_norm = R.candidate_variants(
        _nets("batch"), group_norm=None, bf16=False, channels_last=None
    )
    assert keys(batch_norm) == ["instance/fp32/nchw", "instance/fp32/cl"]  # nothing to swap
    # Winograd only in fp32 (autocast runs the direct convolution) and only with a 3×3 conv
    wino = R.candidate_variants(
        _nets(), group_norm=False, bf16=None, channels_last=False, winograd=None
    )
    assert keys(wino) == ["instance/fp32/nchw", "instance/bf16/nchw", "instance/fp32/nchw/wino"]
    no_3x3 = [nn.Sequential(nn.Conv2d(3, 4, 5, padding=2), nn.Conv2d(4, 4, 3, stride=2))]
    assert keys(
        R.candidate_variants(
            no_3x3, group_norm=None, bf16=False, channels_last=False, winograd=None
        )
    ) == ["instance/fp32/nchw"]
    opted_out = _nets()
    opted_out[0].fast_conv = opted_out[1].fast_conv = False
    assert keys(
        R.candidate_variants(
            opted_out, group_norm=False, bf16=False, channels_last=False, winograd=None
        )
    ) == ["instance/fp32/nchw"]


def _model(tmp_path: Path, **sections):
    recipe = tiny_recipe(tmp_path, **sections)
    return recipe, build_model(recipe, get_registry())


def _fake_measure(ms: dict[str, float], calls: list):
    def measure(steps):
        calls.append(sorted(steps))
        for step in steps.values():  # the real steps run: forward and backward of each variant
            step()
        return {k: ms.get(k, 1000.0) for k in steps}

    return measure


def _resolve(recipe, model, measure, **kw):
    return R.resolve_runtime(
        recipe, model, torch.device("cpu"), threads=1, fuse=True, measure=measure, **kw
    )


def test_norm_and_precision_follow_the_measurement_and_are_cached(monkeypatch, tmp_path, cache):
    monkeypatch.setattr(P, "cpu_info", lambda: SAPPHIRE)
    recipe, model = _model(tmp_path, train={"precision": "auto"})
    calls: list = []
    fast = {"instance/fp32/nchw": 100.0, "group/bf16/nchw": 40.0, "group/fp32/nchw": 95.0}
    runtime = _resolve(recipe, model, _fake_measure(fast, calls))
    assert runtime.group_norm and runtime.precision.name == "bf16" and not runtime.channels_last
    assert "bf16 measured 2.38× fp32" in runtime.precision.reason
    assert "measured 1.00× the alternative" not in runtime.describe()
    assert runtime.describe().startswith("cpu, 1 thread; bf16 autocast")
    assert _resolve(recipe, model, _fake_measure({}, calls)).group_norm  # cached: not measured
    assert len(calls) == 1
    entry = next(iter(json.loads((cache / R.PROBE_FILE).read_text()).values()))
    assert entry["group/bf16/nchw"] == 40.0
    slow = {"instance/fp32/nchw": 100.0}  # another model: measured anew, plain wins
    recipe2, model2 = _model(
        tmp_path, data={"load_size": 48, "crop_size": 48}, train={"precision": "auto"}
    )
    plain = _resolve(recipe2, model2, _fake_measure(slow, calls))
    assert not plain.group_norm and plain.precision.name == "fp32" and len(calls) == 2
    assert "not faster" in plain.precision.reason


@pytest.mark.parametrize(
    ("by_count", "want"),
    [
        ({"2": 100.0, "1": 101.0}, 2),  # equal: the budget
        ({"2": 100.0, "1": 97.0}, 2),  # faster, but within the margin: the budget
        ({"2": 100.0, "1": 90.0}, 1),  # fewer threads measured faster: fewer
        ({"2": 60.0, "1": 100.0}, 2),
    ],
)
def test_the_thread_count_follows_the_measurement(by_count, want):
    threads, why = R.choose_threads(by_count, 2)
    assert threads == want and why.startswith("measured: ")


def test_a_training_run_measures_its_thread_count_when_the_count_is_open(tmp_path, cache):
    recipe, model = _model(
        tmp_path, train={"precision": "fp32", "fast_norm": "off", "fast_conv": "off"}
    )
    calls: list = []
    fast = {"2": 100.0, "1": 80.0}
    runtime = R.resolve_runtime(
        recipe,
        model,
        torch.device("cpu"),
        threads=2,
        fuse=True,
        measure=_fake_measure(fast, calls),
        threads_open=True,
    )
    assert calls == [["1", "2"]] and runtime.threads == 1
    assert runtime.describe().startswith("cpu, 1 thread (measured: 1.25× as long otherwise)")
    assert runtime.measured_ms["threads=1"] == 80.0
    closed = R.resolve_runtime(
        recipe, model, torch.device("cpu"), threads=2, fuse=True, measure=_fake_measure(fast, calls)
    )
    assert closed.threads == 2 and len(calls) == 1  # TRANSLKIT_THREADS set: not measured


def test_the_governor_follows_a_cap_below_its_budget():
    from translkit.threads import ThreadGovernor

    before = torch.get_num_threads()
    try:
        governor = ThreadGovernor(2, adaptive=False)
        governor.mode = "auto"
        governor.cap(1)
        assert governor.budget == 1 and torch.get_num_threads() == 1
        governor.cap(4)  # never raised above the budget
        assert governor.budget == 1
    finally:
        torch.set_num_threads(before)


def test_fp32_winograd_can_beat_bf16_and_the_reason_compares_the_fastest_of_each(
    monkeypatch, tmp_path
):
    monkeypatch.setattr(P, "cpu_info", lambda: SAPPHIRE)
    calls: list = []
    measured = {
        "instance/fp32/nchw": 100.0,
        "instance/fp32/nchw/wino": 60.0,
        "instance/bf16/nchw": 80.0,
    }
    recipe, model = _model(tmp_path, train={"precision": "auto", "fast_norm": "off"})
    runtime = _resolve(recipe, model, _fake_measure(measured, calls))
    assert runtime.precision.name == "fp32" and runtime.winograd
    assert runtime.precision.reason == "auto: bf16 measured 0.75× fp32 here, not faster"
    forced = {"precision": "auto", "fast_norm": "off", "fast_conv": "on"}
    recipe, model = _model(tmp_path, train=forced)
    on = {"instance/fp32/nchw/wino": 100.0, "instance/bf16/nchw/wino": 40.0}
    bf16 = _resolve(recipe, model, _fake_measure(on, calls))
    assert bf16.precision.reason == "auto: bf16 measured 2.50× fp32 on this run's networks"
    assert not bf16.winograd and "requested, but bf16" in bf16.reasons["conv"]


def test_forced_winograd_is_not_measured_and_says_when_bf16_makes_it_inert(monkeypatch, tmp_path):
    calls: list = []
    forced = {"fast_norm": "off", "channels_last": "off", "fast_conv": "on"}
    recipe, model = _model(tmp_path, train=forced)
    runtime = _resolve(recipe, model, _fake_measure({}, calls))
    assert calls == [] and runtime.winograd and runtime.reasons["conv"] == "requested"
    monkeypatch.setattr(P, "cpu_info", lambda: SAPPHIRE)
    recipe, model = _model(tmp_path, train={**forced, "precision": "bf16"})
    bf16 = _resolve(recipe, model, _fake_measure({}, calls))
    assert calls == [] and bf16.precision.name == "bf16" and not bf16.winograd
    assert "direct convs (requested, but bf16 runs the direct kernels)" in bf16.describe()


def test_forced_choices_are_not_measured_and_refusals_need_no_measurement(monkeypatch, tmp_path):
    monkeypatch.setattr(P, "cpu_info", lambda: AVX2_CPU)
    calls: list = []
    recipe, model = _model(
        tmp_path, train={"fast_norm": "on", "channels_last": "off", "fast_conv": "off"}
    )
    runtime = _resolve(recipe, model, _fake_measure({}, calls))
    assert runtime.group_norm and calls == [] and runtime.reasons["norm"] == "requested"
    for forced in ("bf16", "fp16"):
        recipe, model = _model(tmp_path, train={"precision": forced})
        with pytest.raises(RecipeError, match=f"train.precision = '{forced}'.*emulated"):
            _resolve(recipe, model, _fake_measure({}, calls))
    assert calls == []
    recipe, model = _model(tmp_path, train={"precision": "auto"})
    auto = _resolve(recipe, model, _fake_measure({"group/fp32/nchw": 10.0}, calls))
    assert auto.precision.name == "fp32" and "no AMX-BF16 or AVX512-BF16" in auto.precision.reason
    assert calls and all("bf16" not in k for k in calls[0])  # emulated bf16 is never timed


def test_the_cache_is_shared_safely_by_concurrent_processes(monkeypatch, tmp_path, cache):
    """Two probes at once (sweep trials, DDP workers): one measures, the other waits and
    reads its result; a damaged cache is measured again, not trusted."""
    measured = []

    def slow_measure():
        measured.append(1)
        threading.Event().wait(0.2)
        return {"instance/fp32/nchw": 5.0}

    threads = [
        threading.Thread(target=R.cached_measurement, args=("k", slow_measure)) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(measured) == 1
    (cache / R.PROBE_FILE).write_text("{not json")
    assert R.cached_measurement("k", slow_measure) == {"instance/fp32/nchw": 5.0}
    assert len(measured) == 2


def test_engine_uses_its_runtime_and_leaves_the_run_untouched(monkeypatch, tmp_path):
    monkeypatch.setattr(P, "cpu_info", lambda: SAPPHIRE)
    calls: list = []
    monkeypatch.setattr(
        R,
        "measure_variants",
        _fake_measure({"group/bf16/nchw": 1.0, "instance/fp32/nchw": 9.0}, calls),
    )
    recipe = tiny_recipe(tmp_path, train={"precision": "auto"})
    auto = Engine(recipe, torch.device("cpu"), get_registry())
    rng_after_probe = torch.get_rng_state()
    assert auto.precision.name == "bf16" and auto.runtime.group_norm and len(calls) == 1
    assert not any(isinstance(m, nn.InstanceNorm2d) for m in auto.nets["G_AB"].modules())
    fp32 = Engine(
        tiny_recipe(tmp_path, train={"fast_norm": "off"}), torch.device("cpu"), get_registry()
    )
    assert any(isinstance(m, nn.InstanceNorm2d) for m in fp32.nets["G_AB"].modules())
    assert torch.equal(rng_after_probe, torch.get_rng_state())  # the random stream untouched
    for role, net in fp32.nets.items():  # same initial weights: the probe used copies
        other = auto.nets[role].state_dict()
        assert all(torch.equal(v, other[k]) for k, v in net.state_dict().items()), role


def test_the_real_probe_times_every_variant(tmp_path):
    recipe, model = _model(tmp_path, train={"precision": "fp32"})
    runtime = R.resolve_runtime(recipe, model, torch.device("cpu"), threads=1, fuse=True)
    assert set(runtime.measured_ms) >= {"instance/fp32/nchw", "group/fp32/nchw"}
    assert all(v > 0 for v in runtime.measured_ms.values())
    summary = runtime.to_dict()
    assert summary["measured_ms"] == runtime.measured_ms and summary["device"] == "cpu"


def test_winograd_convolutions_follow_the_measurement_and_keep_the_checkpoints(
    monkeypatch, tmp_path
):
    monkeypatch.setattr(P, "cpu_info", lambda: AVX2_CPU)
    calls: list = []
    fast = {"instance/fp32/nchw": 100.0, "group/fp32/nchw": 99.0, "instance/fp32/nchw/wino": 80.0}
    monkeypatch.setattr(R, "measure_variants", _fake_measure(fast, calls))
    auto = Engine(
        tiny_recipe(tmp_path, train={"precision": "auto"}), torch.device("cpu"), get_registry()
    )
    assert "instance/fp32/nchw/wino" in calls[0] and auto.runtime.winograd
    # each flag against the chosen variant with only that flag flipped: 100 / 80, not the
    # faster group-norm variant's 99 / 80
    assert auto.runtime.reasons["conv"] == "measured: the alternative took 1.25× as long"
    assert "; Winograd 3×3 convs (measured: " in auto.runtime.describe()
    assert auto.runtime.to_dict()["winograd"] is True
    g = auto.nets["G_AB"]
    assert any(isinstance(m, WinogradConv2d) for m in g.modules())
    assert all(type(m) is not nn.Conv2d or not eligible(m) for m in g.modules())
    off = Engine(
        tiny_recipe(tmp_path, train={"fast_conv": "off"}), torch.device("cpu"), get_registry()
    )
    assert not off.runtime.winograd and off.runtime.reasons["conv"] == "off"
    assert not any(isinstance(m, WinogradConv2d) for m in off.nets["G_AB"].modules())
    assert off.nets["G_AB"].state_dict().keys() == g.state_dict().keys()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    off.nets["G_AB"].load_state_dict(g.state_dict())
    torch.testing.assert_close(g(x), off.nets["G_AB"](x), rtol=0, atol=1e-4)
    slower = {"instance/fp32/nchw": 100.0, "instance/fp32/nchw/wino": 97.0}  # within the margin
    monkeypatch.setattr(R, "measure_variants", _fake_measure(slower, calls))
    monkeypatch.setenv("TRANSLKIT_CACHE", str(tmp_path / "another cache"))
    kept = Engine(
        tiny_recipe(tmp_path / "b", train={"precision": "auto"}),
        torch.device("cpu"),
        get_registry(),
    )
    assert not kept.runtime.winograd and "; direct convs (measured: " in kept.runtime.describe()


@pytest.mark.parametrize(
    ("compile", "measured", "steps", "want"),
    [
        ("off", {}, 10**6, False),
        ("on", {}, 1, True),
        ("auto", {}, 10**6, False),  # nothing measured here yet
        ("auto", {"eager_s": 1.0, "compiled_s": 0.7, "compile_s": 100.0}, 1000, True),
        ("auto", {"eager_s": 1.0, "compiled_s": 0.7, "compile_s": 100.0}, 500, False),
        ("auto", {"eager_s": 1.0, "compiled_s": 0.98, "compile_s": 1.0}, 10**6, False),
    ],
)
def test_compile_is_decided_by_the_run_length_against_the_compile_time(
    compile, measured, steps, want
):
    on, why = R.compile_decision(compile, torch.device("cpu"), measured=measured, work=steps)
    assert on is want and why


def test_each_new_shape_costs_its_own_compilation():
    """Translating a folder: every distinct input shape compiles once."""
    measured = {"eager_s": 1.0, "compiled_s": 0.5, "compile_s": 10.0}
    cpu = torch.device("cpu")
    assert R.compile_decision("auto", cpu, measured=measured, work=100, shapes=2, unit="Mpx")[0]
    on, why = R.compile_decision("auto", cpu, measured=measured, work=100, shapes=5, unit="Mpx")
    assert not on and "50 s saved over 100 Mpx against 50 s to compile" in why


def test_pace_leaves_each_shapes_first_pass_out_and_charges_it_to_compilation():
    pace = R.Pace()
    for shape, first in (((1, 3, 8, 8), 5.0), ((1, 3, 8, 16), 7.0)):
        pace.add(shape, first, 1.0)
        pace.add(shape, 1.0, 1.0)
        pace.add(shape, 1.0, 1.0)
    assert pace.summary(compiled=False) == {"eager_s": 1.0}
    assert pace.summary(compiled=True) == {"compiled_s": 1.0, "compile_s": 5.0}
    assert R.Pace().summary(compiled=True) == {}


def test_without_a_compiler_compile_falls_back_to_eager(monkeypatch):
    monkeypatch.setattr(R, "have_compiler", lambda: "")
    on, why = R.compile_decision("on", torch.device("cpu"), measured={}, work=1)
    assert not on and "no C++ compiler" in why


def test_a_failing_compile_runs_eager_and_says_why_once(monkeypatch):
    said: list[str] = []

    def broken(net, **kwargs):
        def call(*args):
            raise RuntimeError("InvalidCxxCompiler: no working C++ compiler found")

        return call

    monkeypatch.setattr(torch, "compile", broken)
    net = nn.Linear(2, 2)
    wrapped = R.compiled(net, on_fallback=said.append)
    x = torch.ones(1, 2)
    assert torch.equal(wrapped(x), net(x)) and torch.equal(wrapped(x), net(x))
    assert len(said) == 1 and "InvalidCxxCompiler" in said[0] and "eager" in said[0]
    assert wrapped.weight is net.weight  # attributes read through


def test_a_run_records_its_pace_for_the_next_auto_decision(tmp_path):
    from translkit.training import train

    recipe = tiny_recipe(tmp_path, optim={"epochs": 4, "batch_size": 1}, train={"compile": "off"})
    result = train(recipe, progress=False)
    runtime = result.summary["runtime"]
    assert runtime["compile"] is False and runtime["reasons"]["compile"] == "off"
    key = R.step_key(recipe, R.Runtime(**{**_runtime_fields(runtime)}))
    assert R.step_times(key)["eager_s"] > 0


def _runtime_fields(saved: dict) -> dict:
    return {
        "device": torch.device(saved["device"]),
        "precision": P.Choice(saved["precision"]["name"], torch.float32, ""),
        "threads": saved["threads"],
        "group_norm": saved["group_norm"],
        "channels_last": saved["channels_last"],
        "fuse": saved["fuse"],
        "winograd": saved["winograd"],
    }


def test_legacy_boolean_compile_keys_still_load(tmp_path):
    assert tiny_recipe(tmp_path, train={"compile": True}).train.compile == "on"
    assert tiny_recipe(tmp_path, train={"compile": False}).train.compile == "off"


@pytest.mark.slow
@pytest.mark.skipif(not R.have_compiler(), reason="inductor needs a C++ compiler")
@pytest.mark.skipif(
    bool(os.environ.get("ATEN_CPU_CAPABILITY")),
    reason="under an emulated CPU class (ATEN_CPU_CAPABILITY) inductor's generated kernels "
    "segfaulted here once another test had run in the process (torch 2.14.1); a real CPU "
    "of that class compiles natively",
)
def test_compiled_outputs_and_gradients_match_eager(tmp_path, monkeypatch):
    """What ``train.compile`` and ``translate --compile`` run: inductor's kernels for a
    generator (instance norms, reflect pads, resize-convolutions) and a PatchGAN give the
    eager outputs and parameter gradients within fp32 reduction-order noise: 1e-4 of each
    tensor's scale, plus 1e-5 of the largest gradient (a conv bias before an instance norm
    has a true gradient of 0, so its values are rounding noise of the others' size)."""
    monkeypatch.setenv("TRANSLKIT_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    reg = get_registry()
    g = reg.generators.create("resnet", n_blocks=1, ngf=4, upsample="resize_conv")
    d = reg.discriminators.create("patchgan", ndf=4, n_layers=2)
    x = torch.rand(2, 3, 32, 32) * 2 - 1

    def run(gen, disc):
        gen.zero_grad(set_to_none=True)
        disc.zero_grad(set_to_none=True)
        out = gen(x)
        loss = out.abs().mean() + disc(out).square().mean()
        loss.backward()
        return out.detach(), [p.grad.clone() for p in [*g.parameters(), *d.parameters()]]

    eager_out, eager_grads = run(g, d)
    said: list[str] = []
    compiled_g = R.compiled(g, on_fallback=said.append)
    compiled_d = R.compiled(d, on_fallback=said.append)
    out, grads = run(compiled_g, compiled_d)
    assert not said, said  # compiled for real, not the eager fallback
    scale = eager_out.abs().max()
    assert (out - eager_out).abs().max() <= 1e-4 * scale
    largest = max(float(w.abs().max()) for w in eager_grads)
    for got, want in zip(grads, eager_grads, strict=True):
        assert (got - want).abs().max() <= 1e-4 * want.abs().max() + 1e-5 * largest
