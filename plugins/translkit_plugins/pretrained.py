"""Built-in pretrained models, shipped as package data in ``weights/``.

- ``leather_denim``: the generators (last-step weights, fp32) of
  ``recipes/leather_denim_fast.toml`` run with seed 0 on the study's leather ↔ denim
  photos (both directions, translkit safetensors exports; docs/models.md has its card and
  measured metrics). Like every built-in model it is registered only when its files are
  in ``weights/``, so a damaged install never half-works.

Adding a built-in model is a matter of dropping its files into ``weights/`` and one entry
in :data:`BUILTIN` with each file's size and sha256 (``sha256sum``, ``stat -c %s``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from importlib import resources
from importlib.resources.abc import Traversable

import translkit
from translkit.contracts import ModelWeights, PretrainedModel

from .datasets import STUDY_CITATION

__all__ = [
    "BUILTIN",
    "LEATHER_DENIM_GENERATOR",
    "LEATHER_DENIM_INPUT_SIZE",
    "LEATHER_DENIM_METHOD",
    "LEATHER_DENIM_WEIGHTS",
    "WEIGHTS",
    "leather_denim",
    "register_builtin",
]

#: Where built-in weights live (package data, see pyproject's package-data).
WEIGHTS: Traversable = resources.files(__package__) / "weights"

#: direction -> (size in bytes, sha256) of ``weights/leather_denim_<direction>.safetensors``
#: (``translkit export runs/leather_denim_fast -f safetensors -d DIRECTION --no-ema``).
LEATHER_DENIM_WEIGHTS: dict[str, tuple[int, str]] = {
    "a2b": (503140, "30493bdcb51c20ba96d63181c1b910f5065dea8dad0e5b485a9bcd542472a00c"),
    "b2a": (503140, "d6079d7d25766a53bde09f9cc1510502e8d1dbe446c3152ed7776bf0d9aa419e"),
}
#: leather_denim_fast.toml's data.load_size: the scale its generators learned garments at.
LEATHER_DENIM_INPUT_SIZE = 256
#: The method and registered generator of leather_denim_fast.toml's run.
LEATHER_DENIM_METHOD = "cyclegan"
LEATHER_DENIM_GENERATOR = "resnet"


def leather_denim(folder: Traversable = WEIGHTS) -> PretrainedModel:
    """Leather ↔ denim clothing texture (CycleGAN), trained on the ``leather_denim``
    dataset's photos."""
    return PretrainedModel(
        name="leather_denim",
        summary="Leather (A) ↔ denim (B) clothing texture (CycleGAN)",
        method=LEATHER_DENIM_METHOD,
        generator=LEATHER_DENIM_GENERATOR,
        weights=tuple(
            ModelWeights(d, sha, size, resource=folder / f"leather_denim_{d}.safetensors")
            for d, (size, sha) in LEATHER_DENIM_WEIGHTS.items()
        ),
        terms="research use only: trained on the leather_denim dataset's images, which carry no "
        "licence "
        "(curated from the web and DeepFashion); do not use its outputs commercially",
        citation=STUDY_CITATION,
        recipe=folder / "leather_denim_fast.toml",
        homepage="https://github.com/JihoonAndyKim/CS230-Final-Project",
        card="CycleGAN, residual ResNet-6 generators (the output is the input plus a learnt "
        "change; ngf 16, one downsampling, instance norm, bilinear upsampling), trained on "
        "128 px crops of photos loaded at a shorter side of 256 px for "
        "2,860 steps of batch 4 on 2 CPU cores. It learned garments at the scale of a 256 px "
        "photo, so larger photos are scaled down to a shorter side of 256 px before "
        "translating (--resize 0 keeps their size). "
        "Measured metrics and test grids: docs/models.md and docs/results.md",
        input_size=LEATHER_DENIM_INPUT_SIZE,
    )


#: Built-in models: name -> factory(folder). Each is registered only when every one of its
#: weights files is present in ``folder``.
BUILTIN: dict[str, Callable[[Traversable], PretrainedModel]] = {"leather_denim": leather_denim}


def register_builtin(registry, folder: Traversable = WEIGHTS) -> list[str]:
    """Register the built-in models whose weights are in ``folder``; return their names."""
    added = []
    for name, factory in BUILTIN.items():
        model = factory(folder)
        if all(w.resource is not None and w.resource.is_file() for w in model.weights):
            registry.models.add(name, partial(factory, folder), summary=model.summary)
            added.append(name)
    return added


@translkit.hookimpl
def translkit_register(registry):
    register_builtin(registry)
