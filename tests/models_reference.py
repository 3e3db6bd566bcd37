"""Zhu et al.'s generator module layout, written from SPEC.md §1 for the import tests.

Independent of translkit's own networks: these classes mirror the reference
implementation's ``ResnetGenerator`` / ``UnetGenerator`` structure (``model``
``nn.Sequential``, ``conv_block``, nested ``UnetSkipConnectionBlock.model``), so their
``state_dict()`` is what ``latest_net_G_A.pth`` holds.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

__all__ = ["RefResnetGenerator", "RefUnetGenerator", "randomise_norms", "ref_norm"]


def ref_norm(norm: str, stale: bool = False):
    """The reference's norm layer factory; ``stale`` mimics pre-2019 instance norms."""
    if norm == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=stale)


class RefResnetBlock(nn.Module):
    def __init__(self, dim: int, norm_layer, use_dropout: bool, use_bias: bool) -> None:
        super().__init__()
        block = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias)]
        block += [norm_layer(dim), nn.ReLU(True)]
        if use_dropout:
            block += [nn.Dropout(0.5)]
        block += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm_layer(dim)]
        self.conv_block = nn.Sequential(*block)

    def forward(self, x):
        return x + self.conv_block(x)


class RefResnetGenerator(nn.Module):
    def __init__(self, ngf=64, norm_layer=None, use_dropout=False, n_blocks=9) -> None:
        super().__init__()
        use_bias = norm_layer.func == nn.InstanceNorm2d
        model = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7, bias=use_bias)]
        model += [norm_layer(ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2**i
            model += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=use_bias),
                norm_layer(ngf * mult * 2),
                nn.ReLU(True),
            ]
        for _ in range(n_blocks):
            model += [RefResnetBlock(ngf * 4, norm_layer, use_dropout, use_bias)]
        for i in range(2):
            mult = 2 ** (2 - i)
            model += [
                nn.ConvTranspose2d(
                    ngf * mult, ngf * mult // 2, 3, 2, padding=1, output_padding=1, bias=use_bias
                ),
                norm_layer(ngf * mult // 2),
                nn.ReLU(True),
            ]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


class RefUnetBlock(nn.Module):
    def __init__(
        self,
        outer_nc,
        inner_nc,
        submodule=None,
        outermost=False,
        innermost=False,
        norm_layer=None,
        use_dropout=False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        use_bias = norm_layer.func == nn.InstanceNorm2d
        downconv = nn.Conv2d(outer_nc, inner_nc, 4, 2, 1, bias=use_bias)
        downrelu, downnorm = nn.LeakyReLU(0.2, True), norm_layer(inner_nc)
        uprelu, upnorm = nn.ReLU(True), norm_layer(outer_nc)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1)
            model = [downconv, submodule, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, 4, 2, 1, bias=use_bias)
            model = [downrelu, downconv, uprelu, upconv, upnorm]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1, bias=use_bias)
            model = [downrelu, downconv, downnorm, submodule, uprelu, upconv, upnorm]
            if use_dropout:
                model += [nn.Dropout(0.5)]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class RefUnetGenerator(nn.Module):
    def __init__(self, num_downs=8, ngf=64, norm_layer=None, use_dropout=False) -> None:
        super().__init__()
        block = RefUnetBlock(ngf * 8, ngf * 8, innermost=True, norm_layer=norm_layer)
        for _ in range(num_downs - 5):
            block = RefUnetBlock(
                ngf * 8, ngf * 8, block, norm_layer=norm_layer, use_dropout=use_dropout
            )
        block = RefUnetBlock(ngf * 4, ngf * 8, block, norm_layer=norm_layer)
        block = RefUnetBlock(ngf * 2, ngf * 4, block, norm_layer=norm_layer)
        block = RefUnetBlock(ngf, ngf * 2, block, norm_layer=norm_layer)
        self.model = RefUnetBlock(3, ngf, block, outermost=True, norm_layer=norm_layer)

    def forward(self, x):
        return self.model(x)


def randomise_norms(net: nn.Module, seed: int = 0) -> nn.Module:
    """Give batch norms non-trivial affine parameters and running statistics."""
    gen = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(1 + 0.1 * torch.rand(m.running_var.shape, generator=gen))
    return net
