"""Deprecated: this module moved to :mod:`customer_health.engines.frames`.

Score frames with :func:`customer_health.score_frame` (or
:meth:`customer_health.Scorer.score_frame`); the frame columns are
``customer_health.engines.frames.EVENT_COLUMNS``. Importing this module warns; it will
be removed in a future major release.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from .engines.frames import EVENT_COLUMNS

if TYPE_CHECKING:
    from .scoring import Scorer

__all__ = ["EVENT_COLUMNS", "score_frame"]

warnings.warn(
    "customer_health.frames is deprecated: score frames with customer_health.score_frame; "
    "the frame columns are customer_health.engines.frames.EVENT_COLUMNS",
    DeprecationWarning,
    stacklevel=2,
)


def score_frame(scorer: Scorer, customers: Any, events: Any, **options: Any) -> Any:
    """Deprecated: ``scorer.score_frame(customers, events, **options)``."""
    return scorer.score_frame(customers, events, **options)
