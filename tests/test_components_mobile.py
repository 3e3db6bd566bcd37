"""The ``mobile_resnet`` generator (Li et al., GAN Compression, CVPR 2020): its layer list,
parameter counts and cost against ``resnet_9blocks``, the reference's keys, and every fast
path of training (fused passes, group-norm swap, bf16, CUT's feature tap) against the
plain fp32 path."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from training_support import assert_bf16_gradients_track, needs_cpu_bf16, tiny_recipe
from translkit_plugins.generators import MobileResnetBlock, ResnetBlock, SeparableConv2d

import translkit
from translkit.training.engine import Engine

REG = translkit.get_registry()

#: Parameters (3→3 channels), as docs/components.md lists them.
COUNTS = {
    (9, 64, "instance"): 1_987_075,
    (9, 64, "batch"): 1_996_931,
    (6, 64, "instance"): 1_576_963,
}
#: Multiply-adds of the convolutions at 256×256 (torch's FlopCounterMode: FLOPs / 2).
MACS_256 = {"resnet_9blocks": 49_551_507_456, "mobile_resnet": 11_066_671_104}


def _meta(name: str, **options) -> nn.Module:
    with torch.device("meta"):
        return REG.generators.create(name, **options)


def _count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _macs(net: nn.Module, side: int) -> int:
    with torch.device("meta"), FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, 3, side, side))
    return counter.get_total_flops() // 2


@pytest.mark.parametrize(("n_blocks", "ngf", "norm"), list(COUNTS))
def test_parameter_counts(n_blocks: int, ngf: int, norm: str):
    net = _meta("mobile_resnet", n_blocks=n_blocks, ngf=ngf, norm=norm)
    assert _count(net) == COUNTS[n_blocks, ngf, norm]


def test_cost_against_resnet_9blocks_at_equal_width():
    mobile, resnet = _meta("mobile_resnet"), _meta("resnet_9blocks")
    assert _count(resnet) / _count(mobile) == pytest.approx(5.726, abs=1e-3)
    macs = {"mobile_resnet": _macs(mobile, 256), "resnet_9blocks": _macs(resnet, 256)}
    assert macs == MACS_256
    assert macs["resnet_9blocks"] / macs["mobile_resnet"] == pytest.approx(4.477, abs=1e-3)


def test_layer_list_and_reference_keys():
    net = _meta("mobile_resnet")
    # the stack is resnet_9blocks' own: only the blocks differ
    assert [type(m) for m in net.model] == [
        MobileResnetBlock if isinstance(m, ResnetBlock) else type(m)
        for m in _meta("resnet_9blocks").model
    ]
    block = net.model[10]
    kinds = [type(m).__name__ for m in block.conv_block]
    assert kinds == [
        "ReflectionPad2d", "SeparableConv2d", "InstanceNorm2d", "ReLU", "Dropout",
        "ReflectionPad2d", "SeparableConv2d", "InstanceNorm2d",
    ]  # fmt: skip
    sep = block.conv_block[1]
    assert isinstance(sep, SeparableConv2d)
    depthwise, norm, pointwise = sep.conv
    assert (depthwise.kernel_size, depthwise.groups, depthwise.in_channels) == ((3, 3), 256, 256)
    assert isinstance(norm, nn.InstanceNorm2d)
    assert (pointwise.kernel_size, pointwise.groups, pointwise.out_channels) == ((1, 1), 1, 256)
    keys = set(net.state_dict())  # mit-han-lab/gan-compression's MobileResnetGenerator keys
    assert {"model.10.conv_block.1.conv.0.weight", "model.10.conv_block.6.conv.2.bias"} <= keys
    assert {"model.19.weight", "model.26.weight"} <= keys  # transposed conv, last conv
    assert net.feature_layers == (0, 4, 7, 10, 14)


def test_options_as_resnet():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    for options in (
        {"upsample": "resize_conv"},
        {"antialias": True},
        {"norm": "batch", "dropout": 0.2, "padding": "zeros"},
    ):
        net = REG.generators.create("mobile_resnet", n_blocks=2, ngf=4, **options).eval()
        assert net(x).shape == x.shape, options
    with pytest.raises(
        translkit.errors.ComponentError,
        match=r"upsample must be one of 'transposed' \| 'resize_conv'",
    ):
        REG.generators.create("mobile_resnet", upsample="bicubic")


# -- every fast path against the plain fp32 path -------------------------------------------
PLAIN = {"precision": "fp32", "fuse": "off", "fast_norm": "off", "channels_last": "off"}
GEN = {"name": "mobile_resnet", "n_blocks": 2, "ngf": 8, "norm": "instance"}
DISC = {"name": "patchgan", "ndf": 8, "n_layers": 2}


def _gradients(tmp_path: Path, n: int, method: str, dtype=torch.float32, **train):
    sections = {"generator": GEN, "discriminator": DISC}
    if method != "cyclegan":
        sections |= {"method": {"name": method, "num_patches": 16}, "loss": None}
    recipe = tiny_recipe(
        tmp_path, optim={"batch_size": n}, train={"pool_size": 0, **train}, **sections
    )
    engine = Engine(recipe, torch.device("cpu"), translkit.get_registry())
    for net in engine.nets.values():
        net.to(dtype)
    if method == "fastcut":
        engine.method.draw_flip = lambda: False  # the feature tap runs on unflipped steps
    g = torch.Generator().manual_seed(1)
    batch = {d: (torch.rand(n, 3, 32, 32, generator=g) * 2 - 1).to(dtype) for d in "AB"}
    torch.manual_seed(7)  # the same patch positions for both paths
    return engine, *engine.gradients(batch)


def _error(got: dict, want: dict) -> float:
    """The largest relative error of a gradient that is not zero by construction."""
    largest = max(g.norm() for g in want.values())
    return max(
        float((got[k].double() - w.double()).norm() / w.norm())
        for k, w in want.items()
        if w.norm() > 1e-5 * largest
    )


@pytest.mark.parametrize("method", ["cyclegan", "cut", "fastcut"])
@pytest.mark.parametrize("n", [1, 2])  # batch 1: where channels_last instance norm goes wrong
def test_fused_passes_equal_separate_passes(tmp_path: Path, method: str, n: int):
    """Fused passes (and CUT's feature tap) compute what Zhu's/Park's separate calls do."""
    plain = {**PLAIN, "fast_norm": "off"}
    _, t_plain, g_plain = _gradients(tmp_path, n, method, **plain)
    fast, t_fast, g_fast = _gradients(tmp_path, n, method, **{**plain, "fuse": "on"})
    assert fast.method.fuse_G and (method == "cyclegan" or fast.method.tap)
    for k in t_plain:
        torch.testing.assert_close(t_fast[k], t_plain[k], rtol=1e-5, atol=1e-6, msg=k)
    assert set(g_fast) == set(g_plain)
    assert _error(g_fast, g_plain) < 1e-4


@pytest.mark.parametrize("method", ["cyclegan", "cut"])
@pytest.mark.parametrize("n", [1, 2])
def test_fast_path_is_as_accurate_as_the_plain_path(tmp_path: Path, method: str, n: int):
    """The CPU fast path (group norms, fused passes) against the plain path in float64: the
    same function (1e-12), and in fp32 about as close to it as the plain fp32 path is. Two
    fp32 computations of one function differ by their reduction order, which each CPU's
    kernels choose (AVX2, AVX-512, AMX), so "about" is 5 % of the plain path's own error:
    an exact order of two fp32 errors held only on the CPUs it was first measured on."""
    _, _, truth = _gradients(tmp_path, n, method, torch.float64, **PLAIN)
    fast = {"precision": "fp32", "fuse": "on", "fast_norm": "on"}  # auto measures: force it
    engine, _, fast64 = _gradients(tmp_path, n, method, torch.float64, **fast)
    assert not any(isinstance(m, nn.InstanceNorm2d) for m in engine.nets["G_AB"].modules())
    assert _error(fast64, truth) < 1e-12
    plain_error = _error(_gradients(tmp_path, n, method, **PLAIN)[2], truth)
    fast_error = _error(_gradients(tmp_path, n, method, **fast)[2], truth)
    assert fast_error <= max(1.05 * plain_error, 2e-3), (fast_error, plain_error)


@needs_cpu_bf16
@pytest.mark.parametrize("n", [1, 2])  # batch 1: where channels_last instance norm goes wrong
def test_bf16_default_path_agrees_with_plain_fp32(tmp_path: Path, n: int):
    """The tolerance of tests/test_training_precision.py (docs/training.md)."""
    _, ref_terms, ref = _gradients(tmp_path, n, "cyclegan", **PLAIN)
    engine, terms, grads = _gradients(tmp_path, n, "cyclegan", precision="bf16")
    assert engine.precision.name == "bf16"
    for key, value in ref_terms.items():
        assert terms[key].item() == pytest.approx(value.item(), rel=1e-2), key
    assert_bf16_gradients_track(ref, grads)


@pytest.mark.parametrize("name", ["resnet", "mobile_resnet", "unet"])
def test_resize_conv_upsampling_has_no_checkerboard(name: str):
    """Odena et al. (2016): a stride-2 transposed conv paints a constant map with a period-2
    pattern; a nearest or bilinear ×2 resize then a 3×3 conv keeps it constant."""
    torch.manual_seed(0)
    opts = {"num_downs": 5} if name == "unet" else {"n_blocks": 1}
    for upsample, checkered in (("transposed", True), ("resize_conv", False), ("bilinear", False)):
        net = REG.generators.create(name, ngf=4, upsample=upsample, **opts)
        ups = [m for m in net.modules() if isinstance(m, (nn.ConvTranspose2d, nn.Upsample))]
        assert ups and all(
            isinstance(m, nn.ConvTranspose2d) == (upsample == "transposed") for m in ups
        )
        up = next(
            m
            for m in net.modules()
            if isinstance(m, nn.ConvTranspose2d)
            or (isinstance(m, nn.Sequential) and isinstance(m[0], nn.Upsample))
        )
        c_in = up.in_channels if isinstance(up, nn.ConvTranspose2d) else up[1].in_channels
        with torch.no_grad():
            out = up(torch.ones(1, c_in, 8, 8))[..., 2:-2, 2:-2]  # away from the borders
        spread = (out - out[..., :1, :1]).abs().amax()
        assert bool(spread > 1e-4) is checkered, (name, upsample, float(spread))
