"""Building the plugin manager and collecting what plugins register.

:func:`get_plugin_manager` is a factory: nothing is loaded at import time. It loads the
``customer_health`` entry points one by one (so an error names the broken plugin),
then makes sure the built-in plugin is there. :func:`collect` calls the registration
hooks and returns a :class:`Registry`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy
from pydantic import TypeAdapter, ValidationError

from ..exceptions import (
    ConfigurationError,
    CustomerHealthError,
    DuplicateNameError,
    PluginError,
    PluginLoadError,
    UnknownSegmentError,
)
from ..factors import Factor
from ..models import Label
from ..segments import check_expectations
from . import NAME, hookspecs

__all__ = [
    "BLOCK_ENV",
    "BUILTIN_PLUGIN",
    "PluginInfo",
    "PluginManager",
    "Registry",
    "check_event_kind",
    "collect",
    "get_plugin_manager",
]

BLOCK_ENV = "CUSTOMER_HEALTH_BLOCK_PLUGINS"
"""Comma-separated plugin names never to load."""
ALLOW_ENV = "CUSTOMER_HEALTH_ALLOW_PLUGINS"
"""Comma-separated plugin names to load; when set, other entry points are skipped
(the built-in plugin is always allowed; block it by name to leave it out)."""
BUILTIN_PLUGIN = "builtin"
"""The name the default model's plugin registers under."""


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """Where a registered plugin came from."""

    name: str
    source: str
    """``module.path`` of the plugin object."""
    distribution: str | None = None
    version: str | None = None


class PluginManager(pluggy.PluginManager):
    """A pluggy plugin manager for ``customer_health`` that remembers plugin origins."""

    def __init__(self) -> None:
        super().__init__(NAME)
        self.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}

    def add(
        self,
        plugin: object,
        name: str | None = None,
        dist: metadata.Distribution | None = None,
    ) -> str | None:
        """Register ``plugin`` (skipped if its name is blocked); return its name."""
        name = name or _default_name(plugin)
        if self.is_blocked(name):
            return None
        registered = self.get_name(plugin)
        if registered is not None:
            return registered  # the same object again, under another name: nothing to add
        known = self.get_plugin(name)
        if known is not None and known is not plugin:
            first = self.infos.get(name)
            raise DuplicateNameError(
                f"two plugins are named {name!r}: {_describe(first)} and "
                f"{_describe(_info(name, plugin, dist))}; block one with {BLOCK_ENV}"
            )
        try:
            self.register(plugin, name=name)
            self.check_pending()
        except pluggy.PluginValidationError as exc:
            self.unregister(name=name)
            raise PluginError(
                f"plugin {name!r} is not a valid customer_health plugin: {exc}"
            ) from exc
        self.infos[name] = _info(name, plugin, dist)
        return name


def _default_name(plugin: object) -> str:
    name = getattr(plugin, "__name__", None) or type(plugin).__name__
    return str(name)


def _info(name: str, plugin: object, dist: metadata.Distribution | None) -> PluginInfo:
    module = getattr(plugin, "__name__", None) or type(plugin).__module__
    if dist is None:
        return PluginInfo(name=name, source=str(module))
    return PluginInfo(
        name=name, source=str(module), distribution=dist.metadata["Name"], version=dist.version
    )


def _describe(info: PluginInfo | None) -> str:
    if info is None:  # pragma: no cover - every added plugin has an info
        return "an unknown plugin"
    if info.distribution:
        return f"{info.source} from {info.distribution} {info.version}"
    return info.source


