"""The default model's factors and segments, registered as a plugin.

This module is the ``builtin`` entry point of the ``customer_health`` group: it uses
the same hooks a third party's package does. Block it by name
(``CUSTOMER_HEALTH_BLOCK_PLUGINS=builtin``) to run with plugin factors only.
"""

from __future__ import annotations

from .._hooks import RegisterFactor, RegisterSegment, hookimpl
from ..segments import BUILTIN_SEGMENTS
from .factors import BUILTIN_FACTORS

__all__ = ["register_factors", "register_segments"]


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
