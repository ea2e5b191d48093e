"""The plugin interface: the pluggy markers and the ``register`` callbacks' types.

Published as :mod:`customer_health.plugins` (whose docstring is the plugin tutorial);
defined here, in the core, so that the built-in plugin (:mod:`customer_health.builtin`)
registers through it while the plugin manager, above the built-ins, loads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

import pluggy

if TYPE_CHECKING:
    from .factors import Factor

__all__ = [
    "NAME",
    "RegisterEventKinds",
    "RegisterExpectations",
    "RegisterFactor",
    "RegisterSegment",
    "hookimpl",
    "hookspec",
]

NAME = "customer_health"
"""The pluggy project name and the entry-point group plugins publish under."""

hookimpl = pluggy.HookimplMarker(NAME)
"""Marks a plugin's hook implementation: ``@customer_health.hookimpl``."""

hookspec = pluggy.HookspecMarker(NAME)
"""Marks a hook specification (used by :mod:`customer_health.plugins.hookspecs`)."""


class RegisterFactor(Protocol):
    """The callback ``register_factors`` receives."""

    def __call__(self, factor: Factor | type[Factor], /) -> None:
        """Register a factor (an instance, or a class that takes no arguments)."""


class RegisterSegment(Protocol):
    """The callback ``register_segments`` receives."""

    def __call__(self, name: str, expectations: Mapping[str, float], /) -> None:
        """Register a new segment with its expectations (each a number > 0)."""


class RegisterExpectations(Protocol):
    """The callback ``register_expectations`` receives."""

    def __call__(self, segment: str, expectations: Mapping[str, float], /) -> None:
        """Add expectations (for the plugin's own factors) to an existing segment."""


class RegisterEventKinds(Protocol):
    """The callback ``register_event_kinds`` receives."""

    def __call__(self, kind: str, /) -> None:
        """Declare an event kind (1 to 255 characters, no control characters)."""
