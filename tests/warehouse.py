"""Tables for the warehouse SQL (``export_sql``) tests: sample portfolios as rows, loaded
into DuckDB (and, by the tests, PostgreSQL and Spark), and the comparison of the
query's rows with ``Scorer.score_many()``.

The rows come from :func:`customer_health.sample.generate`, which has every case the
model defines: window edges, duplicate ``event_id`` copies, events after ``as_of``,
young, brand-new and undated customers, customers created after ``as_of`` and
customers without events. On top of it: events of a customer who is not in the
customers table, a customer with no event at all, and the models' defaults left
NULL (an API call's ``quantity``, a ticket's ``priority``) on some rows. Instants
are aware UTC datetimes; the loaders store some columns with a time zone and some
without (naive UTC), so both kinds of column are read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from customer_health import Scorer, sample
from customer_health.models import Event

EVENT_COLUMNS = (
    "customer_id",
    "kind",
    "occurred_at",
    "event_id",
    "quantity",
    "feature",
    "due_at",
    "paid_at",
    "priority",
    "resolved_at",
    "user_id",
    "amount",
    "properties",
)
"""The events tables' columns; ``properties`` holds JSON text."""
CUSTOMER_COLUMNS = ("id", "segment", "created_at")
AWARE = frozenset({"occurred_at", "paid_at", "created_at"})
"""Columns stored with a time zone; the other instants are stored naive (UTC)."""
INSTANTS = frozenset({"occurred_at", "due_at", "paid_at", "resolved_at", "created_at"})
STRANGER = "not-a-customer"
LONER = "no-events"


def portfolio(
    n_customers: int = 60, seed: int = 3
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Any], list[Event], datetime]:
    """Customer rows, event rows, and the same as models (for ``score_many``), and as_of."""
    data = sample.generate(n_customers, seed=seed, include_not_created=True)
    customers = list(data.customers)
    customers.append(customers[0].model_copy(update={"id": LONER, "created_at": None}))
    customer_rows = [
        {"id": c.id, "segment": c.segment, "created_at": c.created_at} for c in customers
    ]
    event_rows = [_row(event, number) for number, event in enumerate(data.events)]
    stranger = dict(event_rows[0], customer_id=STRANGER, event_id=None)
    event_rows.append(stranger)
    return customer_rows, event_rows, customers, list(data.events), data.as_of


def _row(event: Event, number: int) -> dict[str, Any]:
    row = {name: getattr(event, name, None) for name in EVENT_COLUMNS}
    row["properties"] = json_text(row["properties"])
    # leave the models' defaults out on every other row that has them: the query fills them
    if number % 2 and row["kind"] == "api_call" and row["quantity"] == 1:
        row["quantity"] = None
    if number % 2 and row["kind"] == "support_ticket" and row["priority"] == "normal":
        row["priority"] = None
    return row


def json_text(value: Any) -> str | None:
    """A ``properties`` mapping as the JSON text of a warehouse column (None stays)."""
    return None if value is None else json.dumps(value, sort_keys=True)


def instants_of(as_of: datetime) -> list[datetime]:
    """``as_of`` and a few other instants to score at (other window edges, and before)."""
    return [as_of, as_of - timedelta(days=17, hours=5, microseconds=3), as_of + timedelta(days=40)]


def naive(value: datetime | None) -> datetime | None:
    """A naive UTC datetime, for a column without a time zone."""
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def duckdb_tables(
    connection: Any, customers: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]
) -> None:
    """Create (or replace) ``customers`` and ``events`` on a DuckDB connection."""
    import pyarrow as pa

    _ARROW_TYPES = {"quantity": pa.int64(), "amount": pa.float64()}

    def table(rows: Sequence[Mapping[str, Any]], names: Iterable[str]) -> Any:
        fields = []
        columns = {}
        for name in names:
            if name in INSTANTS:
                zone = "UTC" if name in AWARE else None
                kind = pa.timestamp("us", tz=zone)
                values = [row[name] if zone else naive(row[name]) for row in rows]
            else:
                kind = _ARROW_TYPES.get(name, pa.string())
                values = [row[name] for row in rows]
            fields.append(pa.field(name, kind))
            columns[name] = values
        return pa.table(columns, schema=pa.schema(fields))

    connection.register("customers_in", table(customers, CUSTOMER_COLUMNS))
    connection.register("events_in", table(events, EVENT_COLUMNS))
    connection.execute("CREATE OR REPLACE TABLE customers AS SELECT * FROM customers_in")
    connection.execute("CREATE OR REPLACE TABLE events AS SELECT * FROM events_in")
    connection.unregister("customers_in")
    connection.unregister("events_in")


