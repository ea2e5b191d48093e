"""What a factor's SQL form sees: :class:`SQLEvents`.

Part of the factor interface (:meth:`~customer_health.Factor.sql_inputs`), like
:class:`~customer_health.FactorContext`; it needs SQLAlchemy, so only the SQL engines
and SQL forms import it (``customer_health.storage.sqlalchemy.SQLEvents`` is its
public name).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ._time import DAY_US, micros

__all__ = ["SQLEvents"]


@dataclass(frozen=True)
class SQLEvents:
    """What a factor's SQL form sees: the event columns and its own events.

    Instants (``occurred_at``, ``due_at``, ``paid_at``, ``resolved_at``) are integer
    microseconds since 1970-01-01 UTC; compare them with :meth:`instant` and turn
    differences into days with :meth:`days`. The query covers every factor's events,
    so wrap each aggregate in a condition that starts with :attr:`mine` (or use
    :meth:`when`).
    """

    c: Mapping[str, sa.ColumnElement[Any]]
    """The columns of ``ch_events`` by name (``customer_id``, ``kind``,
    ``occurred_at``, ``quantity``, ``user_id``, ``feature``, ``due_at``, ``paid_at``,
    ``amount``, ``priority``, ``resolved_at``, ``properties`` as JSON text)."""
    mine: sa.ColumnElement[bool]
    """True for the factor's events: its kinds, in its window, up to ``as_of``
    (de-duplication is done: the table holds each ``event_id`` once)."""
    as_of: datetime
    """The instant of scoring (aware, UTC)."""

    def instant(self, value: datetime | timedelta | None = None) -> sa.ColumnElement[int]:
        """An instant as a literal of the stored kind: ``as_of`` by default, ``as_of -
        value`` for a ``timedelta``, or the datetime given."""
        if value is None:
            value = self.as_of
        elif isinstance(value, timedelta):
            value = self.as_of - value
        return sa.literal(micros(value), sa.BigInteger())

    def days(self, duration: sa.ColumnElement[Any]) -> sa.ColumnElement[float]:
        """A duration in microseconds as fractional days, exactly as the model divides."""
        return sa.cast(duration, sa.Float()) / sa.cast(sa.literal(DAY_US), sa.Float())

    def day(self, value: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
        """The UTC calendar day of an instant, as a number (the day's first microsecond).

        Works before 1970 too: the remainder is made non-negative before subtracting.
        """
        day = sa.literal(DAY_US, sa.BigInteger())
        return value - ((value % day) + day) % day

    def when(
        self, condition: sa.ColumnElement[bool] | None, value: Any, otherwise: Any = 0
    ) -> sa.ColumnElement[Any]:
        """``CASE WHEN mine AND condition THEN value ELSE otherwise END``."""
        where = self.mine if condition is None else sa.and_(self.mine, condition)
        return sa.case((where, value), else_=otherwise)
