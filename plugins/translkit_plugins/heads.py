"""Built-in projection heads: CUT's patch sampler with a per-layer MLP (``mlp_sample``).

Park, Efros, Zhang, Zhu, "Contrastive Learning for Unpaired Image-to-Image Translation"
(ECCV 2020); the reference is ``PatchSampleF`` with ``--netF mlp_sample`` in
``taesungp/contrastive-unpaired-translation`` (``models/networks.py``). Facts kept: one
random set of positions per layer, shared by every image of the batch and by the source
and the output (the caller passes the ids back); at most ``num_patches`` positions per
layer; a 2-layer MLP (Linear, ReLU, Linear; 256 units) per layer; L2 normalisation
``x / (‖x‖ + 1e-7)``; Xavier-normal weights with gain 0.02 (the reference's default
``--init_type xavier``), biases 0. Changed: the MLPs are built when
the head is created, from the input widths the method passes (``in_channels``), instead
of at the first forward pass, so the optimiser, checkpoints and ``--dry-run`` see them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import torch
from torch import nn

import translkit
from translkit.bounds import NonEmpty, Range
from translkit.errors import ComponentError

from ._blocks import Init, init_weights

__all__ = ["PatchSampleMLP", "l2_normalize", "mlp_sample", "sample_patch_ids"]


def l2_normalize(x: torch.Tensor) -> torch.Tensor:
    """Each row divided by its L2 norm (plus 1e-7, as the reference)."""
    return x / (x.norm(p=2, dim=1, keepdim=True) + 1e-7)


def sample_patch_ids(
    features: Sequence[torch.Tensor], num_patches: int, generator: torch.Generator | None = None
) -> list[torch.Tensor]:
    """One random set of ``min(num_patches, H·W)`` positions per feature map, indices into
    the flattened ``H·W`` grid (drawn on the CPU, from ``generator`` or torch's global RNG,
    so a run is reproducible on any device)."""
    ids = []
    for feat in features:
        positions = feat.shape[2] * feat.shape[3]
        perm = torch.randperm(positions, generator=generator)[: min(num_patches, positions)]
        ids.append(perm.to(feat.device))
    return ids


class PatchSampleMLP(nn.Module):
    """Samples patch features from each layer and projects them (CUT's ``F``).

    :param in_channels: channels of each feature map it will see, in order.
    :param units: width of each MLP (hidden and output; the reference's ``netF_nc``).
    """

    def __init__(self, in_channels: Sequence[int], units: int = 256) -> None:
        super().__init__()
        self.in_channels = tuple(int(c) for c in in_channels)
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(c, units), nn.ReLU(), nn.Linear(units, units))
            for c in self.in_channels
        )

    def forward(
        self,
        features: Sequence[torch.Tensor],
        num_patches: int,
        patch_ids: Sequence[torch.Tensor] | None = None,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        if len(features) != len(self.mlps):
            raise ComponentError(
                f"head mlp_sample was built for {len(self.mlps)} feature maps, got {len(features)}"
            )
        if patch_ids is None:
            patch_ids = sample_patch_ids(features, num_patches)
        projected = []
        for feat, ids, mlp in zip(features, patch_ids, self.mlps, strict=True):
            # pick in NCHW order, then transpose the picked patches only: the gradient that
            # flows back into the generator stays contiguous NCHW (a channels_last-strided one
            # makes InstanceNorm2d's backward wrong at batch 1)
            picked = feat.flatten(2)[:, :, ids].transpose(1, 2).flatten(0, 1)  # (N·P, C)
            projected.append(l2_normalize(mlp(picked)))
        return projected, list(patch_ids)


def mlp_sample(
    *,
    in_channels: Annotated[list[int], NonEmpty(), Range(min=1)],
    units: Annotated[int, Range(min=1)] = 256,
    init: Init = "xavier",
    init_gain: Annotated[float, Range(min=0, min_open=True)] = 0.02,
) -> PatchSampleMLP:
    """CUT's projection head: random patches per layer through a 2-layer MLP, L2-normalised.

    Options: ``units`` (256), ``init`` normal|xavier|kaiming|orthogonal (xavier, the CUT
    reference's), ``init_gain`` (0.02). ``in_channels`` is set by the method (from its generator).
    """
    return init_weights(PatchSampleMLP(in_channels, units), init, init_gain)


@translkit.hookimpl
def translkit_register(registry: Any) -> None:
    registry.heads.add("mlp_sample", mlp_sample)
