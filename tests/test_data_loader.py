"""Unpaired loading: transforms, seeded pairing, ranks/skip/workers invariance, dataset checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from data_support import make_tree, write_image, write_truncated_jpeg
from PIL import Image

from translkit import get_registry
from translkit.data import (
    ImageTransform,
    build_test_dataset,
    build_train_loader,
    check_trainable,
    ensure_dataset,
    epoch_pairs,
    load_rgb,
)
from translkit.errors import DataError, RecipeError
from translkit.recipe import DataSection, crop_problem, recipe_from_dict


def _data(root: Path, **kw: object) -> DataSection:
    opts = {"root": str(root), "load_size": 36, "crop_size": 32, "rotation": 15.0}
    opts.update(kw)
    return DataSection(**opts)  # type: ignore[arg-type]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "ds", {"trainA": 5, "trainB": 8, "testA": 3, "testB": 2})


def _collect(loader) -> list[dict[str, torch.Tensor]]:
    return [{k: v.clone() for k, v in b.items()} for b in loader]


def test_train_batches_shape_range_and_length(tree: Path) -> None:
    loader = build_train_loader(_data(tree), batch_size=3, seed=1, epoch=0)
    assert len(loader) == 8 // 3  # larger domain, incomplete batch dropped
    batches = _collect(loader)
    assert len(batches) == 2
    for b in batches:
        assert set(b) == {"A", "B"}
        for x in b.values():
            assert x.shape == (3, 3, 32, 32) and x.dtype == torch.float32
            assert x.min() >= -1 and x.max() <= 1


def test_pairs_cycle_a_and_draw_b_at_random() -> None:
    a, b = epoch_pairs(5, 12, seed=0, epoch=0)
    assert len(a) == len(b) == 12
    assert sorted(a.tolist()) == sorted([i % 5 for i in range(12)])  # every A at least twice
    assert int(b.min()) >= 0 and int(b.max()) < 12
    a2, b2 = epoch_pairs(5, 12, seed=0, epoch=1)
    assert not (torch.equal(a, a2) and torch.equal(b, b2))  # reshuffled every epoch
    a3, _ = epoch_pairs(9, 4, seed=0, epoch=0)
    assert sorted(a3.tolist()) == list(range(9))  # A larger: each A exactly once


def test_same_seed_same_batches_other_seed_or_epoch_differs(tree: Path) -> None:
    data = _data(tree)
    one = _collect(build_train_loader(data, batch_size=2, seed=3, epoch=0))
    two = _collect(build_train_loader(data, batch_size=2, seed=3, epoch=0))
    assert all(
        torch.equal(x["A"], y["A"]) and torch.equal(x["B"], y["B"])
        for x, y in zip(one, two, strict=True)
    )
    other = _collect(build_train_loader(data, batch_size=2, seed=4, epoch=0))
    later = _collect(build_train_loader(data, batch_size=2, seed=3, epoch=1))
    assert not torch.equal(one[0]["A"], other[0]["A"])
    assert not torch.equal(one[0]["A"], later[0]["A"])


def test_two_ranks_see_the_single_process_global_batches(tree: Path) -> None:
    data = _data(tree)
    full = _collect(build_train_loader(data, batch_size=4, seed=5, epoch=2))
    ranks = [
        _collect(build_train_loader(data, batch_size=4, seed=5, epoch=2, rank=r, world_size=2))
        for r in range(2)
    ]
    assert len(ranks[0]) == len(ranks[1]) == len(full) == 2
    for t, batch in enumerate(full):
        for key in ("A", "B"):
            joined = torch.cat([ranks[0][t][key], ranks[1][t][key]])
            assert torch.equal(joined, batch[key])


def test_skip_batches_resumes_mid_epoch_bit_identically(tree: Path) -> None:
    data = _data(tree)
    full = _collect(build_train_loader(data, batch_size=2, seed=0, epoch=1))
    tail_loader = build_train_loader(data, batch_size=2, seed=0, epoch=1, skip_batches=2)
    assert len(tail_loader) == len(full) == 4  # len() stays the full epoch
    tail = _collect(tail_loader)
    assert len(tail) == 2
    for x, y in zip(tail, full[2:], strict=True):
        assert torch.equal(x["A"], y["A"]) and torch.equal(x["B"], y["B"])


def test_iterating_leaves_the_global_rng_alone(tree: Path) -> None:
    """A new epoch (or a mid-epoch resume) must not draw from torch's global RNG, which the
    training step uses (CUT's patch positions, dropout): resume stays bit-identical."""
    loader = build_train_loader(_data(tree), batch_size=2, seed=1, epoch=0, skip_batches=1)
    torch.manual_seed(0)
    before = torch.get_rng_state()
    _collect(loader)
    assert torch.equal(torch.get_rng_state(), before)


def test_workers_do_not_change_the_batches(tree: Path) -> None:
    inline = _collect(build_train_loader(_data(tree), batch_size=2, seed=0, epoch=0))
    workers = _collect(
        build_train_loader(_data(tree, num_workers=2), batch_size=2, seed=0, epoch=0)
    )
    for x, y in zip(inline, workers, strict=True):
        assert torch.equal(x["A"], y["A"]) and torch.equal(x["B"], y["B"])


def test_bad_batch_sizes(tree: Path) -> None:
    with pytest.raises(DataError, match=r"batch size \(3\).*processes \(2\)"):
        build_train_loader(_data(tree), batch_size=3, seed=0, epoch=0, world_size=2)
    with pytest.raises(DataError, match="fewer than optim.batch_size"):
        build_train_loader(_data(tree), batch_size=9, seed=0, epoch=0)


def test_test_dataset_is_deterministic_centre_crop(tree: Path) -> None:
    data = _data(tree, rotation=30.0)
    ds = build_test_dataset(data, "A")
    assert len(ds) == 3 and ds[0]["path"].endswith("testA/000.png")
    assert torch.equal(ds[1]["image"], ds[1]["image"])  # no random augmentation
    img = load_rgb(ds[1]["path"]).resize((36, 36), 3)  # bicubic, then the centre 32×32
    expected = torch.from_numpy(np.asarray(img).astype(np.float32))
    expected = (expected[2:34, 2:34].permute(2, 0, 1) / 255 - 0.5) / 0.5
    assert (ds[1]["image"] - expected).abs().max() < 2.5 / 127.5
    assert len(build_test_dataset(data, "B")) == 2
    with pytest.raises(ValueError):
        build_test_dataset(data, "C")


def test_transform_options() -> None:
    from PIL import Image

    img = Image.new("RGB", (60, 20), (255, 0, 0))
    g = torch.Generator().manual_seed(0)
    assert ImageTransform("shorter_side", 24, 16)(img, g).shape == (3, 16, 16)
    assert ImageTransform("none", 0, 32, train=False)(img).shape == (3, 32, 32)  # upscaled
    red = ImageTransform("square", 20, 16, rotation=0)(img, g)
    assert torch.allclose(red[0], torch.ones(16, 16)) and torch.allclose(
        red[1], -torch.ones(16, 16)
    )
    with pytest.raises(DataError, match="load_size"):
        ImageTransform("square", 16, 32)


def _torchvision_transform(t: ImageTransform, img, g: torch.Generator) -> torch.Tensor:
    """What the transform computed with torchvision's functional ops (before it stopped
    importing torchvision), drawing the same random numbers in the same order."""
    import torchvision.transforms.v2.functional as F
    from torchvision.transforms import InterpolationMode

    bicubic = InterpolationMode.BICUBIC
    if t.resize == "square":
        img = F.resize(img, [t.load_size, t.load_size], interpolation=bicubic, antialias=True)
    elif t.resize == "shorter_side":
        img = F.resize(img, [t.load_size], interpolation=bicubic, antialias=True)
    if min(img.size) < t.crop_size:
        img = F.resize(img, [t.crop_size], interpolation=bicubic)
    x = F.pil_to_tensor(img)
    h, w = x.shape[-2:]
    if t.train:
        top = int(torch.randint(h - t.crop_size + 1, (), generator=g)) if h > t.crop_size else 0
        left = int(torch.randint(w - t.crop_size + 1, (), generator=g)) if w > t.crop_size else 0
        x = F.crop(x, top, left, t.crop_size, t.crop_size)
        if t.flip and float(torch.rand((), generator=g)) < 0.5:
            x = F.horizontal_flip(x)
        if t.rotation > 0:
            angle = (2.0 * float(torch.rand((), generator=g)) - 1.0) * t.rotation
            x = F.rotate(x, angle, interpolation=InterpolationMode.BILINEAR)
    else:
        x = F.center_crop(x, [t.crop_size, t.crop_size])
    x = F.to_dtype(x, torch.float32, scale=True)
    return F.normalize(x, mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])


