"""The runtime: where and how one process computes, resolved once from the recipe, the
machine and measurements of the run's own networks on it.

A :class:`Runtime` holds every speed decision of a process: the device, the precision, the
thread budget, whether instance norms run as the identical group norm, the memory format,
whether independent passes are batched, and whether the networks are compiled, each with the
reason it was chosen. The engine, the translator, scoring and the demo receive one; the
trainer prints its one line (:meth:`Runtime.describe`) and saves it in ``summary.json``;
``translkit run --dry-run`` prints what it would measure (:func:`plan`).

On a CPU, the ``auto`` choices are **measured, not assumed**: :func:`measure_variants` times
a forward and backward of a copy of the run's first generator and discriminator at the
recipe's crop size (batch at most :data:`PROBE_BATCH`) in every variant the recipe leaves
open — instance norm kept or run as group norm, fp32 or bf16 autocast (bf16 only where the
CPU has native units), contiguous or channels_last (only for networks with no instance norm
left, whose channels_last backward is wrong at batch 1 on this torch) — at this process's
thread budget, interleaved, best of 2–3 timed rounds after a warm-up. The plain variant
(the networks' own layers, fp32, contiguous) is always measured, and another variant is
taken only when it was measured faster than plain by its margin (:data:`MARGINS`), so
``auto`` is never slower than plain eager fp32 by more than the measurement's noise.
Results are cached per CPU, flags, torch version, model signature and thread count
(:mod:`translkit.cache`, under a file lock, so that sweep trials and DDP workers that probe
at once share one measurement).

``torch.compile`` (:func:`compile_decision`) pays only where the run is long enough to earn
back its first compilation (1–8 minutes on a CPU): ``auto`` compiles when a measured gain for
this model on this machine is cached and the run's expected length earns the compile time
back twice; ``on`` always (falling back to eager, with one line that says why, where there is
no C++ compiler or compilation fails); ``off`` never. Inductor's on-disk cache lives in the
translkit cache folder, so later runs and sweep trials reuse compiled kernels.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import os
import shutil
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from translkit import precision as policy
from translkit.errors import RecipeError
from translkit.fileio import cached_entry, locked, read_json_dict, write_text_atomic
from translkit.networks import Model
from translkit.norms import instance_norm_as_group_norm, swap_instance_norms
from translkit.precision import Choice, choose_precision, prepare_module
from translkit.recipe import Recipe, TrainSection
from translkit.winograd import eligible, winograd_convs

__all__ = [
    "MARGINS",
    "PROBE_BATCH",
    "Pace",
    "Runtime",
    "Variant",
    "choose_threads",
    "choose_variant",
    "compile_decision",
    "compiled",
    "inductor_cache",
    "inference_runtime",
    "measure_variants",
    "plan",
    "record_step_times",
    "resolve_runtime",
    "rewrite_layers",
    "step_key",
    "step_times",
    "translation_key",
]

#: Images per probe step: the recipe's batch, at most this.
PROBE_BATCH = 2
#: How much faster than plain a variant must measure to be taken: bf16's casts and group
#: norm's different kernel must pay clearly, not within the noise.
MARGINS = {"bf16": 1.15, "group_norm": 1.03, "channels_last": 1.05, "winograd": 1.05}
#: Fewer threads than the budget are chosen only when measured this much faster.
THREADS_MARGIN = 1.05
PROBE_FILE = "runtime_probe.json"
#: Seconds of measuring at most (after the first round, which always runs).
PROBE_BUDGET = 6.0
_BF16 = Choice("bf16", torch.bfloat16, "probe")


@dataclass(frozen=True)
class Variant:
    """One way to run the networks: the norm layers, the precision, the memory format, the
    3×3 convolutions' algorithm."""

    group_norm: bool = False
    bf16: bool = False
    channels_last: bool = False
    winograd: bool = False

    @property
    def key(self) -> str:
        parts = ["group" if self.group_norm else "instance", "bf16" if self.bf16 else "fp32"]
        parts.append("cl" if self.channels_last else "nchw")
        return "/".join(parts + ["wino"] * self.winograd)

    @classmethod
    def from_key(cls, key: str) -> Variant:
        norm, dtype, fmt, *conv = key.split("/")
        return cls(norm == "group", dtype == "bf16", fmt == "cl", conv == ["wino"])


PLAIN = Variant()


