"""CUT and FastCUT (Park, Efros, Zhang, Zhu, "Contrastive Learning for Unpaired
Image-to-Image Translation", ECCV 2020) behind the method contract.

Roles: ``G_AB`` translates A to B (the paper's G), ``D_B`` judges domain-B images (D), ``F``
projects sampled encoder patches (the paper's F, a ``[head]`` component). One Adam each; F
has its own with G's learning rate and betas. No cycle, no second generator, no history
pool. Per step, as the reference (``taesungp/contrastive-unpaired-translation``,
``models/cut_model.py``): the generator's forward, then phase ``D``, then phase ``G``
(D frozen; G and F step together)::

    fake_B = G(a)                      idt_B = G(b)          (identity NCE only)
    D_B      = gan.D(D_B(b), D_B(fake_B.detach()))           (+ D_B_penalty, e.g. WGAN-GP)
    G_AB_gan = λ_GAN · gan.G(D_B(fake_B))
    nce_A    = s · mean over layers of nce(F(G.enc(fake_B)), F(G.enc(a)))
    nce_B    = s · mean over layers of nce(F(G.enc(idt_B)), F(G.enc(b)))   (identity NCE)

where ``nce`` is the ``[loss.nce]`` PatchLoss (λ_NCE is its ``weight``) and ``s`` = ½ with
identity NCE (the reference averages the two NCE terms), else 1; so ``G_total`` is the
reference's ``loss_G``. With flip-equivariance (FastCUT) the generator's input is flipped
left-right with probability ½ and the output's features are flipped back before sampling.

Fast path (``context.fuse`` and a per-sample generator): ``G([a, b])`` in one call; the
outputs' features in one call; and, when the generator offers ``forward_with_features``
and the step is not flipped, the sources' features are taken from the translation pass
itself instead of a second encoder pass. A test checks losses and gradients against the
plain path (the reference's separate calls).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar

import torch
from torch import nn

from translkit.bounds import NonEmpty, Range
from translkit.contracts import (
    FeatureGenerator,
    GANLoss,
    HeldOutBatches,
    LossSlot,
    MethodContext,
    NetworkSlot,
    OptimizerGroup,
    PatchLoss,
    Phase,
    gan_penalty,
    is_per_sample,
)
from translkit.errors import ComponentError

__all__ = ["CUT", "cut", "fastcut", "feature_channels"]

#: The generator's stride must divide this probe's side (see :func:`feature_channels`).
_PROBE = 32


def feature_channels(generator: nn.Module, layers: Sequence[int]) -> list[int]:
    """Channels of ``generator.features`` at ``layers``, read off one small probe pass
    (zeros, eval mode, no gradients; the training mode is restored)."""
    multiple = max(1, int(getattr(generator, "size_multiple", 1)))
    side = multiple * -(-_PROBE // multiple)
    param = next(generator.parameters(), None)
    probe = torch.zeros(1, 3, side, side, device=param.device if param is not None else "cpu")
    was_training = generator.training
    generator.eval()
    try:
        with torch.no_grad():
            feats = generator.features(probe, layers)  # type: ignore[operator]
    finally:
        generator.train(was_training)
    return [int(f.shape[1]) for f in feats]


def _split(first: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    return first[:n], first[n:]


def _flip(x: torch.Tensor) -> torch.Tensor:
    return torch.flip(x, [3])


def _encode(
    generator: Any, images: torch.Tensor, layers: Sequence[int], flip_back: bool = False
) -> list[torch.Tensor]:
    """The generator's features of ``images`` (flipped back left-right when asked)."""
    feats = generator.features(images, layers)
    return [_flip(f) for f in feats] if flip_back else list(feats)


