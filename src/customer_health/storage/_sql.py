"""Factor inputs computed by the database: the SQL form of factors and its one query.

A factor with an SQL form (:meth:`~customer_health.Factor.sql_inputs`) returns, for
each of its inputs, an aggregate expression over the ``ch_events`` table - written
with portable ``CASE`` expressions (``sum(case(...))``, ``count(distinct(case(...)))``)
so the same expression runs on SQLite, PostgreSQL and other databases. The store puts
every factor's aggregates in one ``SELECT customer_id, ... GROUP BY customer_id``;
:class:`SQLEvents` is what a factor sees of that query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .._time import DAY_US, micros
from ._tables import events

if TYPE_CHECKING:
    from .._engine import ActiveFactor

__all__ = ["SQLEvents", "inputs_query"]

_INSTANTS = ("occurred_at", "due_at", "paid_at", "resolved_at", "recorded_at")


def _columns() -> dict[str, sa.ColumnElement[Any]]:
    # Instants as their stored integers (microseconds since the epoch): arithmetic on
    # them is exact, and results are not read back as datetimes.
    return {
        column.name: sa.type_coerce(column, sa.BigInteger()) if column.name in _INSTANTS else column
        for column in events.c
    }


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


def condition(active: ActiveFactor, as_of: datetime) -> sa.ColumnElement[bool]:
    """The events ``active`` reads: its kinds, in its window, up to ``as_of``."""
    occurred = events.c.occurred_at
    parts: list[sa.ColumnElement[bool]] = [occurred <= as_of]
    if active.kinds is not None:
        parts.insert(0, events.c.kind.in_(active.kinds))
    if active.window is not None:
        parts.append(occurred > as_of - active.window)
    return sa.and_(*parts)


def inputs_query(
    factors: Sequence[tuple[ActiveFactor, Mapping[str, sa.ColumnElement[Any]]]],
    conditions: Sequence[sa.ColumnElement[bool]],
    customer_ids: Sequence[str] | None,
) -> tuple[sa.Select[Any], list[tuple[str, str, str]]]:
    """One grouped query with every factor's aggregates.

    Returns the query and, per result column after ``customer_id``, the factor name,
    the input name and the column label.
    """
    customer = events.c.customer_id
    columns: list[sa.ColumnElement[Any]] = [customer.label("customer_id")]
    labels: list[tuple[str, str, str]] = []
    for number, (active, aggregates) in enumerate(factors):
        for position, (name, aggregate) in enumerate(aggregates.items()):
            label = f"f{number}_{position}"
            columns.append(aggregate.label(label))
            labels.append((active.name, name, label))
    query = sa.select(*columns).where(sa.or_(*conditions)).group_by(customer)
    if customer_ids is not None:
        query = query.where(events.c.customer_id.in_(customer_ids))
    return query, labels


def sql_events(active: ActiveFactor, as_of: datetime) -> SQLEvents:
    """The :class:`SQLEvents` factor ``active`` sees at ``as_of``."""
    return SQLEvents(c=_columns(), mine=condition(active, as_of), as_of=as_of)
