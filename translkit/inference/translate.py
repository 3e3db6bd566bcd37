"""Translate images of any size with a trained generator.

Zhu et al.'s reference ``test.py`` resizes every image to a square and runs batch 1.
Here an image keeps its own size and aspect ratio: it is reflect-padded up to the
generator's ``size_multiple`` (and to at least its ``min_size``, so a 1×1 image still
leaves every norm more than one value) and the output is cropped back. Images of equal size are
batched together; very large images can be translated in overlapping tiles blended
with linear ramps, so memory stays bounded by the tile size.

The tensor path (:class:`Translator`) is independent of files; the file path
(:mod:`translkit.inference.files`) adds decoding (any mode → RGB, EXIF orientation
applied), recursive folders, per-file error reporting and atomic writes.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import time
from collections.abc import Iterator
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from translkit.devices import parse_device
from translkit.errors import TranslkitError
from translkit.runtime import (
    Pace,
    compile_decision,
    inference_runtime,
    record_step_times,
    rewrite_layers,
    step_times,
    translation_convs,
    translation_key,
    translation_probe_pays,
)

__all__ = ["CPU_PIXELS_PER_PASS", "Precision", "Translator", "min_input_size", "pad_to_multiple"]

Precision = Literal["auto", "fp32", "bf16", "fp16"]
#: On the CPU, a forward pass holds at most this many pixels (batch × height × width):
#: larger passes spill the activations out of the caches. One thread, bf16, ResNet-9
#: (benchmarks/translate.py): at 256 px batch 1 ran 1.88 images/s, batch 8 1.44; at
#: 128 px batches 2–4 were fastest (7.1 against 6.9 at batch 1 and 8).
CPU_PIXELS_PER_PASS = 256 * 256


def _reflect_pad(x: torch.Tensor, pad_w: int, pad_h: int) -> torch.Tensor:
    """Reflect-pad right/bottom; repeats the reflection when the pad exceeds the image."""
    while pad_w > 0 or pad_h > 0:
        step_w = min(pad_w, x.shape[-1] - 1)
        step_h = min(pad_h, x.shape[-2] - 1)
        if step_w == 0 and step_h == 0:  # a 1-pixel side cannot reflect: replicate
            return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        x = F.pad(x, (0, step_w, 0, step_h), mode="reflect")
        pad_w, pad_h = pad_w - step_w, pad_h - step_h
    return x


def pad_to_multiple(x: torch.Tensor, multiple: int, minimum: int = 1) -> torch.Tensor:
    """Reflect-pad ``x`` (N, C, H, W) on the right and bottom to sides that are multiples
    of ``multiple`` and at least ``minimum``."""
    h, w = x.shape[-2:]
    target_h = max(h, minimum) + (-max(h, minimum)) % multiple
    target_w = max(w, minimum) + (-max(w, minimum)) % multiple
    if (target_h, target_w) == (h, w):
        return x
    return _reflect_pad(x, target_w - w, target_h - h)


def min_input_size(net: nn.Module, multiple: int, device: torch.device) -> int:
    """The smallest side ``net`` accepts: its ``min_size`` attribute when it declares one,
    else found by running it on zero images of ``multiple``·2^k pixels (k = 0..7)."""
    declared = getattr(net, "min_size", None)
    if isinstance(declared, int) and declared >= 1:
        return declared
    size = multiple
    with torch.inference_mode():
        while size <= 128 * multiple:
            try:
                net(torch.zeros(1, 3, size, size, device=device))
                return size
            except Exception:  # too small for some layer: try twice the size
                size *= 2
    return multiple  # nothing ran: let the real inputs report the error


def _ramp(length: int, overlap: int, device: torch.device) -> torch.Tensor:
    """1-D blending weights: 1 inside, rising linearly over ``overlap`` pixels at each end."""
    i = torch.arange(length, device=device, dtype=torch.float32)
    if overlap <= 0:
        return torch.ones(length, device=device)
    return torch.minimum(torch.ones_like(i), torch.minimum(i + 1, length - i) / (overlap + 1))


def _starts(size: int, tile: int, step: int) -> list[int]:
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, step))
    return [*starts, size - tile]


class Translator:
    """Runs a generator on ``(N, 3, H, W)`` tensors in ``[-1, 1]`` of any H and W.

    :param net: the generator (its ``size_multiple`` attribute, if any, is honoured).
    :param device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto``.
    :param tile: tile side in pixels (0, the default, translates whole images); it is
        rounded up to the generator's multiple.
    :param overlap: pixels shared by neighbouring tiles, blended linearly (default 32).
    :param batch_size: images (or tiles) per forward pass (default 8); on the CPU at most
        :data:`CPU_PIXELS_PER_PASS` pixels go through one pass (fewer images when large).
    :param precision: ``auto`` (default: bf16 autocast where the device has native bf16
        units, else fp32; :mod:`translkit.precision`), ``fp32``, ``bf16`` or ``fp16``.
        :attr:`choice` records what was chosen and why.
    :param channels_last: run in the channels-last memory format; ``None`` (default)
        enables it on CUDA, and on the CPU together with ``optimize`` (group norm is
        faster channels-last there, instance norm is not; ``benchmarks/translate.py``
        measures it). Outputs match the contiguous ones to float tolerance (tested).
    :param optimize: run a copy of ``net`` with the exact-function rewrites of
        :func:`~translkit.inference.optimize.optimize_for_inference` (default ``True``);
        ``net`` itself is never modified.
    :param compile: ``torch.compile`` the network: ``"on"`` (or ``True``), ``"off"`` (or
        ``False``, the default) or ``"auto"``: eager until :meth:`plan_compile` is told the
        work ahead, then compiled only where this machine's recorded pace for this network
        says it pays (:func:`translkit.runtime.compile_decision`). The first batch of each
        new image size compiles (about 30–120 s on a CPU), later batches run faster.
    :param fast_conv: run the 3×3 convolutions by Winograd's F(4×4, 3×3) (``True``), by the
        direct kernel (``False``), or ``None`` (default, auto): Winograd's where it measured
        faster for this network on this machine, in fp32 on a CPU, for a network with a 3×3
        convolution of 128 channels or more (:func:`translkit.runtime.translation_convs`;
        measured once per machine, when :meth:`plan` is told enough work ahead).
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        device: str | torch.device = "cpu",
        tile: int = 0,
        overlap: int = 32,
        batch_size: int = 8,
        precision: Precision = "auto",
        channels_last: bool | None = None,
        optimize: bool = True,
        compile: bool | Literal["auto", "on", "off"] = False,
        fast_conv: bool | None = None,
    ) -> None:
        self.device = parse_device(device, option="--device") if isinstance(device, str) else device
        mode = ("on" if compile else "off") if isinstance(compile, bool) else compile
        if mode not in ("auto", "on", "off"):
            raise TranslkitError(f"compile must be auto, on or off, got {compile!r}")
        self._compile_mode = mode
        #: every speed decision and its reason (:func:`translkit.runtime.inference_runtime`)
        self.runtime = inference_runtime(
            self.device,
            precision=precision,
            optimize=optimize,
            channels_last=channels_last,
            compile=mode == "on",
        )
        if mode == "auto":
            self._set_runtime(compile=False, why="auto: eager until the work ahead is known")
        self._fast_conv, self._source = fast_conv, net
        self.runtime = translation_convs(self.runtime, net, fast_conv, probe=False)
        self.choice = self.runtime.precision
        if batch_size < 1:
            raise TranslkitError(f"batch size must be at least 1, got {batch_size}")
        if tile < 0 or overlap < 0:
            raise TranslkitError(f"tile ({tile}) and overlap ({overlap}) cannot be negative")
        self.multiple = max(1, int(getattr(net, "size_multiple", 1) or 1))
        self.overlap = overlap
        self.batch_size = batch_size
        self.precision = self.choice.name
        #: Forward passes whose reduced-precision output was not finite, redone in fp32.
        self.fp32_fallbacks = 0
        self.channels_last = self.runtime.channels_last
        self.net = self.runtime.place(copy.deepcopy(net)).eval()  # ``net`` is never modified
        self._run = self._runner()
        #: Each forward pass timed on a CPU (:meth:`record_pace` keeps it for ``auto``).
        self.pace = Pace()
        #: Inputs are padded to at least this side (every norm sees more than one value).
        self.min_size = min_input_size(self.net, self.multiple, self.device)
        self.tile = max(self._round_up(tile), self._round_up(self.min_size)) if tile else 0
        if self.tile and overlap >= self.tile:
            raise TranslkitError(
                f"overlap {overlap} must be smaller than the tile size {self.tile}"
            )

    def _runner(self) -> nn.Module:
        """What a forward pass calls: the network, compiled where the runtime says so."""
        return torch.compile(self.net) if self.runtime.compile else self.net

    def _set_runtime(self, *, compile: bool, why: str) -> None:
        reasons = {**self.runtime.reasons, "compile": why}
        self.runtime = dataclasses.replace(self.runtime, compile=compile, reasons=reasons)

    def plan(self, megapixels: float, shapes: int) -> None:
        """Decide what waited for the work ahead (``megapixels`` in ``shapes`` input sizes):
        with ``fast_conv=None``, the convolutions' algorithm, measured here first where the
        work pays for it (:func:`~translkit.runtime.translation_probe_pays`); with
        ``compile="auto"``, compile now if the recorded pace of this network here earns back
        one compilation per input shape twice over."""
        if self._fast_conv is None and "translate/direct" not in self.runtime.measured_ms:
            pays = translation_probe_pays(megapixels)
            runtime = translation_convs(self.runtime, self._source, None, probe=pays)
            if runtime.winograd:
                rewrite_layers(self.net, group_norm=False, winograd=True)
            self.runtime = runtime
        if self._compile_mode != "auto":
            return
        measured = step_times(translation_key(self.net, self.runtime))
        on, why = compile_decision(
            "auto", self.device, measured=measured, work=megapixels, shapes=shapes, unit="Mpx"
        )
        self._set_runtime(compile=on, why=why)
        self._run = self._runner()

    def record_pace(self) -> None:
        """Remember this translator's measured pace on this machine (seconds per
        megapixel; compiled: also each shape's compilation), for later ``auto`` decisions."""
        summary = self.pace.summary(compiled=self.runtime.compile)
        if summary:
            record_step_times(translation_key(self.net, self.runtime), **summary)

    def _round_up(self, size: int) -> int:
        return math.ceil(size / self.multiple) * self.multiple

    # -- core ----------------------------------------------------------------------------
    def _autocast(self) -> contextlib.AbstractContextManager[None]:
        return self.choice.autocast(self.device.type)

    def _per_pass(self, h: int, w: int) -> int:
        """Images of ``h`` × ``w`` per forward pass (see :data:`CPU_PIXELS_PER_PASS`)."""
        if self.device.type != "cpu":
            return self.batch_size
        return max(1, min(self.batch_size, CPU_PIXELS_PER_PASS // max(1, h * w)))

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        started = time.perf_counter()
        with self._autocast():
            y = self._run(x)
        if self.device.type == "cpu":  # (CUDA runs asynchronously: not timed here)
            self.pace.add(tuple(x.shape), time.perf_counter() - started, x[:, 0].numel() / 1e6)
        if self.choice.reduced and not torch.isfinite(y).all():
            # Some CPU bf16 kernels (oneDNN on AMX, seen with 1-2 pixel wide feature maps)
            # return NaN for finite inputs: such a pass is recomputed in fp32, and counted.
            self.fp32_fallbacks += 1
            y = self._run(x)
        return y.float().contiguous()

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Translate a batch of equal-sized images; the output has the input's shape."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise TranslkitError(f"expected images of shape (N, 3, H, W), got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if self.tile and (h > self.tile or w > self.tile):
            return torch.cat([self._tiled(x[i : i + 1]) for i in range(x.shape[0])])
        outs = []
        for chunk in x.split(self._per_pass(h, w)):
            y = self._forward(pad_to_multiple(chunk, self.multiple, self.min_size))
            outs.append(y[..., :h, :w])
        return torch.cat(outs).cpu()

    def _tiles(self, h: int, w: int) -> Iterator[tuple[int, int]]:
        step = self.tile - self.overlap
        for top in _starts(h, self.tile, step):
            for left in _starts(w, self.tile, step):
                yield top, left

    def _tiled(self, x: torch.Tensor) -> torch.Tensor:
        """One image in overlapping tiles, blended by linear ramps (memory ∝ tile size)."""
        _, c, h, w = x.shape
        out = torch.zeros(1, c, h, w)
        weight = torch.zeros(1, 1, h, w)
        boxes = list(self._tiles(h, w))
        per_pass = self._per_pass(self.tile, self.tile)
        for i in range(0, len(boxes), per_pass):
            group = boxes[i : i + per_pass]
            crops = [x[..., t : t + self.tile, lft : lft + self.tile] for t, lft in group]
            th, tw = crops[0].shape[-2:]
            if any(cr.shape[-2:] != (th, tw) for cr in crops):  # edge tiles of a thin image
                for box, crop in zip(group, crops, strict=True):
                    self._accumulate(out, weight, box, self._forward_crop(crop))
                continue
            ys = self._forward_crop(torch.cat(crops))
            for j, box in enumerate(group):
                self._accumulate(out, weight, box, ys[j : j + 1])
        return out / weight

    def _forward_crop(self, crop: torch.Tensor) -> torch.Tensor:
        th, tw = crop.shape[-2:]
        padded = pad_to_multiple(crop, self.multiple, self.min_size)
        return self._forward(padded)[..., :th, :tw].cpu()

    def _accumulate(
        self, out: torch.Tensor, weight: torch.Tensor, box: tuple[int, int], y: torch.Tensor
    ) -> None:
        top, left = box
        th, tw = y.shape[-2:]
        wy = _ramp(th, self.overlap, y.device)[:, None] * _ramp(tw, self.overlap, y.device)[None]
        out[..., top : top + th, left : left + tw] += y * wy
        weight[..., top : top + th, left : left + tw] += wy
