"""The precision policy: detection, the cached probe, refusals, fp32 norms and outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn
from training_support import AVX2_CPU

from translkit import precision as P
from translkit.errors import RecipeError, TranslkitError
from translkit.norms import float32_norms

ZEN4 = P.CpuInfo("AMD EPYC 9B14", frozenset({"avx2", "avx512f", "avx512_bf16"}), "AVX512", True)
SAPPHIRE = P.CpuInfo("Intel Xeon 8481C", frozenset({"avx512_bf16", "amx_bf16"}), "AVX512", True)
UNKNOWN = P.CpuInfo("arm", frozenset(), "DEFAULT", False)


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Replace the timing probe by a fixed ratio; count the measurements."""
    monkeypatch.setenv("TRANSLKIT_CACHE", str(tmp_path / "cache"))
    calls: list[float] = []

    def set_ratio(ratio: float) -> list[float]:
        def measure() -> dict[str, float]:
            calls.append(ratio)
            return {"fp32_ms": 10.0, "bf16_ms": 10.0 / ratio, "ratio": ratio}

        monkeypatch.setattr(P, "measure_cpu_bf16", measure)
        return calls

    return set_ratio


def _on(monkeypatch: pytest.MonkeyPatch, cpu: P.CpuInfo) -> None:
    monkeypatch.setattr(P, "cpu_info", lambda: cpu)


def test_fp32_is_always_fp32():
    choice = P.choose_precision("fp32", "cpu")
    assert (choice.name, choice.dtype, choice.reduced) == ("fp32", torch.float32, False)
    assert isinstance(choice.autocast("cpu"), type(P.nullcontext()))


def test_cpu_without_native_bf16_gets_fp32_and_refuses_forced_bf16(monkeypatch, probe):
    calls = probe(0.01)
    _on(monkeypatch, AVX2_CPU)
    auto = P.choose_precision("auto", "cpu")
    assert auto.name == "fp32" and "no AMX-BF16 or AVX512-BF16" in auto.reason
    with pytest.raises(RecipeError, match=r"^train.precision = 'bf16': this CPU \(AMD EPYC 7B13"):
        P.choose_precision("bf16", "cpu", option="train.precision", error=RecipeError)
    assert calls == []  # the flags decide: no need to time emulated bf16


@pytest.mark.parametrize("cpu", [ZEN4, SAPPHIRE], ids=["avx512_bf16", "amx_bf16"])
def test_native_bf16_cpu_gets_bf16_when_it_measures_faster(monkeypatch, probe, cpu):
    calls = probe(1.9)
    _on(monkeypatch, cpu)
    choice = P.choose_precision("auto", "cpu")
    assert choice.name == "bf16" and choice.dtype == torch.bfloat16
    assert "measured 1.90×" in choice.reason and "BF16" in choice.reason
    assert P.choose_precision("auto", "cpu").name == "bf16"
    assert calls == [1.9]  # measured once, then read from the cache
    cached = json.loads((P.cache_root() / P.PROBE_FILE).read_text())
    assert [v["ratio"] for v in cached.values()] == [1.9]


def test_native_bf16_that_measures_slow_stays_fp32_but_can_be_forced(monkeypatch, probe):
    probe(1.05)
    _on(monkeypatch, ZEN4)
    assert P.choose_precision("auto", "cpu").name == "fp32"
    forced = P.choose_precision("bf16", "cpu")
    assert forced.name == "bf16" and forced.reason.startswith("requested")


def test_unknown_flags_let_the_probe_decide(monkeypatch, probe):
    probe(0.02)
    _on(monkeypatch, UNKNOWN)
    assert P.choose_precision("auto", "cpu").name == "fp32"
    with pytest.raises(TranslkitError, match="measured 0.02× .*emulated"):
        P.choose_precision("bf16", "cpu")


def test_fp16_on_cpu_needs_native_fp16(monkeypatch):
    _on(monkeypatch, ZEN4)
    with pytest.raises(TranslkitError, match="no native fp16"):
        P.choose_precision("fp16", "cpu")
    _on(monkeypatch, P.CpuInfo("Xeon 6", frozenset({"amx_fp16", "amx_bf16"}), "AVX512", True))
    assert P.choose_precision("fp16", "cpu").name == "fp16"


def test_unknown_precision_is_one_clear_error():
    with pytest.raises(TranslkitError, match="'half' is not a precision: use auto, fp32"):
        P.choose_precision("half", "cpu")


def test_probe_cache_is_keyed_by_cpu_and_survives_garbage(monkeypatch, probe):
    calls = probe(2.0)
    P.cache_root().mkdir(parents=True)
    (P.cache_root() / P.PROBE_FILE).write_text("not json")
    _on(monkeypatch, ZEN4)
    P.choose_precision("auto", "cpu")
    _on(monkeypatch, SAPPHIRE)  # another CPU model: measured again
    P.choose_precision("auto", "cpu")
    assert calls == [2.0, 2.0]
    assert len(json.loads((P.cache_root() / P.PROBE_FILE).read_text())) == 2


