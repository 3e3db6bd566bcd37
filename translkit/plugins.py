"""Plugin loading: entry points, recipe-named modules, blocking, registration.

Nothing here runs at import time. :func:`get_plugin_manager` builds a manager on
demand and :func:`get_registry` returns the registries every loaded plugin filled.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType

import pluggy

from translkit import hookspecs
from translkit.errors import PluginError, TranslkitError
from translkit.registry import Registries

__all__ = [
    "ENTRY_POINT_GROUP",
    "ENV_BLOCK",
    "ENV_DISABLE_AUTOLOAD",
    "LoadedPlugins",
    "PluginInfo",
    "get_plugin_manager",
    "get_registry",
    "reset_plugins",
]

ENTRY_POINT_GROUP = "translkit"
#: Set to 1 to skip third-party entry points (translkit's own built-ins still load).
ENV_DISABLE_AUTOLOAD = "TRANSLKIT_DISABLE_PLUGIN_AUTOLOAD"
#: Comma-separated plugin names (entry-point names or module names) never to load.
ENV_BLOCK = "TRANSLKIT_BLOCK_PLUGINS"
BUILTIN_DISTRIBUTION = "translkit"


@dataclass(frozen=True)
class PluginInfo:
    """What ``translkit plugins`` shows for one plugin."""

    name: str
    module: str
    distribution: str
    version: str
    source: str  # "entry point" or "recipe"

    @property
    def builtin(self) -> bool:
        return self.distribution == BUILTIN_DISTRIBUTION


@dataclass
class LoadedPlugins:
    """A plugin manager together with what its plugins registered."""

    manager: pluggy.PluginManager
    registry: Registries
    plugins: list[PluginInfo] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def registered_by(self, plugin: str) -> dict[str, list[str]]:
        return self.registry.registered_by(plugin)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _blocked_names() -> list[str]:
    return [n.strip() for n in os.environ.get(ENV_BLOCK, "").split(",") if n.strip()]


def _distribution_of(ep: metadata.EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    if dist is None:
        return "unknown", "?"
    return dist.metadata["Name"] or "unknown", dist.version or "?"


def _builtins_first(ep: metadata.EntryPoint) -> tuple[bool, str]:
    return _distribution_of(ep)[0] != BUILTIN_DISTRIBUTION, ep.name


def _import(module: str, *, what: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except TranslkitError:
        raise
    except Exception as err:  # a plugin's own bug: name it, do not dump a traceback
        raise PluginError(f"{what} failed to import: {type(err).__name__}: {err}") from err


def _load_entry_points(
    pm: pluggy.PluginManager, blocked: set[str], infos: list[PluginInfo]
) -> None:
    autoload = not _env_flag(ENV_DISABLE_AUTOLOAD)
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=_builtins_first):
        dist, version = _distribution_of(ep)
        if not autoload and dist != BUILTIN_DISTRIBUTION:
            continue
        if ep.name in blocked or ep.value in blocked or pm.has_plugin(ep.name):
            continue
        what = f"plugin {ep.name!r} ({ep.value}) from distribution {dist} {version}"
        module = _import(ep.value, what=what)
        _register_module(pm, module, ep.name, what)
        infos.append(PluginInfo(ep.name, ep.value, dist, version, "entry point"))


def _register_module(pm: pluggy.PluginManager, module: ModuleType, name: str, what: str) -> None:
    try:
        pm.register(module, name=name)
    except Exception as err:
        raise PluginError(f"{what} could not be registered: {err}") from err


def _load_named_modules(
    pm: pluggy.PluginManager, modules: Iterable[str], blocked: set[str], infos: list[PluginInfo]
) -> None:
    for name in modules:
        if name in blocked:
            continue
        what = f"plugin module {name!r} named in the recipe"
        module = _import(name, what=what)
        if pm.is_registered(module) or pm.has_plugin(name):
            continue
        _register_module(pm, module, name, what)
        infos.append(PluginInfo(name, name, "(recipe)", "-", "recipe"))


def get_plugin_manager(modules: Sequence[str] = ()) -> LoadedPlugins:
    """Build a plugin manager: block, load entry points and ``modules``, register.

    :param modules: extra plugin modules to import (a recipe's ``plugins`` list).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    blocked = _blocked_names()
    for name in blocked:
        pm.set_blocked(name)
    infos: list[PluginInfo] = []
    _load_entry_points(pm, set(blocked), infos)
    _load_named_modules(pm, modules, set(blocked), infos)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as err:
        name = pm.get_name(err.plugin) if err.plugin is not None else "?"
        raise PluginError(f"plugin {name!r} implements an unknown hook: {err}") from err
    registry = Registries()
    _call_register(pm, registry, {i.name: i for i in infos})
    return LoadedPlugins(pm, registry, infos, blocked)


def _call_register(
    pm: pluggy.PluginManager, registry: Registries, infos: dict[str, PluginInfo]
) -> None:
    """Call each plugin's ``translkit_register`` with registrations attributed to it."""
    for impl in pm.hook.translkit_register.get_hookimpls():  # in registration order
        info = infos.get(impl.plugin_name)
        origin = f" from distribution {info.distribution}" if info else ""
        registry._attribute_to(impl.plugin_name)
        try:
            impl.function(**({"registry": registry} if "registry" in impl.argnames else {}))
        except TranslkitError as err:
            raise PluginError(f"plugin {impl.plugin_name!r}{origin}: {err}") from err
        except Exception as err:
            raise PluginError(
                f"plugin {impl.plugin_name!r}{origin} failed to register: "
                f"{type(err).__name__}: {err}"
            ) from err
        finally:
            registry._attribute_to("<direct>")


_CACHE: dict[tuple[str, ...], LoadedPlugins] = {}


def load_plugins(modules: Sequence[str] = ()) -> LoadedPlugins:
    """Like :func:`get_plugin_manager`, cached per tuple of ``modules``."""
    key = tuple(modules)
    if key not in _CACHE:
        _CACHE[key] = get_plugin_manager(key)
    return _CACHE[key]


def get_registry(modules: Sequence[str] = ()) -> Registries:
    """The registries populated by every loaded plugin (and ``modules``, if given)."""
    return load_plugins(modules).registry


def reset_plugins() -> None:
    """Forget cached plugin managers (after installing a plugin, or in tests)."""
    _CACHE.clear()
