"""The CycleGAN method (Zhu, Park, Isola, Efros, ICCV 2017) behind the method contract.

Roles: ``G_AB`` maps domain A to B, ``G_BA`` B to A; ``D_A`` judges domain-A images (real A
against ``G_BA``'s fakes), ``D_B`` domain B. One Adam for both generators (``G``), one for
both discriminators (``D``). Per step: the generators' forward, then phase ``G`` (both
discriminators frozen) and phase ``D`` (on history-pool fakes, Shrivastava et al.)::

    G_AB_gan = gan.G(D_B(fake_B))        G_BA_gan = gan.G(D_A(fake_A))
    cycle_A  = cycle(G_BA(fake_B), real_A)    cycle_B = cycle(G_AB(fake_A), real_B)
    idt_A    = identity(G_BA(real_A), real_A) idt_B   = identity(G_AB(real_B), real_B)
    change_A = change(fake_B, real_A)         change_B = change(fake_A, real_B)   (weight 0: off)
    D_A      = gan.D(D_A(real_A), D_A(pool(fake_A)))  (+ D_A_penalty, e.g. WGAN-GP), same for D_B

Work is never done twice where the result is provably the same: with a per-sample network
(no batch norm, see :func:`translkit.contracts.is_per_sample`) independent passes run as one
batch when the engine asks for it (``context.fuse``): 3 generator calls per step instead of
Zhu's 6 with identity, 4 without; real and pooled fakes in one discriminator pass. A test
checks that both paths give the same losses and gradients.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from translkit.contracts import (
    GANLoss,
    HeldOutBatches,
    LossSlot,
    MethodContext,
    NetworkSlot,
    OptimizerGroup,
    Phase,
    PixelLoss,
    gan_penalty,
    is_per_sample,
)

from ._pool import ImagePool

__all__ = ["CycleGAN", "cyclegan", "generator_outputs"]

_OUTPUTS = ("fake_B", "rec_A", "fake_A", "rec_B", "idt_A", "idt_B")


def _weighted(losses: Mapping[str, Any], slot: str) -> Any | None:
    """The loss in ``slot`` when it has a positive weight, else ``None`` (also when a
    subclass written before that slot existed declares no such slot)."""
    loss = losses.get(slot)
    return loss if loss is not None and float(loss.weight) > 0 else None


def _run_fused(net: Any, first: torch.Tensor, second: torch.Tensor) -> tuple[Any, Any]:
    out = net(torch.cat([first, second], 0))
    return out[: first.shape[0]], out[first.shape[0] :]


def generator_outputs(
    G_AB: Any, G_BA: Any, real_A: torch.Tensor, real_B: torch.Tensor, *, identity: bool, fuse: bool
) -> dict[str, torch.Tensor | None]:
    """``fake_B, rec_A, fake_A, rec_B, idt_A, idt_B`` (identities ``None`` when off).

    The fused path makes 3 generator calls instead of Zhu's 4–6::

        fake_A, idt_A        = G_BA([real_B, real_A])
        fake_B, idt_B, rec_B = G_AB([real_A, real_B, fake_A])
        rec_A                = G_BA(fake_B)
    """
    idt_A = idt_B = None
    if not fuse:
        fake_B = G_AB(real_A)  # Zhu's order: A→B→A, B→A→B, then identities
        rec_A = G_BA(fake_B)
        fake_A = G_BA(real_B)
        rec_B = G_AB(fake_A)
        if identity:
            idt_B = G_AB(real_B)
            idt_A = G_BA(real_A)
    else:
        n = real_A.shape[0]
        if identity:
            fake_A, idt_A = _run_fused(G_BA, real_B, real_A)
            out = G_AB(torch.cat([real_A, real_B, fake_A], 0))
            fake_B, idt_B, rec_B = out[:n], out[n : 2 * n], out[2 * n :]
        else:
            fake_A = G_BA(real_B)
            fake_B, rec_B = _run_fused(G_AB, real_A, fake_A)
        rec_A = G_BA(fake_B)
    return dict(zip(_OUTPUTS, (fake_B, rec_A, fake_A, rec_B, idt_A, idt_B), strict=True))


class CycleGAN:
    """Zhu et al.'s objective: two generators, two discriminators, cycle and identity."""

    name = "cyclegan"
    networks = (
        NetworkSlot("G_AB", "generator"),
        NetworkSlot("G_BA", "generator"),
        NetworkSlot("D_A", "discriminator"),
        NetworkSlot("D_B", "discriminator"),
    )
    losses = (
        LossSlot("gan", GANLoss, "lsgan"),
        LossSlot("cycle", PixelLoss, "cycle", {"weight": 10.0}),
        LossSlot("identity", PixelLoss, "identity", {"weight": 0.0}),
        LossSlot("change", PixelLoss, "change", {"weight": 0.0}),
    )
    optimizers = (
        OptimizerGroup("G", ("G_AB", "G_BA")),
        OptimizerGroup("D", ("D_A", "D_B"), lr="lr_d"),
    )
    phases = (Phase("G", ("G",), frozen=("D_A", "D_B")), Phase("D", ("D",)))
    directions: ClassVar[dict[str, str]] = {"a2b": "G_AB", "b2a": "G_BA"}

    def __init__(self) -> None:
        self.pools: dict[str, ImagePool] = {}
        self.device = torch.device("cpu")

    def network_options(self, role: str, built: Mapping[str, nn.Module]) -> dict[str, Any]:
        return {}

    # -- training ------------------------------------------------------------------------
    def setup(
        self, nets: Mapping[str, nn.Module], losses: Mapping[str, Any], context: MethodContext
    ) -> None:
        self.run, self.loss, self.device = context.run, losses, context.device
        self.identity = _weighted(losses, "identity") is not None
        self.change = _weighted(losses, "change") is not None
        self.fuse_G = context.fuse and is_per_sample(nets["G_AB"]) and is_per_sample(nets["G_BA"])
        self.fuse_D = context.fuse and is_per_sample(nets["D_A"]) and is_per_sample(nets["D_B"])
        seed = context.seed * 1000 + context.rank
        self.pools = {
            "A": ImagePool(context.pool_size, seed),
            "B": ImagePool(context.pool_size, seed + 1),
        }

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        return generator_outputs(
            self.run["G_AB"],
            self.run["G_BA"],
            batch["A"],
            batch["B"],
            identity=self.identity,
            fuse=self.fuse_G,
        )

    def phase_losses(
        self, phase: str, batch: Mapping[str, torch.Tensor], cache: dict[str, Any]
    ) -> dict[str, torch.Tensor]:
        if phase == "G":
            return self._generator_terms(batch["A"], batch["B"], cache)
        fake_A = self.pools["A"].query(cache["fake_A"])
        fake_B = self.pools["B"].query(cache["fake_B"])
        return self._discriminator_terms(batch["A"], batch["B"], fake_A, fake_B)

    def _generator_terms(
        self, real_A: torch.Tensor, real_B: torch.Tensor, out: dict[str, Any]
    ) -> dict[str, torch.Tensor]:
        gan, cycle, identity = self.loss["gan"], self.loss["cycle"], self.loss["identity"]
        terms = {
            "G_AB_gan": gan.generator_loss(self.run["D_B"](out["fake_B"])),
            "G_BA_gan": gan.generator_loss(self.run["D_A"](out["fake_A"])),
            "cycle_A": cycle(out["rec_A"], real_A),
            "cycle_B": cycle(out["rec_B"], real_B),
        }
        if out["idt_A"] is not None:
            terms["idt_A"] = identity(out["idt_A"], real_A)
            terms["idt_B"] = identity(out["idt_B"], real_B)
        if self.change:  # each translation is charged for how far it moves its source
            terms["change_A"] = self.loss["change"](out["fake_B"], real_A)
            terms["change_B"] = self.loss["change"](out["fake_A"], real_B)
        return terms

    def _discriminator_terms(
        self, real_A: torch.Tensor, real_B: torch.Tensor, fake_A: torch.Tensor, fake_B: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        gan = self.loss["gan"]
        terms: dict[str, torch.Tensor] = {}
        for name, real, fake in (("D_A", real_A, fake_A), ("D_B", real_B, fake_B)):
            net = self.run[name]
            if self.fuse_D:
                real_logits, fake_logits = _run_fused(net, real, fake)
            else:
                real_logits, fake_logits = net(real), net(fake)
            terms[name] = gan.discriminator_loss(real_logits, fake_logits)
            penalty = gan_penalty(gan, net, real, fake)
            if penalty is not None:
                terms[f"{name}_penalty"] = penalty
        return terms

    def state_dict(self) -> dict[str, Any]:
        return {"pools": {k: p.state_dict() for k, p in self.pools.items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for k, pool in self.pools.items():
            pool.load_state_dict(state["pools"][k], self.device)

    # -- evaluation ----------------------------------------------------------------------
    @torch.no_grad()
    def held_out_objective(
        self, nets: Mapping[str, nn.Module], losses: Mapping[str, Any], batches: HeldOutBatches
    ) -> dict[str, float]:
        """``G_total`` (the generators' objective) and its terms on the test split.

        Every term is averaged over the whole test split of its domain: adversarial terms
        are computed once on the logits of all test images, pixel terms are image-weighted
        means, so the value depends neither on the batch size nor on the two test splits
        having different lengths.
        """
        gan, cycle = losses["gan"], losses["cycle"]
        identity, change = _weighted(losses, "identity"), _weighted(losses, "change")
        logits: dict[str, list[torch.Tensor]] = {
            k: [] for k in ("A_real", "A_fake", "B_real", "B_fake")
        }
        sums: dict[str, float] = {}
        counts = {"A": 0, "B": 0}
        # domain X: real_X -> G (to the other domain) -> back; D_X scores real_X, D_Y the fake
        for src, dst, fwd, back in (("A", "B", "G_AB", "G_BA"), ("B", "A", "G_BA", "G_AB")):
            for real in batches(src):
                fake = nets[fwd](real)
                n = real.shape[0]
                counts[src] += n
                logits[f"{src}_real"].append(nets[f"D_{src}"](real).float().cpu())
                logits[f"{dst}_fake"].append(nets[f"D_{dst}"](fake).float().cpu())
                sums[f"cycle_{src}"] = (
                    sums.get(f"cycle_{src}", 0.0) + float(cycle(nets[back](fake), real)) * n
                )
                if identity is not None:  # the generator *into* src leaves src unchanged
                    idt = float(identity(nets[back](real), real)) * n
                    sums[f"idt_{src}"] = sums.get(f"idt_{src}", 0.0) + idt
                if change is not None:
                    moved = float(change(fake, real)) * n
                    sums[f"change_{src}"] = sums.get(f"change_{src}", 0.0) + moved
        cat = {k: torch.cat(v) for k, v in logits.items()}
        terms = {
            "G_AB_gan": float(gan.generator_loss(cat["B_fake"])),
            "G_BA_gan": float(gan.generator_loss(cat["A_fake"])),
        }
        terms.update({key: value / counts[key[-1]] for key, value in sums.items()})
        terms["G_total"] = sum(terms.values())
        terms["D_A"] = float(gan.discriminator_loss(cat["A_real"], cat["A_fake"]))
        terms["D_B"] = float(gan.discriminator_loss(cat["B_real"], cat["B_fake"]))
        return {"objective": terms["G_total"], **{f"objective/{k}": v for k, v in terms.items()}}


def cyclegan() -> CycleGAN:
    """CycleGAN (Zhu et al. 2017): two generators, two discriminators, cycle + identity."""
    return CycleGAN()
