"""The default model's factors and segments, registered as a plugin.

This module is the ``builtin`` entry point of the ``customer_health`` group: it uses
the same hooks a third party's package does. Block it by name
(``CUSTOMER_HEALTH_BLOCK_PLUGINS=builtin``) to run with plugin factors only.
"""

from __future__ import annotations

from typing import Final

from .._hooks import RegisterEventKinds, RegisterFactor, RegisterSegment, hookimpl
from ..segments import BUILTIN_SEGMENTS
from .factors import BUILTIN_FACTORS

__all__ = ["SAMPLE_KINDS", "register_event_kinds", "register_factors", "register_segments"]

SAMPLE_KINDS: Final = ("nps_response", "seats_changed")
"""The custom event kinds the sample portfolios record (:mod:`customer_health.sample`);
declared by this plugin, so that sample data scores as it is."""


@hookimpl
def register_factors(register: RegisterFactor) -> None:
    """Register the five factors of the default model."""
    for factor in BUILTIN_FACTORS:
        register(factor())


@hookimpl
def register_segments(register: RegisterSegment) -> None:
    """Register ``enterprise``, ``smb`` and ``startup``."""
    for name, expectations in BUILTIN_SEGMENTS.items():
        register(name, expectations)


@hookimpl
def register_event_kinds(register: RegisterEventKinds) -> None:
    """Declare the custom kinds of the sample portfolios (:data:`SAMPLE_KINDS`)."""
    for kind in SAMPLE_KINDS:
        register(kind)
