"""The hooks a customer-health plugin may implement.

Each hook receives a ``register`` callback. The host validates what it is given and
attributes it to the plugin, so errors (a duplicate name, a bad expectation) name the
plugins involved. Hooks are called once per plugin manager, when a
:class:`~customer_health.Scorer` is built; implement only the ones you need, and
accept only the arguments you use (pluggy passes just those).
"""

from __future__ import annotations

from . import RegisterEventKinds, RegisterExpectations, RegisterFactor, RegisterSegment, hookspec

__all__ = [
    "register_event_kinds",
    "register_expectations",
    "register_factors",
    "register_segments",
]


@hookspec
def register_factors(register: RegisterFactor) -> None:
    """Register health factors.

    :param register: call ``register(factor)`` with a :class:`~customer_health.Factor`
        instance (or a subclass that takes no arguments) for each factor. A factor name
        registered by two plugins is an error that names both.
    """


@hookspec
def register_segments(register: RegisterSegment) -> None:
    """Register customer segments and what a healthy customer of each does.

    :param register: call ``register(name, expectations)`` for each new segment;
        ``expectations`` maps expectation keys (``api_calls_30d``, ``login_days_30d``,
        ``features_30d``, ``tickets_90d`` for the built-in factors, plus any of your
        own factors' keys) to numbers > 0. A segment registered by two plugins is an
        error that names both.
    """


@hookspec
def register_expectations(register: RegisterExpectations) -> None:
    """Add expectations for your own factors to segments other plugins registered.

    Called after every plugin's ``register_segments``, so the segment exists whatever
    the plugin order.

    :param register: call ``register(segment, expectations)``; an unknown segment is an
        error listing the known ones, and a key the segment already has is an error
        that names both plugins.
    """


@hookspec
def register_event_kinds(register: RegisterEventKinds) -> None:
    """Declare event kinds, so that events of those kinds are accepted.

    An event kind is known when it is built in, when a factor in use names it in its
    ``kinds``, or when a plugin (this hook) or the user (``Scorer(event_kinds=...)``)
    declares it; events of any other kind are an
    :class:`~customer_health.UnknownEventKindError`. Declare the kinds your plugin
    records or reads that none of its factors names (a factor's kinds need no
    declaring).

    :param register: call ``register(kind)`` for each kind: a string of 1 to 255
        characters without control characters (anything else is a
        :class:`~customer_health.ConfigurationError` naming the plugin). Declaring a
        kind that is already known, by another plugin or built in, is harmless.
    """
