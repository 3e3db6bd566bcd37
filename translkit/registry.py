"""Registries: one generic, typed name → factory table per component kind.

Plugins fill them through the ``translkit_register`` hook; the core creates
components only through them, so it never names a concrete network, loss or metric.
Each plugin's hook receives a view of the registries that records it as the owner of
what it adds (:meth:`Registries.for_plugin`), so ``translkit plugins`` can say who
registered what.
"""

from __future__ import annotations

import fnmatch
import inspect
import re
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from translkit.errors import ComponentError, RecipeError, suggest

__all__ = ["DIRECT", "KINDS", "Entry", "Inner", "Registries", "Registry"]

T = TypeVar("T")

#: Every component kind, in the order ``translkit list`` shows them.
KINDS = (
    "generators",
    "discriminators",
    "heads",
    "losses",
    "metrics",
    "methods",
    "datasets",
    "importers",
    "models",
)
#: Owner recorded for components added outside a plugin's hook (tests, notebooks).
DIRECT = "<direct>"
_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")


@dataclass(frozen=True)
class Inner:
    """Marks the option of a wrapper's factory that names the component it wraps.

    ``inner: Annotated[Any, Inner("discriminators")] = "patchgan"`` says: this option
    names a registered component of that kind, and every option the factory does not
    declare belongs to it. The recipe resolver (``translkit run --dry-run``) then checks the
    inner name (an unknown one gets close matches) and those options against the inner
    factory's signature, types and bounds; :meth:`Registry.create` builds the inner
    component with them and passes the built object to the wrapper in place of the name.
    """

    kind: str


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered component: its name, factory, owning plugin (name and module) and
    summary."""

    name: str
    factory: Callable[..., T]
    plugin: str
    summary: str
    module: str = ""

    def parameters(self) -> dict[str, inspect.Parameter]:
        """Keyword options the factory accepts (empty if it takes ``**kwargs`` only)."""
        return {
            p.name: p
            for p in _signature(self.factory).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }

    def accepts_any(self) -> bool:
        return any(p.kind is p.VAR_KEYWORD for p in _signature(self.factory).parameters.values())

    def defaults(self) -> dict[str, Any]:
        """The factory's keyword defaults (``None`` and non-data defaults included)."""
        return {n: p.default for n, p in self.parameters().items() if p.default is not p.empty}

    def inner(self) -> tuple[str, Inner] | None:
        """``(option, marker)`` of the option annotated with :class:`Inner`, if any."""
        from translkit.bounds import option_types

        for name, tp in option_types(self.factory).items():
            if typing.get_origin(tp) is Annotated:
                marker = next((m for m in tp.__metadata__ if isinstance(m, Inner)), None)
                if marker is not None and name in self.parameters():
                    return name, marker
        return None


