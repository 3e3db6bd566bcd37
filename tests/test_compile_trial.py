"""``train.compile = "auto"`` without a recorded compiled pace: the in-run compile trial
(translkit.compile_trial) — its decision on fake step times, the runtime's plan,
and whole runs whose fake clock makes the compiled step faster or slower."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from training_support import tiny_recipe

from translkit import compile_trial as T
from translkit import runtime as R
from translkit.training import train
from translkit.training import trainer as trainer_module

STEADY = T.SETTLE + T.EAGER_STEPS  # eager steps before the trial may start
TIMED = T.SETTLE + T.COMPILED_STEPS  # compiled steps before it decides


@pytest.fixture(autouse=True)
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("TRANSLKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


class Recorder:
    def __init__(self, works: bool = True, agree: bool = True) -> None:
        self.switches: list[bool] = []
        self.recorded: dict[str, float] = {}
        self.works, self.agrees = works, agree

    def trial(self, compile_s: float = 0.0) -> T.CompileTrial:
        def switch(on: bool) -> bool:
            self.switches.append(on)
            return self.works

        def record(**seconds: float) -> None:
            self.recorded.update(seconds)

        return T.CompileTrial(switch, lambda flag: flag and self.agrees, record, compile_s)


def _feed(trial: T.CompileTrial, eager: float, compiled: list[float], left: int) -> list[str]:
    lines = [trial.after_step(eager, left) for _ in range(STEADY)]
    return lines + [trial.after_step(t, left) for t in compiled]


def test_a_faster_compiled_step_is_kept_and_both_paces_are_recorded():
    rec = Recorder()
    trial = rec.trial()
    compiled = [60.0, 2.0, 0.5] + [0.5] * T.COMPILED_STEPS  # the first steps compile
    lines = [line for line in _feed(trial, 1.0, compiled, left=10**5) if line]
    assert rec.switches == [True, True] and trial.kept  # on, then still compiling
    assert rec.recorded == pytest.approx({"eager_s": 1.0, "compiled_s": 0.5, "compile_s": 61.0})
    assert "compiled 2.00× eager here (61 s to compile), kept" in trial.reason
    assert len(lines) == 2 and "compiled from here on" in lines[-1]


def test_a_slower_compiled_step_goes_back_to_eager():
    rec = Recorder()
    trial = rec.trial()
    _feed(trial, 1.0, [30.0] + [1.2] * (TIMED - 1), left=10**5)
    assert rec.switches[-1] is False and trial.state == "dropped"
    assert rec.recorded["compiled_s"] == pytest.approx(1.2)
    assert "0.83× eager" in trial.reason and "eager kept" in trial.reason


def test_within_the_margin_eager_is_kept():
    rec = Recorder()
    trial = rec.trial()
    _feed(trial, 1.0, [30.0] + [0.97] * (TIMED - 1), left=10**5)  # 1.03× < COMPILE_MARGIN
    assert trial.state == "dropped" and rec.switches[-1] is False


def test_a_run_too_short_to_cover_the_compile_time_never_compiles():
    rec = Recorder()
    trial = rec.trial()
    left = int(T.ASSUMED_COMPILE_S / T.SHARE) - 1  # at 1 s a step: just too few
    _feed(trial, 1.0, [], left=left)
    assert trial.state == "skipped" and rec.switches == [] and rec.recorded == {}
    assert f"{left} steps left" in trial.reason


def test_a_recorded_compile_time_replaces_the_assumed_one():
    rec = Recorder()
    trial = rec.trial(compile_s=10 * T.ASSUMED_COMPILE_S)
    _feed(trial, 1.0, [], left=int(2 * T.ASSUMED_COMPILE_S / T.SHARE))
    assert trial.state == "skipped" and rec.switches == []


def test_a_failed_compilation_ends_the_trial_in_eager_without_a_record():
    rec = Recorder(works=False)
    trial = rec.trial()
    _feed(trial, 1.0, [], left=10**5)
    assert trial.state == "failed" and rec.switches == [True, False] and rec.recorded == {}


def test_every_process_must_agree_to_start():
    rec = Recorder(agree=False)
    trial = rec.trial()
    _feed(trial, 1.0, [], left=10**5)
    assert trial.state == "skipped" and rec.switches == []


def _plan(tmp_path: Path, monkeypatch, measured: dict, steps: int = 10**4, **train):
    monkeypatch.setattr(R, "have_compiler", lambda: "g++")
    recipe = tiny_recipe(tmp_path, run={"deterministic": False}, train=train)
    runtime = R.Runtime(torch.device("cpu"), R.policy.Choice("fp32", torch.float32, ""))
    if measured:
        R.record_step_times(R.step_key(recipe, runtime), **measured)
    return R._with_compile(runtime, recipe, steps)


def test_the_runtime_plans_a_trial_only_where_nothing_compiled_was_timed(tmp_path, monkeypatch):
    planned = _plan(tmp_path, monkeypatch, {})
    assert planned.compile_trial and not planned.compile
    assert "compile trial" in planned.describe()
    assert not _plan(tmp_path, monkeypatch, {}, steps=20).compile_trial  # too short to time
    assert not _plan(tmp_path, monkeypatch, {}, compile="off").compile_trial
    assert not _plan(tmp_path, monkeypatch, {"eager_s": 0.001}).compile_trial  # 10 s of work
    assert _plan(tmp_path, monkeypatch, {"eager_s": 1.0}).compile_trial
    timed = {"eager_s": 1.0, "compiled_s": 1.2, "compile_s": 30.0}
    assert not _plan(tmp_path, monkeypatch, timed).compile_trial  # decided from the record


@pytest.mark.parametrize("deterministic, compiler", [(True, "g++"), (False, "")])
def test_no_trial_in_a_deterministic_run_or_without_a_compiler(
    tmp_path, monkeypatch, deterministic, compiler
):
    monkeypatch.setattr(R, "have_compiler", lambda: compiler)
    recipe = tiny_recipe(tmp_path, run={"deterministic": deterministic})
    runtime = R.Runtime(torch.device("cpu"), R.policy.Choice("fp32", torch.float32, ""))
    assert not R._with_compile(runtime, recipe, 10**4).compile_trial


class StepClock:
    """A fake clock for the trainer's step timer: an eager step takes 1 s; a step that ran
    a compiled network takes ``compiled`` s, the first one ``compile_s`` more."""

    def __init__(self, compiled: float, compile_s: float = 5.0) -> None:
        self.now, self.in_step, self.compiled_calls, self.total_compiled = 0.0, False, 0, 0
        self.compiled, self.compile_s = compiled, compile_s

    def __call__(self) -> float:
        if self.in_step:  # a step ends
            if self.compiled_calls:
                first = self.total_compiled == 0
                self.now += self.compiled + (self.compile_s if first else 0.0)
                self.total_compiled += self.compiled_calls
            else:
                self.now += 1.0
            self.compiled_calls = 0
        self.in_step = not self.in_step
        return self.now

    def fake_compile(self, net, **kwargs):
        def run(*args, **kw):
            self.compiled_calls += 1
            return net(*args, **kw)

        return run


def _trial_run(tmp_path: Path, monkeypatch, clock: StepClock, name: str = "run"):
    monkeypatch.setattr(R, "have_compiler", lambda: "g++")
    monkeypatch.setattr(torch, "compile", clock.fake_compile)
    monkeypatch.setattr(trainer_module._Pace, "clock", staticmethod(clock))
    monkeypatch.setattr(T, "ASSUMED_COMPILE_S", 0.5)
    recipe = tiny_recipe(
        tmp_path,
        name=name,
        run={"deterministic": False},
        optim={"epochs": 10, "batch_size": 1},  # 40 steps
        train={"sample_every": 0, "compile": "auto"},
        eval={"every": 0},
    )
    return recipe, train(recipe, progress=False)


def test_a_run_keeps_the_compiled_step_its_clock_measured_faster(tmp_path, monkeypatch):
    clock = StepClock(compiled=0.5)
    _, result = _trial_run(tmp_path, monkeypatch, clock)
    runtime = result.summary["runtime"]
    assert runtime["compile"] is True and runtime["compile_trial"] is True
    assert runtime["reasons"]["compile"].startswith("auto: trial: compiled 2.00× eager here")
    # the compiled networks ran every step from the trial on: 40 - 13 steps
    assert clock.total_compiled > 0 and clock.now == pytest.approx(STEADY + 27 * 0.5 + 5.0)
    # the next run of these networks decides at its start, without a trial
    clock2 = StepClock(compiled=0.5)
    _, again = _trial_run(tmp_path, monkeypatch, clock2, name="again")
    reasons = again.summary["runtime"]
    assert reasons["compile"] is True and reasons["compile_trial"] is False
    assert reasons["reasons"]["compile"].startswith("auto: compiled 2.00× eager here")


def test_a_run_goes_back_to_eager_where_its_clock_measured_compiled_slower(tmp_path, monkeypatch):
    clock = StepClock(compiled=1.5)
    _, result = _trial_run(tmp_path, monkeypatch, clock)
    runtime = result.summary["runtime"]
    assert runtime["compile"] is False
    assert "eager kept" in runtime["reasons"]["compile"]
    calls_in_trial = clock.total_compiled
    assert calls_in_trial > 0  # compiled during the trial only: the rest ran eager
    assert clock.now == pytest.approx(STEADY + TIMED * 1.5 + 5.0 + (40 - STEADY - TIMED))


def test_a_compilation_that_fails_during_the_trial_records_nothing():
    rec = Recorder()
    trial = rec.trial()
    _feed(trial, 1.0, [30.0] * (TIMED - 1), left=10**5)
    rec.works = False  # the wrappers fell back to eager while the trial timed them
    trial.after_step(1.0, 10**5)
    assert trial.state == "failed" and rec.switches[-1] is False and rec.recorded == {}


def test_the_dry_run_says_how_auto_decides_compilation(tmp_path):
    recipe = tiny_recipe(tmp_path, train={"compile": "auto"})
    assert "else a trial in runs of about an hour" in R.plan(recipe, torch.device("cpu"), 2)
    off = tiny_recipe(tmp_path, name="off", train={"compile": "off"})
    assert R.plan(off, torch.device("cpu"), 2).endswith("compile off")