@dataclass(frozen=True)
class Runtime:
    """Every speed decision of one process, with the reason for each (``reasons``)."""

    device: torch.device
    precision: Choice
    threads: int = 1
    group_norm: bool = False
    channels_last: bool = False
    fuse: bool = False
    compile: bool = False
    reasons: dict[str, str] = field(default_factory=dict)
    measured_ms: dict[str, float] = field(default_factory=dict)
    #: eager now, compiled on trial during the run (:mod:`translkit.compile_trial`)
    compile_trial: bool = False
    #: 3×3 convolutions by Winograd's F(4×4, 3×3) (:mod:`translkit.winograd`)
    winograd: bool = False

    def describe(self, threads: str = "", where: str = "") -> str:
        """One line: ``cpu, 2 threads; fp32 (why); group norm (why); contiguous (why); eager
        (why)``; ``threads`` replaces the thread count (the trainer's governor says more),
        ``where`` the device (the trainer adds its process count)."""
        norm = "instance norm as group norm" if self.group_norm else "the networks' own norms"
        fmt = "channels_last" if self.channels_last else "contiguous"
        threads = threads or f"{self.threads} thread{'s' * (self.threads != 1)}"
        if "threads" in self.reasons:
            threads = f"{threads} ({self.reasons['threads']})"
        parts = [
            self.precision.describe(),
            _why(norm, self.reasons.get("norm")),
            _why(fmt, self.reasons.get("format")),
            _why(
                "Winograd 3×3 convs" if self.winograd else "direct convs",
                self.reasons.get("conv"),
            ),
            _why("compiled" if self.compile else "eager", self.reasons.get("compile")),
        ]
        return f"{where or self.device}, {threads}; " + "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": str(self.device),
            "precision": self.precision.to_dict(),
            "threads": self.threads,
            "group_norm": self.group_norm,
            "channels_last": self.channels_last,
            "fuse": self.fuse,
            "compile": self.compile,
            "compile_trial": self.compile_trial,
            "winograd": self.winograd,
            "reasons": dict(self.reasons),
            "measured_ms": dict(self.measured_ms),
        }

    def choices(self) -> list[Any]:
        """The choices that decide a pace, compilation aside (part of its cache key)."""
        return [
            str(self.device),
            self.precision.name,
            self.threads,
            self.group_norm,
            self.channels_last,
            self.fuse,
            *(["winograd"] if self.winograd else []),
        ]

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def place(self, net: nn.Module) -> nn.Module:
        """``net`` as this runtime runs it (in place): norms, fp32 norms and outputs under
        autocast, device, memory format. A plugin opts out of the norm rewrite with a
        ``fast_norm = False`` attribute, and from the convolution rewrite with ``fast_conv =
        False`` (docs/plugins.md)."""
        rewrite_layers(net, group_norm=self.group_norm, winograd=self.winograd)
        prepare_module(net, self.precision)
        return net.to(self.device, memory_format=self.memory_format)


def rewrite_layers(net: nn.Module, *, group_norm: bool, winograd: bool) -> nn.Module:
    """``net`` (in place) with its instance norms as group norms and its 3×3 convolutions
    as Winograd's, as asked and as it allows (``fast_norm`` / ``fast_conv = False`` opt out):
    what the probe times and what the run then trains are the same rewrite."""
    if group_norm and getattr(net, "fast_norm", True):
        swap_instance_norms(net)
    if winograd and getattr(net, "fast_conv", True):
        winograd_convs(net)
    return net


def _why(what: str, reason: str | None) -> str:
    return f"{what} ({reason})" if reason else what


def inference_runtime(
    device: torch.device,
    *,
    precision: str = "auto",
    optimize: bool = True,
    channels_last: bool | None = None,
    compile: bool = False,
    threads: int | None = None,
) -> Runtime:
    """The runtime for translating (the :class:`~translkit.inference.Translator`, the demo,
    scoring): the precision policy of :mod:`translkit.precision` (on a CPU its one-
    convolution probe), instance norms as group norms when ``optimize``, channels_last on
    CUDA and on a CPU together with the group norms (``None``), and compilation as asked.
    On the CPUs measured (AVX512-BF16, AMX, and the AVX2 emulation) group norm in
    channels_last was the fastest inference path (``benchmarks/translate.py``)."""
    choice = choose_precision(precision, device)
    if channels_last is None:
        channels_last = device.type == "cuda" or optimize
        fmt_reason = (
            "auto: on CUDA"
            if device.type == "cuda"
            else ("auto: with the group norms" if optimize else "auto: instance norms kept")
        )
    else:
        fmt_reason = "requested"
    reasons = {
        "norm": "inference: the faster kernel" if optimize else "off",
        "format": fmt_reason,
        "compile": "requested" if compile else "off",
    }
    if compile and device.type == "cpu" and not have_compiler():
        compile, reasons["compile"] = False, "no C++ compiler for inductor (install g++): eager"
    return Runtime(
        device,
        choice,
        threads or torch.get_num_threads(),
        optimize,
        channels_last,
        False,
        compile,
        reasons,
    )


# -- translating: the convolutions' algorithm ---------------------------------------------------
#: Translating probes Winograd's convolutions only for a network with a 3×3 convolution at
#: least this wide on both sides: narrower ones lost to the direct kernel (the transforms cost
#: more than the products they save; ``benchmarks/conv_algorithms.py``).
WINOGRAD_MIN_CHANNELS = 128
#: The translation probe's input: one image of this side (the shipped models' input size).
TRANSLATION_PROBE_SIZE = 256
#: Translating measures the convolutions first only for work at least this many times the
#: measurement's own (so that it costs at most 5 % of the first folder; later ones find it cached).
PROBE_WORK = 20


def _wide_winograd_conv(net: nn.Module) -> bool:
    return getattr(net, "fast_conv", True) and any(
        eligible(m) and min(m.in_channels, m.out_channels) >= WINOGRAD_MIN_CHANNELS
        for m in net.modules()
    )


