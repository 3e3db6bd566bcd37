"""The timm-backbone discriminator: local pretrained weights only, clear errors, no downloads."""

from __future__ import annotations

import pytest
import timm
import torch
from safetensors.torch import save_file
from translkit_plugins import timm_discriminator as td

import translkit
from translkit.errors import ComponentError

BACKBONE = "test_resnet"  # timm's tiny test model: fast on CPU


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Fail loudly if anything tries to download weights."""

    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr("huggingface_hub.hf_hub_download", refuse)


def build(**options):
    return translkit.get_registry().discriminators.create(
        "timm", backbone=BACKBONE, ndf=8, **options
    )


def trained_weights(seed: int = 0) -> dict[str, torch.Tensor]:
    """A full classifier's state dict (with its fc head), as a pretrained file holds."""
    torch.manual_seed(seed)
    net = timm.create_model(BACKBONE, pretrained=False)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.01 * torch.randn_like(p))
    return net.state_dict()


def assert_loaded(disc, weights):
    own = disc.backbone.state_dict()
    assert own and all(torch.equal(own[k], weights[k]) for k in own)


@pytest.mark.parametrize("fmt", ["pth", "safetensors", "wrapped", "dataparallel"])
def test_pretrained_from_a_local_file(tmp_path, fmt):
    weights = trained_weights()
    path = tmp_path / f"w.{'safetensors' if fmt == 'safetensors' else 'pth'}"
    if fmt == "safetensors":
        save_file(weights, str(path))
    elif fmt == "wrapped":
        torch.save({"state_dict": weights, "epoch": 3}, path)
    elif fmt == "dataparallel":
        torch.save({f"module.{k}": v for k, v in weights.items()}, path)
    else:
        torch.save(weights, path)
    disc = build(pretrained=str(path))
    assert_loaded(disc, weights)
    assert disc(torch.rand(2, 3, 64, 96) * 2 - 1).shape[0] == 2


def test_random_init_differs_from_pretrained(tmp_path):
    weights = trained_weights()
    disc = build()
    assert not all(torch.equal(v, weights[k]) for k, v in disc.backbone.state_dict().items())


def test_freeze_backbone_trains_only_the_head():
    disc = build(freeze_backbone=True)
    assert not any(p.requires_grad for p in disc.backbone.parameters())
    assert all(p.requires_grad for p in disc.head.parameters())
    disc(torch.rand(1, 3, 64, 64)).sum().backward()
    assert all(p.grad is not None for p in disc.head.parameters())


def test_inputs_are_mapped_to_the_backbone_normalisation(monkeypatch):
    disc = translkit.get_registry().discriminators.create("timm", backbone="resnet10t", ndf=4)
    disc.eval()
    assert torch.allclose(disc.mean.flatten(), torch.tensor([0.485, 0.456, 0.406]))
    seen = {}
    original = disc.backbone.forward

    def spy(x):
        seen["x"] = x
        return original(x)

    monkeypatch.setattr(disc.backbone, "forward", spy)
    disc(torch.full((1, 3, 32, 32), -1.0))  # black in [-1, 1] → (0 - mean) / std
    expected = -disc.mean / disc.std
    assert torch.allclose(seen["x"][:, :, 0, 0].flatten(), expected.flatten())


def test_feature_index_picks_a_shallower_map():
    deep, shallow = build(), build(feature_index=1)
    x = torch.rand(1, 3, 64, 64)
    assert deep(x).shape[-1] < shallow(x).shape[-1]


def test_cache_finds_a_hugging_face_copy(tmp_path):
    weights = trained_weights(1)
    hub_id = timm.models.get_pretrained_cfg(BACKBONE).hf_hub_id
    repo = tmp_path / f"models--{hub_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    save_file(weights, str(snapshot / "model.safetensors"))
    found = td.cached_weights(BACKBONE, hf_cache=tmp_path, hub_dir=tmp_path / "hub")
    assert found == snapshot / "model.safetensors"


def test_cache_finds_a_torch_hub_copy(tmp_path):
    url = timm.models.get_pretrained_cfg("resnet18").url
    (tmp_path / "checkpoints").mkdir()
    target = tmp_path / "checkpoints" / url.rsplit("/", 1)[1]
    target.write_bytes(b"x")
    assert td.cached_weights("resnet18", hf_cache=tmp_path / "hf", hub_dir=tmp_path) == target
    assert td.cached_weights("resnet18", hf_cache=tmp_path / "hf", hub_dir=tmp_path / "no") is None


def test_pretrained_cache_uses_the_cached_file(tmp_path, monkeypatch):
    weights = trained_weights(2)
    torch.save(weights, tmp_path / "cached.pth")
    monkeypatch.setattr(td, "cached_weights", lambda name: tmp_path / "cached.pth")
    assert_loaded(build(pretrained="cache"), weights)


def test_pretrained_cache_miss_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(td, "cached_weights", lambda name: None)
    with pytest.raises(ComponentError, match="no cached weights .* nothing is downloaded"):
        build(pretrained="cache")


@pytest.mark.parametrize(
    ("setup", "match"),
    [
        ("missing", "no such weights file"),
        ("pickled", "is refused: it holds a Python object"),
        ("other_model", "do not fit timm backbone"),
        ("list", "not a dict"),
    ],
)
def test_bad_pretrained_files(tmp_path, setup, match):
    path = tmp_path / "w.pth"
    if setup == "pickled":
        torch.save(torch.nn.Linear(2, 2), path)
    elif setup == "other_model":
        torch.save({"conv1.weight": torch.zeros(1, 1, 1, 1)}, path)
    elif setup == "list":
        torch.save([torch.zeros(1)], path)
    with pytest.raises(ComponentError, match=match):
        build(pretrained=str(path))


def test_unknown_backbone_suggests():
    with pytest.raises(ComponentError, match="not a timm model.*did you mean 'resnet18'"):
        translkit.get_registry().discriminators.create("timm", backbone="resnet_18")
