"""A local SparkSession for the Spark tests, and Spark frames built from rows.

The session's time zone is not UTC (nor the Python process's), so that no result may
depend on it. Naive datetimes become ``TIMESTAMP_NTZ`` columns, aware ones
``TIMESTAMP`` columns (instants), as a Spark user's data would hold them.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

pytest.importorskip("pyspark")

from pyspark.sql import DataFrame, SparkSession

from ..warehouse import CUSTOMER_COLUMNS, EVENT_COLUMNS, INSTANTS

SESSION_ZONE = "America/Los_Angeles"
"""The Spark session time zone of the fixture: not UTC, so that no result may depend on it."""

Rows = list[dict[str, Any]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """PySpark warns that it does not yet support pandas 3 (pandas is not needed here)."""
    for item in items:
        item.add_marker(
            pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")
        )


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """A local Spark session: two cores, two shuffle partitions, no UI, no call-site capture."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors run this Python
    session = (
        SparkSession.builder.master("local[2]")
        .appName("customer-health-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", SESSION_ZONE)
        .config("spark.driver.memory", "1g")
        # PySpark's call-site capture for error messages costs several JVM round trips
        # for each Column function called, about 40% of a score_frame here (static).
        .config("spark.python.sql.dataFrameDebugging.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


_TYPES = {str: "string", int: "bigint", float: "double"}


def spark_frame(spark: SparkSession, rows: Rows, types: dict[str, str] | None = None) -> DataFrame:
    """A Spark DataFrame of ``rows``: column types from ``types`` (Spark SQL type names),
    else from the first non-null value (naive datetimes as ``timestamp_ntz``, aware ones
    as ``timestamp``)."""
    schema = dict(types or {})
    for row in rows:
        for name, value in row.items():
            if name in schema or value is None:
                continue
            if isinstance(value, datetime):
                schema[name] = "timestamp_ntz" if value.tzinfo is None else "timestamp"
            else:
                schema[name] = _TYPES[type(value)]
    names = list(schema)
    ddl = ", ".join(f"`{name}` {schema[name]}" for name in names)
    return spark.createDataFrame([tuple(row.get(n) for n in names) for row in rows], ddl)


EVENT_TYPES = {
    "customer_id": "string",
    "kind": "string",
    "event_id": "string",
    "quantity": "bigint",
    "feature": "string",
    "amount": "double",
    "priority": "string",
    "user_id": "string",
    "properties": "string",
}
"""The Spark types of the events' columns other than the instants."""
EVENT_TIMES = ("occurred_at", "due_at", "paid_at", "resolved_at")
STYLES = ("aware", "naive", "text")
"""How :func:`spark_frames` shows instants: ``timestamp``, ``timestamp_ntz`` (naive UTC)
or ISO 8601 text."""


def _styled(rows: Rows, names: Sequence[str], style: str) -> tuple[Rows, dict[str, str]]:
    """The rows with their instants in one style: aware (Spark ``timestamp``), naive
    UTC (``timestamp_ntz``) or ISO 8601 text; and the column types."""
    out = []
    for row in rows:
        row = dict(row)
        for name in names:
            value = row.get(name)
            if value is None:
                continue
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            if style == "naive":
                value = value.astimezone(UTC).replace(tzinfo=None)
            elif style == "text":
                value = value.isoformat()
            row[name] = value
        out.append(row)
    kind = {"aware": "timestamp", "naive": "timestamp_ntz", "text": "string"}[style]
    return out, dict.fromkeys(names, kind)


def spark_frames(
    spark: SparkSession, people: Rows, events: Rows, style: str
) -> tuple[DataFrame, DataFrame]:
    """Customers and events (as the strategies draw them) as Spark frames for
    ``score_frame``, their instants in ``style`` (one of :data:`STYLES`)."""
    people, people_types = _styled(people, ["created_at"], style)
    events, event_types = _styled(events, EVENT_TIMES, style)
    events = [
        {**e, "properties": json.dumps(e["properties"]) if "properties" in e else None}
        for e in events
    ]
    customer_frame = spark_frame(
        spark, people, {"id": "string", "segment": "string", "name": "string", **people_types}
    )
    event_frame = spark_frame(spark, events, {**EVENT_TYPES, **event_types})
    return customer_frame, event_frame


WAREHOUSE_TYPES = {
    "quantity": "bigint",
    "amount": "double",
    **dict.fromkeys(
        ("customer_id", "kind", "event_id", "feature", "priority", "user_id", "properties"),
        "string",
    ),
}
"""Spark types of the warehouse events' columns but the instants (for tables without rows,
or columns all null)."""


def warehouse_views(spark: SparkSession, customers: Rows, events: Rows, instant: str) -> None:
    """Temporary views ``customers`` and ``events`` for ``export_sql("spark")`` of rows as
    ``tests/warehouse.py`` makes them, the instants' columns of Spark type ``instant``."""
    events = [{name: row[name] for name in EVENT_COLUMNS} for row in events]
    customers = [{name: row[name] for name in CUSTOMER_COLUMNS} for row in customers]
    types = WAREHOUSE_TYPES | dict.fromkeys(INSTANTS.intersection(EVENT_COLUMNS), instant)
    columns = {name: types[name] for name in EVENT_COLUMNS}
    spark_frame(spark, events, columns).createOrReplaceTempView("events")
    spark_frame(
        spark, customers, {"id": "string", "segment": "string", "created_at": instant}
    ).createOrReplaceTempView("customers")
