"""A patch discriminator on any timm CNN backbone (registered as ``timm``).

The backbone is ``timm.create_model(backbone, features_only=True, pretrained=False)``
(Wightman, *PyTorch Image Models*); one of its feature maps feeds a small convolutional
head giving a map of logits, as in feature-space discriminators such as Projected GANs
(Sauer et al., NeurIPS 2021). Pretrained weights are only ever read from disk: a file
the user names, or a copy already in the Hugging Face / torch hub cache. Nothing is
downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

import torch
from torch import nn

import translkit
from translkit.bounds import NonEmpty, Range
from translkit.errors import CheckpointError, ComponentError, suggest

from ._blocks import (
    Init,
    Norm,
    conv_bias,
    init_weights,
    make_norm,
)

__all__ = ["TimmPatchDiscriminator", "cached_weights", "load_backbone_weights", "timm_patch"]

_CACHE_FILES = ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin")


def _create_backbone(backbone: str, feature_index: int) -> nn.Module:
    import timm

    if not timm.is_model(backbone):  # also accepts pretrained tags: resnet18.a1_in1k
        hint = suggest(backbone, timm.list_models(backbone.split("_")[0][:3] + "*"))
        raise ComponentError(
            f"option backbone={backbone!r} is not a timm model{hint}; "
            "`python -c \"import timm; print(timm.list_models('res*'))\"` lists them"
        )
    try:
        return timm.create_model(
            backbone, features_only=True, pretrained=False, out_indices=(feature_index,)
        )
    except (RuntimeError, ValueError, IndexError, AssertionError, TypeError) as err:
        raise ComponentError(
            f"timm backbone {backbone!r} cannot give feature map {feature_index} "
            f"(features_only=True): {err}; choose a CNN backbone or another feature_index"
        ) from None


class TimmPatchDiscriminator(nn.Module):
    """timm feature extractor → 3×3 conv (``ndf``), norm, LeakyReLU 0.2 → 3×3 conv to 1.

    Inputs in ``[-1, 1]`` are mapped to the backbone's own mean/std normalisation.

    :param backbone: timm model name (``resnet18``, ``convnext_atto``, ...).
    :param feature_index: which feature level feeds the head (``-1``: the deepest).
    :param ndf: channels of the head.
    :param norm: norm in the head: ``none`` (default), ``instance`` or ``batch``.
    :param freeze_backbone: keep the backbone's weights fixed.
    """

    def __init__(
        self,
        backbone: str = "resnet18",
        feature_index: int = -1,
        ndf: int = 256,
        norm: str = "none",
        freeze_backbone: bool = False,
    ) -> None:
        super().__init__()
        self.backbone = _create_backbone(backbone, feature_index)
        cfg = getattr(self.backbone, "pretrained_cfg", None) or {}
        mean = torch.tensor(cfg.get("mean", (0.5, 0.5, 0.5)), dtype=torch.float32)
        std = torch.tensor(cfg.get("std", (0.5, 0.5, 0.5)), dtype=torch.float32)
        self.register_buffer("mean", mean.view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", std.view(1, -1, 1, 1), persistent=False)
        channels = self.backbone.feature_info.channels()[-1]
        self.head = nn.Sequential(
            nn.Conv2d(channels, ndf, 3, 1, 1, bias=conv_bias(norm)),
            make_norm(norm, ndf),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, 1, 3, 1, 1),
        )
        self.backbone.requires_grad_(not freeze_backbone)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = ((x + 1) * 0.5 - self.mean) / self.std
        return self.head(self.backbone(x)[-1])


def cached_weights(
    backbone: str, *, hf_cache: str | Path | None = None, hub_dir: str | Path | None = None
) -> Path | None:
    """A local copy of ``backbone``'s pretrained weights, or ``None``; never downloads.

    Looks in the Hugging Face hub cache (``hf_cache``, default ``HF_HUB_CACHE``) for the
    model's ``hf_hub_id``, then in torch hub's ``checkpoints`` folder (``hub_dir``,
    default ``torch.hub.get_dir()``) for its legacy ``url``.
    """
    import timm

    cfg = timm.models.get_pretrained_cfg(backbone)
    if cfg is None:
        return None
    hub_id = getattr(cfg, "hf_hub_id", None)
    if hub_id:
        from huggingface_hub import try_to_load_from_cache

        for filename in _CACHE_FILES:
            found = try_to_load_from_cache(
                hub_id, filename, cache_dir=str(hf_cache) if hf_cache else None
            )
            if isinstance(found, str) and Path(found).is_file():
                return Path(found)
    url = getattr(cfg, "url", None)
    if url:
        root = Path(hub_dir) if hub_dir else Path(torch.hub.get_dir())
        path = root / "checkpoints" / Path(urlparse(url).path).name
        if path.is_file():
            return path
    return None


def _read_weights(path: Path) -> dict[str, Any]:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            obj: Any = load_file(str(path))
        else:
            obj = translkit.load_weights_only(path, what="pretrained weights")
    except CheckpointError as err:
        raise ComponentError(str(err)) from None
    except Exception as err:  # safetensors' own error types
        raise ComponentError(
            f"pretrained weights {path} cannot be read as a plain state dict: "
            f"{str(err).splitlines()[0]}"
        ) from None
    for key in ("state_dict", "model", "state_dict_ema"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict):
        raise ComponentError(f"pretrained weights {path} hold a {type(obj).__name__}, not a dict")
    return {k.removeprefix("module."): v for k, v in obj.items() if torch.is_tensor(v)}


def load_backbone_weights(backbone: nn.Module, path: str | Path, name: str = "") -> None:
    """Copy weights from a local file into a ``features_only`` backbone.

    Keys the backbone lacks (a classifier head) are ignored; every backbone weight must
    be present with the right shape, else a :class:`ComponentError` names the first few.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ComponentError(f"option pretrained={str(path)!r}: no such weights file")
    weights = _read_weights(path)
    own = backbone.state_dict()
    missing = [k for k in own if k not in weights]
    wrong = [k for k in own if k in weights and weights[k].shape != own[k].shape]
    if missing or wrong:
        bad = ", ".join((missing + wrong)[:4])
        raise ComponentError(
            f"pretrained weights {path} do not fit timm backbone {name!r}: "
            f"{len(missing)} missing and {len(wrong)} mis-shaped weights (e.g. {bad}); "
            "is the file a checkpoint of that very backbone?"
        )
    backbone.load_state_dict({k: weights[k] for k in own})


