"""The test objective: a method's own training objective on the test split.

The one place it is computed — training's evaluation and ``translkit score`` both call
:func:`test_objective` with a model they already hold (the study's yardstick: the total
CycleGAN objective of its test set, reported as ``objective``).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from translkit.contracts import TestBatches
from translkit.errors import DataError
from translkit.models import Model
from translkit.recipe import DataSection

__all__ = ["test_batches", "test_objective"]


def test_batches(data: DataSection, device: torch.device | str, batch_size: int = 8) -> TestBatches:
    """``batches(domain)``: the deterministic test transforms of ``testA``/``testB``, batched."""
    from torch.utils.data import DataLoader

    from translkit.data import build_test_dataset

    def batches(domain: str) -> Iterator[torch.Tensor]:
        dataset = build_test_dataset(data, domain)
        if len(dataset) == 0:
            raise DataError(f"test objective: test{domain} under {data.root} is empty")
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
        for batch in loader:
            yield batch["image"].to(device)

    return batches


@torch.no_grad()
def test_objective(
    model: Model, data: DataSection, *, device: torch.device | str = "cpu", batch_size: int = 8
) -> dict[str, float]:
    """``{"objective": total, "objective/<term>": ...}`` of ``model`` on ``data``'s test split.

    The networks are put in eval mode for the call and restored afterwards; the global RNG
    is left as it was.
    """
    modes = {role: net.training for role, net in model.nets.items()}
    with torch.random.fork_rng(devices=[]):
        try:
            for net in model.nets.values():
                net.eval()
            batches = test_batches(data, device, batch_size)
            return model.method.test_objective(model.nets, model.losses, batches)
        finally:
            for role, net in model.nets.items():
                net.train(modes[role])


test_objective.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
test_batches.__test__ = False  # type: ignore[attr-defined]