def _signature(factory: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(factory)
    except (TypeError, ValueError):  # builtins without a signature accept anything
        return inspect.Signature([inspect.Parameter("kw", inspect.Parameter.VAR_KEYWORD)])


def _summary(factory: Callable[..., Any]) -> str:
    doc = inspect.getdoc(factory) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


class Registry(Generic[T]):
    """Maps names to factories for one kind of component (``generators``, ...).

    :param owner: the plugin that :meth:`add` records as the owner of new entries.
    :param module: the Python module of that plugin.
    """

    def __init__(
        self,
        kind: str,
        *,
        owner: str = DIRECT,
        module: str = "",
        _entries: dict[str, Entry[T]] | None = None,
        _family: dict[str, dict[str, Entry[Any]]] | None = None,
    ) -> None:
        self.kind = kind
        self.owner, self.module = owner, module
        self._entries: dict[str, Entry[T]] = {} if _entries is None else _entries
        #: kind -> the entries of every registry of the same :class:`Registries`.
        self._family = {kind: self._entries} if _family is None else _family
        self._family.setdefault(kind, self._entries)

    def owned_by(self, plugin: str, module: str = "") -> Registry[T]:
        """A view of this registry whose :meth:`add` records ``plugin`` as the owner."""
        return Registry(
            self.kind, owner=plugin, module=module, _entries=self._entries, _family=self._family
        )

    def sibling(self, kind: str) -> Registry[Any]:
        """The registry of ``kind`` that belongs with this one (a wrapper's inner kind)."""
        if kind not in self._family:
            raise ComponentError(f"unknown component kind {kind!r}{suggest(kind, KINDS)}")
        return Registry(kind, _entries=self._family[kind], _family=self._family)

    def split_inner(
        self, name: str, options: Mapping[str, Any]
    ) -> tuple[dict[str, Any], tuple[str, Registry[Any], Any, dict[str, Any]] | None]:
        """For a wrapper (an :class:`Inner` option): ``(its own options, (option, inner
        registry, inner name, the inner's options))``; for any other factory
        ``(options, None)``."""
        entry = self.get(name)
        found = entry.inner()
        if found is None:
            return dict(options), None
        option, marker = found
        params = entry.parameters()
        own = {k: v for k, v in options.items() if k in params}
        rest = {k: v for k, v in options.items() if k not in params}
        inner_name = own.get(option, params[option].default)
        return own, (option, self.sibling(marker.kind), inner_name, rest)

    # -- filling -------------------------------------------------------------------------
    def add(self, name: str, factory: Callable[..., T], *, summary: str | None = None) -> None:
        """Register ``factory`` as ``name`` (summary: the docstring's first line by default)."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise ComponentError(
                f"{self.singular} name {name!r} from plugin {self.owner!r} is not valid: use "
                "lower-case letters, digits, '_', '-' or '.', starting with a letter"
            )
        if not callable(factory):
            raise ComponentError(
                f"{self.singular} {name!r} from plugin {self.owner!r}: factory "
                f"{factory!r} is not callable"
            )
        if name in self._entries:
            first = self._entries[name].plugin
            raise ComponentError(
                f"{self.singular} {name!r} is registered twice: by plugin {first!r} and by "
                f"plugin {self.owner!r}; block one of them (TRANSLKIT_BLOCK_PLUGINS) or rename"
            )
        self._entries[name] = Entry(
            name, factory, self.owner, summary or _summary(factory), self.module
        )

    # -- reading -------------------------------------------------------------------------
    def get(self, name: str) -> Entry[T]:
        """The entry called ``name``; an unknown name raises with close matches."""
        try:
            return self._entries[name]
        except KeyError:
            raise ComponentError(
                f"unknown {self.singular} {name!r}{suggest(str(name), self._entries)}; "
                f"`translkit list {self.kind}` shows the {len(self._entries)} available"
            ) from None

    def check_options(self, name: str, options: Mapping[str, Any]) -> None:
        """Raise if ``options`` holds a key the factory of ``name`` does not accept."""
        own, inner = self.split_inner(name, options)
        if inner is not None:
            option, registry, inner_name, rest = inner
            if inner_name is inspect.Parameter.empty:
                return  # required and missing: the caller names it
            if not isinstance(inner_name, str):
                if rest:  # an object built by the caller takes no options here
                    raise ComponentError(
                        f"{self.singular} {name!r} has no option {next(iter(rest))!r}"
                    )
                return
            if inner_name not in registry:
                try:
                    registry.get(inner_name)
                except ComponentError as err:
                    raise ComponentError(
                        f"{self.singular} {name!r}: {option} = {inner_name!r}: {err}"
                    ) from None
            try:
                registry.check_options(inner_name, rest)
            except ComponentError as err:
                raise ComponentError(
                    f"{self.singular} {name!r} passes {option} = {inner_name!r} the options "
                    f"it does not declare: {err}"
                ) from None
            options = own
        entry = self.get(name)
        if entry.accepts_any():
            return
        params = entry.parameters()
        for key in options:
            if key not in params:
                valid = ", ".join(sorted(params)) or "none"
                raise ComponentError(
                    f"{self.singular} {name!r} has no option {key!r}"
                    f"{suggest(key, params)}; its options: {valid}"
                )

    def create(self, name: str, **options: Any) -> T:
        """Build the component ``name`` with ``options`` passed to its factory.

        Option names, then each option's type and ``Annotated`` bounds
        (:mod:`translkit.bounds`) are checked first, so a factory need not check them
        itself: a bad value is a :class:`~translkit.errors.ComponentError` naming the
        component, the option, the value and the valid range. A wrapper's inner component
        (:class:`Inner`) is built, and checked, the same way.
        """
        from translkit.bounds import check_options

        self.check_options(name, options)
        factory = self.get(name).factory
        own, inner = self.split_inner(name, options)
        try:
            own = check_options(factory, own, "option ")
        except RecipeError as err:
            raise ComponentError(f"{self.singular} {name!r}: {err}") from None
        if inner is not None and isinstance(inner[2], str):  # a wrapper: build what it wraps
            option, registry, inner_name, rest = inner
            own[option] = registry.create(inner_name, **rest)
        try:
            return factory(**own)
        except (TypeError, ValueError) as err:
            raise ComponentError(f"{self.singular} {name!r}: {err}") from err

    def names(self, pattern: str = "*") -> list[str]:
        """Sorted names matching a shell-style wildcard ``pattern``."""
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def entries(self, pattern: str = "*") -> list[Entry[T]]:
        return [self._entries[n] for n in self.names(pattern)]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self)} entries)"

    @property
    def singular(self) -> str:
        return {"losses": "loss"}.get(self.kind, self.kind.removesuffix("s"))


class Registries:
    """The registries handed to ``translkit_register``: one per component kind.

    :param owner: the plugin recorded as the owner of what is added through this object.
    """

    generators: Registry[Any]
    discriminators: Registry[Any]
    heads: Registry[Any]
    losses: Registry[Any]
    metrics: Registry[Any]
    methods: Registry[Any]
    datasets: Registry[Any]
    importers: Registry[Any]
    models: Registry[Any]

    def __init__(
        self, *, owner: str = DIRECT, module: str = "", _shared: Registries | None = None
    ) -> None:
        family: dict[str, dict[str, Entry[Any]]] = {}
        for kind in KINDS:
            base = getattr(_shared, kind) if _shared is not None else Registry(kind, _family=family)
            setattr(self, kind, base.owned_by(owner, module))

    def for_plugin(self, plugin: str, module: str = "") -> Registries:
        """A view of the same tables whose additions are recorded as ``plugin``'s."""
        return Registries(owner=plugin, module=module, _shared=self)

    def kind(self, kind: str) -> Registry[Any]:
        """The registry for ``kind`` (``generators``, ``discriminators``, ...)."""
        if kind not in KINDS:
            raise ComponentError(f"unknown component kind {kind!r}{suggest(kind, KINDS)}")
        return getattr(self, kind)

    def all(self) -> dict[str, Registry[Any]]:
        return {k: getattr(self, k) for k in KINDS}

    def registered_by(self, plugin: str) -> dict[str, list[str]]:
        """What ``plugin`` registered, by kind (kinds it left empty are omitted)."""
        out: dict[str, list[str]] = {}
        for kind, reg in self.all().items():
            names = [e.name for e in reg.entries() if e.plugin == plugin]
            if names:
                out[kind] = names
        return out
