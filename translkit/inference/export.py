"""Export one generator of a checkpoint for production runtimes.

- ``onnx`` — ``torch.onnx.export(dynamo=True)`` with dynamic batch, height and width;
- ``torchscript`` — the network traced, wrapped in a scripted module (dynamic shapes);
- ``safetensors`` — the weights only, with the generator's name and options in the
  header metadata so :func:`load_safetensors` rebuilds it from the registry.

ONNX and TorchScript graphs contain the same reflect-pad-to-``size_multiple`` and
crop-back as :class:`~translkit.inference.Translator`, so they accept any height and
width (a single reflection: each side must be larger than its pad, always true for
sides of at least ``size_multiple``). Outputs equal PyTorch's within 1e-4 (tested).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from translkit.checkpoint import (
    DIRECTIONS,
    checkpoint_plugins,
    generator_specs,
    load_checkpoint,
    load_generators,
)
from translkit.errors import CheckpointError, TranslkitError
from translkit.fileio import atomic_path
from translkit.inference.translate import pad_to_multiple, pick_direction

__all__ = [
    "FORMATS",
    "SAFETENSORS_FORMAT",
    "PadCrop",
    "export_generator",
    "load_safetensors",
]

FORMATS = ("onnx", "torchscript", "safetensors")
SAFETENSORS_FORMAT = "translkit.safetensors/1"
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


def _export_safetensors(spec: dict[str, Any], direction: str, source: Path, tmp: Path) -> None:
    from safetensors.torch import save

    tensors = {k: v.detach().contiguous().cpu() for k, v in spec["state_dict"].items()}
    meta = {
        "format": SAFETENSORS_FORMAT,
        "direction": direction,
        "generator": spec["name"],
        "options": json.dumps(spec["options"], sort_keys=True),
        "plugins": json.dumps(spec.get("plugins", [])),
        "source": str(source),
    }
    tmp.write_bytes(save(tensors, metadata=meta))


def export_generator(
    checkpoint: str | Path,
    output: str | Path,
    *,
    format: Format = "onnx",
    direction: str = "a2b",
    opset: int | None = None,
) -> Path:
    """Export the ``direction`` generator of ``checkpoint`` (either format) to ``output``.

    :param format: ``onnx``, ``torchscript`` or ``safetensors``.
    :param opset: ONNX opset version (default: the exporter's).
    :returns: the written file (written atomically).
    """
    if format not in FORMATS:
        raise TranslkitError(f"export format must be one of {', '.join(FORMATS)}, got {format!r}")
    if direction not in DIRECTIONS:
        raise TranslkitError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    output, checkpoint = Path(output), Path(checkpoint)
    if format == "safetensors":  # read everything first: a read error is not a write error
        ckpt = load_checkpoint(checkpoint)
        specs = generator_specs(ckpt)
        pick_direction(specs, direction, checkpoint)  # type: ignore[arg-type]
        spec = dict(specs[direction], plugins=checkpoint_plugins(ckpt))
    else:
        net = pick_direction(load_generators(checkpoint), direction, checkpoint).float().eval()
        multiple = max(1, int(getattr(net, "size_multiple", 1) or 1))
        wrapped = PadCrop(net, multiple).eval()
    with atomic_path(output) as tmp:
        if format == "safetensors":
            _export_safetensors(spec, direction, checkpoint, tmp)
        elif format == "onnx":
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


def load_safetensors(path: str | Path, *, registry: Any = None) -> nn.Module:
    """Rebuild a generator exported with ``format="safetensors"`` (eval mode, CPU)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"safetensors file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        state = load_file(str(path))
    except Exception as err:  # safetensors raises its own error types
        raise CheckpointError(f"{path} is not a readable safetensors file: {err}") from None
    if meta.get("format") != SAFETENSORS_FORMAT:
        raise CheckpointError(
            f"{path} was not exported by translkit (metadata format {meta.get('format')!r})"
        )
    if registry is None:
        from translkit.plugins import get_registry

        registry = get_registry(tuple(json.loads(meta.get("plugins", "[]"))))
    net = registry.generators.create(meta["generator"], **json.loads(meta["options"]))
    net.load_state_dict(state)
    return net.eval()
