"""Exponential moving average of generator weights (Karras et al. 2018 style "G_ema").

The averaged copy is used for evaluation, sample grids and export; training never
reads it, so enabling EMA leaves the training trajectory unchanged.

The decay warms up as in TensorFlow's ``ExponentialMovingAverage(num_updates=...)`` and
timm's ``ModelEmaV3``: update ``n`` uses ``min(decay, (1 + n) / (10 + n))``, so the average
forgets the random initialisation within the first few hundred steps instead of dragging it
along for ``1 / (1 - decay)`` steps (with 0.999, early sample grids and evaluations would
otherwise show mostly the initial weights).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

__all__ = ["EMA"]


class EMA:
    """Shadow copies of ``nets``: ``shadow = decay * shadow + (1 - decay) * weight``.

    Buffers (batch-norm statistics) are copied, not averaged.

    :param nets: name -> module to track (e.g. ``{"G_AB": ..., "G_BA": ...}``).
    :param decay: averaging factor in (0, 1), e.g. 0.999 (reached after the warm-up).
    :param updates: updates already made (a resumed run's count).
    """

    def __init__(self, nets: dict[str, nn.Module], decay: float, updates: int = 0) -> None:
        self.decay = decay
        self.updates = updates
        self.nets = nets
        self.shadow = {k: copy.deepcopy(v).eval().requires_grad_(False) for k, v in nets.items()}

    def current_decay(self) -> float:
        """The decay the next update uses (warm-up included)."""
        n = self.updates + 1
        return min(self.decay, (1.0 + n) / (10.0 + n))

    @torch.no_grad()
    def update(self) -> None:
        decay = self.current_decay()
        self.updates += 1
        for name, net in self.nets.items():
            shadow = self.shadow[name]
            params = list(net.parameters())
            shadow_params = list(shadow.parameters())
            torch._foreach_lerp_(shadow_params, params, 1.0 - decay)
            for sb, b in zip(shadow.buffers(), net.buffers(), strict=True):
                sb.copy_(b)

    def state_dict(self) -> dict[str, dict[str, torch.Tensor]]:
        return {k: v.state_dict() for k, v in self.shadow.items()}

    def load_state_dict(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        for k, v in self.shadow.items():
            v.load_state_dict(state[k])
