"""CUT's parts: the PatchNCE loss (known values), the mlp_sample head (same positions for
source and output, built eagerly), the ResNet generator's features and anti-aliasing."""

from __future__ import annotations

import math

import pytest
import torch
from translkit_plugins._antialias import BlurDownsample, BlurUpsample, binomial_filter
from translkit_plugins.heads import sample_patch_ids

from translkit import get_registry
from translkit.contracts import FeatureGenerator, PatchHead, PatchLoss, satisfies
from translkit.errors import ComponentError

REG = get_registry()
TAU = 0.07


def _nce(**options):
    return REG.losses.create("patchnce", **options)


def _orthonormal(patches: int, dim: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, patches, generator=g, dtype=torch.float64))
    return q.T.contiguous()  # (patches, dim), orthonormal rows, float64 for exact values


# -- PatchNCE ------------------------------------------------------------------------------
def test_patchnce_is_a_patch_loss_with_the_papers_defaults():
    loss = _nce()
    assert satisfies(loss, PatchLoss) and (loss.weight, loss.temperature) == (1.0, 0.07)


def test_matching_orthogonal_patches_cost_almost_nothing():
    """q = k with orthogonal patches: the positive logit is 1/τ, every negative 0, the
    diagonal −10/τ; the cross-entropy is log(1 + (P−1)·e^(−1/τ) + e^(−11/τ))."""
    P = 16
    feats = _orthonormal(P, 32)
    value = float(_nce().contrast(feats, feats, 1))
    expected = math.log(1 + (P - 1) * math.exp(-1 / TAU) + math.exp(-11 / TAU))
    assert value == pytest.approx(expected, rel=1e-4) and value < 1e-4


def test_indistinguishable_patches_cost_log_p():
    """Every patch alike: the positive is one of P equal logits (the diagonal aside)."""
    P = 16
    feats = torch.nn.functional.normalize(torch.ones(P, 8), dim=1)
    assert float(_nce().contrast(feats, feats, 1)) == pytest.approx(math.log(P), rel=1e-5)


def test_shuffled_positions_cost_more_than_log_p():
    """The output's patches permuted: each positive is orthogonal to its query, while one
    negative is the query itself: the loss is about 1/τ + log(1 + ...)."""
    P = 16
    key = _orthonormal(P, 32)
    query = key.roll(1, 0)
    value = float(_nce().contrast(query, key, 1))
    assert value > math.log(P) and value == pytest.approx(1 / TAU, rel=1e-3)


def test_weight_scales_and_zero_disables():
    q = _orthonormal(8, 16).roll(1, 0)
    k = _orthonormal(8, 16)
    base = float(_nce().contrast(q, k, 1))
    assert float(_nce(weight=10.0).contrast(q, k, 1)) == pytest.approx(10 * base)
    assert float(_nce(weight=0.0).contrast(q, k, 1)) == 0.0


def test_negatives_come_from_the_same_image_only():
    """A batch's loss is the mean of its images' losses: other images are no negatives."""
    g = torch.Generator().manual_seed(1)
    q = torch.nn.functional.normalize(torch.randn(2 * 8, 16, generator=g), dim=1)
    k = torch.nn.functional.normalize(torch.randn(2 * 8, 16, generator=g), dim=1)
    loss = _nce()
    both = float(loss.contrast(q, k, 2))
    each = [float(loss.contrast(q[i * 8 : (i + 1) * 8], k[i * 8 : (i + 1) * 8], 1)) for i in (0, 1)]
    assert both == pytest.approx(sum(each) / 2, rel=1e-6)
    k2 = k.clone()
    k2[8:] = torch.nn.functional.normalize(torch.randn(8, 16, generator=g), dim=1)
    first = float(loss.contrast(q[:8], k2[:8], 1))
    assert first == pytest.approx(each[0], rel=1e-6)  # image 1's keys do not matter


def test_keys_are_detached():
    q = _orthonormal(8, 16).requires_grad_(True)
    k = _orthonormal(8, 16, seed=1).requires_grad_(True)
    _nce().contrast(q, k, 1).backward()
    assert q.grad is not None and q.grad.abs().sum() > 0 and k.grad is None


@pytest.mark.parametrize(
    ("options", "match"), [({"temperature": 0}, "temperature"), ({"weight": -1}, "weight")]
)
def test_bad_patchnce_options(options, match):
    with pytest.raises(ComponentError, match=match):
        _nce(**options)


def test_mismatched_shapes_are_refused():
    with pytest.raises(ComponentError, match="one shape"):
        _nce().contrast(torch.zeros(8, 4), torch.zeros(6, 4), 2)


# -- the head -----------------------------------------------------------------------------
def test_head_is_built_eagerly_and_meets_the_contract():
    head = REG.heads.create("mlp_sample", in_channels=[3, 8], units=16)
    assert isinstance(head, PatchHead)
    shapes = [tuple(p.shape) for p in head.parameters()]
    assert shapes == [(16, 3), (16,), (16, 16), (16,), (16, 8), (16,), (16, 16), (16,)]


