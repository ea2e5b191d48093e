"""Storage for customers, events and scores.

The SQL store lives in :mod:`customer_health.storage.sqlalchemy` (extra
``sqlalchemy``; ``postgres`` adds psycopg 3). This package itself imports no database
library: it holds the models the stores return.
"""

from __future__ import annotations

from .models import (
    Bin,
    Drained,
    GroupStats,
    IdempotentWrite,
    Page,
    PortfolioStats,
    Recorded,
    Replay,
    ScoredCustomer,
    ScoringState,
    StatusChange,
    StatusCount,
)

__all__ = [
    "Bin",
    "Drained",
    "GroupStats",
    "IdempotentWrite",
    "Page",
    "PortfolioStats",
    "Recorded",
    "Replay",
    "ScoredCustomer",
    "ScoringState",
    "StatusChange",
    "StatusCount",
]
