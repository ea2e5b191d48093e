"""The built-in factors' SQL forms: portable aggregates over ``ch_events``, and scores.

Each function returns the same inputs as the factor's :meth:`aggregate`, as
``sum(case(...))`` and ``count(distinct(case(...)))`` expressions that SQLite,
PostgreSQL and other databases all run. The arithmetic follows the Python form: a
duration in days is the exact microsecond count divided by 86,400,000,000 in double
precision, so per-event values are identical; sums may differ in the last bits only
because a database adds in its own order. The ``*_sql_score`` functions are
``compute()`` in SQL (for :func:`customer_health.export_sql`), in double precision and
in the Python form's order of operations.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ._weights import PRIORITY_WEIGHTS, UNRESOLVED_FACTOR

if TYPE_CHECKING:
    from .._sql_events import SQLEvents

__all__ = [
    "calls_sql",
    "features_sql",
    "login_sql",
    "payment_sql",
    "payment_sql_score",
    "tickets_sql",
    "tickets_sql_score",
    "usage_sql_score",
]

Aggregates = dict[str, sa.ColumnElement[Any]]


def calls_sql(q: SQLEvents) -> Aggregates:
    """``calls``: the sum of ``quantity`` (stored as 1 when the event had none)."""
    return {"calls": sa.func.sum(q.when(None, q.c["quantity"]))}


def login_sql(q: SQLEvents) -> Aggregates:
    """``days``: distinct UTC days with a login."""
    return {"days": sa.func.count(sa.distinct(q.when(None, q.day(q.c["occurred_at"]), None)))}


def features_sql(q: SQLEvents) -> Aggregates:
    """``features``: distinct feature names."""
    return {"features": sa.func.count(sa.distinct(q.when(None, q.c["feature"], None)))}


def payment_sql(q: SQLEvents, due_window_days: float) -> Aggregates:
    """``invoices``, ``late_days`` and ``credit`` over invoices due in the window."""
    as_of = q.instant()
    due, paid = q.c["due_at"], q.c["paid_at"]
    invoice = sa.and_(due > q.instant(timedelta(days=due_window_days)), due <= as_of)
    settled = sa.case((sa.and_(paid.is_not(None), paid <= as_of), paid), else_=as_of)
    late_us = settled - due
    late = sa.case((late_us > 0, q.days(late_us)), else_=sa.literal(0.0))
    credit = sa.literal(1.0) - late / sa.literal(30.0)
    credit = sa.case((credit > 0, credit), else_=sa.literal(0.0))
    return {
        "invoices": sa.func.sum(q.when(invoice, 1)),
        "late_days": sa.func.sum(q.when(invoice, late, sa.literal(0.0))),
        "credit": sa.func.sum(q.when(invoice, credit, sa.literal(0.0))),
    }


def tickets_sql(q: SQLEvents) -> Aggregates:
    """``load``, ``tickets`` and ``open``: priority weights, open tickets weighing more."""
    priority = q.c["priority"]
    weight = sa.case(
        *((priority == name, sa.literal(value)) for name, value in PRIORITY_WEIGHTS.items()),
        else_=sa.literal(PRIORITY_WEIGHTS["normal"]),
    )
    resolved = q.c["resolved_at"]
    unresolved = sa.or_(resolved.is_(None), resolved > q.instant())
    load = sa.case((unresolved, weight * sa.literal(UNRESOLVED_FACTOR)), else_=weight)
    return {
        "load": sa.func.sum(q.when(None, load, sa.literal(0.0))),
        "tickets": sa.func.sum(q.when(None, 1)),
        "open": sa.func.sum(q.when(unresolved, 1)),
    }


# -- scores: compute() in SQL, for the warehouse query (export_sql) --------------------


def _double(value: float) -> sa.ColumnElement[float]:
    return sa.cast(sa.literal(value), sa.Double())


def usage_sql_score(
    value: sa.ColumnElement[Any], expected: sa.ColumnElement[Any]
) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
    """``100 * min(1, value / expected)``; never no data."""
    ratio = value / expected
    capped = sa.case((ratio < _double(1.0), ratio), else_=_double(1.0))
    return _double(100.0) * capped, value


def payment_sql_score(
    inputs: Mapping[str, sa.ColumnElement[Any]],
) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
    """The mean invoice credit; NULL (no data) without invoices."""
    invoices = inputs["invoices"]
    has = invoices > _double(0.0)
    score = sa.case((has, (_double(100.0) * inputs["credit"]) / invoices), else_=sa.null())
    value = sa.case((has, inputs["late_days"] / invoices), else_=sa.null())
    return score, value


def tickets_sql_score(
    load: sa.ColumnElement[Any], expected: sa.ColumnElement[Any]
) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
    """100 up to the expected load, then ``100 * expected / load``."""
    score = sa.case((load <= expected, _double(100.0)), else_=(_double(100.0) * expected) / load)
    return score, load
