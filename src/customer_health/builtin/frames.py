"""The built-in factors' frame forms, in narwhals: one implementation for every engine.

Each ``*_inputs`` function takes the factor's events (its kinds, in its window,
de-duplicated, instants as naive UTC) and returns one row per customer with the same
inputs :meth:`~customer_health.Factor.aggregate` computes. Flags are computed as
columns first and then aggregated plainly: conditional aggregation inside
``group_by`` is not reliable on every backend. Each ``*_score`` function is the
vectorised ``compute``; the arithmetic is written in the same order as the Python
form so that both give the same floating-point results.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import narwhals.stable.v2 as nw

from .._time import DAY_US
from ._weights import PRIORITY_WEIGHTS, UNRESOLVED_FACTOR

__all__ = [
    "calls_inputs",
    "divided",
    "features_inputs",
    "login_inputs",
    "payment_inputs",
    "payment_score",
    "tickets_inputs",
    "tickets_score",
    "usage_score",
]


_US_PER_SECOND = 1_000_000


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


def calls_inputs(events: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """``calls``: the sum of ``quantity`` (null already read as 1)."""
    return events.group_by("customer_id").agg(
        nw.col("quantity").sum().cast(nw.Float64()).alias("calls")
    )


def login_inputs(events: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """``days``: distinct UTC dates with a login."""
    days = events.select("customer_id", nw.col("occurred_at").dt.date().alias("day")).unique()
    return days.group_by("customer_id").agg(nw.len().cast(nw.Float64()).alias("days"))


def features_inputs(events: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """``features``: distinct feature names."""
    used = events.select("customer_id", "feature").unique()
    return used.group_by("customer_id").agg(nw.len().cast(nw.Float64()).alias("features"))


def payment_inputs(
    events: nw.LazyFrame[Any], as_of: datetime, due_window_days: float
) -> nw.LazyFrame[Any]:
    """``invoices``, ``late_days`` and ``credit`` over invoices due in the window."""
    since = as_of - timedelta(days=due_window_days)
    due = nw.col("due_at")
    paid = nw.col("paid_at")
    settled = nw.when(~paid.is_null() & (paid <= as_of)).then(paid).otherwise(nw.lit(as_of))
    if events.implementation.is_spark_like():
        # narwhals has no dt.total_microseconds (nor dt.timestamp, nor datetime casts to
        # integers) on Spark: count the microseconds from the calendar fields instead.
        late_us = _epoch_microseconds(settled) - _epoch_microseconds(due)
    else:
        late_us = (settled - due).dt.total_microseconds()
    # Late time and credit are summed as whole microseconds, then divided once: a sum of
    # floats depends on the order of its terms, which a group-by does not fix (it splits
    # a frame by its size), so a customer's numbers would depend on the other rows.
    late = nw.when(late_us > 0).then(late_us).otherwise(0)
    invoices = events.filter(due > since, due <= as_of).with_columns(late_us=late)
    credit = _CREDIT_US - nw.col("late_us")  # credit 1 - late_days / 30, in microseconds
    invoices = invoices.with_columns(credit_us=nw.when(credit > 0).then(credit).otherwise(0))
    totals = invoices.group_by("customer_id").agg(
        nw.len().cast(nw.Float64()).alias("invoices"),
        nw.col("late_us").sum(),
        nw.col("credit_us").sum(),
    )
    return totals.select(
        "customer_id",
        "invoices",
        divided(nw.col("late_us").cast(nw.Float64()), DAY_US).alias("late_days"),
        divided(nw.col("credit_us").cast(nw.Float64()), _CREDIT_US).alias("credit"),
    )


_CREDIT_US: Final = 30 * DAY_US
"""An invoice's credit runs out after 30 days late: 30 days in microseconds."""


def _epoch_microseconds(instant: nw.Expr) -> nw.Expr:
    """Microseconds since 1970 of a naive instant, from its calendar fields (exact)."""
    year = instant.dt.year().cast(nw.Int64())
    # days from 1970-01-01 to January 1st of ``year`` (proleptic Gregorian), then the day
    day = (
        365 * (year - 1970)
        + (year - 1969) // 4
        - (year - 1901) // 100
        + (year - 1601) // 400
        + instant.dt.ordinal_day().cast(nw.Int64())
        - 1
    )
    hours = day * 24 + instant.dt.hour().cast(nw.Int64())
    minutes = hours * 60 + instant.dt.minute().cast(nw.Int64())
    seconds = minutes * 60 + instant.dt.second().cast(nw.Int64())
    fraction = (instant.dt.microsecond().cast(nw.Int64()) % _US_PER_SECOND + _US_PER_SECOND) % (
        _US_PER_SECOND
    )
    return seconds * _US_PER_SECOND + fraction


def tickets_inputs(events: nw.LazyFrame[Any], as_of: datetime) -> nw.LazyFrame[Any]:
    """``load``, ``tickets`` and ``open``: priority weights, open tickets weighing more."""
    weight = nw.lit(PRIORITY_WEIGHTS["normal"])
    for priority, value in PRIORITY_WEIGHTS.items():
        weight = nw.when(nw.col("priority") == priority).then(value).otherwise(weight)
    resolved = nw.col("resolved_at")
    unresolved = resolved.is_null() | (resolved > as_of)
    flagged = events.with_columns(
        open=nw.when(unresolved).then(1.0).otherwise(0.0),
        load=nw.when(unresolved).then(weight * UNRESOLVED_FACTOR).otherwise(weight),
    )
    return flagged.group_by("customer_id").agg(
        nw.col("load").sum(),
        nw.len().cast(nw.Float64()).alias("tickets"),
        nw.col("open").sum(),
    )


def usage_score(value: nw.Expr, expected: nw.Expr) -> tuple[nw.Expr, nw.Expr]:
    """``100 * min(1, value / expected)``; never no data."""
    ratio = divided(value, expected)
    return 100.0 * nw.when(ratio < 1.0).then(ratio).otherwise(1.0), value


def payment_score(inputs: Mapping[str, nw.Expr]) -> tuple[nw.Expr, nw.Expr]:
    """The mean invoice credit; no data without invoices."""
    invoices = inputs["invoices"]
    has = invoices > 0
    score = nw.when(has).then(divided(100.0 * inputs["credit"], invoices))
    value = nw.when(has).then(divided(inputs["late_days"], invoices))
    return score, value


def tickets_score(load: nw.Expr, expected: nw.Expr) -> tuple[nw.Expr, nw.Expr]:
    """100 up to the expected load, then ``100 * expected / load``."""
    score = nw.when(load <= expected).then(100.0).otherwise(divided(100.0 * expected, load))
    return score, load
