"""A method registered from inside this test module trains end to end through
``translkit.training.train``: the method contract is enough, nothing in the core names it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import torch
from training_support import make_data

import translkit
from translkit.artifacts import load_checkpoint
from translkit.contracts import LossSlot, Method, NetworkSlot, OptimizerGroup, Phase, PixelLoss
from translkit.pretrained import load_generators
from translkit.recipe import recipe_from_dict, resolve_recipe
from translkit.training import train


def target_of(images: torch.Tensor) -> torch.Tensor:
    """What the toy learns: a known recolouring of domain A (red and blue swapped)."""
    return images.flip(1)


class L1ToTarget:
    """One generator, one phase: L1 between G(a) and :func:`target_of` ``(a)``."""

    name = "l1_to_target"
    networks = (NetworkSlot("G_AB", "generator"),)
    losses = (LossSlot("pixel", PixelLoss, "identity", {"weight": 1.0}),)
    optimizers = (OptimizerGroup("G", ("G_AB",)),)
    phases = (Phase("G", ("G",)),)
    directions: ClassVar[dict[str, str]] = {"a2b": "G_AB"}

    def __init__(self) -> None:
        self.steps = 0

    def network_options(self, role: str, built: Any) -> dict[str, Any]:
        return {}

    def setup(self, nets: Any, losses: Any, context: Any) -> None:
        self.run, self.pixel = context.run, losses["pixel"]

    def forward(self, batch: Any) -> dict[str, Any]:
        self.steps += 1
        return {"fake_B": self.run["G_AB"](batch["A"])}

    def phase_losses(self, phase: str, batch: Any, cache: Any) -> dict[str, torch.Tensor]:
        return {"l1": self.pixel(cache["fake_B"], target_of(batch["A"]))}

    @torch.no_grad()
    def held_out_objective(self, nets: Any, losses: Any, batches: Any) -> dict[str, float]:
        total, count = 0.0, 0
        for real in batches("A"):
            total += float(losses["pixel"](nets["G_AB"](real), target_of(real))) * len(real)
            count += len(real)
        return {"objective": total / count, "objective/l1": total / count}

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps}

    def load_state_dict(self, state: Any) -> None:
        self.steps = int(state["steps"])


def l1_to_target() -> L1ToTarget:
    """A toy method: learn a fixed recolouring with one generator."""
    return L1ToTarget()


def test_a_method_from_a_test_module_trains_end_to_end(tmp_path: Path):
    registries = translkit.get_registry()
    registries.methods.add("l1_to_target", l1_to_target)
    assert isinstance(l1_to_target(), Method)
    raw = {
        "method": {"name": "l1_to_target"},
        "run": {"name": "toy", "output_dir": str(tmp_path / "runs"), "seed": 1},
        "data": {"root": str(make_data(tmp_path / "data")), "load_size": 32, "crop_size": 32},
        "generator": {"name": "resnet", "n_blocks": 1, "ngf": 4},
        "optim": {"epochs": 6, "batch_size": 2, "lr": 2e-3, "schedule": "constant"},
        "train": {"device": "cpu", "sample_every": 2, "log_every": 1, "tensorboard": False},
        "eval": {"every": 1, "num_samples": 2},
    }
    recipe = resolve_recipe(recipe_from_dict(raw), registries)
    assert recipe.loss["pixel"].name == "identity" and recipe.head is None
    result = train(recipe, registries=registries, progress=False)
    assert result.finished and result.steps == 12
    assert result.summary["method"] == "l1_to_target" and result.summary["directions"] == ["a2b"]
    evals = [json.loads(line) for line in (result.run_dir / "eval.jsonl").read_text().splitlines()]
    assert evals[-1]["objective"] < 0.8 * evals[0]["objective"]  # it learns
    ckpt = load_checkpoint(result.run_dir / "checkpoints/latest.pt")
    assert set(ckpt["models"]) == {"G_AB"} and ckpt["ranks"][0]["method"] == {"steps": 12}
    generators = load_generators(result.run_dir, registries).nets
    assert set(generators) == {"a2b"}
    from PIL import Image

    grid = Image.open(sorted((result.run_dir / "samples").glob("*.png"))[-1])
    assert grid.size == (2 * 32, 2 * 32)  # one block: input and translated rows, 2 images


class OldNamedObjective(L1ToTarget):
    """A method written before 0.3: its objective is still called ``test_objective``."""

    held_out_objective = None  # type: ignore[assignment]

    def test_objective(self, nets: Any, losses: Any, batches: Any) -> dict[str, float]:
        return {"objective": 1.5}


def test_a_method_with_the_old_objective_name_still_evaluates_with_a_warning() -> None:
    import pytest

    from translkit.evaluation import method_objective

    method = OldNamedObjective()
    with pytest.warns(DeprecationWarning, match="rename it held_out_objective"):
        objective = method_objective(method)
    assert objective(None, None, None) == {"objective": 1.5}
    with pytest.warns(DeprecationWarning, match="held_out_objective"):
        from translkit.evaluation import test_objective  # noqa: F401
