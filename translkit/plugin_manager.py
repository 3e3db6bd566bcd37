"""Plugin loading: entry points, explicitly named modules, blocking, registration.

Nothing here runs at import time and nothing is cached: :func:`load_plugins` builds a
plugin manager and the registries its plugins fill; the CLI and the public API entry
points call it once and pass the registries down. Modules are imported only from
installed entry points and from names the user gave (a recipe's ``plugins`` list, a
``--plugin`` option) — never from a name read out of a checkpoint or a run directory.
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
    "PluginInfo",
    "PluginSet",
    "get_registry",
    "load_plugins",
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
class PluginSet:
    """A plugin manager, the registries its plugins filled, and who they are."""

    manager: pluggy.PluginManager
    registries: Registries
    plugins: list[PluginInfo] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def registered_by(self, plugin: str) -> dict[str, list[str]]:
        return self.registries.registered_by(plugin)


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
        what = f"plugin module {name!r} (named in a recipe or --plugin)"
        module = _import(name, what=what)
        if pm.is_registered(module) or pm.has_plugin(name):
            continue
        _register_module(pm, module, name, what)
        infos.append(PluginInfo(name, name, "(named)", "-", "named"))


def load_plugins(modules: Sequence[str] = ()) -> PluginSet:
    """Build a plugin manager: block, load entry points and ``modules``, register.

    :param modules: extra plugin modules the user named (a recipe's ``plugins`` list,
        ``--plugin`` options).
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
    registries = Registries()
    _call_register(pm, registries, {i.name: i for i in infos})
    return PluginSet(pm, registries, infos, blocked)


def _call_register(
    pm: pluggy.PluginManager, registries: Registries, infos: dict[str, PluginInfo]
) -> None:
    """Call each plugin's ``translkit_register`` with a view that records it as the owner."""
    for impl in pm.hook.translkit_register.get_hookimpls():  # in registration order
        info = infos.get(impl.plugin_name)
        origin = f" from distribution {info.distribution}" if info else ""
        view = registries.for_plugin(impl.plugin_name, getattr(impl.plugin, "__name__", ""))
        try:
            impl.function(**({"registry": view} if "registry" in impl.argnames else {}))
        except TranslkitError as err:
            raise PluginError(f"plugin {impl.plugin_name!r}{origin}: {err}") from err
        except Exception as err:
            raise PluginError(
                f"plugin {impl.plugin_name!r}{origin} failed to register: "
                f"{type(err).__name__}: {err}"
            ) from err


def get_registry(modules: Sequence[str] = ()) -> Registries:
    """The registries filled by every installed plugin (and ``modules``, if given).

    A convenience for notebooks and scripts: each call loads the plugins anew. Library
    code takes the registries as an argument instead.
    """
    return load_plugins(modules).registries
