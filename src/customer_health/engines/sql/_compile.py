"""The model's rules (:mod:`customer_health.model._expr` trees) as SQLAlchemy
expressions, for the warehouse query in every dialect."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from ...model._expr import Binary, Expr, IsNull, Lit, Not, Ref, When, visit


def to_sql(expr: Expr, columns: Mapping[str, Any]) -> sa.ColumnElement[Any]:
    """``expr`` as a SQLAlchemy expression, its inputs read from ``columns`` (by name);
    numbers are doubles."""

    def node(expr: Expr, children: Sequence[Any]) -> Any:
        match expr:
            case Lit(value):
                if isinstance(value, float):
                    return sa.cast(sa.literal(value), sa.Double())
                return sa.null() if value is None else sa.literal(value)
            case Ref(name):
                return columns[name]
            case Binary("&", _, _):
                return sa.and_(children[0], children[1])
            case Binary("|", _, _):
                return sa.or_(children[0], children[1])
            case Binary(op, _, _):
                return _OPERATORS[op](children[0], children[1])
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


_OPERATORS: dict[str, Any] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
}
