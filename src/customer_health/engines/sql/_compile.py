"""The model's rules and declared factors (:mod:`customer_health._expr` trees) as
SQLAlchemy expressions: the store's query (SQLite, PostgreSQL) and the warehouse query
in every dialect.

Event expressions read the columns of :class:`~customer_health.storage.sqlalchemy.SQLEvents`:
instants are integer microseconds since 1970, so comparing them and measuring them
(:func:`~customer_health.declare.days_between`, :func:`~customer_health.declare.utc_day`)
is exact integer arithmetic in every database.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import True_
from sqlalchemy.sql.expression import BinaryExpression, Grouping

from ..._expr import (
    ARITHMETIC,
    OPERATIONS,
    Binary,
    Call,
    Expr,
    IsNull,
    Lit,
    Not,
    Ref,
    When,
    type_of,
    visit,
)
from ..._sql_events import SQLEvents
from ..._time import DAY_US
from ...declare import AS_OF, EXPECTED, TENURE, DeclaredFactor


def to_sql(
    expr: Expr, columns: Mapping[str, Any], events: SQLEvents | None = None
) -> sa.ColumnElement[Any]:
    """``expr`` as a SQLAlchemy expression, its inputs read from ``columns`` (by name);
    numbers are doubles. The functions of events (instants, properties) are read as
    ``events`` (:class:`SQLEvents`) reads them, which an event expression is given."""

    def events_of(function: str) -> SQLEvents:
        if events is None:
            raise TypeError(f"{function}() reads events: compile it with its SQLEvents")
        return events

    def node(expr: Expr, children: Sequence[Any]) -> Any:
        match expr:
            case Lit(value):
                if isinstance(value, float):
                    return double(value)
                return sa.null() if value is None else sa.literal(value)
            case Ref(name):
                return columns[name]
            case Call("number_property", (Lit(key),)):
                return events_of("number_property").number(str(key))
            case Call("days_between" | "microseconds_between" as function):
                # instants are integer microseconds: their difference is exact
                apart: Any = BinaryExpression(
                    _grouped(children[0]), _grouped(children[1]), operators.sub
                )
                if function == "microseconds_between":
                    return apart
                return sa.cast(apart, sa.Double()) / double(DAY_US)
            case Call("utc_day"):
                # the day's first microsecond, then whole days: exact in integers or doubles
                start = events_of("utc_day").day(_grouped(children[0]))
                return start // sa.literal(DAY_US, sa.BigInteger())
            case Binary(op, left, right) if op in ARITHMETIC:
                # built by hand, each operand that is an operation in parentheses:
                # SQLAlchemy's operators drop them around a + (b + c) (it takes + and * as
                # associative), which a database then adds as (a + b) + c, another double
                sides = [_grouped(child) for child in children]
                if op == "/":  # whole numbers divided in doubles, not as integers
                    sides = [
                        sa.cast(side, sa.Double()) if type_of(e) == "int" else side
                        for side, e in zip(sides, (left, right), strict=True)
                    ]
                return BinaryExpression(sides[0], sides[1], _ARITHMETIC[op], type_=sa.Double())
            case Binary(op, _, _):
                return OPERATIONS[op](children[0], children[1])
            case IsNull():
                return children[0].is_(None)
            case Not():
                return sa.not_(children[0])
            case When(cases):
                pairs = [(children[2 * i], children[2 * i + 1]) for i in range(len(cases))]
                return sa.case(*pairs, else_=children[-1])
        raise TypeError(f"not an expression node: {expr!r}")

    compiled: sa.ColumnElement[Any] = visit(expr, node)
    return compiled


def declared_inputs(declared: DeclaredFactor, events: SQLEvents) -> dict[str, Any]:
    """A declared factor's aggregates over ``events`` (its events: ``events.mine``), by
    input name: ``sum``, ``count`` and ``count(distinct)`` of ``CASE`` expressions, as
    hand-written SQL forms are."""
    # looked up lazily: the warehouse query reads the columns a factor reads, no others
    given: dict[str, Any] = {AS_OF: events.instant()}
    columns: ChainMap[str, Any] = ChainMap(given, events.c)  # type: ignore[arg-type]
    found: dict[str, Any] = {}
    for name, aggregate in declared.aggregates.items():
        met = events.mine
        if aggregate.where is not None:
            met = sa.and_(met, to_sql(aggregate.where, columns, events))
        every = isinstance(met, True_)  # every row is one of the factor's events
        if aggregate.of is None:
            found[name] = sa.func.count() if every else sa.func.sum(sa.case((met, 1), else_=0))
            continue
        value = to_sql(aggregate.of, columns, events)
        if not every:
            value = sa.case((met, value))
        match aggregate.op:
            case "sum":
                found[name] = sa.func.coalesce(sa.func.sum(value), 0)
            case "count_distinct":
                found[name] = sa.func.count(sa.distinct(value))
            case _:
                found[name] = getattr(sa.func, aggregate.op)(value)
    return found


def declared_score(
    declared: DeclaredFactor, inputs: Mapping[str, Any], expected: Any, tenure: Any
) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
    """A declared factor's score and value over its ``inputs`` (double columns),
    ``expected`` and the customer's ``tenure`` in days (None where no factor reads it)."""
    columns = {**inputs, EXPECTED: expected, TENURE: tenure}
    value = declared.value
    return (
        to_sql(declared.score, columns),
        sa.null() if value is None else to_sql(value, columns),
    )


def double(value: float) -> sa.ColumnElement[float]:
    """``value`` as a double-precision literal."""
    return sa.cast(sa.literal(float(value)), sa.Double())


def _grouped(element: Any) -> Any:
    return Grouping(element) if isinstance(element, BinaryExpression) else element


_ARITHMETIC: dict[str, Any] = {
    "+": operators.add,
    "-": operators.sub,
    "*": operators.mul,
    "/": operators.truediv,
}
