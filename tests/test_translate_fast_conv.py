"""Translating with Winograd's 3×3 convolutions (translkit.runtime.translation_convs): chosen
by measuring the network on this machine once the work ahead pays for it, cached per machine,
forced by ``fast_conv`` / ``--fast-conv``, never measured where it cannot pay (narrow
convolutions, bf16, CUDA), the same translation as the direct kernel's, and never taken when
scoring (scores must not depend on the machine)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from scoring_support import generators_checkpoint, write_images
from torch import nn
from typer.testing import CliRunner

from translkit import get_registry
from translkit import runtime as R
from translkit.cli import app
from translkit.inference import Translator
from translkit.inference import translate as translate_module
from translkit.precision import Choice
from translkit.runtime import inference_runtime, translation_convs
from translkit.scoring import score_generators
from translkit.winograd import WinogradConv2d


@pytest.fixture(autouse=True)
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("TRANSLKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _wide() -> nn.Module:
    """A network with one 3×3 convolution 128 channels wide (Winograd's candidate)."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 128, 1), nn.ReLU(), nn.Conv2d(128, 128, 3, padding=1), nn.Conv2d(128, 3, 1)
    )


def _narrow() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 3, 3, padding=1))


def _fp32() -> R.Runtime:
    return inference_runtime(torch.device("cpu"), precision="fp32")


def _fake(ms: dict[str, float], calls: list, run: bool = False):
    def measure(steps):
        calls.append(sorted(steps))
        for step in steps.values() if run else ():  # the real passes, each way
            step()
        return {k: ms[k] for k in steps}

    return measure


def test_the_choice_follows_the_measurement_which_is_made_once_per_machine(monkeypatch, cache):
    calls: list = []
    faster = _fake({"direct": 100.0, "winograd": 80.0}, calls)
    net = _wide()
    waiting = translation_convs(_fp32(), net, None, probe=False, measure=faster)
    assert not waiting.winograd and calls == []  # nothing measured before the work pays
    assert "direct convs (auto: not measured here yet" in waiting.describe()
    chosen = translation_convs(_fp32(), net, None, probe=True, measure=faster)
    assert calls == [["direct", "winograd"]] and chosen.winograd
    assert chosen.reasons["conv"] == "measured: the alternative took 1.25× as long"
    assert chosen.measured_ms == {"translate/direct": 100.0, "translate/winograd": 80.0}
    # the next translator of this network here reads the cache, even before any plan
    again = translation_convs(_fp32(), net, None, probe=False, measure=faster)
    assert again.winograd and len(calls) == 1
    monkeypatch.setenv("TRANSLKIT_CACHE", str(cache.parent / "another machine"))
    within = _fake({"direct": 100.0, "winograd": 97.0}, calls)  # within the 5 % margin
    kept = translation_convs(_fp32(), net, None, probe=True, measure=within)
    assert (
        not kept.winograd and kept.reasons["conv"] == "measured: the alternative took 0.97× as long"
    )


def test_forced_choices_and_the_cases_that_are_never_measured():
    calls: list = []
    measure = _fake({"direct": 100.0, "winograd": 50.0}, calls)
    on = translation_convs(_fp32(), _narrow(), True, probe=True, measure=measure)
    assert on.winograd and on.reasons["conv"] == "requested"
    off = translation_convs(_fp32(), _wide(), False, probe=True, measure=measure)
    assert not off.winograd and off.reasons["conv"] == "requested"
    no_conv = translation_convs(_fp32(), nn.Conv2d(3, 3, 1), True, probe=True, measure=measure)
    assert not no_conv.winograd and "no 3×3 conv to rewrite" in no_conv.reasons["conv"]
    narrow = translation_convs(_fp32(), _narrow(), None, probe=True, measure=measure)
    assert not narrow.winograd and "no 3×3 conv 128+ channels wide" in narrow.reasons["conv"]
    bf16 = R.Runtime(torch.device("cpu"), Choice("bf16", torch.bfloat16, "requested"))
    assert translation_convs(bf16, _wide(), None, probe=True, measure=measure) == bf16
    inert = translation_convs(bf16, _wide(), True, probe=True, measure=measure)
    assert not inert.winograd and "fp32 on a CPU only" in inert.reasons["conv"]
    assert calls == []


def test_a_translator_measures_when_told_enough_work_and_translates_as_the_direct_kernel(
    monkeypatch,
):
    calls: list = []
    fake = _fake({"direct": 100.0, "winograd": 60.0}, calls, run=True)
    monkeypatch.setattr(R, "measure_variants", fake)
    net = _wide()
    auto = Translator(net, precision="fp32")
    auto.plan(megapixels=0.5, shapes=1)  # a few images: the measurement would cost too much
    assert calls == [] and not auto.runtime.winograd
    auto.plan(megapixels=100.0, shapes=1)
    assert calls == [["direct", "winograd"]] and auto.runtime.winograd
    assert any(isinstance(m, WinogradConv2d) for m in auto.net.modules())
    assert not any(isinstance(m, WinogradConv2d) for m in net.modules())  # the caller's is kept
    direct = Translator(net, precision="fp32", fast_conv=False)
    x = torch.rand(2, 3, 40, 36) * 2 - 1
    want = direct(x)
    torch.testing.assert_close(auto(x), want, rtol=0, atol=1e-4 * float(want.abs().max()))


def test_the_translate_command_forces_either_kernel_and_says_which(tmp_path):
    ckpt = generators_checkpoint(tmp_path / "g.pt", ngf=4)
    write_images(tmp_path / "in", 2)
    runner = CliRunner()
    lines = {}
    for flag in ("--fast-conv", "--no-fast-conv"):
        out = tmp_path / flag.strip("-")
        result = runner.invoke(
            app,
            ["translate", str(ckpt), str(tmp_path / "in"), str(out), flag, "--precision", "fp32"],
        )
        assert result.exit_code == 0, result.output
        assert len(list(out.iterdir())) == 2
        lines[flag] = result.stderr.splitlines()[-1]
    assert "Winograd 3×3 convs (requested)" in lines["--fast-conv"]
    assert "direct convs (requested)" in lines["--no-fast-conv"]


def test_scores_translate_with_the_direct_kernel_whatever_the_cache_measured(monkeypatch, tmp_path):
    monkeypatch.setattr(R, "cached_only", lambda key: {"direct": 100.0, "winograd": 50.0})
    assert Translator(_wide(), precision="fp32").runtime.winograd  # a translator takes it here
    seen: list[bool] = []

    class Spy(Translator):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            seen.append(self.runtime.winograd)

    monkeypatch.setattr(translate_module, "Translator", Spy)
    root = tmp_path / "data"
    write_images(root / "testA", 2)
    write_images(root / "testB", 2, seed=1)
    data = SimpleNamespace(root=str(root))
    score_generators({"a2b": _wide()}, data, [], get_registry(), out_dir=tmp_path / "out")
    assert seen == [False]  # scores never depend on what this machine's cache measured
