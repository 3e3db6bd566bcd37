"""The CycleGAN objective (Zhu et al., ICCV 2017), split into a generator and a discriminator half.

Names: ``G_AB`` maps domain A to B, ``G_BA`` B to A; ``D_A`` judges domain-A images (real A
against ``G_BA``'s fakes), ``D_B`` domain B. Loss terms::

    G_AB_gan = gan.G(D_B(fake_B))        G_BA_gan = gan.G(D_A(fake_A))
    cycle_A  = cycle(G_BA(fake_B), real_A)    cycle_B = cycle(G_AB(fake_A), real_B)
    idt_A    = identity(G_BA(real_A), real_A) idt_B   = identity(G_AB(real_B), real_B)
    G_total  = sum of the above
    D_A      = gan.D(D_A(real_A), D_A(pool(fake_A)))  (+ D_A_penalty, e.g. WGAN-GP), same for D_B

Work is never done twice where the result is provably the same: with a per-sample norm
(instance norm, none — never batch norm) independent passes of the same generator run as
one batch (3 generator calls per step instead of Zhu's 6 with identity, 4 without); a
per-sample discriminator scores real and pooled fakes in one pass. ``fuse=False`` runs
Zhu's separate passes instead; a test checks that both give the same losses and gradients.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = [
    "DiscriminatorPair",
    "GeneratorPair",
    "generator_losses",
    "is_per_sample",
]


def is_per_sample(net: nn.Module) -> bool:
    """Whether each sample's output is independent of the rest of the batch (no batch norm)."""
    return not any(isinstance(m, _BatchNorm) for m in net.modules())


def _run_fused(
    net: nn.Module, first: torch.Tensor, second: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    out = net(torch.cat([first, second], 0))
    return out[: first.shape[0]], out[first.shape[0] :]


class GeneratorPair(nn.Module):
    """Both generators as one module, so DDP sees a single forward per step.

    ``forward(real_A, real_B)`` returns ``fake_B, rec_A, fake_A, rec_B, idt_A, idt_B``
    (identities are ``None`` when ``identity`` is off).

    The fused path (per-sample norms only) makes 3 generator calls instead of Zhu's 4–6::

        fake_A, idt_A        = G_BA([real_B, real_A])
        fake_B, idt_B, rec_B = G_AB([real_A, real_B, fake_A])
        rec_A                = G_BA(fake_B)

    Same arithmetic, fewer and larger calls (better use of the cores at small sizes).

    :param identity: compute the identity outputs ``G_BA(real_A)``, ``G_AB(real_B)``.
    :param fuse: batch independent passes of the same generator together.
    """

    def __init__(self, G_AB: nn.Module, G_BA: nn.Module, *, identity: bool, fuse: bool) -> None:
        super().__init__()
        self.G_AB, self.G_BA = G_AB, G_BA
        self.identity = identity
        self.fuse = fuse and is_per_sample(G_AB) and is_per_sample(G_BA)

    def forward(self, real_A: torch.Tensor, real_B: torch.Tensor) -> tuple[Any, ...]:
        if self.fuse:
            return self._fused(real_A, real_B)
        idt_A = idt_B = None
        fake_B = self.G_AB(real_A)  # Zhu's order: A→B→A, B→A→B, then identities
        rec_A = self.G_BA(fake_B)
        fake_A = self.G_BA(real_B)
        rec_B = self.G_AB(fake_A)
        if self.identity:
            idt_B = self.G_AB(real_B)
            idt_A = self.G_BA(real_A)
        return fake_B, rec_A, fake_A, rec_B, idt_A, idt_B

    def _fused(self, real_A: torch.Tensor, real_B: torch.Tensor) -> tuple[Any, ...]:
        n = real_A.shape[0]
        if self.identity:
            fake_A, idt_A = _run_fused(self.G_BA, real_B, real_A)
            out = self.G_AB(torch.cat([real_A, real_B, fake_A], 0))
            fake_B, idt_B, rec_B = out[:n], out[n : 2 * n], out[2 * n :]
        else:
            idt_A = idt_B = None
            fake_A = self.G_BA(real_B)
            fake_B, rec_B = _run_fused(self.G_AB, real_A, fake_A)
        rec_A = self.G_BA(fake_B)
        return fake_B, rec_A, fake_A, rec_B, idt_A, idt_B


def generator_losses(
    outputs: tuple[Any, ...],
    real_A: torch.Tensor,
    real_B: torch.Tensor,
    D_A: nn.Module,
    D_B: nn.Module,
    gan: Any,
    cycle: Any,
    identity: Any,
) -> dict[str, torch.Tensor]:
    """The generator half of the objective; ``D_A``/``D_B`` should be frozen by the caller."""
    fake_B, rec_A, fake_A, rec_B, idt_A, idt_B = outputs
    terms = {
        "G_AB_gan": gan.generator_loss(D_B(fake_B)),
        "G_BA_gan": gan.generator_loss(D_A(fake_A)),
        "cycle_A": cycle(rec_A, real_A),
        "cycle_B": cycle(rec_B, real_B),
    }
    if idt_A is not None:
        terms["idt_A"] = identity(idt_A, real_A)
        terms["idt_B"] = identity(idt_B, real_B)
    terms["G_total"] = torch.stack([t.float() for t in terms.values()]).sum()
    return terms


class DiscriminatorPair(nn.Module):
    """Both discriminators and the discriminator half of the objective as one module.

    ``forward(real_A, real_B, fake_A, fake_B)`` (fakes already detached, from the pools)
    returns ``{"D_A", "D_B", ["D_A_penalty", "D_B_penalty"], "D_total"}``.

    :param gan: the :class:`~translkit.contracts.GANLoss`.
    :param fuse: score real and fake in one pass when the discriminator is per-sample.
    """

    def __init__(self, D_A: nn.Module, D_B: nn.Module, gan: Any, *, fuse: bool) -> None:
        super().__init__()
        self.D_A, self.D_B = D_A, D_B
        self.gan = gan
        self.fuse = fuse and is_per_sample(D_A) and is_per_sample(D_B)

    def _score(self, net: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[Any, Any]:
        if self.fuse:
            return _run_fused(net, real, fake)
        return net(real), net(fake)

    def forward(
        self, real_A: torch.Tensor, real_B: torch.Tensor, fake_A: torch.Tensor, fake_B: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        terms: dict[str, torch.Tensor] = {}
        for name, net, real, fake in (
            ("D_A", self.D_A, real_A, fake_A),
            ("D_B", self.D_B, real_B, fake_B),
        ):
            real_logits, fake_logits = self._score(net, real, fake)
            terms[name] = self.gan.discriminator_loss(real_logits, fake_logits)
            penalty = self.gan.penalty(net, real, fake) if hasattr(self.gan, "penalty") else None
            if penalty is not None:
                terms[f"{name}_penalty"] = penalty
        terms["D_total"] = torch.stack([t.float() for t in terms.values()]).sum()
        return terms
