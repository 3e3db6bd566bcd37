"""An example translkit plugin, packaged on its own as a third party would.

Registers ``tiny`` (generator), ``tiny_d`` (discriminator) and ``softplus_gan``
(a non-saturating GAN loss written as softplus), all small enough for a laptop CPU,
``tiny_swatches``, a downloadable dataset of eight 32 px images, and ``tiny_warm_cool``, a
pretrained model shipped inside the package (``translkit translate tiny_warm_cool ...``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import translkit
from translkit.contracts import DatasetSource, ModelWeights, PretrainedModel, RemoteFile

__all__ = [
    "SoftplusGANLoss",
    "TinyDiscriminator",
    "TinyGenerator",
    "tiny_swatches",
    "tiny_warm_cool",
]


class TinyGenerator(nn.Module):
    """A three-conv residual generator for smoke tests and demos."""

    size_multiple = 1

    def __init__(self, channels: int = 3, width: int = 8) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1, padding_mode="reflect"),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1, padding_mode="reflect"),
            nn.ReLU(),
            nn.Conv2d(width, channels, 3, padding=1, padding_mode="reflect"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x + self.body(x))


class TinyDiscriminator(nn.Module):
    """A two-conv patch discriminator returning a logit map."""

    def __init__(self, channels: int = 3, width: int = 8) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 1, 4, stride=1, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class SoftplusGANLoss:
    """Non-saturating GAN loss in softplus form (generator and discriminator forms differ)."""

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake_logits).mean()

    def discriminator_loss(
        self, real_logits: torch.Tensor, fake_logits: torch.Tensor
    ) -> torch.Tensor:
        return 0.5 * (F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean())

    def penalty(self, discriminator, real, fake):
        return None


#: path in the dataset -> (size in bytes, sha256), as a real plugin pins its remote files.
SWATCHES = {
    "trainA/0.png": (2680, "9770e3f5e71a0fb9fc4165d631b6c4589aef56b38117f57ccf78eff934fca3e4"),
    "trainA/1.png": (2678, "634e9444de21ba5040a175e942c310cd0d6aaa75dd3219e9b22fcf5f845b5499"),
    "trainB/0.png": (2679, "15b0042d014ab6d54271647748a14925fe33207b244c466fa117e3e691642260"),
    "trainB/1.png": (2675, "8be9484ee6f7d51c30c1ac5ecb96f60d5c4f98f243df4c9200a5907e684134e5"),
    "testA/0.png": (2680, "c166e7e18a0621dc10f032d8607e6fd28ee4ade3e9114ca0afefa4d737d1424d"),
    "testA/1.png": (2669, "525ca75ecd158497d67ddac2e903d3ccee9a817b246e9923f4153c88be4a27c6"),
    "testB/0.png": (2675, "6e059a6a2bf4c3b1e73af0f3a242ef2c267569c4fef6131c632c349b56957e62"),
    "testB/1.png": (2670, "744ac0ef8d068f3ab3fb5bd6ce305c1b4f39d09bb604d757222b1faa04a4481f"),
}
#: Where the files are served. A real plugin names its release assets or a pinned raw
#: URL; this example serves them from its own package folder, so it works offline.
SWATCHES_URL = (Path(__file__).resolve().parent / "swatches").as_uri() + "/"


def tiny_swatches(base_url: str = SWATCHES_URL) -> DatasetSource:
    """Eight 32 px noise swatches, warm (A) ↔ cool (B): a dataset for smoke tests."""
    base = base_url if base_url.endswith("/") else base_url + "/"
    return DatasetSource(
        name="tiny_swatches",
        summary="Two warm (A) and two cool (B) 32 px swatches per split",
        licence="CC0 (generated for the translkit-tiny example)",
        files=tuple(
            RemoteFile(base + path, path, size, sha) for path, (size, sha) in SWATCHES.items()
        ),
    )


#: direction -> (size in bytes, sha256) of weights/tiny_warm_cool_<direction>.safetensors,
#: as ``python make_weights.py`` prints them; checked every time the model is loaded.
WARM_COOL = {
    "a2b": (2116, "1fcac6dce784576a5939a703c555c2c769e3e707f3d6051a803a25b7939820ef"),
    "b2a": (2116, "56e54c02f88798b33fa13070b5f9558ac8ddcbb5b7907a429daf928b23c686a3"),
}


def tiny_warm_cool() -> PretrainedModel:
    """Warm (A) ↔ cool (B) swatches: red and blue swapped by hand-set ``tiny`` weights."""
    weights = resources.files(__package__) / "weights"
    return PretrainedModel(
        name="tiny_warm_cool",
        summary="Warm (A) ↔ cool (B) swatches: a tiny generator that swaps red and blue",
        method="cyclegan",
        generator="tiny",
        weights=tuple(
            ModelWeights(d, sha, size, resource=weights / f"tiny_warm_cool_{d}.safetensors")
            for d, (size, sha) in WARM_COOL.items()
        ),
        terms="CC0 (hand-set weights of the translkit-tiny example)",
        recipe="# not trained: the weights are set by make_weights.py\n",
        card="Not trained: make_weights.py sets the convolutions so that red and blue swap "
        "(through the generator's tanh, so contrast drops a little). It shows how a plugin "
        "ships a model; it is not a useful translator.",
    )


@translkit.hookimpl
def translkit_register(registry):
    registry.generators.add("tiny", TinyGenerator)
    registry.discriminators.add("tiny_d", TinyDiscriminator)
    registry.losses.add("softplus_gan", SoftplusGANLoss)
    registry.datasets.add("tiny_swatches", tiny_swatches)
    registry.models.add("tiny_warm_cool", tiny_warm_cool)
