"""Built-in generators: Zhu et al.'s ResNet and UNet generators, and the mobile ResNet.

Zhu, Park, Isola, Efros, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks" (ICCV 2017), after Johnson et al.'s ResNet transformer and
Ronneberger et al.'s U-Net. Layers, parameter counts and the state-dict layout equal
the reference implementation (``junyanz/pytorch-CycleGAN-and-pix2pix``) in its default
configuration, so its checkpoints load after the ``junyanz`` importer
(:mod:`translkit_plugins.importers`) strips DataParallel prefixes and stale instance-norm
statistics.

Presets are data (:data:`RESNET_PRESETS`, :data:`UNET_PRESETS`): ``resnet_9blocks`` is
``resnet`` with ``n_blocks=9`` pinned, and so on.

The ResNet generator is a :class:`~translkit.contracts.FeatureGenerator` (CUT's PatchNCE
reads its encoder) and, with ``antialias=True``, is the CUT reference's default generator
(Park et al., ECCV 2020; ``taesungp/contrastive-unpaired-translation``): blurred
down- and upsampling after Zhang (ICML 2019), with that code's layer indices and keys.

``mobile_resnet`` is the same ResNet whose residual blocks use depthwise-separable
convolutions (depthwise 3×3 → norm → pointwise 1×1), as Li et al.'s
``MobileResnetGenerator`` (GAN Compression, CVPR 2020; ``mit-han-lab/gan-compression``),
with that code's block layout and state-dict keys (``model.10.conv_block.1.conv.0.weight``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any

import torch
from torch import nn

import translkit
from translkit.bounds import Range
from translkit.errors import ComponentError
from translkit.registry import Inner

from ._antialias import BlurDownsample, BlurUpsample
from ._blocks import (
    Init,
    Norm,
    Padding,
    Upsample,
    conv_bias,
    dropout_rate,
    init_weights,
    make_norm,
    make_pad,
    preset,
)

__all__ = [
    "RESNET_PRESETS",
    "UNET_PRESETS",
    "AttentionGenerator",
    "MobileResnetBlock",
    "ResnetBlock",
    "ResnetGenerator",
    "SeparableConv2d",
    "UnetBlock",
    "UnetGenerator",
    "attention",
    "mobile_resnet",
    "resnet",
    "unet",
]

RESNET_PRESETS: dict[str, dict[str, Any]] = {
    "resnet_9blocks": {"n_blocks": 9},
    "resnet_6blocks": {"n_blocks": 6},
}
UNET_PRESETS: dict[str, dict[str, Any]] = {
    "unet_256": {"num_downs": 8},
    "unet_128": {"num_downs": 7},
}


def _check_size(net: nn.Module, x: torch.Tensor) -> None:
    m = net.size_multiple
    if x.shape[-1] % m or x.shape[-2] % m:
        raise ComponentError(
            f"{type(net).__name__} needs height and width divisible by {m}, got "
            f"{tuple(x.shape[-2:])}: crop or pad the input (translkit's inference pads for you)"
        )


def _upsample(
    c_in: int, c_out: int, *, kernel: int, upsample: str, padding: str, bias: bool
) -> nn.Module:
    """×2 upsampling: a transposed conv (reference), or a nearest (``resize_conv``) or
    bilinear (``bilinear``) resize then a 3×3 conv."""
    if upsample == "transposed":
        pad, extra = (1, 1) if kernel == 3 else (1, 0)
        return nn.ConvTranspose2d(c_in, c_out, kernel, 2, pad, output_padding=extra, bias=bias)
    mode = "nearest" if upsample == "resize_conv" else "bilinear"
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode=mode),
        nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias, padding_mode=_mode(padding)),
    )


def _mode(padding: str) -> str:
    return "reflect" if padding == "reflect" else "zeros"


class ResnetBlock(nn.Module):
    """Two 3×3 convs with a skip: ``x + conv_block(x)`` (indices as in the reference)."""

    def __init__(self, dim: int, *, norm: str, dropout: float, padding: str) -> None:
        super().__init__()
        bias = conv_bias(norm)
        layers: list[nn.Module] = [
            make_pad(padding, 1),
            nn.Conv2d(dim, dim, 3, bias=bias),
            make_norm(norm, dim),
            nn.ReLU(True),
        ]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [make_pad(padding, 1), nn.Conv2d(dim, dim, 3, bias=bias), make_norm(norm, dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class SeparableConv2d(nn.Module):
    """Depthwise 3×3 conv → norm → pointwise 1×1 conv, as ``conv`` (an ``nn.Sequential``:
    the reference's ``SeparableConv2d`` keys ``conv.0``, ``conv.1``, ``conv.2``)."""

    def __init__(self, dim: int, *, norm: str, bias: bool) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(dim, dim, 3, groups=dim, bias=bias),
            make_norm(norm, dim),
            nn.Conv2d(dim, dim, 1, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class MobileResnetBlock(nn.Module):
    """:class:`ResnetBlock` with each 3×3 conv depthwise-separable (Li et al. 2020):
    ``[pad, sep, norm, ReLU, Dropout, pad, sep, norm] + skip``. The Dropout slot is always
    there (probability 0 when off), as in the reference, so indices never shift."""

    def __init__(self, dim: int, *, norm: str, dropout: float, padding: str) -> None:
        super().__init__()
        bias = conv_bias(norm)
        self.conv_block = nn.Sequential(
            make_pad(padding, 1),
            SeparableConv2d(dim, norm=norm, bias=bias),
            make_norm(norm, dim),
            nn.ReLU(True),
            nn.Dropout(dropout),
            make_pad(padding, 1),
            SeparableConv2d(dim, norm=norm, bias=bias),
            make_norm(norm, dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """Johnson-style ResNet generator: c7s1-ngf, two ×2 downsamplings, ``n_blocks``
    residual blocks, two ×2 upsamplings, c7s1-3 with tanh. One ``nn.Sequential`` called
    ``model`` with the reference's indices (``model.10.conv_block.1.weight``, ...).

    :param n_blocks: residual blocks (9 for 256 px, 6 for 128 px in the paper).
    :param ngf: filters of the first conv (doubled at each downsampling).
    :param norm: ``instance`` (default), ``batch`` or ``none``.
    :param dropout: probability after the first conv of each block (``True`` = 0.5).
    :param padding: ``reflect`` (default) or ``zeros`` for the 7×7 convs and the blocks
        (the strided convs zero-pad, as in the reference).
    :param upsample: ``transposed`` (default), ``resize_conv`` or ``bilinear``.
    :param antialias: CUT's reference layout: each downsampling is a stride-1 conv, norm,
        ReLU, then a blurred ×½ (:class:`BlurDownsample`); each upsampling a blurred ×2
        (:class:`BlurUpsample`) then a 3×3 conv, norm, ReLU. Same parameter count; two
        more layers per resampling, so indices after the first downsampling shift.
    :param separable: depthwise-separable residual blocks (:class:`MobileResnetBlock`,
        the ``mobile_resnet`` generator); the rest of the stack is unchanged.
    :param n_downsampling: ×2 down- (and up-) samplings around the residual blocks (2, as
        Zhu et al.; the blocks have ``ngf·2^n`` channels at ``1/2^n`` of the input's side).
    :param residual: the output is the input plus a learnt change, ``x + f(x)``, where
        ``f(x)`` is what the last convolution computes (no tanh; Shen & Liu, CVPR 2017,
        "Learning Residual Images"). Detail finer than the downsampled blocks (a face, a
        seam, a backdrop) passes through unless the network changes it, and a network whose
        last convolution is zero is exactly the identity. The output may leave [−1, 1]; it
        is clipped when written as an image.
    """

    def __init__(
        self,
        n_blocks: int = 9,
        ngf: int = 64,
        norm: str = "instance",
        dropout: float = 0.0,
        padding: str = "reflect",
        upsample: str = "transposed",
        antialias: bool = False,
        separable: bool = False,
        n_downsampling: int = 2,
        residual: bool = False,
    ) -> None:
        super().__init__()
        self.residual = residual
        bias = conv_bias(norm)
        block = MobileResnetBlock if separable else ResnetBlock
        n = n_downsampling
        self.size_multiple = 2**n
        #: Smallest side that runs: the 7×7 reflect pad needs 4 px, and the downsampled
        #: bottleneck 2×2 so its reflect pads and instance norms see more than one value.
        self.min_size = max(8, 2 * 2**n)

        layers: list[nn.Module] = [
            make_pad(padding, 3),
            nn.Conv2d(3, ngf, 7, bias=bias),
            make_norm(norm, ngf),
            nn.ReLU(True),
        ]
        for k in range(n):
            layers += _downsampling(ngf * 2**k, norm=norm, bias=bias, antialias=antialias)
        first_block = len(layers)
        layers += [
            block(2**n * ngf, norm=norm, dropout=dropout, padding=padding) for _ in range(n_blocks)
        ]
        for mult in (2**k for k in range(n, 0, -1)):
            c = ngf * mult
            if antialias:  # the reference's flat [Upsample, Conv, norm, ReLU]
                layers += [BlurUpsample(c), nn.Conv2d(c, c // 2, 3, 1, 1, bias=bias)]
            else:
                layers.append(
                    _upsample(c, c // 2, kernel=3, upsample=upsample, padding=padding, bias=bias)
                )
            layers += [make_norm(norm, c // 2), nn.ReLU(True)]
        # residual: no tanh, the input is added (``tanh(f(x) + atanh(x))`` measured weaker on
        # the study's data: its gradient is 0.19 at -0.9 and about 0.002 at 0.999)
        layers += [make_pad(padding, 3), nn.Conv2d(ngf, 3, 7)]
        layers.append(nn.Identity() if residual else nn.Tanh())
        self.model = nn.Sequential(*layers)
        #: PatchNCE's default layers (Park et al.: padded input, the two downsampling convs,
        #: the first and the fifth residual block), as indices into ``model``.
        self.feature_layers = _feature_layers(first_block, n_blocks, antialias, n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_size(self, x)
        y = self.model(x)
        return x + y if self.residual else y

    def features(self, x: torch.Tensor, layers: Sequence[int]) -> list[torch.Tensor]:
        """The outputs of ``model[i]`` for each ``i`` in ``layers`` (the stack stops after
        the deepest one)."""
        return self._walk(x, layers, to_the_end=False)[1]

    def forward_with_features(
        self, x: torch.Tensor, layers: Sequence[int]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(self(x), self.features(x, layers))`` in one pass through the stack."""
        return self._walk(x, layers, to_the_end=True)

    def _walk(
        self, x: torch.Tensor, layers: Sequence[int], *, to_the_end: bool
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        _check_size(self, x)
        wanted = {int(i) for i in layers}
        bad = [i for i in wanted if not 0 <= i < len(self.model)]
        if bad or not wanted:
            raise ComponentError(
                f"feature layers {list(layers)} must be indices 0..{len(self.model) - 1} of "
                f"this generator's {len(self.model)} layers"
            )
        last, taken, source = max(wanted), {}, x
        final = len(self.model) - 1 if self.residual else -1  # where the input is added
        for index, layer in enumerate(self.model):
            x = source + layer(x) if index == final else layer(x)
            if index in wanted:
                taken[index] = x
            if index == last and not to_the_end:
                break
        return x, [taken[int(i)] for i in layers]


def _downsampling(c: int, *, norm: str, bias: bool, antialias: bool) -> list[nn.Module]:
    """One ×½ step to ``2c`` channels: strided conv (Zhu) or conv then blur (CUT)."""
    if not antialias:  # zero padding, as the reference
        return [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=bias), make_norm(norm, 2 * c), nn.ReLU(True)]
    conv = nn.Conv2d(c, 2 * c, 3, 1, 1, bias=bias)
    return [conv, make_norm(norm, 2 * c), nn.ReLU(True), BlurDownsample(2 * c)]


def _feature_layers(
    first_block: int, n_blocks: int, antialias: bool, n_downsampling: int
) -> tuple[int, ...]:
    """Park et al.'s ``nce_layers`` 0,4,8,12,16 of the anti-aliased stack, mapped by meaning:
    the padded input, the first and second downsampling conv, the first and the fifth
    residual block (the last one when there are fewer). Zhu's layout: 0,4,7,10,14. With
    one downsampling there is no second conv; with more, only the first two are taken."""
    layers = [0, 4]
    if n_downsampling >= 2:
        layers.append(8 if antialias else 7)
    if n_blocks:
        layers += [first_block, first_block + min(4, n_blocks - 1)]
    return tuple(dict.fromkeys(layers))


class UnetBlock(nn.Module):
    """One U-Net level: ``down → submodule → up``, concatenated with its input unless
    outermost (the reference's ``UnetSkipConnectionBlock``, same ``model`` indices)."""

    def __init__(
        self,
        outer: int,
        inner: int,
        submodule: nn.Module | None = None,
        *,
        kind: str = "middle",
        norm: str = "instance",
        dropout: float = 0.0,
        padding: str = "zeros",
        upsample: str = "transposed",
    ) -> None:
        super().__init__()
        self.outermost = kind == "outermost"
        bias = conv_bias(norm)
        down_conv = nn.Conv2d(outer, inner, 4, 2, 1, bias=bias, padding_mode=_mode(padding))
        up_in = inner if kind == "innermost" else 2 * inner
        up_bias = True if self.outermost else bias
        up_conv = _upsample(
            up_in, outer, kernel=4, upsample=upsample, padding=padding, bias=up_bias
        )
        #: how many leading layers of ``model`` make the down path; the submodule follows
        self.down_length = {"outermost": 1, "innermost": 2}.get(kind, 3)
        if self.outermost:
            layers = [down_conv, submodule, nn.ReLU(True), up_conv, nn.Tanh()]
        elif kind == "innermost":
            layers = [nn.LeakyReLU(0.2, True), down_conv, nn.ReLU(True), up_conv]
            layers.append(make_norm(norm, outer))
        else:
            layers = [nn.LeakyReLU(0.2, True), down_conv, make_norm(norm, inner), submodule]
            layers += [nn.ReLU(True), up_conv, make_norm(norm, outer)]
            if dropout:
                layers.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)

    def down(self, x: torch.Tensor) -> torch.Tensor:
        """This level's down path alone (its activation out of place: ``x`` is kept)."""
        for layer in self.model[: self.down_length]:
            if isinstance(layer, nn.LeakyReLU):
                x = nn.functional.leaky_relu(x, layer.negative_slope)
            else:
                x = layer(x)
        return x


class UnetGenerator(nn.Module):
    """U-Net generator with ``num_downs`` ×2 downsamplings (8 → 1×1 at 256 px).

    :param num_downs: downsamplings, ≥ 5; inputs must be divisible by ``2**num_downs``.
    :param ngf: filters of the outermost level (×2 per level up to ×8).
    :param norm: ``instance`` (default), ``batch`` or ``none``.
    :param dropout: probability in the ``num_downs − 5`` middle levels (``True`` = 0.5).
    :param padding: ``zeros`` (reference) or ``reflect`` for the down convs.
    :param upsample: ``transposed`` (default) or ``resize_conv``.
    """

    def __init__(
        self,
        num_downs: int = 8,
        ngf: int = 64,
        norm: str = "instance",
        dropout: float = 0.0,
        padding: str = "zeros",
        upsample: str = "transposed",
    ) -> None:
        super().__init__()
        self.size_multiple = 2**num_downs
        self.min_size = self.size_multiple  # the innermost 1×1 level has no norm
        kw: dict[str, Any] = {"norm": norm, "padding": padding, "upsample": upsample}
        block = UnetBlock(8 * ngf, 8 * ngf, kind="innermost", **kw)
        for _ in range(num_downs - 5):
            block = UnetBlock(8 * ngf, 8 * ngf, block, dropout=dropout, **kw)
        for mult in (4, 2, 1):
            block = UnetBlock(mult * ngf, 2 * mult * ngf, block, **kw)
        self.model = UnetBlock(3, ngf, block, kind="outermost", **kw)
        self.num_downs = num_downs
        #: CUT's encoder taps: the input and the first four levels' down paths (at 256 px
        #: 256² … 16², like the ResNet's taps), leaving out the coarsest few-pixel levels
        self.feature_layers = tuple(range(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_size(self, x)
        return self.model(x)

    def features(self, x: torch.Tensor, layers: Sequence[int]) -> list[torch.Tensor]:
        """Encoder features: layer 0 is the input, layer ``k`` (1 … ``num_downs``) the
        output of the ``k``-th downsampling (after its norm: what the skip carries).
        The walk stops at the deepest layer asked for."""
        _check_size(self, x)
        wanted = [int(i) for i in layers]
        if not wanted or not all(0 <= i <= self.num_downs for i in wanted):
            raise ComponentError(
                f"feature layers {list(layers)} must be levels 0..{self.num_downs} of this "
                f"U-Net (0: the input, k: the k-th downsampling)"
            )
        taken, block = [x], self.model
        for _ in range(max(wanted)):
            x = block.down(x)
            taken.append(x)
            block = block.model[block.down_length]  # the next level (innermost: not reached)
        return [taken[i] for i in wanted]


def _common(
    ngf: int, norm: str, dropout: bool | float, padding: str, upsample: str
) -> dict[str, Any]:
    """The options every built-in generator shares (checked by ``Registry.create``)."""
    rate = dropout_rate(dropout)
    return {"ngf": ngf, "norm": norm, "dropout": rate, "padding": padding, "upsample": upsample}


def resnet(
    n_blocks: Annotated[int, Range(min=0)] = 9,
    ngf: Annotated[int, Range(min=1)] = 64,
    norm: Norm = "instance",
    dropout: Annotated[bool | float, Range(0, 1, max_open=True)] = False,
    padding: Padding = "reflect",
    upsample: Upsample = "transposed",
    antialias: bool = False,
    init: Init = "normal",
    init_gain: Annotated[float, Range(min=0, min_open=True)] = 0.02,
    n_downsampling: Annotated[int, Range(1, 4)] = 2,
    residual: bool = False,
) -> ResnetGenerator:
    """ResNet generator (Johnson / Zhu et al.) with any number of residual blocks.

    Options: ``n_blocks`` (9), ``ngf`` (64), ``norm`` instance|batch|none (instance),
    ``dropout`` false|true|probability (false), ``padding`` reflect|zeros (reflect),
    ``upsample`` transposed|resize_conv|bilinear (transposed), ``antialias`` (false: true is CUT's
    reference generator, blurred down- and upsampling), ``init``
    normal|xavier|kaiming|orthogonal (normal), ``init_gain`` (0.02), ``n_downsampling``
    1–4 (2: the residual blocks work at a quarter of the input's side; 1 keeps twice the
    detail there for the same FLOPs, with half the channels and receptive field),
    ``residual`` (false: true outputs the input plus a learnt change, ``x + f(x)``, so
    detail the network does not change passes through; same parameters).
    """
    return _resnet(
        n_blocks,
        ngf,
        norm,
        dropout,
        padding,
        upsample,
        antialias,
        init,
        init_gain,
        n_downsampling=n_downsampling,
        residual=residual,
    )


def _resnet(
    n_blocks: int,
    ngf: int,
    norm: str,
    dropout: bool | float,
    padding: str,
    upsample: str,
    antialias: bool,
    init: str,
    init_gain: float,
    *,
    separable: bool = False,
    n_downsampling: int = 2,
    residual: bool = False,
) -> ResnetGenerator:
    opts = _common(ngf, norm, dropout, padding, upsample)
    if antialias and upsample != "transposed":
        raise ComponentError(
            f"option antialias=true brings its own (blurred) upsampling; drop "
            f"upsample={upsample!r} or set antialias=false"
        )
    net = ResnetGenerator(
        n_blocks,
        antialias=antialias,
        separable=separable,
        n_downsampling=n_downsampling,
        residual=residual,
        **opts,
    )
    return init_weights(net, init, init_gain)


def mobile_resnet(
    n_blocks: Annotated[int, Range(min=0)] = 9,
    ngf: Annotated[int, Range(min=1)] = 64,
    norm: Norm = "instance",
    dropout: Annotated[bool | float, Range(0, 1, max_open=True)] = False,
    padding: Padding = "reflect",
    upsample: Upsample = "transposed",
    antialias: bool = False,
    init: Init = "normal",
    init_gain: Annotated[float, Range(min=0, min_open=True)] = 0.02,
) -> ResnetGenerator:
    """ResNet generator with depthwise-separable residual blocks (Li et al., GAN Compression).

    Each block's 3×3 convs are depthwise 3×3 → norm → pointwise 1×1: at ngf 64 and 9
    blocks 5.73× fewer parameters and 4.48× fewer multiply-adds than ``resnet_9blocks``.
    Options as ``resnet``: ``n_blocks`` (9), ``ngf`` (64), ``norm`` (instance),
    ``dropout`` (false), ``padding`` (reflect), ``upsample`` transposed|resize_conv|bilinear
    (transposed), ``antialias`` (false), ``init`` (normal), ``init_gain`` (0.02).
    """
    return _resnet(
        n_blocks, ngf, norm, dropout, padding, upsample, antialias, init, init_gain, separable=True
    )


def unet(
    num_downs: Annotated[int, Range(min=5)] = 8,
    ngf: Annotated[int, Range(min=1)] = 64,
    norm: Norm = "instance",
    dropout: Annotated[bool | float, Range(0, 1, max_open=True)] = False,
    padding: Padding = "zeros",
    upsample: Upsample = "transposed",
    init: Init = "normal",
    init_gain: Annotated[float, Range(min=0, min_open=True)] = 0.02,
) -> UnetGenerator:
    """U-Net generator (Zhu et al. / Ronneberger et al.) with any number of downsamplings.

    Options: ``num_downs`` (8, at least 5), ``ngf`` (64), ``norm`` instance|batch|none
    (instance), ``dropout`` false|true|probability (false), ``padding`` zeros|reflect
    (zeros), ``upsample`` transposed|resize_conv|bilinear (transposed), ``init``
    normal|xavier|kaiming|orthogonal (normal), ``init_gain`` (0.02).
    """
    opts = _common(ngf, norm, dropout, padding, upsample)
    return init_weights(UnetGenerator(num_downs, **opts), init, init_gain)


_PRESET_DOCS = {
    "resnet_9blocks": "ResNet generator with 9 residual blocks (Zhu et al.'s default for 256 px).",
    "resnet_6blocks": "ResNet generator with 6 residual blocks (Zhu et al.'s choice for 128 px).",
    "unet_256": "U-Net generator with 8 downsamplings (inputs divisible by 256).",
    "unet_128": "U-Net generator with 7 downsamplings (inputs divisible by 128).",
}


class AttentionGenerator(nn.Module):
    """An attention-guided generator (Mejjati et al., NeurIPS 2018; Tang et al.,
    AttentionGAN, TNNLS 2021): a small mask head looks at the input and decides where the
    wrapped generator's output is used — ``mask·G(x) + (1 − mask)·x`` — so what the mask
    leaves out (background, skin) is the input itself.

    The mask head: a 3×3 conv (``mask_ngf``), a stride-2 3×3 conv (×2), a 3×3 conv, nearest
    ×2 upsampling, a 3×3 conv back to ``mask_ngf``, then a 7×7 conv to one channel and a
    sigmoid; instance norm and ReLU between. :meth:`mask` gives the mask of an input.

    ``mask_warmup`` (steps, 0: none): during training the mask is held at 1 for that many
    steps, so the wrapped generator learns to translate before the mask can choose the
    input (without it the cycle and identity losses drive a fresh mask to 0 in a few
    hundred steps); over the next as many steps the hold fades linearly. The engine sets
    the step (:meth:`set_training_step`); a network not being trained uses its mask as is.
    """

    def __init__(self, content: nn.Module, mask_ngf: int = 16, mask_warmup: int = 0) -> None:
        super().__init__()
        self.content = content
        self.mask_warmup = mask_warmup
        #: The held part of the mask, 0–1 (1 during the warm-up); not saved.
        self.mask_floor = 0.0
        n = mask_ngf
        self.mask_head = nn.Sequential(
            nn.Conv2d(3, n, 3, padding=1, padding_mode="reflect"),
            nn.InstanceNorm2d(n),
            nn.ReLU(True),
            nn.Conv2d(n, 2 * n, 3, stride=2, padding=1, padding_mode="reflect"),
            nn.InstanceNorm2d(2 * n),
            nn.ReLU(True),
            nn.Conv2d(2 * n, 2 * n, 3, padding=1, padding_mode="reflect"),
            nn.InstanceNorm2d(2 * n),
            nn.ReLU(True),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(2 * n, n, 3, padding=1, padding_mode="reflect"),
            nn.InstanceNorm2d(n),
            nn.ReLU(True),
            nn.Conv2d(n, 1, 7, padding=3, padding_mode="reflect"),
        )
        multiple = int(getattr(content, "size_multiple", 1) or 1)
        self.size_multiple = math.lcm(multiple, 2)
        if hasattr(content, "min_size"):
            self.min_size = content.min_size

    def set_training_step(self, step: int) -> None:
        """The warm-up's hold for the 1-based training ``step`` (called by the engine)."""
        w = self.mask_warmup
        self.mask_floor = 0.0 if w <= 0 else min(1.0, max(0.0, 2.0 - step / w))

    def mask(self, x: torch.Tensor) -> torch.Tensor:
        """Where the translation is used: ``(N, 1, H, W)`` in (0, 1]."""
        m = torch.sigmoid(self.mask_head(x))
        if self.mask_floor > 0:  # the warm-up: m still gets (scaled) gradients
            m = self.mask_floor + (1 - self.mask_floor) * m
        return m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.mask(x)
        return m * self.content(x) + (1 - m) * x


def attention(
    inner: Annotated[Any, Inner("generators")] = "resnet",
    mask_ngf: Annotated[int, Range(min=1)] = 16,
    mask_bias: Annotated[float, Range(min=-10, max=10)] = 0.0,
    mask_warmup: Annotated[int, Range(min=0)] = 0,
    init: Init = "normal",
    init_gain: Annotated[float, Range(min=0, min_open=True)] = 0.02,
) -> AttentionGenerator:
    """Attention-guided wrapper of any generator: mask·G(x) + (1 − mask)·x.

    Options: ``inner`` the wrapped generator (``resnet``; its own options go beside it),
    ``mask_ngf`` filters of the mask head (16), ``mask_bias`` the mask logit's initial
    bias (0: the mask starts at about ½; 3: at 0.95, so training starts as the plain
    generator and learns where to keep the input), ``mask_warmup`` training steps with the
    mask held at 1, then as many over which the hold fades (0: none), ``init``/``init_gain``
    of the mask head.
    """
    net = AttentionGenerator(inner, mask_ngf, mask_warmup)
    init_weights(net.mask_head, init, init_gain)
    with torch.no_grad():
        net.mask_head[-1].bias.fill_(mask_bias)
    return net


@translkit.hookimpl
def translkit_register(registry: Any) -> None:
    registry.generators.add("attention", attention)
    registry.generators.add("resnet", resnet)
    registry.generators.add("unet", unet)
    registry.generators.add("mobile_resnet", mobile_resnet)
    for name, fixed in RESNET_PRESETS.items():
        registry.generators.add(name, preset(resnet, fixed, _doc(name, resnet)))
    for name, fixed in UNET_PRESETS.items():
        registry.generators.add(name, preset(unet, fixed, _doc(name, unet)))


def _doc(name: str, factory: Any) -> str:
    fixed = {**RESNET_PRESETS, **UNET_PRESETS}[name]
    pinned = ", ".join(f"{k}={v}" for k, v in fixed.items())
    return (
        f"{_PRESET_DOCS[name]}\n\nThe ``{factory.__name__}`` generator with {pinned} "
        "pinned; every other option of it applies, with the same defaults."
    )