class CUT:
    """Contrastive unpaired translation: one generator, PatchNCE instead of a cycle.

    :param name: the registry name (``cut`` or ``fastcut``).
    :param nce_weight: default λ_NCE of the ``nce`` loss slot.
    :param lambda_gan: λ_GAN, the adversarial term's weight.
    :param nce_idt: identity NCE, PatchNCE(b, G(b)), averaged with PatchNCE(a, G(a)).
    :param flip_equivariance: flip the input at random, the output's features back.
    :param num_patches: patches sampled per layer and image.
    :param nce_layers: generator layers for PatchNCE (``None``: its ``feature_layers``).
    """

    networks = (
        NetworkSlot("G_AB", "generator"),
        NetworkSlot("D_B", "discriminator"),
        NetworkSlot("F", "head", default="mlp_sample", supplied=("in_channels",)),
    )
    optimizers = (
        OptimizerGroup("G", ("G_AB",)),
        OptimizerGroup("F", ("F",)),
        OptimizerGroup("D", ("D_B",), lr="lr_d"),
    )
    phases = (Phase("D", ("D",)), Phase("G", ("G", "F"), frozen=("D_B",)))
    directions: ClassVar[dict[str, str]] = {"a2b": "G_AB"}

    def __init__(
        self,
        name: str,
        *,
        nce_weight: float,
        lambda_gan: float,
        nce_idt: bool,
        flip_equivariance: bool,
        num_patches: int,
        nce_layers: Sequence[int] | None,
    ) -> None:
        self.name = name
        self.losses = (
            LossSlot("gan", GANLoss, "lsgan"),
            LossSlot("nce", PatchLoss, "patchnce", {"weight": nce_weight}),
        )
        self.lambda_gan, self.nce_idt = lambda_gan, nce_idt
        self.flip_equivariance, self.num_patches = flip_equivariance, num_patches
        self.nce_layers = nce_layers
        self.layers: tuple[int, ...] = ()

    # -- building ------------------------------------------------------------------------
    def layers_of(self, generator: nn.Module) -> tuple[int, ...]:
        """The PatchNCE layers: ``nce_layers``, else the generator's ``feature_layers``."""
        if not isinstance(generator, FeatureGenerator):
            raise ComponentError(
                f"method {self.name!r} needs a generator exposing its encoder's features "
                f"(translkit.contracts.FeatureGenerator); {type(generator).__name__} does not: "
                "use a resnet generator"
            )
        if self.nce_layers is not None:
            return tuple(self.nce_layers)
        return tuple(int(i) for i in generator.feature_layers)

    def network_options(self, role: str, built: Mapping[str, nn.Module]) -> dict[str, Any]:
        if role != "F":
            return {}
        generator = built["G_AB"]
        self.layers = self.layers_of(generator)
        return {"in_channels": feature_channels(generator, self.layers)}

    # -- training ------------------------------------------------------------------------
    def setup(
        self, nets: Mapping[str, nn.Module], losses: Mapping[str, Any], context: MethodContext
    ) -> None:
        self.run, self.loss, self.device = context.run, losses, context.device
        self.G = nets["G_AB"]
        self.layers = self.layers_of(self.G)
        self.nce_on = float(losses["nce"].weight) > 0
        if not self.nce_on and self.lambda_gan == 0:
            raise ComponentError(
                f"method {self.name!r} has nothing to train: lambda_gan = 0 and "
                "[loss.nce] weight = 0"
            )
        self.fuse_G = context.fuse and is_per_sample(self.G)
        self.fuse_D = context.fuse and is_per_sample(nets["D_B"])
        # the sources' features come out of the translation pass (not when compiled)
        self.tap = (
            self.fuse_G
            and callable(getattr(self.G, "forward_with_features", None))
            and context.run["G_AB"] is self.G
        )

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, Any]:
        real_A, real_B = batch["A"], batch["B"]
        flipped = self.flip_equivariance and self.draw_flip()
        out: dict[str, Any] = {"flipped": flipped, "keys": None, "idt_B": None}
        orient = _flip if flipped else (lambda x: x)
        if not self.fuse_G:  # the plain path: one call per image set
            out["fake_B"] = self.run["G_AB"](orient(real_A))
            if self.nce_idt:
                out["idt_B"] = self.run["G_AB"](orient(real_B))
            return out
        src = orient(torch.cat([real_A, real_B]) if self.nce_idt else real_A)
        if self.tap and self.nce_on and not flipped:
            fake, out["keys"] = self.G.forward_with_features(src, self.layers)  # type: ignore[operator]
        else:
            fake = self.run["G_AB"](src)
        out["fake"] = fake
        out["fake_B"], idt = _split(fake, real_A.shape[0])
        if self.nce_idt:
            out["idt_B"] = idt
        return out

    def draw_flip(self) -> bool:
        """Flip this step's inputs? Probability ½, from torch's global RNG (as checkpointed)."""
        return bool(torch.rand(()) < 0.5)

    def phase_losses(
        self, phase: str, batch: Mapping[str, torch.Tensor], cache: dict[str, Any]
    ) -> dict[str, torch.Tensor]:
        if phase == "D":
            return self._discriminator_terms(batch["B"], cache["fake_B"].detach())
        terms: dict[str, torch.Tensor] = {}
        if self.lambda_gan > 0:
            logits = self.run["D_B"](cache["fake_B"])
            terms["G_AB_gan"] = self.lambda_gan * self.loss["gan"].generator_loss(logits)
        if self.nce_on:
            terms.update(self._nce_terms(batch, cache))
        return terms

    def _discriminator_terms(
        self, real: torch.Tensor, fake: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        gan, net = self.loss["gan"], self.run["D_B"]
        if self.fuse_D:
            real_logits, fake_logits = _split(net(torch.cat([real, fake])), real.shape[0])
        else:
            real_logits, fake_logits = net(real), net(fake)
        terms = {"D_B": gan.discriminator_loss(real_logits, fake_logits)}
        penalty = gan_penalty(gan, net, real, fake)
        if penalty is not None:
            terms["D_B_penalty"] = penalty
        return terms

    def _nce_terms(
        self, batch: Mapping[str, torch.Tensor], cache: dict[str, Any]
    ) -> dict[str, torch.Tensor]:
        real_A, real_B, flipped = batch["A"], batch["B"], cache["flipped"]
        pairs = [("nce_A", real_A, cache["fake_B"])]
        if self.nce_idt:
            pairs.append(("nce_B", real_B, cache["idt_B"]))
        share = 0.5 if self.nce_idt else 1.0  # the reference averages the two NCE terms
        n = real_A.shape[0]
        G, head, nce = self.G, self.run["F"], self.loss["nce"]
        if not self.fuse_G:  # the reference: output's features, then the source's
            return {
                name: share
                * self._patch_nce(
                    head,
                    nce,
                    _encode(G, out, self.layers, flipped),
                    _encode(G, src, self.layers),
                    n,
                )
                for name, src, out in pairs
            }
        queries = _encode(G, cache["fake"], self.layers, flipped)
        keys = cache["keys"]
        if keys is None:
            keys = _encode(G, torch.cat([real_A, real_B]) if self.nce_idt else real_A, self.layers)
        terms = {}
        for i, (name, _, _) in enumerate(pairs):
            part = slice(i * n, (i + 1) * n)
            q, k = [f[part] for f in queries], [f[part] for f in keys]
            terms[name] = share * self._patch_nce(head, nce, q, k, n)
        return terms

    def _patch_nce(
        self, head: Any, nce: Any, queries: list[torch.Tensor], keys: list[torch.Tensor], n: int
    ) -> torch.Tensor:
        """PatchNCE averaged over layers; the head samples the positions on the keys."""
        key_proj, ids = head(keys, self.num_patches)
        query_proj, _ = head(queries, self.num_patches, ids)
        per_layer = [nce.contrast(q, k, n) for q, k in zip(query_proj, key_proj, strict=True)]
        return torch.stack([t.float() for t in per_layer]).mean()

    def state_dict(self) -> dict[str, Any]:
        return {}  # patch positions and flips come from torch's RNG, which snapshots keep

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        return None

    # -- evaluation ----------------------------------------------------------------------
    @torch.no_grad()
    def held_out_objective(
        self, nets: Mapping[str, nn.Module], losses: Mapping[str, Any], batches: HeldOutBatches
    ) -> dict[str, float]:
        """``G_total`` (the generator's objective) and its terms on the test split.

        Adversarial terms are computed once on the logits of every test image; NCE terms
        are image-weighted means with patch positions drawn from a fixed seed (so two
        evaluations of the same weights agree); no flip.
        """
        G, D, head = nets["G_AB"], nets["D_B"], nets["F"]
        gan, nce = losses["gan"], losses["nce"]
        layers = self.layers_of(G)

        def patch_nce(source: torch.Tensor, output: torch.Tensor) -> float:
            queries, keys = _encode(G, output, layers), _encode(G, source, layers)
            return float(self._patch_nce(head, nce, queries, keys, len(source))) * len(source)

        use_nce = float(nce.weight) > 0
        logits: dict[str, list[torch.Tensor]] = {"real": [], "fake": []}
        sums = {"nce_A": 0.0, "nce_B": 0.0}
        counts = {"A": 0, "B": 0}
        with torch.random.fork_rng(devices=[]):
            torch.random.default_generator.manual_seed(0)
            for real in batches("A"):
                fake = G(real)
                counts["A"] += real.shape[0]
                logits["fake"].append(D(fake).float().cpu())
                if use_nce:
                    sums["nce_A"] += patch_nce(real, fake)
            for real in batches("B"):
                counts["B"] += real.shape[0]
                logits["real"].append(D(real).float().cpu())
                if use_nce and self.nce_idt:
                    sums["nce_B"] += patch_nce(real, G(real))
        cat = {k: torch.cat(v) for k, v in logits.items()}
        share = 0.5 if self.nce_idt else 1.0
        terms: dict[str, float] = {}
        if self.lambda_gan > 0:
            terms["G_AB_gan"] = self.lambda_gan * float(gan.generator_loss(cat["fake"]))
        if use_nce:
            terms["nce_A"] = share * sums["nce_A"] / counts["A"]
            if self.nce_idt:
                terms["nce_B"] = share * sums["nce_B"] / counts["B"]
        terms["G_total"] = sum(terms.values())
        terms["D_B"] = float(gan.discriminator_loss(cat["real"], cat["fake"]))
        return {"objective": terms["G_total"], **{f"objective/{k}": v for k, v in terms.items()}}


# -- factories -------------------------------------------------------------------------------
#: Options of ``cut`` and ``fastcut`` (types and bounds are checked by ``Registry.create``).
LambdaGan = Annotated[float, Range(min=0)]
NumPatches = Annotated[int, Range(min=1)]
NceLayers = Annotated[list[int] | None, NonEmpty(), Range(min=0)]


def _options(
    lambda_gan: float,
    nce_idt: bool,
    flip_equivariance: bool,
    num_patches: int,
    nce_layers: list[int] | None,
) -> dict[str, Any]:
    """The method's options (``Registry.create`` checked each one's type and bounds; the
    same layer twice is what no bound says)."""
    if nce_layers is not None and len(set(nce_layers)) != len(nce_layers):
        raise ComponentError(
            f"option nce_layers={nce_layers!r} must be a list of distinct layer indices "
            "≥ 0 (e.g. [0, 4, 7, 10, 14]), or left out for the generator's own"
        )
    return {
        "lambda_gan": lambda_gan,
        "nce_idt": nce_idt,
        "flip_equivariance": flip_equivariance,
        "num_patches": num_patches,
        "nce_layers": None if nce_layers is None else tuple(nce_layers),
    }


def cut(
    lambda_gan: LambdaGan = 1.0,
    nce_idt: bool = True,
    flip_equivariance: bool = False,
    num_patches: NumPatches = 256,
    nce_layers: NceLayers = None,
) -> CUT:
    """CUT (Park et al. 2020): one generator, PatchNCE between input and output patches.

    Options: ``lambda_gan`` (1.0), ``nce_idt`` identity NCE (true), ``flip_equivariance``
    (false), ``num_patches`` per layer (256), ``nce_layers`` (the generator's
    ``feature_layers``). λ_NCE is ``[loss.nce] weight`` (1.0).
    """
    opts = _options(lambda_gan, nce_idt, flip_equivariance, num_patches, nce_layers)
    return CUT("cut", nce_weight=1.0, **opts)


def fastcut(
    lambda_gan: LambdaGan = 1.0,
    nce_idt: bool = False,
    flip_equivariance: bool = True,
    num_patches: NumPatches = 256,
    nce_layers: NceLayers = None,
) -> CUT:
    """FastCUT (Park et al. 2020): CUT without identity NCE, λ_NCE 10, flip-equivariance.

    Options as ``cut``, with defaults ``nce_idt`` false and ``flip_equivariance`` true;
    λ_NCE is ``[loss.nce] weight`` (10.0).
    """
    opts = _options(lambda_gan, nce_idt, flip_equivariance, num_patches, nce_layers)
    return CUT("fastcut", nce_weight=10.0, **opts)
