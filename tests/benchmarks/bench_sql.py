"""Benchmark: the warehouse query of ``export_sql`` on DuckDB and PostgreSQL, beside
``score_frame`` on the same data.

Run it (it needs the ``sample``, ``polars``, ``duckdb``, ``sql`` and ``postgres``
extras, and PostgreSQL unless ``--no-postgres``)::

    python tests/benchmarks/bench_sql.py                 # 100,000 customers, 10M events
    python tests/benchmarks/bench_sql.py --customers 500 --events 20000   # CI smoke
    python tests/benchmarks/bench_sql.py --no-postgres   # DuckDB and score_frame only

The data is :func:`customer_health.sample.generate_columns`'s (built as in
``bench_frames.py``). It times, best of ``--repeat``:

(a) ``customer_health.score_frame(customers, events, as_of=...)`` on polars frames;
(b) the DuckDB query of ``export_sql("duckdb", ...)`` over DuckDB tables of the same
    data (in memory, loaded once before timing), fetched as Arrow;
(c) the PostgreSQL query of ``export_sql("postgres", ...)`` over tables loaded with
    ``COPY`` into a schema of its own (``--postgres-url``, default
    ``$CUSTOMER_HEALTH_TEST_POSTGRES_URL``; dropped at the end), fetched whole.

Before the figures are printed, (b)'s and (c)'s rows are checked against (a)'s: every
customer, its score and coverage to 1e-9, its status exactly. Throughput is event rows
in per second. Loading the tables is reported apart; it is not part of the times.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

import polars as pl
from bench_frames import best_of, build

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


def duckdb_path(
    customers: pl.DataFrame, events: pl.DataFrame, query: str, repeat: int
) -> tuple[float, float, pl.DataFrame]:
    import duckdb

    connection = duckdb.connect()
    start = time.perf_counter()
    for name, frame in (("customers", customers), ("events", events)):
        connection.register(f"{name}_in", frame.to_arrow())
        connection.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_in")
        connection.unregister(f"{name}_in")
    loaded = time.perf_counter() - start
    seconds = best_of(repeat, lambda: connection.sql(query).to_arrow_table())
    rows = pl.from_arrow(connection.sql(query).to_arrow_table())
    connection.close()
    assert isinstance(rows, pl.DataFrame)
    return loaded, seconds, rows


def postgres_path(
    url: str, customers: pl.DataFrame, events: pl.DataFrame, query: str, repeat: int
) -> tuple[float, float, pl.DataFrame]:
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
            loaded = time.perf_counter() - start

            def run() -> list[Any]:
                with connection.cursor() as cursor:
                    cursor.execute(query)
                    return cursor.fetchall()

            seconds = best_of(repeat, run)
            with connection.cursor() as cursor:
                cursor.execute(query)
                assert cursor.description is not None
                names = [column.name for column in cursor.description]
                rows = pl.DataFrame(cursor.fetchall(), schema=names, orient="row")
        finally:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")
    return loaded, seconds, rows


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
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    parser.add_argument("--postgres-url", default=os.environ.get(POSTGRES_ENV))
    parser.add_argument("--no-postgres", action="store_true", help="leave PostgreSQL out")
    args = parser.parse_args(argv)
    if not args.no_postgres and not args.postgres_url:
        parser.error(f"give --postgres-url (or set {POSTGRES_ENV}), or pass --no-postgres")

    customers, events = build(args.customers, args.events, args.seed)
    customers = customers.select(CUSTOMER_COLUMNS)
    as_of = sample.DEFAULT_AS_OF
    n = events.height
    print(f"{args.customers:,} customers, {n:,} events, as of {as_of.isoformat()}")

    def frame() -> pl.DataFrame:
        return customer_health.score_frame(customers, events, as_of=as_of)  # type: ignore[no-any-return]

    reference = frame()
    results = [("(a) score_frame, polars", best_of(args.repeat, frame), None)]
    loaded, seconds, rows = duckdb_path(
        customers, events, customer_health.export_sql("duckdb", as_of=as_of), args.repeat
    )
    check_same(reference, rows, "DuckDB")
    results.append(("(b) export_sql, DuckDB", seconds, loaded))
    if not args.no_postgres:
        query = customer_health.export_sql("postgres", as_of=as_of)
        loaded, seconds, rows = postgres_path(
            args.postgres_url, customers, events, query, args.repeat
        )
        check_same(reference, rows, "PostgreSQL")
        results.append(("(c) export_sql, PostgreSQL", seconds, loaded))
    print("results agree with score_frame (1e-9, statuses exactly)")
    for label, seconds, load in results:
        extra = "" if load is None else f"   (loading the tables: {load:.2f} s, not timed)"
        print(f"{label:<30} {seconds:8.3f} s  {n / seconds:14,.0f} events/s{extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
