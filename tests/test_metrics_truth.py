"""Ground-truth metrics (PSNR, SSIM, L1); the objective is not a folder metric."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scoring_support import write_images
from translkit_plugins._truth import ssim

from translkit import get_registry
from translkit.errors import MetricError
from translkit.scoring import score_folders


def _pair(tmp_path: Path, offset: int) -> tuple[Path, Path]:
    fake, truth = tmp_path / "fake", tmp_path / "truth"
    write_images(fake, 3, [(24, 20), (30, 30), (17, 33)], seed=1, bias=20)
    truth.mkdir()
    for path in fake.iterdir():
        arr = np.asarray(Image.open(path)).astype(int) - offset
        Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(truth / path.name)
    return fake, truth


def test_identical_images_score_perfectly(tmp_path: Path) -> None:
    fake, truth = _pair(tmp_path, 0)
    values = score_folders(fake, fake, ["psnr", "ssim", "l1"], get_registry(), truth=truth).values
    assert values == {"psnr": 100.0, "ssim": pytest.approx(1.0), "l1": 0.0}


def test_known_offset_gives_known_psnr_and_l1(tmp_path: Path) -> None:
    fake, truth = _pair(tmp_path, 10)  # every pixel differs by exactly 10 (bias keeps ≥ 20)
    values = score_folders(fake, fake, ["psnr", "l1"], get_registry(), truth=truth).values
    assert values["l1"] == pytest.approx(10 / 255)
    assert values["psnr"] == pytest.approx(20 * math.log10(255 / 10))


def test_ssim_of_constant_images_matches_the_closed_form() -> None:
    a, b = torch.full((3, 16, 16), 0.6), torch.full((3, 16, 16), 0.2)
    c1 = 0.01**2
    expected = (2 * 0.6 * 0.2 + c1) / (0.6**2 + 0.2**2 + c1)  # variances and covariance are 0
    assert ssim(a, b) == pytest.approx(expected)
    noisy = (a + 0.2 * torch.randn(3, 16, 16)).clamp(0, 1)
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, noisy) < 1.0 and ssim(a, noisy) == pytest.approx(ssim(noisy, a))


def test_goals_psnr_ssim_higher_l1_lower() -> None:
    metrics = get_registry().metrics
    assert metrics.create("psnr").goals == {"psnr": "max"}
    assert metrics.create("ssim").goals == {"ssim": "max"}
    assert metrics.create("l1").goals == {"l1": "min"}


def test_missing_twin_size_mismatch_and_no_truth_are_errors(tmp_path: Path) -> None:
    fake, truth = _pair(tmp_path, 0)
    with pytest.raises(MetricError, match="ground-truth folder"):
        score_folders(fake, fake, ["l1"], get_registry())
    (truth / "001.png").unlink()
    with pytest.raises(MetricError, match="no ground-truth twin for 001.png"):
        score_folders(fake, fake, ["l1"], get_registry(), truth=truth)
    Image.new("RGB", (5, 5)).save(truth / "001.png")
    with pytest.raises(MetricError, match="must keep the input size"):
        score_folders(fake, fake, ["l1"], get_registry(), truth=truth)


def test_twin_found_under_another_image_suffix(tmp_path: Path) -> None:
    fake, truth = _pair(tmp_path, 0)
    for path in truth.iterdir():  # truth stored as BMP, translations as PNG
        Image.open(path).save(path.with_suffix(".bmp"))
        path.unlink()
    assert score_folders(fake, fake, ["l1"], get_registry(), truth=truth).values["l1"] == 0.0


def test_objective_from_two_folders_says_where_it_comes_from(tmp_path: Path) -> None:
    fake, _ = _pair(tmp_path, 0)
    with pytest.raises(MetricError, match="run directory or checkpoint"):
        score_folders(fake, fake, ["objective"], get_registry())
