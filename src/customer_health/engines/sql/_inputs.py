"""Factor inputs computed by a database: the SQL form of factors and its one query.

A factor with an SQL form (:meth:`~customer_health.Factor.sql_inputs`) returns, for
each of its inputs, an aggregate expression over an events table (the store's
``ch_events``, given as ``events``) - written with portable ``CASE`` expressions
(``sum(case(...))``, ``count(distinct(case(...)))``) so the same expression runs on
SQLite, PostgreSQL and other databases. The store puts every factor's aggregates in
one ``SELECT customer_id, ... GROUP BY customer_id``;
:class:`~customer_health.storage.sqlalchemy.SQLEvents` is what a factor sees of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..._event_schema import INSTANT_FIELDS
from ..._sql_events import SQLEvents
from ...declare import DeclaredFactor
from ._compile import declared_inputs, declared_score

if TYPE_CHECKING:
    from ...model import ActiveFactor

__all__ = ["condition", "inputs_query", "sql_events", "sql_form", "sql_score_form"]

_INSTANTS = (*INSTANT_FIELDS, "recorded_at")


def _columns(events: sa.Table) -> dict[str, sa.ColumnElement[Any]]:
    # Instants as their stored integers (microseconds since the epoch): arithmetic on
    # them is exact, and results are not read back as datetimes.
    return {
        column.name: sa.type_coerce(column, sa.BigInteger()) if column.name in _INSTANTS else column
        for column in events.c
    }


def condition(active: ActiveFactor, as_of: datetime, events: sa.Table) -> sa.ColumnElement[bool]:
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
    events: sa.Table,
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


def sql_events(active: ActiveFactor, as_of: datetime, events: sa.Table) -> SQLEvents:
    """The :class:`SQLEvents` factor ``active`` sees at ``as_of`` in ``events``."""
    return SQLEvents(c=_columns(events), mine=condition(active, as_of, events), as_of=as_of)


def sql_form(active: ActiveFactor, events: SQLEvents) -> Mapping[str, Any] | None:
    """The factor's aggregates in SQL: compiled from a declared factor, else its own
    :meth:`~customer_health.Factor.sql_inputs` (None: it has none)."""
    factor = active.factor
    if isinstance(factor, DeclaredFactor):
        return declared_inputs(factor, events)
    return factor.sql_inputs(events)


def sql_score_form(
    active: ActiveFactor, inputs: Mapping[str, Any], expected: Any | None, tenure: Any | None
) -> tuple[Any, Any] | None:
    """The factor's score and value in SQL: compiled from a declared factor (``tenure``:
    the customer's age in days, for one that reads it), else its own
    :meth:`~customer_health.Factor.sql_score` (None: it has none)."""
    factor = active.factor
    if isinstance(factor, DeclaredFactor):
        return declared_score(factor, inputs, expected, tenure)
    return factor.sql_score(inputs, expected)