def translation_probe_pays(megapixels: float) -> bool:
    """Whether ``megapixels`` of work ahead pay for the translation probe (3 passes of one
    :data:`TRANSLATION_PROBE_SIZE` px image each way)."""
    return megapixels >= PROBE_WORK * 6 * TRANSLATION_PROBE_SIZE**2 / 1e6


def translation_probe_key(net: nn.Module, runtime: Runtime) -> str:
    """The cache key of the translation probe of ``net`` under ``runtime`` on this machine."""
    fields = _translation_fields(net, dataclasses.replace(runtime, winograd=False))
    fields.update(size=TRANSLATION_PROBE_SIZE, probe=1)  # bump when what is measured changes
    return _cache_key(json.dumps(fields, sort_keys=True))


def _forward(
    net: nn.Module, x: torch.Tensor, runtime: Runtime, winograd: bool
) -> Callable[[], None]:
    """One translation pass of a copy of ``net`` placed as ``runtime`` with or without
    Winograd's convolutions."""
    placed = dataclasses.replace(runtime, winograd=winograd).place(copy.deepcopy(net)).eval()
    x = x.contiguous(memory_format=runtime.memory_format)

    def step() -> None:
        with torch.inference_mode():
            placed(x)

    return step


def translation_convs(
    runtime: Runtime,
    net: nn.Module,
    fast_conv: bool | None,
    *,
    probe: bool,
    measure: Callable[[dict[str, Callable[[], None]]], dict[str, float]] | None = None,
) -> Runtime:
    """``runtime`` with the 3×3 convolutions' algorithm for translating with ``net``.

    ``fast_conv`` True or False forces Winograd's or the direct kernel. ``None`` (auto)
    takes Winograd's where it measured at least :data:`MARGINS` ["winograd"] faster for this
    network on this machine: an fp32 CPU runtime, a 3×3 convolution at least
    :data:`WINOGRAD_MIN_CHANNELS` wide. The measurement (a few forward passes of one
    :data:`TRANSLATION_PROBE_SIZE` px image each way) is made once per machine and cached;
    without one cached, it is made only when ``probe`` (the work ahead pays for it),
    else the direct kernel stays."""

    def with_conv(on: bool, why: str, measured: dict[str, float] | None = None) -> Runtime:
        return dataclasses.replace(
            runtime,
            winograd=on,
            reasons={**runtime.reasons, "conv": why},
            measured_ms={**runtime.measured_ms, **(measured or {})},
        )

    fp32_cpu = runtime.device.type == "cpu" and not runtime.precision.reduced
    if fast_conv:
        if not fp32_cpu:  # WinogradConv2d would run as the direct kernel anyway
            return with_conv(False, "requested, but Winograd's runs in fp32 on a CPU only")
        if not _has_winograd_conv(net):
            return with_conv(False, "requested, but no 3×3 conv to rewrite")
    if fast_conv is not None:
        return with_conv(bool(fast_conv), "requested")
    if not fp32_cpu:
        return runtime
    if not _wide_winograd_conv(net):
        return with_conv(False, f"auto: no 3×3 conv {WINOGRAD_MIN_CHANNELS}+ channels wide")
    key = translation_probe_key(net, runtime)
    measured = cached_only(key)
    if measured is None and not probe:
        return with_conv(False, "auto: not measured here yet; measured when the work ahead pays")
    if measured is None:

        def run() -> dict[str, float]:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                size = TRANSLATION_PROBE_SIZE
                x = (torch.rand(1, 3, size, size) * 2 - 1).to(runtime.device)
                steps = {
                    name: _forward(net, x, runtime, on)
                    for name, on in (("direct", False), ("winograd", True))
                }
                return (measure or measure_variants)(steps)

        measured = cached_measurement(key, run)
    direct, wino = measured.get("direct"), measured.get("winograd")
    if not direct or not wino:
        return with_conv(False, "auto: the measurement failed")
    on = direct / wino >= MARGINS["winograd"]
    ratio = direct / wino if on else wino / direct
    return with_conv(
        on,
        f"measured: the alternative took {ratio:.2f}× as long",
        {f"translate/{k}": v for k, v in measured.items()},
    )


# -- the probe ----------------------------------------------------------------------------------
def _swappable(net: nn.Module) -> bool:
    return any(
        isinstance(m, nn.InstanceNorm2d) and instance_norm_as_group_norm(m) is not None
        for m in net.modules()
    )


def _has_instance_norm(net: nn.Module) -> bool:
    return any(isinstance(m, nn.InstanceNorm2d) for m in net.modules())


def _has_winograd_conv(net: nn.Module) -> bool:
    return getattr(net, "fast_conv", True) and any(eligible(m) for m in net.modules())


