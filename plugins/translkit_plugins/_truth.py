"""Ground-truth metrics (PSNR, SSIM, L1) and the study's test objective.

The synthetic leather↔denim benchmark keeps, for every test image, the hidden image it
should translate to (``testA_truth/`` beside ``testA/``, same file names). Given those
twins, translation quality is measured directly:

- ``psnr`` — peak signal-to-noise ratio in dB on [0, 1] RGB, averaged over images
  (an exact match counts as 100 dB);
- ``ssim`` — structural similarity of Wang et al. (2004): 11×11 Gaussian window,
  σ = 1.5, K1 = 0.01, K2 = 0.03, per RGB channel, averaged;
- ``l1`` — mean absolute difference on [0, 1] RGB.

(The study's test objective is not a folder metric: the core computes it from the model,
see ``translkit.evaluation``.)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from translkit.contracts import KEY_L1, KEY_PSNR, KEY_SSIM, MetricBase, MetricInputs
from translkit.data.io import list_images, load_rgb
from translkit.errors import MetricError
from translkit_plugins._baselines import BUILTIN_BASELINES

__all__ = ["TruthMetric", "psnr", "ssim"]

MAX_PSNR = 100.0


def _gaussian(size: int, sigma: float) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(a: torch.Tensor, b: torch.Tensor, *, window: int = 11, sigma: float = 1.5) -> float:
    """SSIM of two ``(3, H, W)`` images in [0, 1] (valid windows; smaller for tiny images)."""
    size = min(window, a.shape[-1], a.shape[-2])
    size -= 1 - size % 2  # odd
    g = _gaussian(size, sigma)
    kernel = (g[:, None] * g[None]).expand(a.shape[0], 1, size, size).contiguous()
    x, y = a[None].double(), b[None].double()

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, kernel, groups=a.shape[0])

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    return float(s.mean())


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two images in [0, 1]; :data:`MAX_PSNR` when they are identical."""
    mse = float(((a.double() - b.double()) ** 2).mean())
    return MAX_PSNR if mse == 0 else min(MAX_PSNR, 10 * math.log10(1.0 / mse))


def _unit(path: Path) -> torch.Tensor:
    arr = np.asarray(load_rgb(path), dtype=np.float64) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1)


def _twin(truth: Path, rel: Path) -> Path:
    exact = truth / rel
    if exact.is_file():
        return exact
    for cand in sorted(exact.parent.glob(exact.stem + ".*")):  # fakes may be re-encoded as PNG
        if cand.stem == exact.stem:
            return cand
    raise MetricError(f"no ground-truth twin for {rel} in {truth} (expected {exact})")


class TruthMetric(MetricBase):
    """``psnr``, ``ssim`` or ``l1`` between each translated image and its ground truth.
    Nothing to fetch before scoring: the ground truth is checked when scoring."""

    baselines = BUILTIN_BASELINES

    def __init__(self, kind: Literal["psnr", "ssim", "l1"]) -> None:
        self.kind = kind
        key = {"psnr": KEY_PSNR, "ssim": KEY_SSIM, "l1": KEY_L1}[kind]
        self.key = key
        self.goals = {key: "min" if kind == "l1" else "max"}
        self.info: dict[str, float] = {}
        #: One translated image with its twin is enough.
        self.min_images = 1

    def __repr__(self) -> str:
        return f"TruthMetric({self.kind!r})"

    def __call__(self, inputs: MetricInputs) -> dict[str, float]:
        if inputs.truth is None or not Path(inputs.truth).is_dir():
            raise MetricError(
                f"metric {self.kind!r} needs a ground-truth folder (testA_truth/, testB_truth/ "
                f"of the synthetic benchmark, or --truth DIR); got {inputs.truth}"
            )
        fake, truth = Path(inputs.fake), Path(inputs.truth)
        files = list_images(fake)
        if not files:
            raise MetricError(f"translated-image folder {fake} holds no images")
        values = []
        for path in files:
            twin = _twin(truth, path.relative_to(fake))
            a, b = _unit(path), _unit(twin)
            if a.shape != b.shape:
                raise MetricError(
                    f"{path} is {a.shape[2]}×{a.shape[1]} but its ground truth {twin} is "
                    f"{b.shape[2]}×{b.shape[1]}; translations must keep the input size"
                )
            if self.kind == "psnr":
                values.append(psnr(a, b))
            elif self.kind == "ssim":
                values.append(ssim(a, b))
            else:
                values.append(float((a - b).abs().mean()))
        self.info = {f"{self.kind}_images": float(len(values))}
        return {self.key: float(np.mean(values))}
