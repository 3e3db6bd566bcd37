"""Import generators trained with other code bases into translkit checkpoints.

``junyanz``: Zhu et al.'s reference CycleGAN/pix2pix implementation
(github.com/junyanz/pytorch-CycleGAN-and-pix2pix) saves ``latest_net_G_A.pth`` as the
plain ``state_dict()`` of a ``ResnetGenerator`` or ``UnetGenerator``. translkit's
built-in ``resnet*`` and ``unet*`` generators keep that module layout, so an import
strips the ``module.`` prefix DataParallel adds, drops the running statistics old
PyTorch versions stored for instance norms, checks every remaining key and shape, and
writes a ``translkit.generators/1`` checkpoint that
:func:`translkit.checkpoint.load_generators` reads.

Example::

    from translkit.importers import import_junyanz
    import_junyanz("latest_net_G_A.pth", "horse2zebra.pt", generator="resnet_9blocks")
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from translkit.checkpoint import (
    DIRECTIONS,
    GENERATORS_FORMAT,
    load_checkpoint,
    save_checkpoint,
)
from translkit.errors import CheckpointError, ComponentError

__all__ = [
    "STALE_SUFFIXES",
    "convert_junyanz_state_dict",
    "guess_junyanz_options",
    "import_junyanz",
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
    obj = load_checkpoint(path)
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _directions(sources: Any, direction: str) -> dict[str, Path]:
    if isinstance(sources, (str, Path)):
        if direction not in DIRECTIONS:
            raise CheckpointError(f"direction {direction!r} must be one of {', '.join(DIRECTIONS)}")
        sources = {direction: sources}
    bad = [d for d in sources if d not in DIRECTIONS]
    if bad or not sources:
        raise CheckpointError(f"directions {bad!r} must be among {', '.join(DIRECTIONS)}")
    return {d: Path(src) for d, src in sources.items()}


def import_junyanz(
    sources: str | Path | Mapping[str, str | Path],
    dst: str | Path,
    *,
    generator: str = "resnet_9blocks",
    norm: str = "instance",
    ngf: int = 64,
    direction: str = "a2b",
    options: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    registry: Any = None,
) -> Path:
    """Convert reference CycleGAN generator(s) into a ``translkit.generators/1`` file.

    :param sources: one ``.pth`` path (imported as ``direction``) or a mapping
        ``{"a2b": G_A.pth, "b2a": G_B.pth}``.
    :param dst: checkpoint to write (atomically); refused if it exists unless ``overwrite``.
    :param generator: registered generator name (``resnet_9blocks``, ``unet_256``, ...),
        or ``auto``: read the generator, ``norm``, ``ngf`` (and block count, dropout)
        off the first file's keys and shapes, ignoring ``norm`` and ``ngf``.
    :param norm: ``instance`` (CycleGAN's default) or ``batch``; ``ngf`` likewise.
    :param options: further generator options (``dropout``, ``n_blocks``, ...).
    :returns: ``dst``.
    """
    paths = _directions(sources, direction)
    dst = Path(dst)
    if dst.exists() and not overwrite:
        raise CheckpointError(f"{dst} already exists; pass --overwrite to replace it")
    if registry is None:
        from translkit.plugins import get_registry

        registry = get_registry()
    states = {d: read_state_dict(path) for d, path in paths.items()}
    if generator == "auto":
        guess = guess_junyanz_options(next(iter(states.values())))
        generator = guess.pop("generator")
        opts = {k: v for k, v in guess.items() if v is not None}
    else:
        opts = {"norm": norm, "ngf": ngf}
    opts.update(options or {})
    try:
        net = registry.generators.create(generator, **opts)
    except ComponentError as err:
        raise CheckpointError(f"cannot build generator {generator!r}: {err}") from None
    entry = registry.generators.get(generator)
    defaults = {n: p.default for n, p in entry.parameters().items() if p.default is not p.empty}
    full = {**defaults, **opts}
    specs, meta_src = {}, {}
    for d, state in states.items():
        weights, dropped = convert_junyanz_state_dict(state, net, source=str(paths[d]))
        net.load_state_dict(weights)  # strict: proves the file builds the network
        specs[d] = {"name": generator, "options": dict(full), "state_dict": weights}
        meta_src[d] = {
            "path": str(paths[d]),
            "sha256": _sha256(paths[d]),
            "dropped_keys": len(dropped),
        }
    from translkit import __version__

    ckpt = {
        "format": GENERATORS_FORMAT,
        "generators": specs,
        "plugins": [],
        "meta": {"importer": "junyanz", "sources": meta_src, "translkit_version": __version__},
    }
    return save_checkpoint(ckpt, dst)
