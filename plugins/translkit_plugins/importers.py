"""Importers: generators trained with other code bases, as translkit generator specs.

``junyanz``: Zhu et al.'s reference CycleGAN/pix2pix implementation
(github.com/junyanz/pytorch-CycleGAN-and-pix2pix) saves ``latest_net_G_A.pth`` as the
plain ``state_dict()`` of a ``ResnetGenerator`` or ``UnetGenerator``. translkit's
built-in ``resnet*`` and ``unet*`` generators keep that module layout, so the import
strips the ``module.`` prefix DataParallel adds, drops the running statistics old
PyTorch versions stored for instance norms and checks every remaining key and shape;
``translkit import junyanz`` writes the result as a generators checkpoint.

Example::

    translkit import junyanz latest_net_G_A.pth --generator resnet_9blocks -o horse2zebra.pt
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

import translkit
from translkit.contracts import GeneratorSpec
from translkit.errors import CheckpointError
from translkit.registry import Registries

__all__ = [
    "STALE_SUFFIXES",
    "JunyanzImporter",
    "convert_junyanz_state_dict",
    "guess_junyanz_options",
    "read_state_dict",
]

#: Buffers pre-2019 PyTorch saved for ``InstanceNorm2d`` (ignored on import).
STALE_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")
_BLOCK = re.compile(r"^model\.(\d+)\.conv_block\.(\d+)\.weight$")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a plain ``{name: tensor}`` state dict with ``weights_only=True``.

    Anything else (pickled modules, training snapshots, translkit checkpoints) is
    refused with a :class:`CheckpointError`: a checkpoint is untrusted input.
    """
    obj = translkit.load_checkpoint(path)
    if "format" in obj:
        raise CheckpointError(
            f"{path} is already a translkit checkpoint (format {obj['format']!r}); "
            "load it directly, no import needed"
        )
    odd = [k for k, v in obj.items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if odd or not obj:
        what = f"keys such as {odd[:3]!r} hold non-tensors" if odd else "it is empty"
        raise CheckpointError(
            f"{path} is not a plain state dict ({what}); save the generator with "
            "torch.save(net.state_dict(), path) as the reference code does"
        )
    if all(k.startswith("module.") for k in obj):
        obj = {k.removeprefix("module."): v for k, v in obj.items()}
    return obj


def guess_junyanz_options(state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """The generator name and options a reference state dict most likely came from."""
    if "model.model.0.weight" in state_dict:  # UNet: one nested `model` per level
        depth = max(k.count("model.") for k in state_dict) - 1  # one per level, plus the root
        ngf = int(state_dict["model.model.0.weight"].shape[0])
        batch = any(k.endswith(".model.2.weight") for k in state_dict)
        name = {8: "unet_256", 7: "unet_128"}.get(depth, "unet")
        opts: dict[str, Any] = {} if name != "unet" else {"num_downs": depth}
        return {"generator": name, **opts, "ngf": ngf, "norm": "batch" if batch else "instance"}
    blocks = {int(m[1]) for k in state_dict if (m := _BLOCK.match(k))}
    # the second conv sits at index 5, or 6 after a dropout (a norm's weight there is 1-d)
    convs = {int(m[2]) for k, v in state_dict.items() if (m := _BLOCK.match(k)) and v.dim() == 4}
    n = len(blocks)
    name = {9: "resnet_9blocks", 6: "resnet_6blocks"}.get(n, "resnet")
    weight = state_dict.get("model.1.weight")
    return {
        "generator": name,
        **({} if name != "resnet" else {"n_blocks": n}),
        "ngf": int(weight.shape[0]) if weight is not None else None,
        "norm": "batch" if "model.2.weight" in state_dict else "instance",
        "dropout": 6 in convs,
    }


def convert_junyanz_state_dict(
    state_dict: Mapping[str, torch.Tensor], net: torch.nn.Module, *, source: str = "file"
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Match a reference state dict to ``net``: returns ``(weights, dropped_stale_keys)``.

    Raises :class:`CheckpointError` naming missing, unexpected or mis-shaped keys and
    the generator options the file looks like.
    """
    own = net.state_dict()
    dropped = [k for k in state_dict if k not in own and k.endswith(STALE_SUFFIXES)]
    weights = {k: v for k, v in state_dict.items() if k not in dropped}
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    wrong = [k for k in own if k in weights and weights[k].shape != own[k].shape]
    if missing or unexpected or wrong:
        parts = [
            f"{len(v)} {label} (e.g. {', '.join(v[:3])})"
            for label, v in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("mis-shaped", wrong),
            )
            if v
        ]
        guess = _cli_hint(guess_junyanz_options(state_dict))
        raise CheckpointError(
            f"{source} does not fit the chosen generator: {'; '.join(parts)}. "
            f"The file looks like: {guess}"
        )
    return {k: v.to(own[k].dtype) for k, v in weights.items()}, dropped


def _cli_hint(guess: Mapping[str, Any]) -> str:
    """``guess_junyanz_options`` as ``translkit import junyanz`` flags."""
    flags = []
    for key, value in guess.items():
        if key in ("generator", "norm", "ngf") and value is not None:
            flags.append(f"--{key} {value}")
        elif key == "dropout":
            flags.append("--set dropout=true" if value else "")
        elif value is not None:
            flags.append(f"--set {key}={value}")
    return " ".join(f for f in flags if f)


class JunyanzImporter:
    """Zhu et al.'s ``latest_net_G_A.pth`` files (``ResnetGenerator``/``UnetGenerator``)."""

    default_generator = "resnet_9blocks"
    #: The reference code trains CycleGAN (or pix2pix) generators.
    method = "cyclegan"
    #: Options of the reference code's defaults (``--norm instance --ngf 64``).
    default_options: Mapping[str, Any] = {"norm": "instance", "ngf": 64}

    def convert(
        self,
        path: Path,
        build: Callable[[str, dict[str, Any]], nn.Module],
        *,
        generator: str,
        options: Mapping[str, Any],
    ) -> GeneratorSpec:
        state = read_state_dict(path)
        if generator == "auto":  # read generator, norm, ngf (blocks, dropout) off the file
            guess = guess_junyanz_options(state)
            generator = guess.pop("generator")
            opts = {k: v for k, v in guess.items() if v is not None}
            opts.update({k: v for k, v in options.items() if k not in ("norm", "ngf")})
        else:
            opts = {**self.default_options, **options}
        net = build(generator, opts)
        weights, dropped = convert_junyanz_state_dict(state, net, source=str(path))
        net.load_state_dict(weights)  # strict: proves the file builds the network
        return GeneratorSpec(generator, opts, weights, {"dropped_keys": len(dropped)})


def junyanz() -> JunyanzImporter:
    """Zhu et al.'s pytorch-CycleGAN-and-pix2pix generators (latest_net_G_A.pth)."""
    return JunyanzImporter()


@translkit.hookimpl
def translkit_register(registry: Registries) -> None:
    registry.importers.add("junyanz", junyanz)
