"""Contract checks for components, reusable by third-party plugins in their own tests.

The same checks translkit runs on its built-ins (after timm's ``tests/test_models.py``):
forward at a small size, output shape, finite values, backward reaching every
parameter, a deterministic eval mode. Each ``check_*`` raises ``AssertionError`` with a
message naming the problem, so it reads well under pytest::

    from translkit.testing import check_generator, check_registered

    def test_my_generator():
        check_generator(MyGenerator(width=8), size=64)

    def test_everything_my_plugin_registers():
        check_registered("generators", "my_gen", registries=translkit.get_registry())
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from translkit.contracts import GANLoss, PatchLoss, PixelLoss, gan_penalty, satisfies

__all__ = [
    "HEAD_FEATURES",
    "SMALL_OPTIONS",
    "check_discriminator",
    "check_gan_loss",
    "check_generator",
    "check_patch_head",
    "check_patch_loss",
    "check_pixel_loss",
    "check_registered",
    "fit_size",
    "small_options",
]

#: Options that make a component quick to test, applied when its factory accepts them.
SMALL_OPTIONS: dict[str, Any] = {"ngf": 8, "ndf": 8, "n_blocks": 2, "num_downs": 5}

Size = int | tuple[int, int]


def _hw(size: Size) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def fit_size(size: Size, multiple: int, *, non_square: bool = False) -> tuple[int, int]:
    """``size`` rounded up to ``multiple``; with ``non_square`` the width is kept wider."""
    h, w = (math.ceil(s / multiple) * multiple for s in _hw(size))
    if non_square and w <= h:
        w = h + multiple
    return h, w


def _device(net: nn.Module) -> torch.device:
    """Where the network lives (its first parameter or buffer; CPU if it has neither)."""
    for t in (*net.parameters(), *net.buffers()):
        return t.device
    return torch.device("cpu")


def _inputs(
    batch: int, hw: tuple[int, int], seed: int, device: torch.device | None = None
) -> torch.Tensor:
    """Reproducible images in ``[-1, 1]`` (drawn on the CPU, then moved to ``device``)."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, 3, *hw, generator=gen) * 2 - 1).to(device or "cpu")


def _check_backward(net: nn.Module, out: torch.Tensor, what: str, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed + 1)
    weights = torch.randn(out.shape, generator=gen).to(out.device)
    (out * weights).sum().backward()
    trainable = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    assert trainable, f"{what} has no trainable parameters"
    none = [n for n, p in trainable if p.grad is None]
    assert not none, f"{what}: backward reaches no gradient for {len(none)} parameters: {none[:5]}"
    bad = [n for n, p in trainable if not torch.isfinite(p.grad).all()]
    assert not bad, f"{what}: non-finite gradients for {bad[:5]}"


def _check_eval(net: nn.Module, x: torch.Tensor, what: str) -> None:
    net.eval()
    with torch.no_grad():
        first, second = net(x), net(x)
    assert torch.equal(first, second), f"{what}: eval mode is not deterministic"


def _restore(net: nn.Module, training: bool) -> None:
    net.zero_grad(set_to_none=True)
    net.train(training)


def check_generator(
    net: nn.Module, size: Size = 64, *, batch: int = 2, seed: int = 0
) -> torch.Tensor:
    """Check a generator's contract at ``size`` (int or ``(h, w)``); returns its output.

    Inputs are made on the network's device, so a CUDA network is checked on CUDA.

    ``size_multiple`` (if set) must be an int ≥ 1 dividing both sides of ``size``.
    """
    what = f"generator {type(net).__name__}"
    multiple = getattr(net, "size_multiple", 1)
    assert isinstance(multiple, int) and not isinstance(multiple, bool) and multiple >= 1, (
        f"{what}: size_multiple must be an int ≥ 1, got {multiple!r}"
    )
    hw = _hw(size)
    assert hw[0] % multiple == 0 and hw[1] % multiple == 0, (
        f"size {hw} is not a multiple of {what}'s size_multiple {multiple}; use fit_size()"
    )
    training = net.training
    net.train()
    x = _inputs(batch, hw, seed, _device(net))
    out = net(x)
    assert isinstance(out, torch.Tensor), f"{what} returned {type(out).__name__}, not a tensor"
    assert out.shape == x.shape, f"{what} maps {tuple(x.shape)} to {tuple(out.shape)}"
    assert torch.isfinite(out).all(), f"{what} gives non-finite output"
    _check_backward(net, out, what, seed)
    _check_eval(net, x, what)
    _restore(net, training)
    return out.detach()