@pytest.mark.parametrize(
    "transform",
    [
        ImageTransform("square", 40, 32),
        ImageTransform("shorter_side", 37, 31, rotation=15.0),
        ImageTransform("shorter_side", 37, 31, train=False),
        ImageTransform("none", 0, 24, train=False),
        ImageTransform("none", 0, 40, flip=False),  # upscaled first
    ],
    ids=repr,
)
def test_transform_equals_torchvisions_functional_ops(transform: ImageTransform) -> None:
    """PIL resizing and tensor indexing give torchvision's results bit for bit (odd sizes,
    both aspect ratios, centre crops with a half-pixel margin, a rotation)."""
    rng = np.random.default_rng(0)
    for shape in ((45, 61), (61, 45), (33, 33), (20, 90)):
        img = Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8), "RGB")
        for seed in range(4):
            ours = transform(img, torch.Generator().manual_seed(seed))
            theirs = _torchvision_transform(transform, img, torch.Generator().manual_seed(seed))
            assert torch.equal(ours, theirs), (shape, seed)


def test_training_and_translating_do_not_import_torchvision() -> None:
    """torchvision's import loads torch._dynamo: about a second of every command's start."""
    code = (
        "import sys, translkit.inference, translkit.training, translkit.data;"
        "print(sorted(m for m in ('torchvision', 'torch._dynamo') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_crop_rule_is_one_rule_with_one_message() -> None:
    """A recipe and the image transforms refuse load_size < crop_size in the same words."""
    message = crop_problem("square", 16, 32)
    assert message and crop_problem("none", 16, 32) is None
    with pytest.raises(DataError) as transform:
        ImageTransform("square", 16, 32)
    with pytest.raises(RecipeError) as recipe:
        recipe_from_dict({"data": {"load_size": 16, "crop_size": 32}})
    assert str(transform.value) == message and str(recipe.value) == f"recipe <dict>: {message}"


def test_ensure_dataset_explains_missing_data(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"does not exist.*trainA/.*translkit data deepfashion"):
        ensure_dataset(_data(tmp_path / "nope"), registries=get_registry())
    (tmp_path / "half" / "trainA").mkdir(parents=True)
    with pytest.raises(DataError, match="no trainB folder"):
        ensure_dataset(_data(tmp_path / "half"), registries=get_registry())


def test_ensure_dataset_generates_the_synthetic_benchmark(tmp_path: Path) -> None:
    data = _data(
        tmp_path / "syn", synthetic=True, load_size=32, synthetic_train=3, synthetic_test=2
    )
    root = ensure_dataset(data, registries=get_registry())
    assert sorted(p.name for p in (root / "trainA").iterdir()) == [
        "000000.png",
        "000001.png",
        "000002.png",
    ]
    assert load_rgb(root / "testB" / "000001.png").size == (32, 32)
    stamp = (root / "trainA" / "000000.png").stat().st_mtime_ns
    assert ensure_dataset(data, registries=get_registry()) == root  # present: left alone
    assert (root / "trainA" / "000000.png").stat().st_mtime_ns == stamp


def test_check_trainable_names_bad_files_and_empty_splits(tree: Path) -> None:
    data = _data(tree)
    check_trainable(tree, data)
    write_truncated_jpeg(tree / "trainB" / "cut.jpg")
    (tree / "testA" / "fake.png").write_text("no")
    with pytest.raises(DataError) as err:
        check_trainable(tree, data)
    assert "2 unreadable" in str(err.value)
    assert "trainB/cut.jpg (truncated)" in str(err.value)
    assert "testA/fake.png (not an image)" in str(err.value)
    for p in (tree / "trainA").iterdir():
        p.unlink()
    with pytest.raises(DataError, match="trainA/ holds no images"):
        check_trainable(tree, data)


def test_loader_reads_mixed_modes_and_sizes(tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    write_image(root / "trainA" / "g.png", (50, 90), mode="L")
    write_image(root / "trainA" / "p.png", (31, 33), mode="P")
    write_image(root / "trainB" / "c.jpg", (200, 120), mode="CMYK")
    write_image(root / "trainB" / "a.png", (64, 64), mode="RGBA")
    batches = list(build_train_loader(_data(root), batch_size=2, seed=0, epoch=0))
    assert len(batches) == 1 and batches[0]["A"].shape == (2, 3, 32, 32)