def _env_names(variable: str) -> set[str] | None:
    raw = os.environ.get(variable)
    if raw is None or not raw.strip():
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def get_plugin_manager(
    *,
    plugins: Iterable[object] = (),
    block: Iterable[str] | None = None,
    allow: Iterable[str] | None = None,
    entry_points: bool = True,
) -> PluginManager:
    """Build a plugin manager with the installed plugins and the built-in one.

    :param plugins: extra plugin objects (modules, classes or instances with hook
        implementations) to register in-process, e.g. in tests or notebooks.
    :param block: plugin names never to load, added to ``CUSTOMER_HEALTH_BLOCK_PLUGINS``.
    :param allow: if given, only these entry points load (``CUSTOMER_HEALTH_ALLOW_PLUGINS``
        otherwise); the built-in plugin is always allowed unless blocked.
    :param entry_points: load the ``customer_health`` entry points at all.
    """
    pm = PluginManager()
    blocked = set(block or ()) | (_env_names(BLOCK_ENV) or set())
    for name in sorted(blocked):
        pm.set_blocked(name)
    allowed = set(allow) if allow is not None else _env_names(ALLOW_ENV)
    if entry_points:
        _load_entry_points(pm, allowed)
    if not pm.has_plugin(BUILTIN_PLUGIN) and not pm.is_blocked(BUILTIN_PLUGIN):
        # Running from a source tree without installed metadata: the entry point is
        # missing, but the built-in plugin must still be there.
        from .. import builtin

        pm.add(builtin, name=BUILTIN_PLUGIN)
    for plugin in plugins:
        pm.add(plugin)
    return pm


def _load_entry_points(pm: PluginManager, allowed: set[str] | None) -> None:
    for ep in sorted(metadata.entry_points(group=NAME), key=lambda ep: ep.name):
        if pm.is_blocked(ep.name):
            continue
        if allowed is not None and ep.name not in allowed and ep.name != BUILTIN_PLUGIN:
            continue
        dist = ep.dist
        if pm.has_plugin(ep.name):
            known = pm.infos[ep.name]
            if dist is not None and known.distribution == dist.metadata["Name"]:
                continue  # the same distribution seen twice on sys.path
        try:
            plugin = ep.load()
        except Exception as exc:
            origin = f" from {dist.metadata['Name']} {dist.version}" if dist else ""
            raise PluginLoadError(
                f"plugin {ep.name!r} ({ep.value}{origin}) failed to load: {exc!r}; "
                f"uninstall it or block it with {BLOCK_ENV}={ep.name}"
            ) from exc
        pm.add(plugin, name=ep.name, dist=dist)


@dataclass(frozen=True)
class Registry:
    """What the plugins registered: factors and segments, with who registered what."""

    factors: Mapping[str, Factor]
    factor_plugins: Mapping[str, str]
    segments: Mapping[str, Mapping[str, float]]
    plugins: tuple[PluginInfo, ...] = field(default=())
    event_kinds: Mapping[str, str] = field(default_factory=dict)
    """The event kinds plugins declared (``register_event_kinds``), each with the
    plugin that declared it first."""

    def with_factors(self, factors: Iterable[Factor], plugin: str) -> Registry:
        """This registry and ``factors`` (a model's own: :class:`~customer_health.
        model.ModelFile`), registered by ``plugin`` and checked as a plugin's factors
        are, after the factors ``plugin`` registered already (else after all)."""
        known = dict(self.factors)
        owners = dict(self.factor_plugins)
        register = _factor_registrar(plugin, known, owners)
        for factor in factors:
            register(factor)
        added = [name for name in known if name not in self.factors]
        before = [name for name in self.factors if self.factor_plugins[name] == plugin]
        cut = list(self.factors).index(before[-1]) + 1 if before else len(self.factors)
        order = [*list(self.factors)[:cut], *added, *list(self.factors)[cut:]]
        return dataclasses.replace(
            self,
            factors={name: known[name] for name in order},
            factor_plugins={name: owners[name] for name in order},
        )


def _impls(hook: Any) -> list[Any]:
    # pluggy returns implementations in reverse registration order; an order by name
    # (built-in first) makes registration, errors and factor order reproducible.
    impls = list(hook.get_hookimpls())
    return sorted(impls, key=lambda impl: (impl.plugin_name != BUILTIN_PLUGIN, impl.plugin_name))


def _call(impl: Any, hook: str, register: Callable[..., None]) -> None:
    kwargs = {"register": register} if "register" in impl.argnames else {}
    try:
        impl.function(**kwargs)
    except CustomerHealthError:
        raise
    except Exception as exc:
        raise PluginError(f"plugin {impl.plugin_name!r} raised {exc!r} in {hook}()") from exc