def check_discriminator(
    net: nn.Module, size: Size = 64, *, batch: int = 2, seed: int = 0
) -> torch.Tensor:
    """Check a discriminator's contract at ``size``; returns its logits.

    Logits must be a finite tensor with one row per image, and gradients must reach
    both every parameter and the input images (the generator learns through them).
    """
    what = f"discriminator {type(net).__name__}"
    training = net.training
    net.train()
    x = _inputs(batch, _hw(size), seed, _device(net)).requires_grad_(True)
    out = net(x)
    assert isinstance(out, torch.Tensor), f"{what} returned {type(out).__name__}, not a tensor"
    assert out.dim() >= 1 and out.shape[0] == batch, (
        f"{what}: logits of shape {tuple(out.shape)} do not have one row per image ({batch})"
    )
    assert torch.isfinite(out).all(), f"{what} gives non-finite logits"
    _check_backward(net, out, what, seed)
    assert x.grad is not None and torch.isfinite(x.grad).all(), (
        f"{what}: no finite gradient reaches the input images"
    )
    _check_eval(net, x.detach(), what)
    _restore(net, training)
    return out.detach()


def check_gan_loss(loss: Any, *, seed: int = 0) -> None:
    """Check a GAN loss: scalar, finite, differentiable terms; a penalty or ``None``."""
    assert satisfies(loss, GANLoss), f"{loss!r} lacks generator_loss/discriminator_loss"
    gen = torch.Generator().manual_seed(seed)
    real = torch.randn(2, 1, 5, 5, generator=gen).requires_grad_(True)
    fake = torch.randn(2, 1, 5, 5, generator=gen).requires_grad_(True)
    for name, value in (
        ("generator_loss", loss.generator_loss(fake)),
        ("discriminator_loss", loss.discriminator_loss(real, fake)),
    ):
        assert isinstance(value, torch.Tensor) and value.dim() == 0, f"{name} is not a scalar"
        assert torch.isfinite(value), f"{name} is not finite"
        assert value.requires_grad, f"{name} does not depend on the logits"
        (grad,) = torch.autograd.grad(value, fake)
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0, f"{name}: no gradient"
    disc = nn.Conv2d(3, 1, 3)
    images = torch.rand(2, 3, 8, 8, generator=gen) * 2 - 1
    penalty = gan_penalty(loss, disc, images, images.flip(0))
    if penalty is not None:
        assert isinstance(penalty, torch.Tensor) and penalty.dim() == 0, "penalty is not a scalar"
        penalty.backward()
        assert disc.weight.grad is not None, "penalty does not reach the discriminator"


def check_pixel_loss(loss: Any, *, seed: int = 0) -> None:
    """Check a pixel loss: has ``weight``; zero on equal inputs; ≥ 0; differentiable."""
    assert satisfies(loss, PixelLoss), f"{loss!r} lacks a weight or is not callable"
    gen = torch.Generator().manual_seed(seed)
    a = torch.rand(2, 3, 8, 8, generator=gen).requires_grad_(True)
    b = torch.rand(2, 3, 8, 8, generator=gen)
    same = loss(b, b)
    assert same.dim() == 0 and float(same) == 0.0, "pixel loss of equal images is not 0"
    value = loss(a, b)
    assert value.dim() == 0 and torch.isfinite(value) and float(value.detach()) >= 0, (
        "pixel loss is not a finite scalar ≥ 0"
    )
    if loss.weight:
        value.backward()
        assert a.grad is not None and a.grad.abs().sum() > 0, "pixel loss has no gradient"