def candidate_variants(
    nets: list[nn.Module],
    *,
    group_norm: bool | None,
    bf16: bool | None,
    channels_last: bool | None,
    winograd: bool | None = False,
) -> list[Variant]:
    """The variants left open (``None``: measure both; a bool: fixed), plain first.
    channels_last is a candidate only where no instance norm remains (wrong backward at
    batch 1 on this torch build); group norm only where a layer can be swapped; Winograd
    convolutions only in fp32 and where a 3×3 convolution can be rewritten."""
    swappable = any(getattr(n, "fast_norm", True) and _swappable(n) for n in nets)
    norms = [False, True] if group_norm is None and swappable else [bool(group_norm and swappable)]
    dtypes = [False, True] if bf16 is None else [bf16]
    rewritable = any(_has_winograd_conv(n) for n in nets)
    convs = [False, True] if winograd is None and rewritable else [bool(winograd and rewritable)]
    out = []
    for norm in norms:
        left_instance = any(_has_instance_norm(n) for n in nets) and not norm
        # a forced format is kept (forcing it onto instance norms is the user's call)
        formats = (
            [bool(channels_last)]
            if channels_last is not None
            else [False]
            if left_instance
            else [False, True]
        )
        out += [
            Variant(norm, dtype, fmt, conv)
            for dtype in dtypes
            for fmt in formats
            for conv in convs
            if not (conv and dtype and winograd is None)  # inert under autocast
        ]
    return sorted(set(out), key=lambda v: (v != PLAIN, v.key))


def _step(nets: list[nn.Module], x: torch.Tensor, variant: Variant) -> Callable[[], None]:
    """One forward and backward through the generator, then the discriminator on its output."""
    autocast = _BF16.autocast("cpu") if variant.bf16 else nullcontext()
    fmt = torch.channels_last if variant.channels_last else torch.contiguous_format
    prepared = []
    for net in nets:
        net = copy.deepcopy(net).cpu().train()
        rewrite_layers(net, group_norm=variant.group_norm, winograd=variant.winograd)
        prepared.append(prepare_module(net, _BF16).to(memory_format=fmt))
    x = x.contiguous(memory_format=fmt)

    def step() -> None:
        for net in prepared:
            net.zero_grad(set_to_none=True)
        with autocast:
            out = prepared[0](x)
            loss = out.float().abs().mean()
            if len(prepared) > 1:
                loss = loss + prepared[1](out).float().square().mean()
        loss.backward()

    return step


def measure_variants(
    steps: dict[str, Callable[[], None]],
    *,
    rounds: int = 3,
    clock: Callable[[], float] = time.perf_counter,
    budget: float = PROBE_BUDGET,
) -> dict[str, float]:
    """Milliseconds per call of each step: one warm-up each (not counted: it creates the
    kernels' primitives), then the best of 2 to ``rounds`` timed rounds, interleaved so
    that a busy machine slows them alike; no third round once ``budget`` seconds are spent.
    A variant 3× slower than the first in its warm-up (emulated bf16) is dropped."""
    spent = 0.0

    def timed(step: Callable[[], None]) -> float:
        nonlocal spent
        start = clock()
        step()
        took = clock() - start
        spent += took
        return took

    warm = {key: timed(step) for key, step in steps.items()}
    first = next(iter(warm.values()))
    live = [k for k in steps if warm[k] <= 3 * first]
    best = dict.fromkeys(live, float("inf"))
    for done in range(max(rounds, 2)):
        if done >= 2 and spent > budget:
            break
        for key in live:
            best[key] = min(best[key], timed(steps[key]))
    return {key: round(best[key] * 1e3, 3) for key in live}


def choose_variant(measured: dict[str, float]) -> Variant:
    """The fastest measured variant that beats plain by every margin it needs (plain when
    none does): ``auto`` is never slower than plain eager fp32 beyond the noise."""
    plain = measured.get(PLAIN.key)
    if plain is None:  # plain was not open (a forced choice): the fastest of what was
        return Variant.from_key(min(measured, key=measured.__getitem__))
    best = PLAIN
    for key, ms in measured.items():
        variant = Variant.from_key(key)
        need = 1.0
        for name, on in (
            ("bf16", variant.bf16),
            ("group_norm", variant.group_norm),
            ("channels_last", variant.channels_last),
            ("winograd", variant.winograd),
        ):
            need *= MARGINS[name] if on else 1.0
        if plain / ms >= need and ms < measured[best.key]:
            best = variant
    return best


def choose_threads(measured: dict[str, float], budget: int) -> tuple[int, str]:
    """The thread count to train with, from milliseconds per step by thread count: the
    budget, unless fewer threads measured :data:`THREADS_MARGIN` faster (more threads than
    pay only busy-wait: they slow a neighbour and gain nothing)."""
    at_budget = measured.get(str(budget))
    if at_budget is None:
        return budget, ""
    best = budget
    for count, ms in measured.items():
        if int(count) < budget and at_budget / ms >= THREADS_MARGIN and ms < measured[str(best)]:
            best = int(count)
    other = min((ms for c, ms in measured.items() if int(c) != best), default=None)
    if other is None:
        return best, ""
    return best, f"measured: {other / measured[str(best)]:.2f}× as long otherwise"


def _numbers(entry: Any) -> bool:
    return isinstance(entry, dict) and all(isinstance(v, int | float) for v in entry.values())


def cached_measurement(key: str, measure: Callable[[], dict[str, float]]) -> dict[str, float]:
    """``measure()``'s result, measured once per ``key`` on this machine (cache folder, file
    lock held while measuring, atomic write; a damaged cache is measured again)."""
    from translkit.cache import cache_dir

    entry = cached_entry(cache_dir() / PROBE_FILE, key, measure, valid=_numbers)
    return {k: float(v) for k, v in entry.items()}


