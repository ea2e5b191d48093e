"""Benchmark: the warehouse query of ``export_sql`` on DuckDB and PostgreSQL, beside
``score_frame`` on the same data.

Run it (it needs the ``sample``, ``polars``, ``duckdb``, ``sql`` and ``postgres``
extras, and PostgreSQL unless ``--no-postgres``)::

    python tests/benchmarks/bench_sql.py                 # 100,000 customers, 10M events
    python tests/benchmarks/bench_sql.py --customers 500 --events 20000   # CI smoke
    python tests/benchmarks/bench_sql.py --no-postgres   # DuckDB and score_frame only

The data is :func:`customer_health.sample.generate_columns`'s (built as in
``bench_frames.py``). The tables are loaded first, and the three paths are then timed
alike (``_timing.compare``): ``--warmup`` untimed runs of each (1), then ``--repeat``
timed runs of each (3), interleaved (a, b, c, a, b, c, ...), each figure the median of
its runs, printed with their spread:

(a) ``customer_health.score_frame(customers, events, as_of=...)`` on polars frames;
(b) the DuckDB query of ``export_sql("duckdb", ...)`` over DuckDB tables of the same
    data (in memory, loaded once before timing), fetched as Arrow;
(c) the PostgreSQL query of ``export_sql("postgres", ...)`` over tables loaded with
    ``COPY`` into a schema of its own (``--postgres-url``, default
    ``$CUSTOMER_HEALTH_TEST_POSTGRES_URL``; dropped at the end), fetched whole.

Before the figures are printed, (b)'s and (c)'s rows (from their first runs) are
checked against (a)'s: every customer, its score and coverage to 1e-9, its status
exactly. Throughput is event rows in per second. Loading the tables is reported apart;
it is not part of the times.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import _timing
import polars as pl
from bench_frames import build

import customer_health
from customer_health import sample

POSTGRES_ENV = "CUSTOMER_HEALTH_TEST_POSTGRES_URL"
CUSTOMER_COLUMNS = ("id", "segment", "created_at")


def check_same(reference: pl.DataFrame, rows: pl.DataFrame, label: str) -> None:
    """``rows`` (a query's result) are ``reference``'s (score_frame's): else exit 1."""
    columns = ["customer_id", "score", "status", "coverage"]
    joined = reference.select(columns).join(
        rows.select(columns), on="customer_id", how="full", suffix="_sql", coalesce=True
    )
    problems = joined.filter(
        (pl.col("score").is_null() != pl.col("score_sql").is_null())
        | ((pl.col("score") - pl.col("score_sql")).abs() > 1e-9)
        | ((pl.col("coverage") - pl.col("coverage_sql")).abs() > 1e-9)
        | (pl.col("status") != pl.col("status_sql")).fill_null(True)
    )
    if problems.height or rows.height != reference.height:
        print(f"{label} disagrees with score_frame:\n{problems.head(5)}", file=sys.stderr)
        raise SystemExit(1)


@contextmanager
def duckdb_tables(customers: pl.DataFrame, events: pl.DataFrame) -> Iterator[tuple[float, Any]]:
    """An in-memory DuckDB database holding the two tables: the seconds it took to load
    them, and the connection."""
    import duckdb

    connection = duckdb.connect()
    try:
        start = time.perf_counter()
        for name, frame in (("customers", customers), ("events", events)):
            connection.register(f"{name}_in", frame.to_arrow())
            connection.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_in")
            connection.unregister(f"{name}_in")
        yield time.perf_counter() - start, connection
    finally:
        connection.close()


def duckdb_rows(connection: Any, query: str) -> Any:
    """(b): the query's result, fetched as an Arrow table."""
    return connection.sql(query).to_arrow_table()


@contextmanager
def postgres_tables(
    url: str, customers: pl.DataFrame, events: pl.DataFrame
) -> Iterator[tuple[float, Any]]:
    """A schema of its own holding the two tables (``COPY``, then ``ANALYZE``), dropped
    at the end: the seconds it took to load them, and a connection that uses it."""
    import psycopg

    schema = f"ch_bench_sql_{uuid.uuid4().hex[:8]}"
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True, options=f"-csearch_path={schema}") as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
        try:
            start = time.perf_counter()
            for name, frame in (("customers", customers), ("events", events)):
                _copy(connection, name, frame)
            connection.execute("ANALYZE")
            yield time.perf_counter() - start, connection
        finally:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


def postgres_rows(connection: Any, query: str) -> tuple[list[str], list[Any]]:
    """(c): the query's column names and rows, fetched whole."""
    with connection.cursor() as cursor:
        cursor.execute(query)
        assert cursor.description is not None
        return [column.name for column in cursor.description], cursor.fetchall()


def _copy(connection: Any, name: str, frame: pl.DataFrame) -> None:
    """Create table ``name`` like ``frame`` (naive datetimes as ``timestamp``: UTC) and
    COPY the frame in as CSV, a million rows at a time."""
    types = {pl.Datetime: "timestamp", pl.Int64: "bigint", pl.Float64: "double precision"}
    columns = ", ".join(
        f"{column} {types.get(type(dtype), 'text') if not dtype.is_integer() else 'bigint'}"
        for column, dtype in frame.schema.items()
    )
    connection.execute(f"CREATE TABLE {name} ({columns})")
    with connection.cursor() as cursor:
        for offset in range(0, frame.height, 1_000_000):
            buffer = io.BytesIO()
            frame.slice(offset, 1_000_000).write_csv(buffer, include_header=False)
            with cursor.copy(f"COPY {name} FROM STDIN (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    _timing.add_arguments(parser)
    parser.add_argument("--postgres-url", default=os.environ.get(POSTGRES_ENV))
    parser.add_argument("--no-postgres", action="store_true", help="leave PostgreSQL out")
    args = parser.parse_args(argv)
    if not args.no_postgres and not args.postgres_url:
        parser.error(f"give --postgres-url (or set {POSTGRES_ENV}), or pass --no-postgres")

    customers, events = build(args.customers, args.events, args.seed)
    customers = customers.select(CUSTOMER_COLUMNS)
    as_of = sample.DEFAULT_AS_OF
    n = events.height
    print(f"{args.customers:,} customers, {n:,} events, as of {as_of.isoformat()}", flush=True)

    labels = {
        "frame": "(a) score_frame, polars",
        "duckdb": "(b) export_sql, DuckDB",
        "postgres": "(c) export_sql, PostgreSQL",
    }
    with ExitStack() as stack:
        loaded: dict[str, float] = {}
        sides: dict[str, Any] = {
            labels["frame"]: lambda: customer_health.score_frame(customers, events, as_of=as_of)
        }
        loaded[labels["duckdb"]], duck = stack.enter_context(duckdb_tables(customers, events))
        duck_query = customer_health.export_sql("duckdb", as_of=as_of)
        sides[labels["duckdb"]] = lambda: duckdb_rows(duck, duck_query)
        if not args.no_postgres:
            loaded[labels["postgres"]], pg = stack.enter_context(
                postgres_tables(args.postgres_url, customers, events)
            )
            pg_query = customer_health.export_sql("postgres", as_of=as_of)
            sides[labels["postgres"]] = lambda: postgres_rows(pg, pg_query)
        shown = ", ".join(f"{label[4:]} {seconds:.2f} s" for label, seconds in loaded.items())
        print(f"tables loaded (not timed): {shown}; timing ...", flush=True)
        timed = _timing.compare(sides, warmup=args.warmup, runs=args.repeat)

    reference = timed[labels["frame"]].result
    rows = pl.from_arrow(timed[labels["duckdb"]].result)
    assert isinstance(rows, pl.DataFrame)
    check_same(reference, rows, "DuckDB")
    if not args.no_postgres:
        names, rows = timed[labels["postgres"]].result
        frame = pl.DataFrame(rows, schema=names, orient="row")
        check_same(reference, frame, "PostgreSQL")
    print("results agree with score_frame (1e-9, statuses exactly)")
    print(f"{_timing.describe(args.warmup, args.repeat)}:")
    for label, timing in timed.items():
        extra = ""
        if label in loaded:
            extra = f"   (loading the tables: {loaded[label]:.2f} s, not timed)"
        print(
            f"{label:<30} {timing.median:8.3f} s  {n / timing.median:14,.0f} events/s"
            f"  (runs {timing.spread()}){extra}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
