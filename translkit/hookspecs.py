"""Every hook a translkit plugin can implement.

Hooks only ever gain parameters, never lose or rename them: pluggy lets an
implementation accept a subset of a hook's arguments, so old plugins keep working.
Implementations must carry the ``@translkit.hookimpl`` marker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from translkit.registry import Registries

PROJECT_NAME = "translkit"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def translkit_register(registry: Registries) -> None:
    """Register the components this plugin provides.

    Called once per plugin, when :func:`translkit.get_registry` (or any CLI command)
    first builds the registry.

    :param registry: holds one :class:`translkit.registry.Registry` per kind:
        ``registry.generators``, ``registry.discriminators``, ``registry.heads``,
        ``registry.losses``, ``registry.metrics``, ``registry.methods``,
        ``registry.datasets``, ``registry.importers``, ``registry.models``. Call
        ``registry.<kind>.add(name, factory)``; the factory is called with the options of
        the recipe's component section as keyword arguments (a dataset factory returns a
        :class:`translkit.contracts.DatasetSource`, a model factory a
        :class:`translkit.contracts.PretrainedModel`). See ``docs/plugins.md`` for what each
        kind's factory must return.
    :returns: nothing.
    """