def test_real_probe_returns_a_ratio():
    result = P.measure_cpu_bf16(rounds=1)
    assert result["fp32_ms"] > 0 and result["bf16_ms"] > 0 and result["ratio"] > 0
    assert torch.get_num_threads() >= 1


def test_cpu_info_reads_this_machine():
    info = P.cpu_info()
    assert info.model and info.capability
    assert set(info.to_dict()) == {"model", "capability", "native_bf16", "simd_flags"}


def test_onednn_isa_cap_hides_the_units_it_emulates(monkeypatch):
    """ONEDNN_MAX_CPU_ISA=AVX2 makes a bf16 CPU behave as an AVX2-only one; translkit's
    detection follows, so ``auto`` does not probe emulated bf16 (docs/training.md)."""
    for isa, gone in (("AVX2", True), ("avx512_core", True), ("AVX512_CORE_BF16", False)):
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", isa)
        P.cpu_info.cache_clear()
        try:
            info = P.cpu_info()
        finally:
            P.cpu_info.cache_clear()
        assert not ({"avx512_bf16", "amx_bf16", "amx_tile"} & info.flags) or not gone, isa
        assert "oneDNN capped at" in info.model
    assert not P._capped_flags("AVX512_CORE_BF16") & {"avx512_bf16"}
    assert "amx_bf16" in P._capped_flags("AVX512_CORE_BF16")
    assert not P._capped_flags("") and not P._capped_flags("ALL")


@pytest.mark.parametrize(
    ("bf16", "capability", "want"),
    [(True, (9, 0), "bf16"), (False, (7, 5), "fp16"), (False, (6, 1), "fp32")],
)
def test_cuda_auto_prefers_native_bf16_then_fp16_tensor_cores(monkeypatch, bf16, capability, want):
    """The CUDA branch's logic, on any machine: the GPU's answers are faked."""
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Fake GPU")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: bf16)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    choice = P.choose_precision("auto", "cuda")
    assert choice.name == want and "Fake GPU" in choice.reason
    assert P.choose_precision("fp16", "cuda").name == "fp16"
    if not bf16:
        with pytest.raises(TranslkitError, match="no native bf16"):
            P.choose_precision("bf16", "cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_auto_follows_native_bf16():
    choice = P.choose_precision("auto", "cuda")
    native = torch.cuda.is_bf16_supported(including_emulation=False)
    tensor_cores = torch.cuda.get_device_capability()[0] >= 7
    assert choice.name == ("bf16" if native else "fp16" if tensor_cores else "fp32")
    assert P.choose_precision("fp16", "cuda").name == "fp16"


@pytest.mark.parametrize(
    "norm",
    [nn.BatchNorm2d(4), nn.InstanceNorm2d(4, affine=True), nn.GroupNorm(2, 4), nn.GroupNorm(4, 4)],
    ids=["batch", "instance", "group", "group-per-channel"],
)
def test_norms_run_in_fp32_under_cpu_autocast(norm: nn.Module):
    net = nn.Sequential(nn.Conv2d(3, 4, 3), norm)
    x = torch.randn(2, 3, 8, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert net(x).dtype == torch.bfloat16  # what autocast alone does: a bf16 norm
    keys = list(net.state_dict())
    assert float32_norms(net) == 1 and float32_norms(net) == 1  # idempotent
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = net(x)
    assert y.dtype == torch.float32
    assert list(net.state_dict()) == keys  # checkpoints unchanged
    assert torch.allclose(net(x), net[1](net[0](x)))  # fp32 without autocast: unchanged


def test_prepare_module_gives_fp32_outputs_only_under_reduced_precision():
    net = nn.Sequential(nn.Conv2d(3, 3, 1))
    P.prepare_module(net, P.Choice("fp32", torch.float32, "requested"))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert net(torch.randn(1, 3, 4, 4)).dtype == torch.bfloat16
    P.prepare_module(net, P.Choice("bf16", torch.bfloat16, "requested"))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert net(torch.randn(1, 3, 4, 4)).dtype == torch.float32


def test_float32_group_norm_matches_an_upcast_and_keeps_only_the_bf16_input():
    from translkit.norms import Float32GroupNorm

    torch.manual_seed(0)
    plain = nn.GroupNorm(4, 8)
    nn.init.normal_(plain.weight)
    net = nn.Sequential(plain)
    float32_norms(net)
    assert isinstance(net[0], Float32GroupNorm) and net[0].weight is plain.weight
    x = torch.randn(2, 8, 6, 6).bfloat16().requires_grad_()
    saved: list[torch.dtype] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t.dtype)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = net(x)
    assert y.dtype == torch.float32 and torch.float32 not in saved[:1]  # x kept as bf16
    y.square().sum().backward()
    xf = x.detach().float().requires_grad_()
    want = torch.nn.functional.group_norm(xf, 4, plain.weight, plain.bias, plain.eps)
    assert torch.equal(y, want)
    gx, gw = torch.autograd.grad(want.square().sum(), (xf, plain.weight))
    assert x.grad.dtype == torch.bfloat16 and torch.equal(x.grad, gx.bfloat16())
    assert torch.allclose(plain.weight.grad, gw, rtol=1e-5)