def cached_only(key: str) -> dict[str, float] | None:
    """The measurement cached for ``key`` on this machine, or ``None`` (nothing measured)."""
    from translkit.cache import cache_dir

    entry = read_json_dict(cache_dir() / PROBE_FILE).get(key)
    return {k: float(v) for k, v in entry.items()} if entry and _numbers(entry) else None


@dataclass(frozen=True)
class _Probe:
    """What to measure (``measure``) and its cache identity (``signature``)."""

    signature: str
    what: str
    measure: Callable[[], dict[str, float]]


def _roles(model: Model, section: str) -> list[str]:
    return [slot.role for slot in model.method.networks if slot.section == section]


def probe_signature(recipe: Recipe, batch: int, threads: int) -> str:
    """What decides the probe's timing besides the CPU and torch (JSON, keys sorted)."""
    train = recipe.train
    return json.dumps(
        {
            "generator": recipe.generator.to_dict(),
            "discriminator": recipe.discriminator.to_dict(),
            "method": recipe.method.name,
            "size": recipe.data.crop_size,
            "batch": batch,
            "threads": threads,
            "open": [train.precision, train.fast_norm, train.channels_last, train.fast_conv],
            "probe": 4,  # bump when what is measured changes
        },
        sort_keys=True,
    )


def _cache_key(signature: str) -> str:
    return policy.machine_key(policy.cpu_info(), signature)


# -- resolving ------------------------------------------------------------------------------------
def _open_choices(train: TrainSection, device: torch.device) -> dict[str, bool | None]:
    """What the recipe leaves to measurement (``None``) and what it fixes (a bool)."""
    native_bf16 = device.type == "cpu" and bool(policy.cpu_info().native_bf16)
    bf16: bool | None = {"fp32": False, "bf16": True, "fp16": False}.get(train.precision)
    if bf16 is None and not native_bf16:
        bf16 = False
    return {
        "group_norm": {"on": True, "off": False}.get(train.fast_norm),
        "bf16": bf16,
        "channels_last": {"on": True, "off": False}.get(train.channels_last),
        "winograd": {"on": True, "off": False}.get(train.fast_conv),
    }


def plan(recipe: Recipe, device: torch.device, threads: int) -> str:
    """What :func:`resolve_runtime` would measure for ``recipe`` (``--dry-run``)."""
    if device.type != "cpu":
        return (
            f"runtime: {device}: precision {recipe.train.precision}, channels_last "
            f"{recipe.train.channels_last}, compile {recipe.train.compile}; nothing is measured"
        )
    open_ = _open_choices(recipe.train, device)
    names = {
        "group_norm": "instance vs group norm",
        "bf16": "fp32 vs bf16",
        "channels_last": "memory format",
        "winograd": "direct vs Winograd 3×3 convolutions",
    }
    measured = [names[k] for k, v in open_.items() if v is None]
    what = ", ".join(measured) if measured else "nothing (every choice fixed by the recipe)"
    batch = _probe_batch(recipe)
    return (
        f"runtime: cpu, {threads} threads; would measure {what} on this run's generator and "
        f"discriminator at {recipe.data.crop_size} px, batch {batch} (cached per machine); "
        f"compile {recipe.train.compile}"
        + (
            " (a recorded pace decides, else a trial in runs of about an hour)"
            if recipe.train.compile == "auto"
            else ""
        )
    )


