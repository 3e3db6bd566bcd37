"""Which arithmetic precision training and translation run in, and why (one policy for both).

``precision = "auto"`` (the default) picks bf16 autocast where the device has native bf16
matrix units and fp32 elsewhere:

- CUDA: bf16 when the GPU supports it natively (``torch.cuda.is_bf16_supported``: Ampere
  and newer), else fp16 with a gradient scaler on GPUs with tensor cores (compute capability
  7.x: Volta, Turing), else fp32;
- CPU: bf16 when the CPU has AMX-BF16 or AVX512-BF16 (read from ``/proc/cpuinfo``, less the
  units an ``ONEDNN_MAX_CPU_ISA`` cap puts out of oneDNN's reach; BF16 on Arm) **and** a
  short probe measured bf16 faster than fp32 here (by :data:`MIN_SPEEDUP`).
  Without those units bf16 is emulated (on an AVX2-only CPU ~185× slower than fp32), so
  nothing is measured. Here the probe is one ResNet-block convolution (128 channels, 3×3,
  32×32, best of 5, well under a second; translation and the demo), cached per CPU model,
  flags and torch version; training measures its own networks instead
  (:mod:`translkit.runtime`, which calls this policy for everything but the measurement).
  Where the flags cannot be read (not Linux), the probe decides.

``fp32``, ``bf16`` and ``fp16`` can be forced; reduced precision on a CPU without native
units is refused with the reason. Under reduced precision, master weights, optimiser state
and checkpoints stay fp32 (autocast casts per operation); :func:`prepare_module` makes
normalisation layers and the networks' outputs (so every loss) run in fp32 too.
"""

from __future__ import annotations

import hashlib
import os
import platform
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import nn

from translkit.errors import TranslkitError

__all__ = [
    "PRECISIONS",
    "Choice",
    "CpuInfo",
    "cache_root",
    "choose_precision",
    "cpu_info",
    "float32_outputs",
    "machine_key",
    "measure_cpu_bf16",
    "prepare_module",
]

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
#: auto picks bf16 on a CPU only when the probe measured it at least this much faster.
MIN_SPEEDUP = 1.15
PROBE_FILE = "precision_probe.json"
_NATIVE_BF16 = {"amx_bf16": "AMX-BF16", "avx512_bf16": "AVX512-BF16", "bf16": "Arm BF16"}
_NATIVE_FP16 = {"amx_fp16": "AMX-FP16", "avx512_fp16": "AVX512-FP16", "fphp": "Arm FP16"}


@dataclass(frozen=True)
class Choice:
    """The precision a run uses: ``name`` (fp32/bf16/fp16), its ``dtype``, and why."""

    name: str
    dtype: torch.dtype
    reason: str

    @property
    def reduced(self) -> bool:
        return self.name != "fp32"

    def autocast(self, device_type: str) -> AbstractContextManager[Any]:
        """The autocast context for this choice (a no-op for fp32)."""
        if not self.reduced:
            return nullcontext()
        return torch.autocast(device_type, dtype=self.dtype)

    def describe(self) -> str:
        """One line for progress headers: ``bf16 autocast (reason)``."""
        kind = "fp32" if not self.reduced else f"{self.name} autocast"
        return f"{kind} ({self.reason})"

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "reason": self.reason}


@dataclass(frozen=True)
class CpuInfo:
    """What this CPU says about itself: model name, feature flags, torch's SIMD level."""

    model: str
    flags: frozenset[str]
    capability: str
    flags_known: bool

    def native(self, units: dict[str, str]) -> list[str]:
        return [name for flag, name in units.items() if flag in self.flags]

    @property
    def native_bf16(self) -> list[str]:
        """The native bf16 units this CPU has (AMX-BF16, AVX512-BF16, Arm BF16)."""
        return self.native(_NATIVE_BF16)

    def describe(self) -> str:
        shown = sorted(f for f in self.flags if f in _NATIVE_BF16 or f.startswith(("avx", "amx")))
        flags = " ".join(shown) if self.flags_known else "flags unknown"
        return f"{self.model}; torch CPU capability {self.capability}; {flags}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "capability": self.capability,
            "native_bf16": self.native_bf16,
            "simd_flags": sorted(f for f in self.flags if f.startswith(("avx", "amx", "sse4"))),
        }


@lru_cache(maxsize=1)
def cpu_info() -> CpuInfo:
    """This machine's CPU model and flags (``/proc/cpuinfo``) and torch's CPU capability."""
    model, flags, known = platform.processor() or platform.machine(), set(), False
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "cpu model") and value.strip():
            model = value.strip()
        elif key in ("flags", "features") and not known:
            flags, known = set(value.split()), True
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except (AttributeError, RuntimeError):
        capability = "unknown"
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "")
    flags -= _capped_flags(isa)
    if isa.strip() and isa.strip().upper() != "ALL":
        model = f"{model} (oneDNN capped at {isa.strip().upper()})"
    return CpuInfo(model or "unknown CPU", frozenset(flags), capability, known)


