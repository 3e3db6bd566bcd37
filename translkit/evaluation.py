"""The held-out objective: a method's own training objective on the test split.

The one place it is computed — training's evaluation and ``translkit score`` both call
:func:`held_out_objective` with a model they already hold (the total CycleGAN objective of
the test set, reported as ``objective``, is the yardstick of the leather/denim study).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch

from translkit.contracts import HeldOutBatches, Method
from translkit.errors import DataError
from translkit.networks import Model
from translkit.recipe import DataSection

__all__ = ["held_out_batches", "held_out_objective"]


def held_out_batches(
    data: DataSection, device: torch.device | str, batch_size: int = 8
) -> HeldOutBatches:
    """``batches(domain)``: the deterministic test transforms of ``testA``/``testB``, batched."""
    from torch.utils.data import DataLoader

    from translkit.data import build_test_dataset

    def batches(domain: str) -> Iterator[torch.Tensor]:
        dataset = build_test_dataset(data, domain)
        if len(dataset) == 0:
            raise DataError(f"held-out objective: test{domain} under {data.root} is empty")
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
        for batch in loader:
            yield batch["image"].to(device)

    return batches


@torch.no_grad()
def held_out_objective(
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
            batches = held_out_batches(data, device, batch_size)
            return method_objective(model.method)(model.nets, model.losses, batches)
        finally:
            for role, net in model.nets.items():
                net.train(modes[role])


def method_objective(method: Method) -> Callable[..., Mapping[str, Any]]:
    """The method's ``held_out_objective``, or the name it had before 0.3 (``test_objective``,
    which pytest mistook for a test), with a one-time deprecation warning."""
    if getattr(type(method), "held_out_objective", None) is not None:
        return method.held_out_objective
    warnings.warn(
        f"method {method.name!r} defines test_objective(); rename it held_out_objective() "
        "(same arguments): the old name stops working in translkit 0.4",
        DeprecationWarning,
        stacklevel=3,
    )
    return method.test_objective  # type: ignore[attr-defined]


def __getattr__(name: str) -> Any:
    """The names before 0.3: ``test_objective`` and ``test_batches`` (deprecated)."""
    renamed = {"test_objective": held_out_objective, "test_batches": held_out_batches}
    if name in renamed:
        warnings.warn(
            f"translkit.evaluation.{name} is now {renamed[name].__name__}",
            DeprecationWarning,
            stacklevel=2,
        )
        return renamed[name]
    raise AttributeError(name)
