"""translkit: plugin-based unpaired image-to-image translation (the CycleGAN family).

Public API::

    import translkit
    reg = translkit.get_registry()
    g = reg.generators.create("resnet_9blocks", norm="instance")

Plugins implement hooks marked with :data:`translkit.hookimpl`.
"""

from translkit.errors import (
    CheckpointError,
    ComponentError,
    DataError,
    PluginError,
    RecipeError,
    TranslkitError,
)
from translkit.hookspecs import hookimpl
from translkit.plugins import get_plugin_manager, get_registry, reset_plugins

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "ComponentError",
    "DataError",
    "PluginError",
    "RecipeError",
    "TranslkitError",
    "__version__",
    "get_plugin_manager",
    "get_registry",
    "hookimpl",
    "reset_plugins",
]