#: oneDNN's instruction-set caps (``ONEDNN_MAX_CPU_ISA``) below which its bf16 and fp16
#: kernels are emulated: with such a cap a newer CPU behaves like an older one, so the flags
#: of the units it may not use are dropped (``ONEDNN_MAX_CPU_ISA=AVX2`` together with
#: ``ATEN_CPU_CAPABILITY=avx2`` emulates an AVX2-only CPU, docs/training.md).
_ISA_WITHOUT_BF16 = (
    "SSE41",
    "AVX",
    "AVX2",
    "AVX2_VNNI",
    "AVX2_VNNI_2",
    "AVX512_CORE",
    "AVX512_CORE_VNNI",
)
_ISA_WITHOUT_AMX = (*_ISA_WITHOUT_BF16, "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX10_1_512")
_ISA_WITHOUT_FP16 = (*_ISA_WITHOUT_BF16, "AVX512_CORE_BF16")


def _capped_flags(isa: str) -> set[str]:
    """The CPU flags that ``ONEDNN_MAX_CPU_ISA=isa`` puts out of oneDNN's reach."""
    isa = isa.strip().upper()
    dropped: set[str] = set()
    if isa in _ISA_WITHOUT_BF16:
        dropped |= {"avx512_bf16", "bf16"}
    if isa in _ISA_WITHOUT_FP16:
        dropped |= {"avx512_fp16", "fphp"}
    if isa in _ISA_WITHOUT_AMX:
        dropped |= {"amx_bf16", "amx_fp16", "amx_int8", "amx_tile", "amx_complex"}
    return dropped


def cache_root() -> Path:
    """Where the probe's result is kept (:func:`translkit.cache.cache_dir`)."""
    from translkit.cache import cache_dir

    return cache_dir()


# -- the probe -----------------------------------------------------------------------------
def _conv_step(x: torch.Tensor, w: torch.Tensor) -> float:
    start = time.thread_time()  # CPU time of this thread: blind to other processes' load
    y = torch.nn.functional.conv2d(x, w, padding=1)
    torch.autograd.grad(y.float().square().mean(), (x, w))
    return time.thread_time() - start