def test_head_samples_the_same_positions_for_source_and_output():
    torch.manual_seed(0)  # (with few units a ReLU layer can be all dead: a zero row)
    head = REG.heads.create("mlp_sample", in_channels=[4, 6], units=32)
    g = torch.Generator().manual_seed(0)
    src = [torch.randn(2, 4, 10, 10, generator=g), torch.randn(2, 6, 5, 5, generator=g)]
    out = [torch.randn_like(f) for f in src]
    k, ids = head(src, 16)
    q, ids_again = head(out, 16, ids)
    assert [i.shape[0] for i in ids] == [16, 16] and all(
        torch.equal(a, b) for a, b in zip(ids, ids_again, strict=True)
    )
    assert [t.shape for t in k] == [t.shape for t in q] == [(32, 32), (32, 32)]
    same, _ = head(src, 16, ids)  # the same positions give the same rows
    assert all(torch.equal(a, b) for a, b in zip(k, same, strict=True))
    norms = torch.cat(k).norm(dim=1)  # x / (‖x‖ + 1e-7): just under 1 for small outputs
    assert bool(((norms > 0.99) & (norms <= 1 + 1e-6)).all())


def test_head_picks_the_named_positions_image_major():
    head = REG.heads.create("mlp_sample", in_channels=[3], units=4)
    feat = torch.randn(2, 3, 4, 5)
    ids = [torch.tensor([7, 0, 19])]
    (rows,), _ = head([feat], 3, ids)
    mlp = head.mlps[0]
    for image in (0, 1):
        for j, pos in enumerate(ids[0].tolist()):
            y, x = divmod(pos, 5)
            expected = mlp(feat[image, :, y, x])
            expected = expected / (expected.norm() + 1e-7)
            torch.testing.assert_close(rows[image * 3 + j], expected)


def test_fewer_positions_than_patches_takes_them_all():
    ids = sample_patch_ids([torch.zeros(1, 2, 3, 3)], 256)
    assert sorted(ids[0].tolist()) == list(range(9))


def test_head_refuses_the_wrong_number_of_maps_and_bad_widths():
    head = REG.heads.create("mlp_sample", in_channels=[3], units=4)
    with pytest.raises(ComponentError, match="built for 1 feature maps"):
        head([torch.zeros(1, 3, 2, 2)] * 2, 4)
    with pytest.raises(ComponentError, match="in_channels"):
        REG.heads.create("mlp_sample", in_channels=[])


# -- the generator's features ---------------------------------------------------------------
@pytest.mark.parametrize("antialias", [False, True])
def test_resnet_features_are_its_stack_outputs(antialias: bool):
    net = REG.generators.create("resnet", n_blocks=6, ngf=4, antialias=antialias).eval()
    assert isinstance(net, FeatureGenerator)
    assert net.feature_layers == ((0, 4, 8, 12, 16) if antialias else (0, 4, 7, 10, 14))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        feats = net.features(x, net.feature_layers)
        out, again = net.forward_with_features(x, net.feature_layers)
        for index, feat in zip(net.feature_layers, feats, strict=True):
            torch.testing.assert_close(feat, net.model[: index + 1](x))
        torch.testing.assert_close(out, net(x))
    for a, b in zip(feats, again, strict=True):
        torch.testing.assert_close(a, b)


def test_default_layers_mean_the_same_in_both_layouts():
    """Padded input, the two downsampling convs, the first and the fifth residual block."""
    for antialias in (False, True):
        net = REG.generators.create("resnet_9blocks", ngf=4, antialias=antialias)
        kinds = [type(net.model[i]).__name__ for i in net.feature_layers]
        assert kinds == ["ReflectionPad2d", "Conv2d", "Conv2d", "ResnetBlock", "ResnetBlock"]
        blocks = [i for i, m in enumerate(net.model) if type(m).__name__ == "ResnetBlock"]
        assert net.feature_layers[3:] == (blocks[0], blocks[4])


def test_antialias_keeps_parameter_counts_and_takes_the_references_keys():
    for preset, count in (("resnet_9blocks", 11_378_179), ("resnet_6blocks", 7_837_699)):
        net = REG.generators.create(preset, antialias=True)
        assert sum(p.numel() for p in net.parameters()) == count
    keys = REG.generators.create("resnet_9blocks", ngf=4, antialias=True).state_dict()
    assert {"model.7.filt", "model.11.filt", "model.21.filt", "model.25.filt"} <= set(keys)
    assert "model.22.weight" in keys and "model.30.weight" in keys  # conv after upsample; last
    with pytest.raises(ComponentError, match="antialias=true brings its own"):
        REG.generators.create("resnet", antialias=True, upsample="resize_conv")


def test_blur_resampling():
    torch.testing.assert_close(
        binomial_filter(3) * 16, torch.tensor([[1.0, 2, 1], [2, 4, 2], [1, 2, 1]])
    )
    const = torch.full((1, 2, 8, 6), 0.3)
    torch.testing.assert_close(BlurDownsample(2)(const), torch.full((1, 2, 4, 3), 0.3))
    torch.testing.assert_close(BlurUpsample(2)(const), torch.full((1, 2, 16, 12), 0.3))


def test_feature_layers_out_of_range_are_refused():
    net = REG.generators.create("resnet", n_blocks=1, ngf=4)
    with pytest.raises(ComponentError, match="must be indices 0..19"):
        net.features(torch.zeros(1, 3, 16, 16), [0, 20])
