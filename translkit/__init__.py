"""translkit: plugin-based unpaired image-to-image translation (the CycleGAN family).

Public API::

    import translkit
    registries = translkit.get_registry()          # what the installed plugins provide
    g = registries.generators.create("resnet_9blocks", norm="instance")

Plugins implement hooks marked with :data:`translkit.hookimpl`. The modules a plugin may
import are the public ones: ``translkit`` itself, :mod:`translkit.contracts`,
:mod:`translkit.errors`, :mod:`translkit.registry`, :mod:`translkit.bounds`,
:mod:`translkit.data.io`,
:mod:`translkit.inception` and :mod:`translkit.testing` (see ``docs/architecture.md``).
"""

from translkit.errors import (
    CheckpointError,
    ComponentError,
    DataError,
    MetricError,
    PluginError,
    RecipeError,
    TranslkitError,
)
from translkit.hookspecs import hookimpl
from translkit.plugin_manager import PluginSet, get_registry, load_plugins
from translkit.registry import Registries, Registry

__version__ = "0.2.0"

#: Heavier public names, imported on first use so ``import translkit`` stays light.
_LAZY = {
    "load_checkpoint": "translkit.checkpoint",
    "load_generators": "translkit.checkpoint",
    "load_model": "translkit.checkpoint",
    "load_weights_only": "translkit.checkpoint",
    "load_recipe": "translkit.recipe",
    "resolve_recipe": "translkit.recipe",
    "RunDir": "translkit.rundir",
    "train": "translkit.training",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'translkit' has no attribute {name!r}")


__all__ = [
    "CheckpointError",
    "ComponentError",
    "DataError",
    "MetricError",
    "PluginError",
    "PluginSet",
    "RecipeError",
    "Registries",
    "Registry",
    "RunDir",
    "TranslkitError",
    "__version__",
    "get_registry",
    "hookimpl",
    "load_checkpoint",
    "load_generators",
    "load_model",
    "load_plugins",
    "load_recipe",
    "load_weights_only",
    "resolve_recipe",
    "train",
]
