"""Evaluation on the test split: the study's yardstick (the total CycleGAN objective on test
data, with deterministic transforms) plus the recipe's metrics via :mod:`translkit.scoring`.

Every term is averaged over the whole test split of its domain: the discriminator and
adversarial terms are computed once on the logits of all test images, the pixel terms
are image-weighted means over batches, so the value does not depend on the batch size
nor on the two test splits having different lengths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from translkit.checkpoint import TRAINING_FORMAT, generator_specs, load_checkpoint
from translkit.errors import CheckpointError

__all__ = ["objective_on_test", "test_objective"]


def _batches(data: Any, domain: str, batch_size: int) -> Any:
    from torch.utils.data import DataLoader

    from translkit.data import build_test_dataset

    ds = build_test_dataset(data, domain)
    loader = DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=0)
    return (batch["image"] for batch in loader)


@torch.no_grad()
def objective_on_test(
    nets: dict[str, nn.Module],
    losses: dict[str, Any],
    data: Any,
    *,
    device: torch.device | str = "cpu",
    batch_size: int = 8,
) -> dict[str, float]:
    """``{"objective": G_total, "objective/<term>": ...}`` on the test split.

    :param nets: ``G_AB``, ``G_BA``, ``D_A``, ``D_B`` (put in eval mode here).
    :param losses: ``gan``, ``cycle``, ``identity`` loss objects.
    """
    gan, cycle, identity = losses["gan"], losses["cycle"], losses["identity"]
    use_idt = float(getattr(identity, "weight", 0.0)) > 0
    g = {k: v.eval() for k, v in nets.items()}
    logits: dict[str, list[torch.Tensor]] = {
        k: [] for k in ("A_real", "A_fake", "B_real", "B_fake")
    }
    sums: dict[str, float] = {}
    counts = {"A": 0, "B": 0}
    # domain X: real_X -> G (to the other domain) -> back; D_X scores real_X, D_Y the fake
    for src, dst, fwd, back, d_src, d_dst in (
        ("A", "B", g["G_AB"], g["G_BA"], g["D_A"], g["D_B"]),
        ("B", "A", g["G_BA"], g["G_AB"], g["D_B"], g["D_A"]),
    ):
        for real in _batches(data, src, batch_size):
            real = real.to(device)
            fake = fwd(real)
            n = real.shape[0]
            counts[src] += n
            logits[f"{src}_real"].append(d_src(real).float().cpu())
            logits[f"{dst}_fake"].append(d_dst(fake).float().cpu())
            sums[f"cycle_{src}"] = (
                sums.get(f"cycle_{src}", 0.0) + float(cycle(back(fake), real)) * n
            )
            if use_idt:  # the generator *into* src must leave src images unchanged
                sums[f"idt_{src}"] = (
                    sums.get(f"idt_{src}", 0.0) + float(identity(back(real), real)) * n
                )
    if not counts["A"] or not counts["B"]:
        raise CheckpointError(f"test objective: testA or testB under {data.root} is empty")
    cat = {k: torch.cat(v) for k, v in logits.items()}
    terms = {
        "G_AB_gan": float(gan.generator_loss(cat["B_fake"])),
        "G_BA_gan": float(gan.generator_loss(cat["A_fake"])),
    }
    for key, value in sums.items():
        terms[key] = value / counts[key[-1]]
    terms["G_total"] = sum(terms.values())
    terms["D_A"] = float(gan.discriminator_loss(cat["A_real"], cat["A_fake"]))
    terms["D_B"] = float(gan.discriminator_loss(cat["B_real"], cat["B_fake"]))
    out = {"objective": terms["G_total"]}
    out.update({f"objective/{k}": v for k, v in terms.items()})
    return out


def test_objective(checkpoint_path: str | Path, *, device: str = "cpu") -> dict[str, float]:
    """The test objective of a training checkpoint, read with ``weights_only=True``.

    Uses the checkpoint's resolved recipe for the networks, losses and test data, and the
    EMA generators when the checkpoint has them. Keys: ``objective`` (the generators' total
    objective) and ``objective/<term>`` for ``G_AB_gan, G_BA_gan, cycle_A, cycle_B,
    [idt_A, idt_B], G_total, D_A, D_B``.
    """
    from translkit.plugins import get_registry
    from translkit.recipe import recipe_from_dict

    ckpt = load_checkpoint(checkpoint_path)
    if ckpt.get("format") != TRAINING_FORMAT:
        raise CheckpointError(
            f"test objective needs a training checkpoint ({TRAINING_FORMAT}); {checkpoint_path} "
            f"has format {ckpt.get('format')!r}"
        )
    recipe = recipe_from_dict(ckpt["recipe"], source=str(checkpoint_path))
    registry = get_registry(recipe.plugins)
    specs = generator_specs(ckpt)
    nets: dict[str, nn.Module] = {}
    for key, direction in (("G_AB", "a2b"), ("G_BA", "b2a")):
        nets[key] = registry.generators.create(recipe.generator.name, **recipe.generator.options)
        nets[key].load_state_dict(specs[direction]["state_dict"])
    for key in ("D_A", "D_B"):
        nets[key] = registry.discriminators.create(
            recipe.discriminator.name, **recipe.discriminator.options
        )
        nets[key].load_state_dict(ckpt["models"][key])
    losses = {
        "gan": registry.losses.create(recipe.loss.gan.name, **recipe.loss.gan.options),
        "cycle": registry.losses.create(recipe.loss.cycle.name, **recipe.loss.cycle.options),
        "identity": registry.losses.create(
            recipe.loss.identity.name, **recipe.loss.identity.options
        ),
    }
    nets = {k: v.to(device) for k, v in nets.items()}
    return objective_on_test(nets, losses, recipe.data, device=device)


test_objective.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def evaluate_engine(engine: Any, run_dir: Path, epoch: int) -> dict[str, float]:
    """Test objective (EMA generators when enabled) plus ``eval.metrics`` for a live engine.

    Metric translations go to ``run_dir/eval/epoch_NNNN/<direction>/``. When ``eval.select``
    names a bare metric key (``fid``), the mean of its directions is added under that key.
    """

    recipe = engine.recipe
    gens = engine.generators()
    nets = {**engine.nets, "G_AB": gens["a2b"], "G_BA": gens["b2a"]}
    losses = {"gan": engine.gan, "cycle": engine.cycle, "identity": engine.identity}
    with torch.random.fork_rng(devices=[]):
        engine.train_mode(False)
        try:
            record = objective_on_test(nets, losses, recipe.data, device=engine.device)
            metrics = [m for m in recipe.eval.metrics if m != "objective"]
            if metrics:
                from translkit.scoring import score_generators

                record.update(
                    score_generators(
                        gens,
                        recipe.data,
                        metrics,
                        out_dir=run_dir / "eval" / f"epoch_{epoch:04d}",
                        device=str(engine.device),
                        inception_weights=recipe.eval.inception_weights or None,
                        plugins=recipe.plugins,
                    )
                )
        finally:
            engine.train_mode(True)
    select = recipe.eval.select
    if select not in record:
        parts = [v for k, v in record.items() if k.endswith(f"/{select}")]
        if parts:
            record[select] = sum(parts) / len(parts)
    return record


def selection_goal(recipe: Any, registry: Any = None) -> str:
    """``"min"`` or ``"max"`` for ``eval.select``; a :class:`RecipeError` if nothing yields it."""
    from translkit.errors import RecipeError, suggest

    select = recipe.eval.select
    if select == "objective" or select.startswith("objective/"):
        return "min"
    if registry is None:
        from translkit.plugins import get_registry

        registry = get_registry(recipe.plugins)
    goals: dict[str, str] = {}
    for name in recipe.eval.metrics:
        goals.update(getattr(registry.metrics.create(name), "goals", {}) or {})
    key = select.split("/", 1)[1] if select.startswith(("a2b/", "b2a/")) else select
    if key in goals:
        return goals[key]
    choices = ["objective", *goals, *(f"{d}/{k}" for d in ("a2b", "b2a") for k in goals)]
    raise RecipeError(
        f"recipe {recipe.source}: eval.select = {select!r} is not produced by the evaluation"
        f"{suggest(select, choices)}; choose one of {', '.join(choices)} (add its metric to "
        "eval.metrics)"
    )