def collect(pm: PluginManager) -> Registry:
    """Call the registration hooks of every plugin and return what they registered."""
    factors: dict[str, Factor] = {}
    factor_plugins: dict[str, str] = {}
    for impl in _impls(pm.hook.register_factors):
        _call(
            impl, "register_factors", _factor_registrar(impl.plugin_name, factors, factor_plugins)
        )

    segments: dict[str, dict[str, float]] = {}
    owners: dict[tuple[str, str | None], str] = {}
    for impl in _impls(pm.hook.register_segments):
        plugin = impl.plugin_name

        def add_segment(name: str, expectations: Mapping[str, float], /, _p: str = plugin) -> None:
            checked = check_expectations(name, expectations, _p)
            if name in segments:
                raise DuplicateNameError(
                    f"segment {name!r} is registered by plugin {owners[name, None]!r} "
                    f"and by plugin {_p!r}"
                )
            segments[name] = checked
            owners[name, None] = _p
            owners.update({(name, key): _p for key in checked})

        _call(impl, "register_segments", add_segment)

    for impl in _impls(pm.hook.register_expectations):
        plugin = impl.plugin_name

        def add_expectations(
            segment: str, expectations: Mapping[str, float], /, _p: str = plugin
        ) -> None:
            checked = check_expectations(segment, expectations, _p)
            if segment not in segments:
                raise UnknownSegmentError(
                    f"plugin {_p!r} adds expectations to unknown segment {segment!r}; "
                    f"known segments: {', '.join(sorted(segments)) or 'none'}"
                )
            for key, value in checked.items():
                if key in segments[segment]:
                    raise DuplicateNameError(
                        f"expectation {key!r} of segment {segment!r} is registered by plugin "
                        f"{owners[segment, key]!r} and by plugin {_p!r}"
                    )
                segments[segment][key] = value
                owners[segment, key] = _p

        _call(impl, "register_expectations", add_expectations)

    event_kinds: dict[str, str] = {}
    for impl in _impls(pm.hook.register_event_kinds):

        def add_kind(kind: str, /, _p: str = impl.plugin_name) -> None:
            event_kinds.setdefault(check_event_kind(kind, f"plugin {_p!r} declared"), _p)

        _call(impl, "register_event_kinds", add_kind)

    infos = tuple(pm.infos[name] for name in sorted(pm.infos) if pm.has_plugin(name))
    return Registry(factors, factor_plugins, segments, infos, event_kinds)


_KIND = TypeAdapter(Label)


def check_event_kind(kind: object, who: str) -> str:
    """``kind`` if it can be an event's kind (a string of 1 to 255 characters without
    control characters), else a :class:`ConfigurationError` that begins with ``who``
    (``plugin 'x' declared``)."""
    if isinstance(kind, str):
        try:
            return _KIND.validate_python(kind)
        except ValidationError as exc:
            problem = exc.errors(include_url=False)[0]["msg"]
            raise ConfigurationError(
                f"{who} event kind {kind!r:.80}, which no event can have: {problem}"
            ) from None
    raise ConfigurationError(f"{who} event kind {kind!r:.80}; an event kind is a string")


def _check(factor: type[Factor], plugin: str) -> None:
    """``factor.check_definition()``, with the plugin named in the error."""
    try:
        factor.check_definition()
    except ConfigurationError as exc:
        raise ConfigurationError(f"plugin {plugin!r} registered a bad factor: {exc}") from None


def _factor_registrar(
    plugin: str, factors: dict[str, Factor], factor_plugins: dict[str, str]
) -> Callable[[Any], None]:
    def register(factor: Any, /) -> None:
        if isinstance(factor, type) and issubclass(factor, Factor):
            _check(factor, plugin)
            factor = factor()
        if not isinstance(factor, Factor):
            raise ConfigurationError(
                f"plugin {plugin!r} registered {factor!r}, which is not a customer_health.Factor"
            )
        _check(type(factor), plugin)
        name = factor.name
        if name in factors:
            raise DuplicateNameError(
                f"factor {name!r} is registered by plugin {factor_plugins[name]!r} "
                f"({type(factors[name]).__qualname__}) and by plugin {plugin!r} "
                f"({type(factor).__qualname__})"
            )
        factors[name] = factor
        factor_plugins[name] = plugin

    return register