def resolve_runtime(
    recipe: Recipe,
    model: Model,
    device: torch.device,
    *,
    threads: int,
    fuse: bool,
    steps: int = 0,
    all_agree: Callable[[bool], bool] = lambda flag: flag,
    measure: Callable[[dict[str, Callable[[], None]]], dict[str, float]] | None = None,
    threads_open: bool = False,
) -> Runtime:
    """The runtime for training ``model`` on ``device``.

    :param threads: this process's thread budget (:func:`translkit.threads.thread_budget`).
    :param threads_open: measure the chosen variant at the budget and at half of it, and
        take fewer threads where they measured :data:`THREADS_MARGIN` faster.
    :param fuse: whether the engine batches independent passes (``train.fuse``).
    :param steps: the steps this process will train (``compile = "auto"`` weighs them).
    :param all_agree: across processes, whether every one measured a reduced precision
        faster (DDP); a single process agrees with itself.
    :param measure: times the variants (default :func:`measure_variants`; tests inject a
        fake clock through it).
    """
    train = recipe.train
    reasons: dict[str, str] = {}
    measured: dict[str, float] = {}
    if device.type != "cpu":
        precision = choose_precision(
            train.precision, device, option="train.precision", error=RecipeError
        )
        channels_last = train.channels_last != "off"
        reasons["format"] = "auto: on CUDA" if train.channels_last == "auto" else "requested"
        runtime = Runtime(device, precision, threads, False, channels_last, fuse, False, reasons)
        return _with_compile(runtime, recipe, steps)
    if train.precision != "auto":  # refused before anything is measured
        choose_precision(train.precision, device, option="train.precision", error=RecipeError)
    open_ = _open_choices(train, device)
    variant = Variant(
        bool(open_["group_norm"]),
        bool(open_["bf16"]),
        bool(open_["channels_last"]),
        bool(open_["winograd"]),
    )
    probe = _probe(recipe, model, threads, open_, measure)
    if probe is not None:
        measured = cached_measurement(_cache_key(probe.signature), probe.measure)
        variant = choose_variant(measured)
    precision = _precision(
        train, variant, measured if open_["bf16"] is None else {}, device, all_agree
    )
    if precision.name != "bf16" and variant.bf16:  # another process measured fp32 faster
        variant = Variant(variant.group_norm, False, variant.channels_last)
    reasons["norm"] = _reason(measured, variant, "group_norm", open_["group_norm"] is None)
    reasons["format"] = _reason(measured, variant, "channels_last", open_["channels_last"] is None)
    reasons["conv"] = _reason(measured, variant, "winograd", open_["winograd"] is None)
    if open_["winograd"] and precision.name != "fp32":  # forced on, but autocast runs direct
        variant = dataclasses.replace(variant, winograd=False)
        reasons["conv"] = f"requested, but {precision.name} runs the direct kernels"
    counts = _thread_probe(recipe, model, threads, variant, measure) if threads_open else None
    if counts is not None:
        by_count = cached_measurement(_cache_key(counts.signature), counts.measure)
        threads, why = choose_threads(by_count, threads)
        measured = {**measured, **{f"threads={c}": ms for c, ms in by_count.items()}}
        if why:
            reasons["threads"] = why
    runtime = Runtime(
        device,
        precision,
        threads,
        variant.group_norm,
        variant.channels_last,
        fuse,
        False,
        reasons,
        measured,
        winograd=variant.winograd,
    )
    return _with_compile(runtime, recipe, steps)


def _with_compile(runtime: Runtime, recipe: Recipe, steps: int) -> Runtime:
    measured = step_times(step_key(recipe, runtime))
    on, why = compile_decision(recipe.train.compile, runtime.device, measured=measured, work=steps)
    trial = _compile_trial(recipe, runtime, measured, steps) if not on else False
    if trial:
        why = f"{why}; a compile trial if the run is long enough"
    reasons = {**runtime.reasons, "compile": why}
    return dataclasses.replace(runtime, compile=on, compile_trial=trial, reasons=reasons)


def _compile_trial(
    recipe: Recipe, runtime: Runtime, measured: dict[str, float], steps: int
) -> bool:
    """Whether ``auto`` tries compilation during this run: on a CPU with a C++ compiler,
    where no compiled pace of these networks was recorded here, in a run that is not
    ``deterministic`` (a trial's outcome depends on the clock), with steps enough to time
    both paces and, where an eager pace was recorded, to earn a trial's compile time
    (:mod:`translkit.compile_trial`)."""
    from translkit import compile_trial as trial

    if recipe.train.compile != "auto" or recipe.run.deterministic:
        return False
    if runtime.device.type != "cpu" or not have_compiler() or "compiled_s" in measured:
        return False
    if steps <= 2 * trial.SETTLE + trial.EAGER_STEPS + trial.COMPILED_STEPS:
        return False
    eager = measured.get("eager_s")
    return eager is None or steps * eager * trial.SHARE >= trial.ASSUMED_COMPILE_S


def _probe_nets(model: Model) -> list[nn.Module]:
    """What every probe times: the run's first generator and its first discriminator."""
    generators, discriminators = _roles(model, "generator"), _roles(model, "discriminator")
    return [model.nets[r] for r in [generators[0], *discriminators[:1]]] if generators else []


def _measuring(
    recipe: Recipe,
    threads: int,
    steps: Callable[[torch.Tensor], dict[str, Callable[[], None]]],
    measure: Callable[[dict[str, Callable[[], None]]], dict[str, float]] | None,
) -> Callable[[], dict[str, float]]:
    """A probe's measurement: the named ``steps(x)`` timed (:func:`measure_variants`) at
    ``threads`` on a fixed input of the run's crop size and probe batch; the run's random
    stream and thread count are left as they were."""
    size, batch = recipe.data.crop_size, _probe_batch(recipe)

    def run() -> dict[str, float]:
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                x = torch.rand(batch, 3, size, size) * 2 - 1
                return (measure or measure_variants)(steps(x))
        finally:
            torch.set_num_threads(previous)

    return run


def _probe_batch(recipe: Recipe) -> int:
    return max(1, min(recipe.optim.batch_size, PROBE_BATCH))


def _probe(
    recipe: Recipe,
    model: Model,
    threads: int,
    open_: dict[str, bool | None],
    measure: Callable[[dict[str, Callable[[], None]]], dict[str, float]] | None,
) -> _Probe | None:
    nets = _probe_nets(model)
    if not nets or all(v is not None for v in open_.values()):
        return None
    variants = candidate_variants(
        nets,
        group_norm=open_["group_norm"],
        bf16=open_["bf16"],
        channels_last=open_["channels_last"],
        winograd=open_["winograd"],
    )
    if len(variants) < 2:
        return None
    size, batch = recipe.data.crop_size, _probe_batch(recipe)
    what = f"this run's generator and discriminator at {size} px, batch {batch}"
    run = _measuring(
        recipe, threads, lambda x: {v.key: _step(nets, x, v) for v in variants}, measure
    )
    return _Probe(probe_signature(recipe, batch, threads), what, run)


