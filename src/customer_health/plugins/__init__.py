"""Plugins: how factors and segments reach customer-health.

Everything the scorer knows - the five built-in factors and three segments included -
comes from plugins through pluggy hooks. A plugin is a module (or any object) with
functions marked by :data:`hookimpl`, published under the ``customer_health``
entry-point group. A complete plugin::

    # my_plugin.py
    from collections.abc import Mapping, Sequence

    import customer_health
    from customer_health import Factor, FactorContext, FactorResult


    class NpsScore(Factor):
        name = "nps"
        kinds = frozenset({"nps_response"})  # a custom event kind
        window_days = 90
        default_weight = 0.1
        inputs = ("responses", "total")

        def aggregate(self, events, ctx):
            scores = [e.properties["score"] for e in events]
            return {"responses": float(len(scores)), "total": float(sum(scores))}

        def compute(self, inputs, ctx):
            if not inputs["responses"]:
                return FactorResult(None, "no NPS responses in 90 days")
            mean = inputs["total"] / inputs["responses"]
            return FactorResult(mean * 10, f"mean NPS answer {mean:.1f}", value=mean)


    @customer_health.hookimpl
    def register_factors(register):
        register(NpsScore())


    @customer_health.hookimpl
    def register_segments(register):
        register("nonprofit", {"api_calls_30d": 100, "login_days_30d": 8,
                               "features_30d": 2, "tickets_90d": 2})

and in its ``pyproject.toml``::

    [project.entry-points.customer_health]
    nps = "my_plugin"

A factor's ``kinds`` are known event kinds while it is in use: events of other kinds
are rejected (a typo must not pass silently). A plugin that stores or reads kinds no
factor of its names declares them with the ``register_event_kinds`` hook.

Hooks receive a ``register`` callback rather than returning values, so the host can
check what it is given and name the plugin when something is wrong. The hooks are
documented in :mod:`customer_health.plugins.hookspecs`.

Plugins are blocked by entry-point name with ``CUSTOMER_HEALTH_BLOCK_PLUGINS`` (or
limited to a list with ``CUSTOMER_HEALTH_ALLOW_PLUGINS``), both comma-separated, or
with the ``block_plugins`` / ``allow_plugins`` arguments of :class:`~customer_health.Scorer`.
"""

from __future__ import annotations

from .._hooks import (
    NAME,
    RegisterEventKinds,
    RegisterExpectations,
    RegisterFactor,
    RegisterSegment,
    hookimpl,
    hookspec,
)

__all__ = [
    "NAME",
    "RegisterEventKinds",
    "RegisterExpectations",
    "RegisterFactor",
    "RegisterSegment",
    "hookimpl",
    "hookspec",
]