def measure_cpu_bf16(rounds: int = 5) -> dict[str, float]:
    """Time a ResNet-block convolution (128 channels, 3×3, 32×32, forward and backward) in
    fp32 and in bf16 on one thread, interleaved, best of ``rounds`` (about 0.1 s in all);
    ``ratio`` is fp32 time / bf16 time. Thread CPU time, not wall time, so a busy machine
    does not skew it. Stops early when bf16 is 3× slower than fp32 (emulated bf16)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 128, 32, 32, generator=g)
    w = torch.randn(128, 128, 3, 3, generator=g) * 0.03
    pairs = {
        dtype: (x.to(dtype).requires_grad_(), w.to(dtype).requires_grad_())
        for dtype in (torch.float32, torch.bfloat16)
    }
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for dtype in pairs:  # warm-up: primitive creation, caches
            _conv_step(*pairs[dtype])
        best = {dtype: _conv_step(*pairs[dtype]) for dtype in pairs}
        if best[torch.bfloat16] > 3 * best[torch.float32]:  # emulated: do not insist
            rounds = 0
        for _ in range(rounds):
            for dtype, (xx, ww) in pairs.items():
                best[dtype] = min(best[dtype], _conv_step(xx, ww))
    finally:
        torch.set_num_threads(threads)
    fp32, bf16 = best[torch.float32], max(best[torch.bfloat16], 1e-9)
    return {"fp32_ms": fp32 * 1e3, "bf16_ms": bf16 * 1e3, "ratio": fp32 / bf16}


def machine_key(cpu: CpuInfo, extra: str = "") -> str:
    """A cache key for a measurement on this machine: CPU model and flags, torch version,
    and ``extra`` (what was measured)."""
    text = f"{cpu.model}|{' '.join(sorted(cpu.flags))}|{torch.__version__}"
    if extra:
        text += f"|{extra}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cached_cpu_probe(
    cpu: CpuInfo, measure: Callable[[], dict[str, float]] | None = None
) -> dict[str, Any]:
    """The convolution probe's result for this CPU and torch version, measured once and
    cached (under the cache file's lock: concurrent processes measure once, in turn)."""
    from translkit.fileio import cached_entry

    def measure_here() -> dict[str, Any]:
        return dict((measure or measure_cpu_bf16)(), cpu=cpu.model, torch=torch.__version__)

    return cached_entry(cache_root() / PROBE_FILE, machine_key(cpu), measure_here)


# -- the policy ----------------------------------------------------------------------------
def choose_precision(
    requested: str,
    device: torch.device | str,
    *,
    option: str = "--precision",
    error: type[TranslkitError] = TranslkitError,
) -> Choice:
    """The precision to run ``requested`` (auto/fp32/bf16/fp16) in on ``device``.

    :param option: how the user set it (``train.precision``), for messages.
    :param error: the error class to raise (a recipe key raises ``RecipeError``).
    """
    device = torch.device(device)
    if requested not in PRECISIONS:
        raise error(f"{option} {requested!r} is not a precision: use {', '.join(PRECISIONS)}")
    if requested == "fp32":
        return Choice("fp32", torch.float32, "requested")
    if device.type == "cuda":
        return _cuda_choice(requested, device, option, error)
    if device.type == "cpu":
        return _cpu_choice(requested, option, error)
    if requested == "auto":
        return Choice("fp32", torch.float32, f"auto: no reduced-precision policy for {device.type}")
    return Choice(requested, _DTYPES[requested], "requested")


def _cuda_choice(
    requested: str, device: torch.device, option: str, error: type[TranslkitError]
) -> Choice:
    name = torch.cuda.get_device_name(device)
    native = torch.cuda.is_bf16_supported(including_emulation=False)
    if requested == "fp16":
        return Choice("fp16", torch.float16, "requested (with a gradient scaler)")
    if native:
        how = "requested" if requested == "bf16" else "auto"
        return Choice("bf16", torch.bfloat16, f"{how}: {name} has native bf16")
    if requested == "bf16":
        raise error(
            f"{option} = 'bf16': {name} has no native bf16 (it would be emulated); use "
            "'fp16', 'fp32' or 'auto'"
        )
    major, minor = torch.cuda.get_device_capability(device)
    if major >= 7:  # Volta and Turing: fp16 tensor cores, no bf16
        return Choice(
            "fp16",
            torch.float16,
            f"auto: {name} (compute {major}.{minor}) has fp16 tensor cores but no native bf16 "
            "(with a gradient scaler)",
        )
    return Choice("fp32", torch.float32, f"auto: {name} has neither native bf16 nor tensor cores")


def _cpu_choice(requested: str, option: str, error: type[TranslkitError]) -> Choice:
    cpu = cpu_info()
    if requested == "fp16":
        units = cpu.native(_NATIVE_FP16)
        if not units:
            raise error(
                f"{option} = 'fp16': this CPU ({cpu.model}) has no native fp16 matrix units "
                "(no amx_fp16 or avx512_fp16 flag), so fp16 would be emulated and far slower; "
                "use 'auto', 'bf16' where supported, or 'fp32'"
            )
        return Choice("fp16", torch.float16, f"requested: CPU has {', '.join(units)}")
    units = cpu.native_bf16
    if cpu.flags_known and not units:
        why = (
            f"this CPU ({cpu.model}, torch capability {cpu.capability}) has no AMX-BF16 or "
            "AVX512-BF16 (not in /proc/cpuinfo flags, or capped by ONEDNN_MAX_CPU_ISA), so "
            "bf16 would be emulated: tens to hundreds of times slower than fp32"
        )
        if requested == "bf16":
            raise error(f"{option} = 'bf16': {why}; use 'auto' or 'fp32'")
        return Choice("fp32", torch.float32, f"auto: {why}")
    has = f"CPU has {', '.join(units)}; " if units else ""
    probe = cached_cpu_probe(cpu)
    ratio = float(probe["ratio"])
    measured = f"{has}bf16 convolutions measured {ratio:.2f}× the speed of fp32 here"
    if requested == "bf16":
        if not units and ratio < 1.0:
            raise error(f"{option} = 'bf16': {measured} (emulated); use 'auto' or 'fp32'")
        return Choice("bf16", torch.bfloat16, f"requested; {measured}")
    if ratio >= MIN_SPEEDUP:
        return Choice("bf16", torch.bfloat16, f"auto: {measured}")
    return Choice("fp32", torch.float32, f"auto: {measured} (below {MIN_SPEEDUP}×)")


# -- modules under autocast ----------------------------------------------------------------
def _to_float32(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.float()
    if isinstance(value, tuple):
        return tuple(_to_float32(v) for v in value)
    if isinstance(value, list):
        return [_to_float32(v) for v in value]
    return value


def _outputs_hook(module: nn.Module, args: Any, output: Any) -> Any:
    return _to_float32(output)


def float32_outputs(net: nn.Module) -> None:
    """Make ``net`` return fp32 tensors, so every loss computed from them runs in fp32."""
    if not getattr(net, "_translkit_fp32_outputs", False):
        net.register_forward_hook(_outputs_hook)
        net._translkit_fp32_outputs = True  # type: ignore[assignment]


def prepare_module(net: nn.Module, choice: Choice) -> nn.Module:
    """Under reduced precision: normalisation layers and the outputs of ``net`` in fp32
    (no-ops for fp32 inputs, so the module still runs unchanged without autocast)."""
    if choice.reduced:
        from translkit.norms import float32_norms

        float32_norms(net)
        float32_outputs(net)
    return net
