"""Building what a recipe describes: the method, its networks by role, its losses.

:func:`build_model` is the one place a recipe becomes modules — training, evaluation,
checkpoint loading and scoring all call it — and :func:`build_generator` the one place a
stored generator spec (an import, an export) becomes a module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from translkit.contracts import Method
from translkit.directions import DIRECTIONS, direction_problem
from translkit.errors import ComponentError, RecipeError, TranslkitError
from translkit.recipe import SECTION_KINDS, Component, Recipe
from translkit.registry import Registries

__all__ = ["DIRECTIONS", "Model", "build_generator", "build_model", "pick_direction"]

#: Translation directions: A→B and B→A.


@dataclass
class Model:
    """A method with its networks (by role) and losses (by slot), built from a recipe."""

    recipe: Recipe
    method: Method
    nets: dict[str, nn.Module]
    losses: dict[str, Any]
    #: Role -> the factory options the method passed besides the recipe's (``network_options``).
    extras: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def directions(self) -> tuple[str, ...]:
        """The directions the method translates in (``a2b``, ``b2a``, or one of them)."""
        return tuple(d for d in DIRECTIONS if d in self.method.directions)

    def generators(self) -> dict[str, nn.Module]:
        """Direction -> the network translating in it."""
        return {d: self.nets[self.method.directions[d]] for d in self.directions}


def build_model(recipe: Recipe, registries: Registries) -> Model:
    """Build the method, every network role and every loss of a *resolved* recipe.

    Networks are created in the method's slot order, so a role may depend on those
    before it (CUT's head reads its input widths off the generator); seed torch first
    for reproducible initial weights.
    """
    method = registries.methods.create(recipe.method.name, **recipe.method.options)
    nets: dict[str, nn.Module] = {}
    extras: dict[str, dict[str, Any]] = {}
    for slot in method.networks:
        comp = getattr(recipe, slot.section)
        if comp is None:
            raise RecipeError(f"recipe {recipe.source} has no [{slot.section}]: resolve it first")
        extra = extras[slot.role] = dict(method.network_options(slot.role, nets))
        nets[slot.role] = _create(registries, slot.section, comp, extra)
    losses = {
        slot.name: registries.losses.create(
            recipe.loss[slot.name].name, **recipe.loss[slot.name].options
        )
        for slot in method.losses
    }
    return Model(recipe, method, nets, losses, extras)


def _create(
    registries: Registries, section: str, comp: Component, extra: Mapping[str, Any]
) -> nn.Module:
    clash = sorted(set(comp.options) & set(extra))
    if clash:
        raise RecipeError(
            f"[{section}] {', '.join(clash)}: set by the method from the other networks; "
            "remove it from the recipe"
        )
    net = registries.kind(SECTION_KINDS[section]).create(comp.name, **comp.options, **extra)
    if not isinstance(net, nn.Module):
        raise ComponentError(
            f"{section} {comp.name!r} returned a {type(net).__name__}, not a torch.nn.Module"
        )
    return net


def build_generator(
    registries: Registries, name: str, options: Mapping[str, Any], state_dict: Mapping[str, Any]
) -> nn.Module:
    """A registered generator with ``state_dict`` loaded (strict), in eval mode."""
    net = _create(registries, "generator", Component(name, dict(options)), {})
    try:
        net.load_state_dict(state_dict)
    except RuntimeError as err:
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        detail = next((ln for ln in lines if ln.startswith(("size", "Missing", "Unexpected"))), "")
        raise ComponentError(
            f"the stored weights do not fit generator {name!r} {dict(options)}: "
            f"{detail or lines[0]}"
        ) from None
    return net.eval()


def pick_direction(nets: Mapping[str, Any], direction: str, source: object) -> Any:
    """``nets[direction]``, or an error naming the directions ``source`` holds."""
    if problem := direction_problem(direction):
        raise TranslkitError(problem)
    if direction not in nets:
        have = ", ".join(sorted(nets)) or "none"
        raise TranslkitError(
            f"{source} translates only {have}, not {direction}; pick one of those with --direction"
        )
    return nets[direction]
