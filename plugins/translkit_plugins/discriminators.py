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

``patchgan`` and ``five_layer`` take three options against discriminators that a generator
fools with a regular grid (they default off, so recipes and checkpoints are unchanged):

- ``antialias`` — blur before every stride (Zhang, "Making Convolutional Networks
  Shift-Invariant Again", ICML 2019): each stride-2 conv runs at stride 1, and a binomial
  blur-pool halves the map after its norm and activation, as CUT's reference does. A
  pattern a few pixels apart can no longer alias into the coarse features;
- ``spectral_norm`` — every conv's weight divided by its largest singular value (Miyato
  et al., ICLR 2018), which limits how sharply the discriminator can react to a texture;
- ``scales`` — a multi-scale discriminator (pix2pixHD, Wang et al., CVPR 2018): the same
  architecture, separately weighted, on the image and on ×½, ×¼ ... average-pooled copies;
  the coarser logits are upsampled (nearest) to the finest map's size and stacked as
  channels, so every scale weighs the same in any elementwise GAN loss.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

import translkit
from translkit.bounds import Range

from ._antialias import BlurDownsample
from ._blocks import (
    Init,
    Norm,
    conv_bias,
    init_weights,
    make_norm,
)
from .timm_discriminator import timm_patch

__all__ = [
    "FIVE_LAYER_VARIANTS",
    "FiveLayerDiscriminator",
    "MultiScale",
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


#: The most scales a multi-scale discriminator takes (each halves the image once more).
MAX_SCALES = 4


def antialias_strides(model: nn.Sequential) -> nn.Sequential:
    """``model`` with each stride-2 conv at stride 1 and a blur-pool after the norm and
    activation that follow it (before the next conv)."""
    layers: list[nn.Module] = []
    pending = 0  # channels of a conv whose blur-pool is still to come
    for layer in model:
        if isinstance(layer, nn.Conv2d) and pending:
            layers.append(BlurDownsample(pending))
            pending = 0
        if isinstance(layer, nn.Conv2d) and layer.stride == (2, 2):
            layer.stride, pending = (1, 1), layer.out_channels
        layers.append(layer)
    if pending:
        layers.append(BlurDownsample(pending))
    return nn.Sequential(*layers)


def _spectral_norm(net: nn.Module) -> nn.Module:
    for module in list(net.modules()):
        if isinstance(module, nn.Conv2d):
            nn.utils.parametrizations.spectral_norm(module)
    return net


class MultiScale(nn.Module):
    """The same discriminator architecture at ``len(nets)`` scales (pix2pixHD): the image,
    then ×½ average-pooled copies; logits upsampled (nearest) to the finest map's size and
    stacked as channels, one per scale."""

    def __init__(self, nets: list[nn.Module]) -> None:
        super().__init__()
        self.nets = nn.ModuleList(nets)
        self.pool = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = []
        for i, net in enumerate(self.nets):
            if i:
                x = self.pool(x)
            outs.append(net(x))
        size = outs[0].shape[-2:]
        return torch.cat([F.interpolate(o, size=size, mode="nearest") for o in outs], dim=1)


def _with_options(
    build: Any, antialias: bool, spectral_norm: bool, scales: int, init: str, init_gain: float
) -> nn.Module:
    """``scales`` discriminators from ``build()``, each initialised, anti-aliased and
    spectrally normalised as asked (the single net itself when ``scales`` is 1)."""
    nets = []
    for _ in range(scales):
        net = init_weights(build(), init, init_gain)
        if antialias:
            net.model = antialias_strides(net.model)
        nets.append(_spectral_norm(net) if spectral_norm else net)
    return nets[0] if scales == 1 else MultiScale(nets)


def patchgan(
    ndf: Annotated[int, Range(min=1)] = 64,
    n_layers: Annotated[int, Range(min=1)] = 3,
    norm: Norm = "instance",
    init: Init = "normal",
    init_gain: Annotated[float, Range(min=0, min_open=True)] = 0.02,
    antialias: bool = False,
    spectral_norm: bool = False,
    scales: Annotated[int, Range(min=1, max=MAX_SCALES)] = 1,
) -> nn.Module:
    """PatchGAN discriminator (Isola / Zhu et al.); n_layers=3 is the 70×70 PatchGAN.

    Options: ``ndf`` (64), ``n_layers`` (3), ``norm`` instance|batch|none (instance),
    ``init`` normal|xavier|kaiming|orthogonal (normal), ``init_gain`` (0.02),
    ``antialias`` (false: blur before every stride), ``spectral_norm`` (false),
    ``scales`` (1: a multi-scale discriminator above; see the module).
    """
    return _with_options(
        lambda: NLayerDiscriminator(ndf, n_layers, norm),
        antialias,
        spectral_norm,
        scales,
        init,
        init_gain,
    )


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
    return init_weights(PixelDiscriminator(ndf, norm), init, init_gain)


def five_layer(
    ndf: Annotated[int, Range(min=1)] = 64,
    variant: Literal["study", "bansal"] = "study",
    init: Init = "normal",
    init_gain: Annotated[float, Range(min=0, min_open=True)] = 0.02,
    antialias: bool = False,
    spectral_norm: bool = False,
    scales: Annotated[int, Range(min=1, max=MAX_SCALES)] = 1,
) -> nn.Module:
    """The study's five-layer discriminator (Bansal's, no norm; 34×30 logits at 256 px).

    Options: ``ndf`` (64), ``variant`` study|bansal (study: no norm, (2, 1) padding;
    bansal: instance norm on layers 2–4, TF SAME padding, 32×32 logits), ``init``
    normal|xavier|kaiming|orthogonal (normal), ``init_gain`` (0.02), ``antialias``,
    ``spectral_norm``, ``scales`` (as ``patchgan``'s; see the module).
    """
    spec = FIVE_LAYER_VARIANTS[variant]
    return _with_options(
        lambda: FiveLayerDiscriminator(ndf, **spec),
        antialias,
        spectral_norm,
        scales,
        init,
        init_gain,
    )


@translkit.hookimpl
def translkit_register(registry: Any) -> None:
    registry.discriminators.add("patchgan", patchgan)
    registry.discriminators.add("pixel", pixel)
    registry.discriminators.add("five_layer", five_layer)
    registry.discriminators.add("timm", timm_patch)
