"""``export_sql("spark")``: the warehouse query run by Spark SQL gives ``score()``'s numbers.

Runs in the ``spark`` session (pyspark, Java 17). The tables are temporary views of
sample portfolios (see ``tests/warehouse.py``), compared with ``Scorer.score_many()``
to 1e-9, statuses exactly. ``TIMESTAMP`` columns are instants, read the same in any
session time zone; a ``TIMESTAMP_NTZ`` column is read in the session's zone, as Spark
reads it everywhere, so it is tested with the session in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

pytest.importorskip("sqlglot")

from pyspark.sql import SparkSession

from customer_health import Scorer, export_sql

from ..warehouse import assert_matches, instants_of, naive, portfolio
from .conftest import SESSION_ZONE, warehouse_views

CUSTOMERS, EVENTS, MODELS, EVENT_MODELS, AS_OF = portfolio(40, seed=11)


def _views(spark: SparkSession, instant: str, convert: Any) -> None:
    events = [{name: convert(value) for name, value in row.items()} for row in EVENTS]
    customers = [{name: convert(value) for name, value in row.items()} for row in CUSTOMERS]
    warehouse_views(spark, customers, events, instant)


def _rows(spark: SparkSession, as_of: datetime, scorer: Scorer) -> list[dict[str, Any]]:
    return [
        row.asDict() for row in spark.sql(export_sql("spark", as_of=as_of, scorer=scorer)).collect()
    ]


@pytest.fixture
def utc_session(spark: SparkSession) -> Iterator[SparkSession]:
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    try:
        yield spark
    finally:
        spark.conf.set("spark.sql.session.timeZone", SESSION_ZONE)


@pytest.mark.parametrize("when", range(3))
def test_spark_sql_gives_the_scores_of_score_many(spark: SparkSession, when: int) -> None:
    assert spark.conf.get("spark.sql.session.timeZone") != "UTC"
    _views(spark, "timestamp", lambda value: value)
    as_of = instants_of(AS_OF)[when]
    scorer = Scorer(entry_points=False)
    scores = scorer.score_many(MODELS, EVENT_MODELS, as_of=as_of)
    assert_matches(_rows(spark, as_of, scorer), scorer, scores)


def test_timestamp_ntz_columns_in_a_utc_session(utc_session: SparkSession) -> None:
    _views(utc_session, "timestamp_ntz", lambda v: naive(v) if isinstance(v, datetime) else v)
    scorer = Scorer(entry_points=False)
    scores = scorer.score_many(MODELS, EVENT_MODELS, as_of=AS_OF)
    assert_matches(_rows(utc_session, AS_OF, scorer), scorer, scores)