def timm_patch(
    backbone: Annotated[str, NonEmpty()] = "resnet18",
    pretrained: str = "",
    feature_index: int = -1,
    ndf: Annotated[int, Range(min=1)] = 256,
    norm: Norm = "none",
    freeze_backbone: bool = False,
    init: Init = "normal",
    init_gain: Annotated[float, Range(min=0, min_open=True)] = 0.02,
) -> TimmPatchDiscriminator:
    """Patch discriminator on a timm CNN backbone (features_only) with a conv head.

    Options: ``backbone`` any timm CNN (resnet18), ``pretrained`` "" (random), a path to
    a local ``.pth``/``.safetensors`` file, or ``cache`` (a copy already in the HF/torch
    hub cache; never downloads), ``feature_index`` (-1 = deepest), ``ndf`` head channels
    (256), ``norm`` none|instance|batch for the head (none), ``freeze_backbone`` (false),
    ``init``/``init_gain`` for the head (normal, 0.02).
    """
    net = TimmPatchDiscriminator(backbone, feature_index, ndf, norm, freeze_backbone)
    init_weights(net.head, init, init_gain)
    if pretrained == "cache":
        found = cached_weights(backbone)
        if found is None:
            raise ComponentError(
                f"option pretrained='cache': no cached weights for timm model {backbone!r} "
                "(looked in the Hugging Face and torch hub caches; nothing is downloaded): "
                "save them to a file and pass pretrained=PATH, or use pretrained=''"
            )
        load_backbone_weights(net.backbone, found, backbone)
    elif pretrained:
        load_backbone_weights(net.backbone, pretrained, backbone)
    return net
