"""Export one generator of a checkpoint for production runtimes.

- ``onnx`` — ``torch.onnx.export(dynamo=True)`` with dynamic batch, height and width;
- ``torchscript`` — the network traced, wrapped in a scripted module (dynamic shapes);
- ``safetensors`` — the weights only, with the generator's name, options and direction in
  the header metadata (:class:`translkit.artifacts.SafetensorsExport`), so
  :func:`translkit.load_generators` (and therefore ``translkit translate``) rebuilds it
  from the registries — never importing anything.

ONNX and TorchScript graphs contain the same reflect-pad-to-``size_multiple`` and
crop-back as :class:`~translkit.inference.Translator`, so they accept any height and
width (a single reflection: each side must be larger than its pad, always true for
sides of at least ``size_multiple``). Outputs equal PyTorch's within 1e-4 (tested).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from translkit.artifacts import SafetensorsExport, read_generator_specs, read_generators
from translkit.errors import TranslkitError
from translkit.fileio import atomic_path
from translkit.inference.translate import pad_to_multiple
from translkit.networks import pick_direction
from translkit.pretrained import resolve
from translkit.registry import Registries

__all__ = ["FORMATS", "PadCrop", "export_generator", "load_safetensors"]

FORMATS = ("onnx", "torchscript", "safetensors")
Format = Literal["onnx", "torchscript", "safetensors"]


class PadCrop(nn.Module):
    """Reflect-pad the input to a multiple of ``multiple``, run ``net``, crop back."""

    def __init__(self, net: nn.Module, multiple: int) -> None:
        super().__init__()
        self.net = net
        self.multiple = multiple

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2], x.shape[-1]
        pad_h = (self.multiple - h % self.multiple) % self.multiple
        pad_w = (self.multiple - w % self.multiple) % self.multiple
        y = self.net(F.pad(x, [0, pad_w, 0, pad_h], mode="reflect"))
        return y[:, :, :h, :w]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the deprecation and tracer chatter of torch's exporters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _sample(multiple: int) -> torch.Tensor:
    side = max(64, multiple)
    return torch.rand(1, 3, side, side + multiple) * 2 - 1  # non-square on purpose


def _export_onnx(wrapped: PadCrop, sample: torch.Tensor, tmp: Path, opset: int | None) -> None:
    dims = {
        0: torch.export.Dim("batch", min=1, max=1024),
        2: torch.export.Dim("height", min=2, max=16384),
        3: torch.export.Dim("width", min=2, max=16384),
    }
    kwargs: dict[str, Any] = {"opset_version": opset} if opset else {}
    try:
        with _quiet(), contextlib.redirect_stdout(io.StringIO()):
            torch.onnx.export(
                wrapped,
                (sample,),
                str(tmp),
                input_names=["image"],
                output_names=["translated"],
                dynamic_shapes={"x": dims},
                dynamo=True,
                external_data=False,
                **kwargs,
            )
    except ImportError as err:
        raise TranslkitError(
            f"ONNX export needs the optional packages onnx and onnxscript ({err}); "
            "install them with `pip install translkit[export]`"
        ) from None


def _export_torchscript(wrapped: PadCrop, sample: torch.Tensor, tmp: Path) -> None:
    with _quiet():
        traced = torch.jit.trace(wrapped.net, pad_to_multiple(sample, wrapped.multiple))
        scripted = torch.jit.script(PadCrop(traced, wrapped.multiple))
        with open(tmp, "wb") as fh:
            torch.jit.save(scripted, fh)


def export_generator(
    source: str | Path,
    output: str | Path,
    registries: Registries,
    *,
    format: Format = "onnx",
    direction: str = "a2b",
    opset: int | None = None,
    half: bool = False,
    ema: bool = True,
) -> Path:
    """Export the ``direction`` generator of ``source`` (any checkpoint format or a run
    directory) to ``output``, atomically.

    :param format: ``onnx``, ``torchscript`` or ``safetensors``.
    :param opset: ONNX opset version (default: the exporter's).
    :param half: ``safetensors`` only: store floating weights as fp16 (half the size; they
        are cast back to the network's fp32 when loaded).
    :param ema: a training checkpoint's EMA weights (``train.ema``) where it has them;
        ``False``: the raw weights of its last step.
    """
    if format not in FORMATS:
        raise TranslkitError(f"export format must be one of {', '.join(FORMATS)}, got {format!r}")
    if half and format != "safetensors":
        raise TranslkitError("--half applies to --format safetensors only")
    output = Path(output)
    source = resolve(source, registries, direction=direction)  # a model name → its file
    if format == "safetensors":
        specs, info, path = read_generator_specs(source, registries, use_ema=ema)
        spec = pick_direction(specs, direction, path)
        if spec.name in registries.generators:
            spec = dataclasses.replace(spec, module=registries.generators.get(spec.name).module)
        export = SafetensorsExport(
            direction,
            spec,
            method=str(info.get("method") or ""),
            source=path.name,  # a file name, not a local path that would leak
        )
        with atomic_path(output) as tmp:
            tmp.write_bytes(export.to_bytes(half=half))  # a write error is an OSError (fileio)
            _umask_permissions(tmp)
        return output
    loaded = read_generators(source, registries, use_ema=ema)
    net = pick_direction(loaded.nets, direction, loaded.source).float().eval()
    multiple = max(1, int(getattr(net, "size_multiple", 1) or 1))
    wrapped = PadCrop(net, multiple).eval()
    with atomic_path(output) as tmp:
        if format == "onnx":
            _export_onnx(wrapped, _sample(multiple), tmp, opset)
        else:
            _export_torchscript(wrapped, _sample(multiple), tmp)
        _umask_permissions(tmp)
    return output


def _umask_permissions(path: Path) -> None:
    """Give a file the permissions a plain ``open()`` would (some writers use 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o666 & ~umask)


def load_safetensors(path: str | Path, registries: Registries) -> nn.Module:
    """The generator of a file exported with ``format="safetensors"`` (eval mode, CPU)."""
    return next(iter(read_generators(path, registries).nets.values()))