def _thread_probe(
    recipe: Recipe,
    model: Model,
    threads: int,
    variant: Variant,
    measure: Callable[[dict[str, Callable[[], None]]], dict[str, float]] | None,
) -> _Probe | None:
    """The chosen variant's step at the thread budget and at half of it."""
    nets = _probe_nets(model)
    if threads < 2 or not nets:
        return None
    counts = [threads, threads // 2]

    def at(count: int, step: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            torch.set_num_threads(count)
            step()

        return run

    def steps(x: torch.Tensor) -> dict[str, Callable[[], None]]:
        step = _step(nets, x, variant)
        return {str(c): at(c, step) for c in counts}

    signature = json.loads(probe_signature(recipe, _probe_batch(recipe), threads))
    signature.update(variant=variant.key, counts=counts)
    what = f"{variant.key} at {counts} threads"
    return _Probe(
        json.dumps(signature, sort_keys=True), what, _measuring(recipe, threads, steps, measure)
    )


def _precision(
    train: TrainSection,
    variant: Variant,
    measured: dict[str, float],
    device: torch.device,
    all_agree: Callable[[bool], bool],
) -> Choice:
    if train.precision != "auto":
        return choose_precision(
            train.precision, device, option="train.precision", error=RecipeError
        )
    if not measured:  # no native bf16 here: choose_precision says why
        return choose_precision("auto", device, option="train.precision", error=RecipeError)
    # the fastest fp32 variant against the fastest bf16 one (Winograd is fp32 only)
    by_dtype: dict[bool, float] = {}
    for key, ms in measured.items():
        bf16 = Variant.from_key(key).bf16
        by_dtype[bf16] = min(by_dtype.get(bf16, float("inf")), ms)
    ratio = by_dtype.get(False, 0.0) / max(by_dtype.get(True, float("inf")), 1e-9)
    agreed = all_agree(variant.bf16)  # a collective: every process calls it
    if variant.bf16 and not agreed:
        return Choice("fp32", torch.float32, "auto: another process measured fp32 faster")
    if variant.bf16:
        return Choice(
            "bf16", torch.bfloat16, f"auto: bf16 measured {ratio:.2f}× fp32 on this run's networks"
        )
    return Choice("fp32", torch.float32, f"auto: bf16 measured {ratio:.2f}× fp32 here, not faster")


def _reason(measured: dict[str, float], chosen: Variant, flag: str, was_open: bool) -> str:
    """Why ``flag`` of ``chosen`` is what it is: how much longer ``chosen`` with only this
    flag flipped took, so each flag shows its own effect (the fastest variant with the other
    setting where that one was not measured)."""
    if not was_open:
        return "requested" if getattr(chosen, flag) else "off"
    flipped = dataclasses.replace(chosen, **{flag: not getattr(chosen, flag)}).key
    others = (
        [measured[flipped]]
        if flipped in measured
        else [
            ms
            for k, ms in measured.items()
            if getattr(Variant.from_key(k), flag) != getattr(chosen, flag)
        ]
    )
    if not others or chosen.key not in measured:
        return {
            "group_norm": "no instance norm to rewrite",
            "channels_last": "instance norms remain",
            "winograd": "no 3×3 convolution to rewrite, or bf16",
        }[flag]
    ratio = min(others) / measured[chosen.key]
    return f"measured: the alternative took {ratio:.2f}× as long"


# -- compilation ---------------------------------------------------------------------------------
STEPS_FILE = "runtime_steps.json"
#: A compiled step must measure at least this much faster than eager to be chosen.
COMPILE_MARGIN = 1.05


def have_compiler() -> str:
    """The C++ compiler inductor would use on the CPU, or ``""``."""
    found = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    return found or shutil.which("clang++") or ""


def step_key(recipe: Recipe, runtime: Runtime) -> str:
    """The cache key of a training step's timing on this machine: the model, size, batch,
    method and the runtime's choices other than compilation."""
    fields = {
        "generator": recipe.generator.to_dict(),
        "discriminator": recipe.discriminator.to_dict(),
        "method": recipe.method.name,
        "size": recipe.data.crop_size,
        "batch": recipe.optim.batch_size,
        "runtime": runtime.choices(),
    }
    return _cache_key(json.dumps(fields, sort_keys=True))


def step_times(key: str) -> dict[str, float]:
    """What earlier runs here measured for ``key``: ``eager_s`` and ``compiled_s`` per step,
    ``compile_s`` for the first compiled steps beyond the steady pace (empty: nothing)."""
    from translkit.cache import cache_dir

    entry = read_json_dict(cache_dir() / STEPS_FILE).get(key)
    if not isinstance(entry, dict):
        return {}
    return {k: float(v) for k, v in entry.items() if isinstance(v, int | float)}


def record_step_times(key: str, **seconds: float) -> None:
    """Remember a finished run's pace here (under the cache's lock; last run wins)."""
    from translkit.cache import cache_dir

    path = cache_dir() / STEPS_FILE
    with locked(path), contextlib.suppress(OSError):
        cache = read_json_dict(path)
        entry = cache.get(key) if isinstance(cache.get(key), dict) else {}
        cache[key] = {**entry, **{k: round(v, 4) for k, v in seconds.items()}}
        write_text_atomic(path, json.dumps(cache, indent=1, sort_keys=True))


def compile_decision(
    mode: str,
    device: torch.device,
    *,
    measured: dict[str, float],
    work: float,
    shapes: int = 1,
    unit: str = "steps",
) -> tuple[bool, str]:
    """Whether to compile ``work`` units (training steps, or megapixels translated) seen in
    ``shapes`` input shapes, and why (module docstring). ``mode`` is ``auto``, ``on`` or
    ``off``. ``auto`` compiles where earlier runs here measured the compiled pace
    (``compiled_s`` per unit against ``eager_s``) faster by :data:`COMPILE_MARGIN` and the
    time saved earns the compile time (``compile_s`` per shape) back twice."""
    if mode == "off":
        return False, "off"
    if device.type == "cpu" and not have_compiler():
        return False, "no C++ compiler for inductor (install g++): eager"
    if mode == "on":
        return True, "requested"
    eager, fast, cost = (measured.get(k) for k in ("eager_s", "compiled_s", "compile_s"))
    if eager is None or fast is None or cost is None:
        missing = "compiled" if eager is not None else "eager" if fast is not None else "finished"
        return False, f"auto: no {missing} run of these networks timed here yet"
    saved, cost = work * (eager - fast), cost * shapes
    gain = f"auto: compiled {eager / fast:.2f}× eager here"
    if eager / fast < COMPILE_MARGIN or saved < 2 * cost:
        return (
            False,
            f"{gain}, {saved:.3g} s saved over {work:.3g} {unit} against {cost:.3g} s to compile",
        )
    return True, f"{gain}, {cost:.0f} s to compile"


def _translation_fields(net: nn.Module, runtime: Runtime) -> dict[str, Any]:
    """What identifies a network's translation on this machine: its class and parameter
    shapes, and the runtime's choices other than compilation."""
    shapes = [(name, list(p.shape)) for name, p in net.state_dict().items()]
    return {"translate": type(net).__name__, "params": shapes, "runtime": runtime.choices()}


def translation_key(net: nn.Module, runtime: Runtime) -> str:
    """The cache key of a network's translation pace on this machine."""
    return _cache_key(json.dumps(_translation_fields(net, runtime), sort_keys=True))


class Pace:
    """Forward passes timed by input shape: the steady pace per unit of work, and for a
    compiled network what each shape's first pass cost beyond it (its compilation)."""

    def __init__(self) -> None:
        self.passes: dict[tuple[int, ...], list[tuple[float, float]]] = {}

    def add(self, shape: tuple[int, ...], seconds: float, work: float) -> None:
        self.passes.setdefault(shape, []).append((seconds, work))

    def summary(self, compiled: bool) -> dict[str, float]:
        """``compiled_s`` and ``compile_s``, or ``eager_s``: seconds per unit of work (the
        first pass of each shape left out of the pace); empty without a steady pass."""
        steady = [p for passes in self.passes.values() for p in passes[1:]]
        seconds, work = sum(s for s, _ in steady), sum(w for _, w in steady)
        if not steady or work <= 0:
            return {}
        pace = seconds / work
        if not compiled:
            return {"eager_s": pace}
        extra = [max(0.0, s - w * pace) for s, w in (p[0] for p in self.passes.values())]
        return {"compiled_s": pace, "compile_s": sum(extra) / len(extra)}


class Compiled:
    """``torch.compile(net)`` that falls back to ``net`` itself, for good, with one line
    (``on_fallback``) that says why, when compilation fails (no working C++ compiler, an
    operation inductor cannot lower). An error that eager also raises is the caller's.
    ``active`` switches between the compiled and the eager module (a compile trial);
    compilation itself happens at the first active call."""

    def __init__(
        self, net: nn.Module, on_fallback: Callable[[str], None], *, active: bool = True
    ) -> None:
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(inductor_cache()))
        self.net, self.on_fallback, self.active = net, on_fallback, active
        self.compiled: Any = torch.compile(net, dynamic=False)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.active and self.compiled is not None:
            try:
                return self.compiled(*args, **kwargs)
            except Exception as exc:  # compilation failed: run eager from now on
                last = (str(exc).strip().splitlines() or [""])[-1][:200]
                self.compiled = None
                self.on_fallback(f"torch.compile failed ({type(exc).__name__}: {last}); eager")
        return self.net(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # the module's attributes (methods read them)
        if name in ("net", "compiled", "on_fallback", "active"):
            raise AttributeError(name)
        return getattr(self.net, name)


def compiled(
    net: nn.Module, *, on_fallback: Callable[[str], None], active: bool = True
) -> Compiled:
    """``net`` compiled with eager as the fallback (:class:`Compiled`)."""
    return Compiled(net, on_fallback, active=active)


def inductor_cache() -> Path:
    """Inductor's on-disk cache, in the translkit cache folder (reused across runs)."""
    from translkit.cache import cache_dir

    return cache_dir() / "inductor"
