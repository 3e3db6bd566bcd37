"""``precision = "auto"`` for training: measure the networks the run is about to train.

A fixed convolution says little about a whole model: for small networks at 64 px bf16
autocast's casts cost more than its arithmetic saves (recolor.toml measured 0.064 s/step in
bf16 against 0.05 in fp32), while the study's ResNet-9 gains. So on a CPU with native bf16
the engine times one forward and backward of a copy of the run's own generator and
discriminator — after the engine's own transformations (instance norm as group norm,
fp32 norms and outputs under autocast) — at the recipe's crop size, in fp32 and in bf16
autocast, and :func:`translkit.precision.choose_precision` decides from the ratio. The
result is cached under the model's signature, so it is measured once per model, size,
batch, CPU and torch version.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

from translkit import precision
from translkit.models import Model
from translkit.norms import swap_instance_norms
from translkit.precision import Choice, ModelProbe, prepare_module
from translkit.recipe import Recipe

__all__ = ["PROBE_BATCH", "model_probe", "probe_signature"]

#: Images per probe step: the recipe's batch, at most this (cost grows with it; the
#: bf16/fp32 ratio hardly does beyond it).
PROBE_BATCH = 2
_BF16 = Choice("bf16", torch.bfloat16, "probe")


def _roles(model: Model, section: str) -> list[str]:
    return [slot.role for slot in model.method.networks if slot.section == section]


def probe_signature(recipe: Recipe, batch: int) -> str:
    """What decides the probe's timing besides the CPU and torch: the generator and
    discriminator components with every option, the crop size, the batch and the engine
    settings that change the modules (JSON, keys sorted)."""
    return json.dumps(
        {
            "generator": recipe.generator.to_dict(),
            "discriminator": recipe.discriminator.to_dict(),
            "method": recipe.method.name,
            "size": recipe.data.crop_size,
            "batch": batch,
            "fast_norm": recipe.train.fast_norm,
            "probe": 1,  # bump when what is measured changes
        },
        sort_keys=True,
    )


def _prepared(net: nn.Module, recipe: Recipe) -> nn.Module:
    """A copy of ``net`` as the engine will run it on this CPU (fp32 unless autocast)."""
    net = copy.deepcopy(net).cpu().train()
    if recipe.train.fast_norm == "auto" and getattr(net, "fast_norm", True):
        swap_instance_norms(net)
    return prepare_module(net, _BF16)  # fp32 norms/outputs under autocast; no-op without


def _step(nets: list[nn.Module], x: torch.Tensor, dtype: torch.dtype) -> Callable[[], None]:
    """One forward and backward through the generator (then the discriminator on its
    output), in ``dtype`` autocast or plain fp32."""
    autocast = _BF16.autocast("cpu") if dtype == torch.bfloat16 else nullcontext()

    def step() -> None:
        for net in nets:
            net.zero_grad(set_to_none=True)
        with autocast:
            out = nets[0](x)
            loss = out.float().abs().mean()
            if len(nets) > 1:
                loss = loss + nets[1](out).float().square().mean()
        loss.backward()

    return step


def model_probe(
    recipe: Recipe, model: Model, *, measure: Callable[..., dict[str, float]] | None = None
) -> ModelProbe | None:
    """The probe of ``model``'s first generator and first discriminator role (``None``
    when the method trains no generator). ``measure`` times the steps (default
    :func:`~translkit.precision.measure_steps`)."""
    generators, discriminators = _roles(model, "generator"), _roles(model, "discriminator")
    if not generators:
        return None
    size, batch = recipe.data.crop_size, max(1, min(recipe.optim.batch_size, PROBE_BATCH))
    roles = [generators[0], *discriminators[:1]]
    what = (
        f"a forward and backward of this run's generator"
        f"{' and discriminator' if discriminators else ''} at {size} px, batch {batch},"
    )

    def run() -> dict[str, Any]:
        with torch.random.fork_rng(devices=[]):  # the run's random stream is untouched
            torch.manual_seed(0)
            nets = [_prepared(model.nets[role], recipe) for role in roles]
            x = torch.rand(batch, 3, size, size) * 2 - 1
            steps = {dtype: _step(nets, x, dtype) for dtype in (torch.float32, torch.bfloat16)}
            return (measure or precision.measure_steps)(steps)

    return ModelProbe(probe_signature(recipe, batch), what, run)
