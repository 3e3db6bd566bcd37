"""3×3 convolutions by Winograd's minimal filtering, F(4×4, 3×3) (Lavin & Gray, CVPR 2016):
the same function as ``nn.Conv2d`` with 4× fewer multiplications, for the CPUs whose direct
convolution runs at the fp32 peak (AVX2, where nothing else is left to gain).

Each 6×6 input tile and each 3×3 filter are transformed (``B``, ``G``), the channels are
summed by one batched matrix product per tile position (36 of them), and the result is
transformed back to a 4×4 output tile (``A``). The backward pass is the exact adjoint, made of
the same transforms and matrix products: gradients for the input, the weights and the bias.
Rounding differs from the direct convolution's by about 1e-5 of the output's magnitude in
fp32 (``tests/test_winograd.py`` states the tolerance).

The runtime takes it only where it measured faster on this run's networks
(:mod:`translkit.runtime`, ``train.fast_conv``): under the AVX2 caps one 256-channel
convolution ran 1.3–1.6× faster, 128 channels broke even and 8–64 channels lost, where the
transforms cost more than the products they save (``benchmarks/conv_algorithms.py``).
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TILE", "WinogradConv2d", "eligible", "winograd_conv2d", "winograd_convs"]

#: Output tile side m of F(m×m, 3×3): 4 (6×6 input tiles).
TILE = 4
_A = TILE + 2  # input tile side

# Lavin & Gray's F(4, 3) matrices: input transform Bᵀ, filter transform G, output transform Aᵀ.
_BT = [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
]
_G = [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
]
_AT = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]


@functools.cache
def _transforms(device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The 2-D transforms as matrices on flattened tiles (row-major: ``P X Pᵀ`` is
    ``(P ⊗ P) vec(X)``): input 36×36, filter 36×9, output 16×36; fp32 on ``device``."""
    mats = (torch.tensor(m, dtype=torch.float64) for m in (_BT, _G, _AT))
    return tuple(torch.kron(m, m).to(device, torch.float32) for m in mats)  # type: ignore[return-value]


def _tiles(x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    """The transformed input tiles ``V`` (36, C, N·tiles) of ``x`` (N, C, H, W), whose
    H − 2 and W − 2 are multiples of :data:`TILE`; and the tile rows and columns."""
    bk, _, _ = _transforms(x.device)
    n, c, h, w = x.shape
    rows, cols = (h - 2) // TILE, (w - 2) // TILE
    d = x.unfold(2, _A, TILE).unfold(3, _A, TILE)  # N, C, rows, cols, 6, 6 (a view)
    d = d.permute(4, 5, 1, 0, 2, 3).reshape(_A * _A, c * n * rows * cols)
    return (bk @ d).view(_A * _A, c, n * rows * cols), rows, cols


class _WinogradF43(torch.autograd.Function):
    """``F.conv2d(x, w)`` (no padding, stride 1) for x whose H − 2, W − 2 are multiples of 4."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        _, gk, ak = _transforms(x.device)
        n = x.shape[0]
        out_c, in_c = weight.shape[:2]
        v, rows, cols = _tiles(x)
        u = (gk @ weight.reshape(out_c * in_c, 9).t()).view(_A * _A, out_c, in_c)
        y = (ak @ torch.bmm(u, v).view(_A * _A, -1)).view(TILE, TILE, out_c, n, rows, cols)
        ctx.save_for_backward(x, weight, u, v)
        return y.permute(3, 2, 4, 0, 5, 1).reshape(n, out_c, rows * TILE, cols * TILE)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight, u, v = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph (a gradient penalty): the direct
            # convolution's derivatives, which are differentiable again
            needs = [t for t, n in zip((x, weight), ctx.needs_input_grad, strict=True) if n]
            got = iter(torch.autograd.grad(F.conv2d(x, weight), needs, grad, create_graph=True))
            return tuple(next(got) if n else None for n in ctx.needs_input_grad)
        bk, gk, ak = _transforms(x.device)
        n, in_c, h, w = x.shape
        out_c = weight.shape[0]
        rows, cols = (h - 2) // TILE, (w - 2) // TILE
        g = grad.reshape(n, out_c, rows, TILE, cols, TILE).permute(3, 5, 1, 0, 2, 4)
        dm = (ak.t() @ g.reshape(TILE * TILE, -1)).view(_A * _A, out_c, n * rows * cols)
        dx = dw = None
        if ctx.needs_input_grad[1]:
            du = torch.bmm(dm, v.transpose(1, 2)).view(_A * _A, -1)
            dw = (gk.t() @ du).view(3, 3, out_c, in_c).permute(2, 3, 0, 1).contiguous()
        if ctx.needs_input_grad[0]:
            dv = torch.bmm(u.transpose(1, 2), dm).view(_A * _A, -1)
            cols_ = (bk.t() @ dv).view(_A * _A, in_c, n, rows * cols).permute(2, 1, 0, 3)
            dx = F.fold(cols_.reshape(n, in_c * _A * _A, -1), (h, w), _A, stride=TILE)
        return dx, dw


def winograd_conv2d(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``F.conv2d(x, weight)`` for a 3×3 ``weight``, no padding, stride 1, any H, W ≥ 3: the
    input is padded at the bottom and right to whole tiles and the output cropped back."""
    h, w = x.shape[-2] - 2, x.shape[-1] - 2
    extra_h, extra_w = -h % TILE, -w % TILE
    if extra_h or extra_w:
        x = F.pad(x, (0, extra_w, 0, extra_h))
    y = _WinogradF43.apply(x, weight)
    return y[..., :h, :w] if extra_h or extra_w else y


def eligible(conv: nn.Module) -> bool:
    """A plain ``nn.Conv2d`` (not a subclass) with a 3×3 kernel, stride 1, no dilation, one
    group."""
    return (
        type(conv) is nn.Conv2d
        and conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and not isinstance(conv.padding, str)
    )


class WinogradConv2d(nn.Conv2d):
    """An ``nn.Conv2d`` (same parameters, same state dict) that computes by F(4×4, 3×3) on
    fp32 CPU tensors outside autocast, and as itself otherwise."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            x.device.type != "cpu"
            or x.dtype != torch.float32
            or self.weight.dtype != torch.float32
            or torch.is_autocast_enabled("cpu")
        ):
            return super().forward(x)
        if any(self.padding):  # the padding nn.Conv2d itself applies for its padding modes
            mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
            x = F.pad(x, self._reversed_padding_repeated_twice, mode=mode)
        y = winograd_conv2d(x, self.weight)
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)


def winograd_convs(net: nn.Module) -> int:
    """Run every :func:`eligible` convolution of ``net`` as a :class:`WinogradConv2d` (in
    place: the module's class changes, its parameters and state dict do not); the count."""
    count = 0
    for module in net.modules():
        if eligible(module):
            module.__class__ = WinogradConv2d
            count += 1
    return count
