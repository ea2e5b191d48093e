"""The model's rules (:mod:`customer_health.model._expr` trees) as narwhals expressions:
the polars engine and Spark run the same ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import narwhals.stable.v2 as nw

from ...builtin.frames import divided
from ...model._expr import OPERATIONS, Binary, Expr, IsNull, Lit, Not, Ref, When, visit

PREFIX = "_ch_"
"""The prefix of the columns :func:`with_stages` adds, one per named expression."""


def to_narwhals(expr: Expr, columns: Mapping[str, Any]) -> Any:
    """``expr`` as a narwhals expression, its inputs read from ``columns`` (by name)."""

    def node(expr: Expr, children: Sequence[Any]) -> Any:
        match expr:
            case Lit(value):
                return nw.lit(value, nw.Float64()) if isinstance(value, float) else nw.lit(value)
            case Ref(name):
                return columns[name]
            case Binary("/", _, _):
                return divided(children[0], children[1])  # exactly, row by row
            case Binary(op, _, _):
                return OPERATIONS[op](children[0], children[1])
            case IsNull():
                return children[0].is_null()
            case Not():
                return ~children[0]
            case When(cases):
                chained = children[-1]
                for index in reversed(range(len(cases))):
                    condition, value = children[2 * index], children[2 * index + 1]
                    chained = nw.when(condition).then(value).otherwise(chained)
                return chained
        raise TypeError(f"not an expression node: {expr!r}")

    return visit(expr, node)


def with_stages(
    frame: Any, stages: Sequence[Mapping[str, Expr]], columns: Mapping[str, Any]
) -> Any:
    """``frame`` (narwhals) with a column ``_ch_<name>`` per named expression of
    ``stages``, stage by stage: each stage reads ``columns`` and the stages before it."""
    known = dict(columns)
    for stage in stages:
        frame = frame.with_columns(
            **{PREFIX + name: to_narwhals(expr, known) for name, expr in stage.items()}
        )
        known.update({name: nw.col(PREFIX + name) for name in stage})
    return frame
