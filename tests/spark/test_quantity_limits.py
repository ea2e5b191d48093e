"""``score_frame`` on Spark holds ``quantity`` to ``MAX_QUANTITY`` in a column of any
numeric type (``tests/test_quantity_limits.py`` for the other paths): without ANSI mode
a cast to ``long`` saturates a double and nulls a decimal beyond its range, and a sum
of longs wraps, so a value over the maximum must be refused before either."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql import SparkSession

from customer_health import MAX_QUANTITY, InvalidEventError

from ..engines import builtin_scorer
from ..test_quantity_limits import AS_OF, AT, CUSTOMERS, assert_names
from .conftest import spark_frame

COLUMNS = [
    ("bigint", MAX_QUANTITY + 1),
    ("bigint", 2**63 - 1),
    ("double", float(MAX_QUANTITY + 1)),
    ("double", 2.0**64),
    ("double", 1e30),
    ("decimal(38,0)", Decimal(2**64)),
    ("decimal(38,0)", Decimal(10**30)),
]
"""A ``quantity`` column's Spark type and a value over the maximum in it."""


def events(spark: SparkSession, sql_type: str, quantities: list[Any]) -> Any:
    """API calls of ``c1`` of these quantities, in a column of ``sql_type``."""
    typed = {"bigint": int, "double": float}.get(sql_type, Decimal)
    rows = [
        {"customer_id": "c1", "kind": "api_call", "occurred_at": AT, "quantity": typed(q)}
        for q in quantities
    ]
    return spark_frame(spark, rows, {"quantity": sql_type})


@pytest.mark.parametrize("sql_type", sorted({sql_type for sql_type, _ in COLUMNS}))
def test_the_maximum_counts_in_full_on_spark(spark: SparkSession, sql_type: str) -> None:
    """Three events of MAX_QUANTITY each are summed exactly, in every column type."""
    people = spark_frame(spark, CUSTOMERS)
    frame = events(spark, sql_type, [MAX_QUANTITY] * 3)
    out = builtin_scorer().score_frame(people, frame, as_of=AS_OF).collect()
    assert out[0]["api_usage_value"] == 3 * MAX_QUANTITY


@pytest.mark.parametrize(("sql_type", "quantity"), COLUMNS, ids=repr)
def test_a_quantity_over_the_maximum_is_refused_on_spark(
    spark: SparkSession, sql_type: str, quantity: Any
) -> None:
    """A value over the maximum, in a long, double or decimal column, is an
    InvalidEventError naming the column and the value, whatever the ANSI mode."""
    people = spark_frame(spark, CUSTOMERS)
    for ansi in ("false", "true"):
        spark.conf.set("spark.sql.ansi.enabled", ansi)
        try:
            with pytest.raises(InvalidEventError) as caught:
                builtin_scorer().score_frame(
                    people, events(spark, sql_type, [1, quantity]), as_of=AS_OF
                )
        finally:
            spark.conf.unset("spark.sql.ansi.enabled")
        assert "'quantity'" in str(caught.value)
        if not sql_type.startswith("decimal"):  # Spark shows a decimal as Decimal('...')
            assert_names(caught.value, quantity)
        else:
            assert str(int(quantity)) in str(caught.value), str(caught.value)
