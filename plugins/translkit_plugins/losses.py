"""Built-in losses: adversarial objectives and the cycle / identity reconstruction terms.

- ``lsgan`` — least squares GAN, Mao et al. (ICCV 2017); CycleGAN's choice.
- ``bce`` — the original log-likelihood GAN loss of Goodfellow et al. (NeurIPS 2014),
  on logits (binary cross-entropy with logits; the generator's non-saturating form).
- ``hinge`` — Lim & Ye (2017) / Miyato et al. (ICLR 2018).
- ``wgan_gp`` — Wasserstein GAN with gradient penalty, Gulrajani et al. (NeurIPS 2017).
- ``cycle`` and ``identity`` — Zhu et al.'s L1 cycle-consistency (λ = 10) and identity
  (0.5·λ = 5) terms.
- ``patchnce`` — Park et al.'s PatchNCE (ECCV 2020, CUT), a contrastive loss between
  projected patches of an output and of its source.

Every discriminator loss is halved, ``0.5 * (real + fake)``, as in Zhu et al.'s code.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
import torch.nn.functional as F
from torch import nn

import translkit
from translkit.bounds import Range
from translkit.errors import ComponentError

__all__ = [
    "BCELoss",
    "FocalFrequencyLoss",
    "HingeLoss",
    "L1Loss",
    "LSGANLoss",
    "PatchNCELoss",
    "WGANGPLoss",
    "bce",
    "cycle",
    "focal_frequency",
    "hinge",
    "identity",
    "lsgan",
    "patchnce",
    "wgan_gp",
]


#: A loss weight: 0 switches its term off.
Weight = Annotated[float, Range(min=0)]


class _Adversarial:
    """Shared shape of the GAN losses: no penalty unless a subclass adds one."""

    def penalty(
        self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor
    ) -> torch.Tensor | None:
        return None

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class LSGANLoss(_Adversarial):
    """Least squares: ``mean((D(x) − label)²)`` towards ``real_label`` / ``fake_label``."""

    def __init__(self, real_label: float = 1.0, fake_label: float = 0.0) -> None:
        self.real_label, self.fake_label = real_label, fake_label

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return ((fake_logits - self.real_label) ** 2).mean()

    def discriminator_loss(
        self, real_logits: torch.Tensor, fake_logits: torch.Tensor
    ) -> torch.Tensor:
        real = ((real_logits - self.real_label) ** 2).mean()
        fake = ((fake_logits - self.fake_label) ** 2).mean()
        return 0.5 * (real + fake)


class BCELoss(_Adversarial):
    """Binary cross-entropy on logits towards ``real_label`` / ``fake_label``."""

    def __init__(self, real_label: float = 1.0, fake_label: float = 0.0) -> None:
        self.real_label, self.fake_label = real_label, fake_label

    def _bce(self, logits: torch.Tensor, label: float) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return self._bce(fake_logits, self.real_label)

    def discriminator_loss(
        self, real_logits: torch.Tensor, fake_logits: torch.Tensor
    ) -> torch.Tensor:
        return 0.5 * (
            self._bce(real_logits, self.real_label) + self._bce(fake_logits, self.fake_label)
        )


class HingeLoss(_Adversarial):
    """Hinge: D ``0.5·(mean relu(1 − real) + mean relu(1 + fake))``, G ``−mean fake``."""

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.mean()

    def discriminator_loss(
        self, real_logits: torch.Tensor, fake_logits: torch.Tensor
    ) -> torch.Tensor:
        return 0.5 * (F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean())


class WGANGPLoss(_Adversarial):
    """Wasserstein critic loss plus ``gp_weight · mean((‖∇D(x̂)‖₂ − target)²)``.

    ``x̂`` mixes each real image with a fake one by a uniform random weight per sample.
    """

    def __init__(self, gp_weight: float = 10.0, target: float = 1.0) -> None:
        self.gp_weight, self.target = gp_weight, target

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.mean()

    def discriminator_loss(
        self, real_logits: torch.Tensor, fake_logits: torch.Tensor
    ) -> torch.Tensor:
        return 0.5 * (-real_logits.mean() + fake_logits.mean())

    def penalty(
        self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor
    ) -> torch.Tensor | None:
        if self.gp_weight == 0:
            return None
        if real.shape != fake.shape:
            raise ComponentError(
                f"wgan_gp penalty needs real and fake batches of one shape, got "
                f"{tuple(real.shape)} and {tuple(fake.shape)}"
            )
        alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)
        mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
        out = discriminator(mixed)
        (grad,) = torch.autograd.grad(out.sum(), mixed, create_graph=True)
        norms = (grad.flatten(1).pow(2).sum(1) + 1e-16).sqrt()
        return self.gp_weight * ((norms - self.target) ** 2).mean()


class L1Loss:
    """``weight · mean|output − target|``; ``weight == 0`` disables the term."""

    def __init__(self, weight: float) -> None:
        self.weight = weight

    def __call__(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if output.shape != target.shape:
            raise ComponentError(
                f"L1 loss needs equal shapes, got {tuple(output.shape)} and {tuple(target.shape)}"
            )
        if self.weight == 0:
            return output.new_zeros(())
        return self.weight * (output - target).abs().mean()

    def __repr__(self) -> str:
        return f"L1Loss(weight={self.weight!r})"


class FocalFrequencyLoss(L1Loss):
    """``weight · mean|output − target|`` plus ``frequency_weight`` times Jiang et al.'s
    focal frequency loss (ICCV 2021): the squared distance of the two images' orthonormal
    2-D spectra, each frequency weighted by its own distance to the power ``alpha``,
    normalised to [0, 1] per image and channel and not differentiated — so the frequencies
    the generator gets most wrong, such as a grid's few strong ones, weigh the most."""

    def __init__(self, weight: float, frequency_weight: float, alpha: float) -> None:
        super().__init__(weight)
        self.frequency_weight, self.alpha = frequency_weight, alpha

    def frequency_term(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        diff = torch.fft.fft2(output.float(), norm="ortho") - torch.fft.fft2(
            target.float(), norm="ortho"
        )
        distance = diff.real.square() + diff.imag.square()
        focus = distance.detach().sqrt() ** self.alpha
        focus = focus / focus.amax(dim=(-2, -1), keepdim=True).clamp_min(1e-12)
        return (focus * distance).mean()

    def __call__(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pixel = super().__call__(output, target)
        if self.frequency_weight == 0:
            return pixel
        return pixel + self.frequency_weight * self.frequency_term(output, target)

    def __repr__(self) -> str:
        return (
            f"FocalFrequencyLoss(weight={self.weight!r}, frequency_weight="
            f"{self.frequency_weight!r}, alpha={self.alpha!r})"
        )


class PatchNCELoss:
    """InfoNCE over patches (Park et al.): each output patch must pick out the source patch
    at its own position among the other positions of the *same* image.

    For ``N·P`` L2-normalised query rows (output) and key rows (source, same positions),
    image-major: logits = ``[q·k⁺, q·k⁻ …] / temperature`` with the ``P − 1`` other keys
    of the same image as negatives (the self-similarity diagonal is filled with −10, so it
    weighs ``exp(−10/τ)`` ≈ 0), cross-entropy with the positive as target, averaged over
    patches, times ``weight`` (λ_NCE). Keys are detached: the source is the anchor.
    """

    def __init__(self, weight: float = 1.0, temperature: float = 0.07) -> None:
        self.weight, self.temperature = weight, temperature

    def contrast(self, query: torch.Tensor, key: torch.Tensor, batch_size: int) -> torch.Tensor:
        if query.shape != key.shape or query.dim() != 2 or query.shape[0] % batch_size:
            raise ComponentError(
                f"patchnce needs query and key of one shape (N·P, D) with N = {batch_size}, "
                f"got {tuple(query.shape)} and {tuple(key.shape)}"
            )
        if self.weight == 0:
            return query.new_zeros(())
        key = key.detach()
        positive = (query * key).sum(1, keepdim=True)  # (N·P, 1)
        q = query.reshape(batch_size, -1, query.shape[1])
        k = key.reshape(batch_size, -1, key.shape[1])
        patches = q.shape[1]
        negative = torch.bmm(q, k.transpose(1, 2))  # (N, P, P): all pairs within an image
        diagonal = torch.eye(patches, dtype=torch.bool, device=query.device)[None]
        negative = negative.masked_fill(diagonal, -10.0).reshape(-1, patches)
        logits = torch.cat([positive, negative], 1) / self.temperature
        if logits.dtype in (torch.float16, torch.bfloat16):  # autocast: softmax in fp32
            logits = logits.float()
        target = torch.zeros(logits.shape[0], dtype=torch.long, device=query.device)
        return self.weight * F.cross_entropy(logits, target)

    def __repr__(self) -> str:
        return f"PatchNCELoss(weight={self.weight!r}, temperature={self.temperature!r})"


def patchnce(
    weight: Weight = 1.0, temperature: Annotated[float, Range(min=0, min_open=True)] = 0.07
) -> PatchNCELoss:
    """PatchNCE contrastive loss between output and source patches (Park et al., CUT).

    Options: ``weight`` λ_NCE (1.0; CUT 1, FastCUT 10; 0 disables the term),
    ``temperature`` τ (0.07).
    """
    return PatchNCELoss(weight, temperature)


def lsgan(real_label: float = 1.0, fake_label: float = 0.0) -> LSGANLoss:
    """Least squares GAN loss (Mao et al.), CycleGAN's adversarial objective.

    Options: ``real_label`` (1.0), ``fake_label`` (0.0); e.g. ``real_label=0.9`` for
    one-sided label smoothing.
    """
    return LSGANLoss(real_label, fake_label)


def bce(
    real_label: Annotated[float, Range(0, 1)] = 1.0, fake_label: Annotated[float, Range(0, 1)] = 0.0
) -> BCELoss:
    """Log-likelihood GAN loss (Goodfellow et al.), binary cross-entropy on logits.

    Options: ``real_label`` (1.0), ``fake_label`` (0.0), both in [0, 1].
    """
    return BCELoss(real_label, fake_label)


def hinge() -> HingeLoss:
    """Hinge GAN loss (Lim & Ye; Miyato et al.). No options."""
    return HingeLoss()


def wgan_gp(gp_weight: Weight = 10.0, target: float = 1.0) -> WGANGPLoss:
    """Wasserstein loss with gradient penalty (Gulrajani et al.).

    Options: ``gp_weight`` (10.0; 0 drops the penalty), ``target`` gradient norm (1.0).
    """
    return WGANGPLoss(gp_weight, target)


def cycle(weight: Weight = 10.0) -> L1Loss:
    """Cycle-consistency L1 loss, weight λ (Zhu et al.).

    Options: ``weight`` λ (10.0; 0 disables the term).
    """
    return L1Loss(weight)


def identity(weight: Weight = 5.0) -> L1Loss:
    """Identity L1 loss G_AB(b) ≈ b (Zhu et al.; Taigman et al.).

    Options: ``weight`` (5.0 = 0.5·λ as Zhu et al.; 0 disables the term).
    """
    return L1Loss(weight)


def change(weight: Weight = 1.0) -> L1Loss:
    """Change (self-regularisation) L1 loss G_AB(a) ≈ a: each translation pays for every
    pixel it moves, so what the discriminator does not ask for (a face, hair, a backdrop)
    stays as it was (Shrivastava et al., CVPR 2017, "self-regularization").

    Options: ``weight`` (1.0; 0 disables the term, the CycleGAN slot's default).
    """
    return L1Loss(weight)


def focal_frequency(
    weight: Weight = 5.0,
    frequency_weight: Weight = 1.0,
    alpha: Annotated[float, Range(min=0)] = 1.0,
) -> FocalFrequencyLoss:
    """L1 plus the focal frequency loss (Jiang et al., ICCV 2021), for the ``identity`` or
    ``cycle`` slot: in ``identity`` it penalises a grid the generator paints on real
    target-domain images.

    Options: ``weight`` of the L1 term (5.0, the identity slot's default), ``frequency_weight``
    of the frequency term (1.0), ``alpha`` the focusing exponent (1.0).
    """
    return FocalFrequencyLoss(weight, frequency_weight, alpha)


@translkit.hookimpl
def translkit_register(registry: Any) -> None:
    for name, factory in (
        ("lsgan", lsgan),
        ("bce", bce),
        ("hinge", hinge),
        ("wgan_gp", wgan_gp),
        ("cycle", cycle),
        ("identity", identity),
        ("change", change),
        ("patchnce", patchnce),
        ("focal_frequency", focal_frequency),
    ):
        registry.losses.add(name, factory)
