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
from ...declare import AS_OF, EXPECTED, DeclaredFactor


def to_sql(expr: Expr, columns: Mapping[str, Any]) -> sa.ColumnElement[Any]:
    """``expr`` as a SQLAlchemy expression, its inputs read from ``columns`` (by name);
    numbers are doubles."""

    def node(expr: Expr, children: Sequence[Any]) -> Any:
        match expr:
            case Lit(value):
                if isinstance(value, float):
                    return double(value)
                return sa.null() if value is None else sa.literal(value)
            case Ref(name):
                return columns[name]
            case Call("number_property", (Lit(key),)):
                return columns[_NUMBER_PROPERTY](str(key))
            case Call("days_between"):
                apart: Any = BinaryExpression(
                    _grouped(children[0]), _grouped(children[1]), operators.sub
                )
                return sa.cast(apart, sa.Double()) / double(DAY_US)
            case Call("microseconds_between"):
                return BinaryExpression(_grouped(children[0]), _grouped(children[1]), operators.sub)
            case Call("utc_day"):
                # the day's first microsecond (the remainder made non-negative, for
                # instants before 1970), then whole days: exact in integers or doubles
                instant = _grouped(children[0])
                day = sa.literal(DAY_US, sa.BigInteger())
                start = instant - ((instant % day) + day) % day
                return start // day
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


_NUMBER_PROPERTY = "number_property()"
"""The key of ``columns`` that reads a number from properties (a function of the key)."""


def declared_inputs(declared: DeclaredFactor, events: SQLEvents) -> dict[str, Any]:
    """A declared factor's aggregates over ``events`` (its events: ``events.mine``), by
    input name: ``sum``, ``count`` and ``count(distinct)`` of ``CASE`` expressions, as
    hand-written SQL forms are."""
    # looked up lazily: the warehouse query reads the columns a factor reads, no others
    given: dict[str, Any] = {AS_OF: events.instant(), _NUMBER_PROPERTY: events.number}
    columns: ChainMap[str, Any] = ChainMap(given, events.c)  # type: ignore[arg-type]
    found: dict[str, Any] = {}
    for name, aggregate in declared.aggregates.items():
        met = events.mine
        if aggregate.where is not None:
            met = sa.and_(met, to_sql(aggregate.where, columns))
        if aggregate.of is None:
            found[name] = sa.func.sum(sa.case((met, 1), else_=0))
            continue
        value = sa.case((met, to_sql(aggregate.of, columns)))
        match aggregate.op:
            case "sum":
                found[name] = sa.func.coalesce(sa.func.sum(value), 0)
            case "count_distinct":
                found[name] = sa.func.count(sa.distinct(value))
            case _:
                found[name] = getattr(sa.func, aggregate.op)(value)
    return found


def declared_score(
    declared: DeclaredFactor, inputs: Mapping[str, Any], expected: Any
) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]]:
    """A declared factor's score and value over its ``inputs`` (double columns) and
    ``expected``."""
    columns = {**inputs, EXPECTED: expected}
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
