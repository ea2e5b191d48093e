"""The model's rules (:mod:`customer_health.model._expr` trees) as SQLAlchemy
expressions, for the warehouse query in every dialect."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import BinaryExpression, Grouping

from ...model._expr import ARITHMETIC, OPERATIONS, Binary, Expr, IsNull, Lit, Not, Ref, When, visit


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
            case Binary(op, _, _) if op in ARITHMETIC:
                # built by hand, each operand that is an operation in parentheses:
                # SQLAlchemy's operators drop them around a + (b + c) (it takes + and * as
                # associative), which a database then adds as (a + b) + c, another double
                left, right = (_grouped(child) for child in children)
                return BinaryExpression(left, right, _ARITHMETIC[op], type_=sa.Double())
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
