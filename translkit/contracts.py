"""What the core expects of each kind of component a plugin registers.

- **generators** — ``factory(**options) -> nn.Module`` mapping ``(N, 3, H, W)`` in
  ``[-1, 1]`` to the same shape. It may set ``size_multiple`` (an int) when inputs must be
  divisible by it (UNet: ``2 ** num_downs``); inference pads to it and crops back.
- **discriminators** — ``factory(**options) -> nn.Module`` mapping images to logits of
  any shape (a patch map or a scalar per image).
- **losses** — ``factory(**options)`` returning either a :class:`GANLoss` (adversarial:
  generator and discriminator forms may differ, as in hinge or WGAN-GP) or a
  :class:`PixelLoss` (cycle, identity: ``loss(output, target)``, already weighted).
- **metrics** — ``factory(**options) -> Metric``, called with :class:`MetricInputs` and
  returning ``{key: float}``; ``goals`` says whether each key is better low or high.
- **datasets** — ``factory(**options) -> DatasetSource``: what a dataset is (summary,
  size, licence, citation) and how to materialise it as ``trainA/ trainB/ testA/ testB/``
  (plus ``*_truth/`` where it has them): a list of :class:`RemoteFile` (URL, size, sha256,
  destination), an :class:`Archive` (URL, optional sha256, which folders inside go where),
  or a local ``generate(folder)`` callable. ``translkit.data.install`` does the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import torch
from torch import nn

__all__ = [
    "Archive",
    "DatasetSource",
    "GANLoss",
    "Metric",
    "MetricInputs",
    "PixelLoss",
    "RemoteFile",
    "is_gan_loss",
]


@runtime_checkable
class GANLoss(Protocol):
    """An adversarial objective. Both methods return scalar tensors."""

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """Loss of the generator given the discriminator's logits on generated images."""
        ...

    def discriminator_loss(
        self, real_logits: torch.Tensor, fake_logits: torch.Tensor
    ) -> torch.Tensor:
        """Loss of the discriminator (halved as in Zhu et al.: ``0.5 * (real + fake)``)."""
        ...

    def penalty(
        self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor
    ) -> torch.Tensor | None:
        """An extra discriminator term needing the network itself (WGAN-GP), or ``None``."""
        ...


@runtime_checkable
class PixelLoss(Protocol):
    """A weighted reconstruction loss (cycle, identity). ``weight == 0`` disables it."""

    weight: float

    def __call__(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...


def is_gan_loss(obj: Any) -> bool:
    return callable(getattr(obj, "generator_loss", None)) and callable(
        getattr(obj, "discriminator_loss", None)
    )


@dataclass
class MetricInputs:
    """What a metric is given: folders of images (PNG/JPEG) and context.

    ``fake`` holds translated images; ``real`` real images of the target domain;
    ``truth`` (optional) the ground-truth twins of ``fake`` under the same file names.
    """

    fake: Path
    real: Path
    truth: Path | None = None
    device: str = "cpu"
    batch_size: int = 32
    cache_dir: Path | None = None
    inception_weights: Path | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Metric(Protocol):
    #: For each result key, whether lower (``"min"``) or higher (``"max"``) is better.
    goals: Mapping[str, Literal["min", "max"]]

    def __call__(self, inputs: MetricInputs) -> dict[str, float]: ...


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: where it comes from and what it must hash to.

    ``dest`` is its path inside the dataset root (``"trainA/1.jpg"``, forward slashes);
    ``mirrors`` are further URLs serving the same bytes, tried in order when ``url`` fails.
    """

    url: str
    dest: str
    size: int
    sha256: str
    mirrors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Archive:
    """A zip or tar archive holding a dataset, and which of its folders go where.

    ``layout`` maps a folder inside the archive to a folder of the dataset root, e.g.
    ``{"horse2zebra/trainA": "trainA", ...}``; members outside these folders are ignored.
    ``sha256`` ``None`` means *trust on first use*: the hash of the first download is
    recorded in the translkit cache and every later download must match it. ``size`` is the
    expected download size in bytes (``None``: unknown).
    """

    url: str
    layout: Mapping[str, str]
    sha256: str | None = None
    size: int | None = None
    mirrors: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatasetSource:
    """What a dataset plugin's factory returns. Exactly one of ``files``, ``archive`` and
    ``generate`` is set.

    :param name: the name it is registered under.
    :param summary: one line on what it is.
    :param licence: licence or terms of use, in a few words.
    :param citation: how to cite it (free text or BibTeX; may be empty).
    :param homepage: where it is published.
    :param files: individual files with sha256 (verified before use).
    :param archive: one archive and the folders inside it.
    :param generate: ``generate(folder)`` writes the dataset into the empty ``folder``.
    :param size: bytes it takes (default: the files' sum, or the archive's size).
    :param splits: the folders it provides; ``trainA`` and ``trainB`` at least.
    :param notes: known quirks (duplicates, odd images), shown by ``translkit data info``.
    """

    name: str
    summary: str
    licence: str
    citation: str = ""
    homepage: str = ""
    files: tuple[RemoteFile, ...] = ()
    archive: Archive | None = None
    generate: Callable[[Path], None] | None = None
    size: int | None = None
    splits: tuple[str, ...] = ("trainA", "trainB", "testA", "testB")
    notes: str = ""

    @property
    def kind(self) -> Literal["files", "archive", "generate"]:
        """How it is materialised."""
        if self.files:
            return "files"
        return "archive" if self.archive is not None else "generate"

    @property
    def download_size(self) -> int | None:
        """Bytes to transfer (``None`` when unknown; 0 for generated datasets)."""
        if self.files:
            return sum(f.size for f in self.files)
        if self.archive is not None:
            return self.archive.size if self.archive.size is not None else self.size
        return 0
