"""translkit: plugin-based unpaired image-to-image translation (the CycleGAN family).

Public API::

    import translkit
    registries = translkit.get_registry()          # what the installed plugins provide
    g = registries.generators.create("resnet_9blocks", norm="instance")

Plugins implement hooks marked with :data:`translkit.hookimpl`. The modules a plugin may
import are the public ones: ``translkit`` itself, :mod:`translkit.contracts`,
:mod:`translkit.errors`, :mod:`translkit.registry`, :mod:`translkit.bounds`,
:mod:`translkit.data.io`, :mod:`translkit.pretrained` and :mod:`translkit.testing` (see
``docs/architecture.md``).
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
    "load_checkpoint": "translkit.artifacts",
    "load_generators": "translkit.pretrained",
    "load_model": "translkit.artifacts",
    "load_weights_only": "translkit.artifacts",
    "save_generators": "translkit.artifacts",
    "load_recipe": "translkit.recipe",
    "recipe_from_dict": "translkit.recipe",
    "resolve_recipe": "translkit.recipe",
    "RunDir": "translkit.rundir",
    "train": "translkit.training",
    "held_out_objective": "translkit.evaluation",
    "test_objective": "translkit.evaluation",  # the name before 0.3 (warns)
    "import_generators": "translkit.importing",
    # using a trained model: translate, export, score, report, demo
    "translate_checkpoint": "translkit.inference",
    "Translator": "translkit.inference",
    "export_generator": "translkit.inference.export",
    "score_folders": "translkit.scoring",
    "score_generators": "translkit.scoring",
    "score_run": "translkit.scoring",
    "build_report": "translkit.report",
    "write_report": "translkit.report",
    "load_demo_model": "translkit.demo.model",
    "run_demo": "translkit.demo.server",
    "export_demo": "translkit.demo.export",
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
    "Translator",
    "TranslkitError",
    "__version__",
    "build_report",
    "export_demo",
    "export_generator",
    "get_registry",
    "held_out_objective",
    "hookimpl",
    "import_generators",
    "load_checkpoint",
    "load_demo_model",
    "load_generators",
    "load_model",
    "load_plugins",
    "load_recipe",
    "load_weights_only",
    "recipe_from_dict",
    "resolve_recipe",
    "run_demo",
    "save_generators",
    "score_folders",
    "score_generators",
    "score_run",
    "train",
    "translate_checkpoint",
    "write_report",
]
