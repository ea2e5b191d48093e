"""A local SparkSession for the Spark tests, and Spark frames built from rows.

The session's time zone is not UTC (nor the Python process's), so that no result may
depend on it. Naive datetimes become ``TIMESTAMP_NTZ`` columns, aware ones
``TIMESTAMP`` columns (instants), as a Spark user's data would hold them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

pytest.importorskip("pyspark")

from pyspark.sql import DataFrame, SparkSession

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
    """A local Spark session: two cores, two shuffle partitions, no UI."""
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
