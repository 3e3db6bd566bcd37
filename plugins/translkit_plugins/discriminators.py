"""Built-in discriminators: PatchGAN, PixelGAN, the study's five-layer net, timm backbones.

- ``patchgan`` — Isola et al., "Image-to-Image Translation with Conditional Adversarial
  Networks" (CVPR 2017), as Zhu et al.'s ``NLayerDiscriminator``: ``n_layers=3`` has a
  70×70 receptive field and gives 30×30 logits on 256×256 inputs.
- ``pixel`` — Zhu et al.'s 1×1 ``PixelDiscriminator`` (PixelGAN).
- ``five_layer`` — the discriminator of the leather↔denim study, after Hardik Bansal's
  CycleGAN write-up: no normalisation and asymmetric ``(2, 1)`` padding on the last two
  convs (34×30 logits on 256×256). ``variant="bansal"`` gives Bansal's TensorFlow
  original: instance norm on layers 2–4 and TF ``SAME`` padding (32×32 logits).
- ``timm`` — any timm CNN as a feature extractor plus a patch head
  (:mod:`translkit_plugins.timm_discriminator`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import torch
from torch import nn

import translkit
from translkit.bounds import Range

from ._blocks import (
    NORMS,
    Init,
    Norm,
    check_choice,
    check_positive,
    conv_bias,
    init_weights,
    make_norm,
)
from .timm_discriminator import timm_patch

__all__ = [
    "FIVE_LAYER_VARIANTS",
    "FiveLayerDiscriminator",
    "NLayerDiscriminator",
    "PixelDiscriminator",
    "five_layer",
    "patchgan",
    "pixel",
]

#: ``five_layer`` variants as data: norm of layers 2–4 and padding of layers 4–5.
FIVE_LAYER_VARIANTS: dict[str, dict[str, str]] = {
    "study": {"norm": "none", "padding": "study"},
    "bansal": {"norm": "instance", "padding": "same"},
}


def _leaky() -> nn.Module:
    return nn.LeakyReLU(0.2, True)


class NLayerDiscriminator(nn.Module):
    """PatchGAN: ``n_layers`` stride-2 4×4 convs, a stride-1 one, then a 1-channel conv.

    :param ndf: filters of the first conv (×2 per layer up to ×8).
    :param n_layers: stride-2 convs (3 → 70×70 receptive field).
    :param norm: ``instance`` (default), ``batch`` or ``none`` (not on the first conv).
    """

    def __init__(self, ndf: int = 64, n_layers: int = 3, norm: str = "instance") -> None:
        super().__init__()
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.Conv2d(3, ndf, 4, 2, 1), _leaky()]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [
                nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=bias),
                make_norm(norm, ndf * mult),
                _leaky(),
            ]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """PixelGAN: 1×1 convs ``3 → ndf → 2·ndf → 1``, a logit per pixel."""

    def __init__(self, ndf: int = 64, norm: str = "instance") -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, ndf, 1),
            _leaky(),
            nn.Conv2d(ndf, 2 * ndf, 1, bias=conv_bias(norm)),
            make_norm(norm, 2 * ndf),
            _leaky(),
            nn.Conv2d(2 * ndf, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class FiveLayerDiscriminator(nn.Module):
    """The study's five 4×4 convs (strides 2, 2, 2, 1, 1), LeakyReLU 0.2 between them.

    :param ndf: filters of the first conv (×2 per layer to ×8).
    :param norm: norm of layers 2–4 (``none`` in the study, ``instance`` in Bansal's).
    :param padding: ``study`` pads layers 4–5 by (2 rows, 1 column); ``same`` is TF's
        SAME (1 before, 2 after) for a size-preserving 4×4 stride-1 conv.
    """

    def __init__(self, ndf: int = 64, norm: str = "none", padding: str = "study") -> None:
        super().__init__()
        bias = conv_bias(norm)
        chans = [3, ndf, 2 * ndf, 4 * ndf, 8 * ndf]
        layers: list[nn.Module] = []
        for i in range(4):
            c_in, c_out = chans[i], chans[i + 1]
            if i < 3:
                layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=bias or i == 0))
            else:
                layers += self._stride1(c_in, c_out, padding, bias)
            if i > 0:
                layers.append(make_norm(norm, c_out))
            layers.append(_leaky())
        layers += self._stride1(8 * ndf, 1, padding, True)
        self.model = nn.Sequential(*layers)

    @staticmethod
    def _stride1(c_in: int, c_out: int, padding: str, bias: bool) -> list[nn.Module]:
        if padding == "study":
            return [nn.Conv2d(c_in, c_out, 4, 1, (2, 1), bias=bias)]
        return [nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(c_in, c_out, 4, 1, 0, bias=bias)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def patchgan(
    ndf: Annotated[int, Range(min=1)] = 64,
    n_layers: Annotated[int, Range(min=1)] = 3,
    norm: Norm = "instance",
    init: Init = "normal",
    init_gain: Annotated[float, Range(min=0, min_open=True)] = 0.02,
) -> NLayerDiscriminator:
    """PatchGAN discriminator (Isola / Zhu et al.); n_layers=3 is the 70×70 PatchGAN.

    Options: ``ndf`` (64), ``n_layers`` (3), ``norm`` instance|batch|none (instance),
    ``init`` normal|xavier|kaiming|orthogonal (normal), ``init_gain`` (0.02).
    """
    check_positive("ndf", ndf)
    check_positive("n_layers", n_layers)
    net = NLayerDiscriminator(ndf, n_layers, check_choice("norm", norm, NORMS))
    return init_weights(net, init, init_gain)


def pixel(
    ndf: Annotated[int, Range(min=1)] = 64,
    norm: Norm = "instance",
    init: Init = "normal",
    init_gain: Annotated[float, Range(min=0, min_open=True)] = 0.02,
) -> PixelDiscriminator:
    """PixelGAN discriminator (Zhu et al.): 1×1 convs, one logit per pixel.

    Options: ``ndf`` (64), ``norm`` instance|batch|none (instance), ``init``
    normal|xavier|kaiming|orthogonal (normal), ``init_gain`` (0.02).
    """
    check_positive("ndf", ndf)
    net = PixelDiscriminator(ndf, check_choice("norm", norm, NORMS))
    return init_weights(net, init, init_gain)


def five_layer(
    ndf: Annotated[int, Range(min=1)] = 64,
    variant: Literal["study", "bansal"] = "study",
    init: Init = "normal",
    init_gain: Annotated[float, Range(min=0, min_open=True)] = 0.02,
) -> FiveLayerDiscriminator:
    """The study's five-layer discriminator (Bansal's, no norm; 34×30 logits at 256 px).

    Options: ``ndf`` (64), ``variant`` study|bansal (study: no norm, (2, 1) padding;
    bansal: instance norm on layers 2–4, TF SAME padding, 32×32 logits), ``init``
    normal|xavier|kaiming|orthogonal (normal), ``init_gain`` (0.02).
    """
    check_positive("ndf", ndf)
    spec = FIVE_LAYER_VARIANTS[check_choice("variant", variant, FIVE_LAYER_VARIANTS)]
    return init_weights(FiveLayerDiscriminator(ndf, **spec), init, init_gain)


@translkit.hookimpl
def translkit_register(registry: Any) -> None:
    registry.discriminators.add("patchgan", patchgan)
    registry.discriminators.add("pixel", pixel)
    registry.discriminators.add("five_layer", five_layer)
    registry.discriminators.add("timm", timm_patch)