def postgres_tables(
    engine: Any,
    customers: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    aware: frozenset[str] = AWARE,
) -> None:
    """Create (or create again) ``customers`` and ``events`` in the engine's schema; the
    instant columns in ``aware`` as ``timestamptz``, the others naive (UTC)."""

    def kind(name: str) -> str:
        if name in INSTANTS:
            return "timestamptz" if name in aware else "timestamp"
        return {"quantity": "bigint", "amount": "double precision"}.get(name, "text")

    def value(name: str, given: Any) -> Any:
        if isinstance(given, datetime) and name not in aware:
            return naive(given)
        return given

    with engine.begin() as connection:
        for table, names, rows in (
            ("customers", CUSTOMER_COLUMNS, customers),
            ("events", EVENT_COLUMNS, events),
        ):
            columns = ", ".join(f"{name} {kind(name)}" for name in names)
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
            connection.exec_driver_sql(f"CREATE TABLE {table} ({columns})")
            if rows:
                marks = ", ".join(["%s"] * len(names))
                connection.exec_driver_sql(
                    f"INSERT INTO {table} VALUES ({marks})",
                    [tuple(value(name, row[name]) for name in names) for row in rows],
                )


POSTGRES_SESSION_ZONE = "Asia/Kathmandu"
"""The PostgreSQL session time zone of :func:`postgres_warehouse`: not UTC."""


@contextmanager
def postgres_warehouse(prefix: str = "ch_export") -> Iterator[Any]:
    """An engine on a PostgreSQL schema of its own (dropped on leaving), whose session
    time zone is not UTC; skips without ``CUSTOMER_HEALTH_TEST_POSTGRES_URL``."""
    import sqlalchemy as sa

    from .backends import schema_of_its_own

    with schema_of_its_own(prefix) as (url, schema):
        options = f"-csearch_path={schema} -ctimezone={POSTGRES_SESSION_ZONE}"
        engine = sa.create_engine(url, connect_args={"options": options})
        try:
            yield engine
        finally:
            engine.dispose()


def run_duckdb(connection: Any, query: str) -> list[dict[str, Any]]:
    """The rows of ``query`` on a DuckDB connection, as dicts."""
    cursor = connection.execute(query)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def run_postgres(engine: Any, query: str) -> list[dict[str, Any]]:
    """The rows of ``query`` on PostgreSQL, as dicts."""
    with engine.connect() as connection:
        # the driver's own cursor, without parameters: psycopg reads '%' (modulo) as is
        cursor = connection.connection.driver_connection.cursor()
        cursor.execute(query)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def assert_matches(rows: Sequence[Mapping[str, Any]], scorer: Scorer, expected: Any) -> None:
    """The query's rows are ``score_many``'s scores: 1e-9 absolute, statuses exactly."""
    found = {str(row["customer_id"]): row for row in rows}
    assert len(found) == len(rows), "a customer has more than one row"
    assert set(found) == {health.customer_id for health in expected}
    for health in expected:
        row = found[health.customer_id]
        where = f"customer {health.customer_id!r}"
        assert row["status"] == health.status.value, where
        _close(row["score"], health.score, f"{where}: score")
        _close(row["coverage"], health.coverage, f"{where}: coverage")
        for factor in health.factors:
            _close(row[factor.name], factor.score, f"{where}: {factor.name}")
            _close(row[f"{factor.name}_value"], factor.value, f"{where}: {factor.name}_value")
    assert [name for name in rows[0] if name in scorer.factors] == list(scorer.factors)


def _close(found: Any, expected: float | None, where: str) -> None:
    if expected is None:
        assert found is None, f"{where}: {found!r}, expected NULL"
        return
    assert found is not None, f"{where}: NULL, expected {expected!r}"
    assert math.isclose(float(found), expected, rel_tol=0, abs_tol=1e-9), (
        f"{where}: {found!r}, expected {expected!r}"
    )
