"""The model's rules and declared factors (:mod:`customer_health._expr` trees) as
narwhals expressions: the polars engine and Spark run the same ones.

Event expressions read the event columns (instants naive UTC) and, for
:func:`~customer_health.declare.number_property`, a column per key (:func:`properties_of`)
that the engine adds natively: JSON is read by polars and Spark, each its own way, to
the one definition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import narwhals.stable.v2 as nw

from ..._expr import (
    OPERATIONS,
    Binary,
    Call,
    Expr,
    IsNull,
    Lit,
    Not,
    Ref,
    When,
    to_python,
    type_of,
    visit,
)
from ..._time import DAY_US
from ...declare import AS_OF, EXPECTED, TENURE, DeclaredFactor, properties_read

PREFIX = "_ch_"
"""The prefix of the columns :func:`with_stages` adds, one per named expression."""


def divided(numerator: Any, denominator: Any) -> Any:
    """``numerator / denominator`` in every row, exactly as Python divides (the correctly
    rounded quotient): narwhals or polars expressions or polars Series, or a number as
    the denominator. Every division of the frame forms goes through it.

    polars divides a column by a scalar as a multiplication by the scalar's reciprocal,
    which is one unit in the last place off for some values. A scalar is not only a
    literal: polars keeps a column whose rows are all alike as one value (the flags of a
    factor that no row, or every row, has data for; any column of a one-row frame), so
    a customer's numbers would depend on which other rows share the frame. A column
    divided by a column is divided row by row, so the divisor is made a column,
    ``numerator * 0 + denominator`` (the numerators are finite; null stays null).
    """
    return numerator / (numerator * 0 + denominator)


PROPERTY: Final = "_ch_property_"
"""The prefix of the column of a number read from ``properties`` (``_ch_property_<key>``),
which the engine adds to the events of a declared factor that reads it."""


def to_narwhals(expr: Expr, columns: Mapping[str, Any], spark: bool = False) -> Any:
    """``expr`` as a narwhals expression, its inputs read from ``columns`` (by name; an
    instant may be given as a naive UTC datetime); ``spark`` for a Spark frame."""

    def node(expr: Expr, children: Sequence[Any]) -> Any:
        match expr:
            case Lit(value):
                return nw.lit(value, nw.Float64()) if isinstance(value, float) else nw.lit(value)
            case Ref(name):
                found = columns[name]
                return nw.lit(found) if isinstance(found, datetime) else found
            case Call("number_property", (Lit(key),)):
                return nw.col(PROPERTY + str(key))
            case Call("days_between" | "microseconds_between" as function, (later, earlier)):
                apart = _epoch_us(later, columns, spark) - _epoch_us(earlier, columns, spark)
                if function == "microseconds_between":
                    return apart
                return divided(apart.cast(nw.Float64()), float(DAY_US))
            case Call("utc_day"):
                if spark:
                    return _epoch_day(children[0])
                return children[0].dt.date().cast(nw.Int64())  # days since 1970
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
                    met = _fixed(cases[index][0])
                    if met is None:  # depends on the row
                        chained = nw.when(condition).then(value).otherwise(chained)
                    elif met:
                        chained = value
                return chained
        raise TypeError(f"not an expression node: {expr!r}")

    return visit(expr, node)


def _fixed(condition: Expr) -> bool | None:
    """Whether a condition that reads no column is met (a null one is not), or None for
    one that reads a column. A case with a fixed condition is decided here, not left to
    the frame: polars 2.1 returns a single row, not broadcast, for a ``when`` whose
    condition is a false literal and whose other branches fold to literals."""
    if visit(condition, lambda node, below: isinstance(node, Ref | Call) or any(below)):
        return None
    (value,) = to_python([{"met": condition}], [])()
    return bool(value)


def _epoch_us(instant: Expr, columns: Mapping[str, Any], spark: bool) -> Any:
    """Microseconds since 1970 of an instant expression (exact)."""
    if isinstance(instant, Ref) and isinstance(columns[instant.name], datetime):
        given: datetime = columns[instant.name]  # naive UTC
        return nw.lit((given - _NAIVE_EPOCH) // _MICROSECOND, nw.Int64())
    compiled = to_narwhals(instant, columns, spark)
    if not spark:
        return compiled.dt.timestamp("us")
    # narwhals has no dt.timestamp (nor datetime casts to integers) on Spark: count the
    # microseconds from the calendar fields instead.
    hours = _epoch_day(compiled) * 24 + compiled.dt.hour().cast(nw.Int64())
    minutes = hours * 60 + compiled.dt.minute().cast(nw.Int64())
    seconds = minutes * 60 + compiled.dt.second().cast(nw.Int64())
    fraction = (compiled.dt.microsecond().cast(nw.Int64()) % _US_PER_SECOND + _US_PER_SECOND) % (
        _US_PER_SECOND
    )
    return seconds * _US_PER_SECOND + fraction


def _epoch_day(instant: Any) -> Any:
    """Days from 1970-01-01 to an instant's UTC date (proleptic Gregorian), from its
    calendar fields: the same on every backend."""
    year = instant.dt.year().cast(nw.Int64())
    return (
        365 * (year - 1970)
        + (year - 1969) // 4
        - (year - 1901) // 100
        + (year - 1601) // 400
        + instant.dt.ordinal_day().cast(nw.Int64())
        - 1
    )


_US_PER_SECOND: Final = 1_000_000
_NAIVE_EPOCH: Final = datetime(1970, 1, 1)
_MICROSECOND: Final = datetime(1970, 1, 1, 0, 0, 0, 1) - _NAIVE_EPOCH


def declared_inputs(
    declared: DeclaredFactor, events: Any, as_of: datetime, spark: bool = False
) -> Any:
    """The inputs of a declared factor from its events (narwhals; instants naive UTC, a
    :data:`PROPERTY` column per key it reads): one row per customer with events, a
    column per aggregate (null where a least or greatest value has none)."""
    columns: dict[str, Any] = {name: nw.col(name) for name in events.collect_schema().names()}
    columns[AS_OF] = as_of.replace(tzinfo=None)
    flagged: dict[str, Any] = {}
    plain: list[tuple[str, str, str]] = []  # (name, column, op)
    distinct = []
    floats = set()  # the sums of floats
    for at, (name, aggregate) in enumerate(declared.aggregates.items()):
        met = None if aggregate.where is None else to_narwhals(aggregate.where, columns, spark)
        if aggregate.of is None:  # count
            flag = nw.lit(1, nw.Int64()) if met is None else nw.when(met).then(1).otherwise(0)
            flagged[f"_a{at}"] = flag
            plain.append((name, f"_a{at}", "sum"))
            continue
        value = to_narwhals(aggregate.of, columns, spark)
        flagged[f"_a{at}"] = value if met is None else nw.when(met).then(value)
        if aggregate.op == "count_distinct":
            distinct.append((name, f"_a{at}"))
        else:
            plain.append((name, f"_a{at}", aggregate.op))
            if aggregate.op == "sum" and type_of(aggregate.of) == "float":
                floats.add(name)
    rows = events.select("customer_id", **flagged)
    if plain:
        found = _aggregated(rows, plain, floats)
    elif len(distinct) == 1:  # a customer without a value has no row: the inputs of none
        name, column = distinct.pop()
        values = rows.filter(~nw.col(column).is_null()).unique()
        found = values.group_by("customer_id").agg(nw.len().alias(name))
    else:
        found = rows.select("customer_id").unique()
    for name, column in distinct:
        values = rows.select("customer_id", column).filter(~nw.col(column).is_null()).unique()
        counted = values.group_by("customer_id").agg(nw.len().alias(name))
        found = found.join(counted, on="customer_id", how="left")
    filled = []
    for name, aggregate in declared.aggregates.items():
        number = nw.col(name).cast(nw.Float64())
        filled.append((number if aggregate.nullable else number.fill_null(0.0)).alias(name))
    return found.select("customer_id", *filled)


def _aggregated(rows: Any, plain: Sequence[tuple[str, str, str]], floats: set[str]) -> Any:
    """Per customer, each ``(name, column, op)`` of ``plain`` over its rows (narwhals).

    On polars, each sum of floats (``floats``, by name) is added in the rows' order, one
    row after the other, as the object path adds them: a customer's sum is then the same
    whatever other rows share the frame, and the object path's to the last bit. polars'
    own ``sum`` adds in blocks and per thread, so it depends on where the customer's
    rows fall (integer sums are exact in any order). Spark adds in its own order.
    """
    if rows.implementation is not nw.Implementation.POLARS:
        return rows.group_by("customer_id").agg(
            *(getattr(nw.col(column), op)().alias(name) for name, column, op in plain)
        )
    import polars as pl

    aggregates = [
        (
            pl.col(column).fill_null(0.0).cum_sum().last()  # a group keeps its rows' order
            if name in floats
            else getattr(pl.col(column), op)()
        ).alias(name)
        for name, column, op in plain
    ]
    return nw.from_native(rows.to_native().group_by("customer_id").agg(aggregates))


def declared_score(
    declared: DeclaredFactor,
    columns: Mapping[str, Any],
    expected: Any,
    tenure: Any,
    spark: bool = False,
) -> tuple[Any, Any]:
    """A declared factor's score and value over its inputs' ``columns``, ``expected``
    and the customers' ``tenure`` in days (narwhals expressions)."""
    given = {**columns, EXPECTED: expected, TENURE: tenure}
    value = declared.value
    return (
        to_narwhals(declared.score, given, spark),
        nw.lit(None, nw.Float64()) if value is None else to_narwhals(value, given, spark),
    )


def properties_of(declared: DeclaredFactor) -> dict[str, str]:
    """The :data:`PROPERTY` columns a declared factor's events need, by key."""
    return {key: PROPERTY + key for key in properties_read(declared)}


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
