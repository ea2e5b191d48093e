"""The support-ticket weights of the default model (``docs/model.md``), shared by the
built-in factors' object, frame and SQL forms."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["PRIORITY_WEIGHTS", "UNRESOLVED_FACTOR"]

PRIORITY_WEIGHTS: Mapping[str, float] = {"low": 0.5, "normal": 1.0, "high": 2.0, "urgent": 3.0}
"""A ticket's weight by priority."""
UNRESOLVED_FACTOR = 1.5
"""How much more a ticket still open at ``as_of`` weighs."""