def check_patch_loss(loss: Any, *, seed: int = 0) -> None:
    """Check a patch loss: has ``weight``; a finite scalar ≥ 0 that reaches the query."""
    assert satisfies(loss, PatchLoss), f"{loss!r} lacks a weight or is not callable"
    gen = torch.Generator().manual_seed(seed)
    key = nn.functional.normalize(torch.randn(2 * 16, 8, generator=gen), dim=1)
    query = nn.functional.normalize(torch.randn(2 * 16, 8, generator=gen), dim=1)
    query.requires_grad_(True)
    value = loss.contrast(query, key, 2)
    assert value.dim() == 0 and torch.isfinite(value) and float(value.detach()) >= 0, (
        "patch loss is not a finite scalar ≥ 0"
    )
    if loss.weight:
        value.backward()
        assert query.grad is not None and query.grad.abs().sum() > 0, "patch loss has no gradient"
    aligned = loss.contrast(key, key, 2)
    assert float(aligned) < float(value.detach()), (
        "matching patches must cost less than random ones"
    )


#: Feature maps :func:`check_patch_head` samples from: (channels, height, width) per layer.
HEAD_FEATURES = ((3, 12, 12), (8, 6, 6))


def check_patch_head(head: Any, *, num_patches: int = 16, batch: int = 2, seed: int = 0) -> None:
    """Check a projection head (CUT's F), built with ``in_channels`` = the channels of
    :data:`HEAD_FEATURES`: one ``(N·P, D)`` finite row block per layer with ``P =
    min(num_patches, H·W)``; passing its ids back samples the same positions (same input,
    same rows); gradients reach every parameter and the features."""
    gen = torch.Generator().manual_seed(seed)
    feats = [
        torch.randn(batch, c, h, w, generator=gen).requires_grad_(True) for c, h, w in HEAD_FEATURES
    ]
    rows, ids = head(feats, num_patches)
    assert len(rows) == len(ids) == len(feats), "one projection and one id set per layer"
    for out, (_, h, w) in zip(rows, HEAD_FEATURES, strict=True):
        n = batch * min(num_patches, h * w)
        assert out.dim() == 2 and out.shape[0] == n, (
            f"expected ({n}, D) rows, got {tuple(out.shape)}"
        )
        assert torch.isfinite(out).all(), "head output is not finite"
    again, ids_again = head(feats, num_patches, ids)
    for a, b in zip(rows, again, strict=True):
        assert torch.allclose(a, b), "the same patch ids must give the same rows"
    for a, b in zip(ids, ids_again, strict=True):
        assert torch.equal(torch.as_tensor(a), torch.as_tensor(b)), "ids passed in come back"
    sum(r.sum() for r in rows).backward()
    missing = [n for n, p in head.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"no gradient reaches {missing}"
    assert all(f.grad is not None for f in feats), "no gradient reaches the features"


def small_options(entry: Any, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """:data:`SMALL_OPTIONS` that ``entry``'s factory accepts, then ``overrides``."""
    params = entry.parameters()
    opts = {k: v for k, v in SMALL_OPTIONS.items() if k in params}
    return {**opts, **(overrides or {})}


def check_registered(
    kind: str,
    name: str,
    *,
    registries: Any,
    options: Mapping[str, Any] | None = None,
    sizes: tuple[Size, ...] = (64, (64, 96)),
) -> None:
    """Build registered component ``name`` with small options and check its contract.

    Generators and discriminators are checked at each of ``sizes`` (rounded up to the
    generator's ``size_multiple``; a non-square size stays non-square); losses once, by
    the contract they satisfy (adversarial, pixel or patch); heads once, built for
    :data:`HEAD_FEATURES`.

    :param registries: e.g. ``translkit.get_registry()``.
    """
    reg = registries.kind(kind)
    if kind == "heads":  # the method passes the widths of the maps it will sample
        widths = [c for c, _, _ in HEAD_FEATURES]
        check_patch_head(
            reg.create(name, **small_options(reg.get(name), options), in_channels=widths)
        )
        return
    obj = reg.create(name, **small_options(reg.get(name), options))
    if kind == "losses":
        if satisfies(obj, GANLoss):
            check_gan_loss(obj)
        elif satisfies(obj, PatchLoss):
            check_patch_loss(obj)
        else:
            check_pixel_loss(obj)
        return
    check = {"generators": check_generator, "discriminators": check_discriminator}.get(kind)
    assert check is not None, f"no contract check for kind {kind!r}"
    multiple = getattr(obj, "size_multiple", 1) if kind == "generators" else 1
    for size in sizes:
        hw = _hw(size)
        check(obj, fit_size(hw, multiple, non_square=hw[0] != hw[1]))
