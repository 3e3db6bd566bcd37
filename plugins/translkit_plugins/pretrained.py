"""Built-in pretrained models, shipped as package data in ``weights/``.

- ``leather_denim``: the generators of ``recipes/leather_denim_fast.toml``'s best run on the
  study's leather ↔ denim photos (both directions, translkit safetensors exports). Its
  weights are not trained yet: it is registered only once its files are in ``weights/``,
  so nothing half-works before they land (docs/models.md, "The built-in leather_denim").

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
    "LEATHER_DENIM_METHOD",
    "LEATHER_DENIM_WEIGHTS",
    "WEIGHTS",
    "leather_denim",
    "register_builtin",
]

#: Where built-in weights live (package data, see pyproject's package-data).
WEIGHTS: Traversable = resources.files(__package__) / "weights"

# PENDING (set together with the files, from the run that made them; until the files are
# in weights/ the model is not registered):
#: direction -> (size in bytes, sha256) of ``weights/leather_denim_<direction>.safetensors``.
LEATHER_DENIM_WEIGHTS: dict[str, tuple[int, str]] = {
    "a2b": (0, ""),
    "b2a": (0, ""),
}
#: The method and registered generator of leather_denim_fast.toml's best run.
LEATHER_DENIM_METHOD = "cyclegan"
LEATHER_DENIM_GENERATOR = "resnet"


def leather_denim(folder: Traversable = WEIGHTS) -> PretrainedModel:
    """Leather ↔ denim clothing texture, trained on the study's photos (CycleGAN)."""
    return PretrainedModel(
        name="leather_denim",
        summary="Leather (A) ↔ denim (B) clothing texture, trained on the study's photos "
        "with recipes/leather_denim_fast.toml",
        method=LEATHER_DENIM_METHOD,
        generator=LEATHER_DENIM_GENERATOR,
        weights=tuple(
            ModelWeights(d, sha, size, resource=folder / f"leather_denim_{d}.safetensors")
            for d, (size, sha) in LEATHER_DENIM_WEIGHTS.items()
        ),
        terms="research use only: trained on the study's images, which carry no licence "
        "(curated from the web and DeepFashion); do not use its outputs commercially",
        citation=STUDY_CITATION,
        recipe=folder / "leather_denim_fast.toml",
        homepage="https://github.com/JihoonAndyKim/CS230-Final-Project",
        card="see docs/models.md (training details and measured metrics)",
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
