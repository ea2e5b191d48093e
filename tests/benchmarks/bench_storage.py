"""Benchmark: the SQL store's bulk ingest and its full recalculation in the database.

Run it (it needs the ``postgres`` and ``sample`` extras, numpy and polars, and a
PostgreSQL server; SQLite needs nothing)::

    python tests/benchmarks/bench_storage.py             # 1M events in, 100,000 x 10M rescored
    python tests/benchmarks/bench_storage.py --ingest-customers 200 --ingest-events 20000 \\
        --customers 500 --events 50000                   # CI smoke
    python tests/benchmarks/bench_storage.py --skip-recalculate   # ingest only
    python tests/benchmarks/bench_storage.py --profile   # cProfiles first (untimed), then as usual
    python tests/benchmarks/bench_storage.py --check     # exit 1 unless the targets are met

PostgreSQL is found at ``--postgres-url`` (default: ``$CUSTOMER_HEALTH_TEST_POSTGRES_URL``,
else ``postgresql+psycopg://postgres@127.0.0.1:5432/test``). Everything is done in a
schema of its own (``ch_bench``: created at the start, dropped at the end, whatever
happens), so the database is left as it was; ``--no-postgres`` runs SQLite alone.

1. Bulk ingest. :func:`customer_health.sample.generate_columns` makes
   ``--ingest-events`` events of ``--ingest-customers`` customers, turned into
   validated event models before timing (about 0.4% are copies of another event with
   the same ``event_id``; events without one get one, so that the batch is
   idempotent as a whole). On PostgreSQL and on a SQLite file in a temporary
   directory, it times one ``SQLAlchemyStore.record_many(events)`` call into empty
   tables (emptied, and the customers added, untimed before each call), and the same
   batch recorded again (all duplicates: nothing is stored). Targets (the issue's):
   PostgreSQL >= 250,000 events/s, SQLite >= 100,000 events/s, over the median of the
   first calls.

2. Full recalculation, PostgreSQL only. ``--events`` events of ``--customers``
   customers are loaded in bulk (``COPY`` of the numpy columns, encoded as the store
   encodes them: instants as integer microseconds since the epoch, copies of an
   ``event_id`` stored once), not through ``record_many``; both sides below read them.
   Then, in one run:

   (a) ``store.recalculate(as_of=...)``: every customer's factor inputs by one grouped
       query, scores in Python, the scores saved;
   (b) the baseline: the customers and events loaded from the database into Python as
       models (one ``SELECT`` of the event rows, instants turned into datetimes by the
       driver, validated by pydantic) and scored with ``Scorer.score_many``.

   The two (their first calls') are checked to give every customer the same status,
   coverage, score and factor values to 1e-9. Target (the issue's): (a) at least 5
   times faster than (b), over the medians. The resident-set high-water mark of the
   process is printed after each call (it only grows, so what (b) adds shows after
   (b)'s first call).

Every timed figure comes from ``_timing.compare``: ``--warmup`` untimed calls of each
side (1), then ``--repeat`` timed calls of each (3), interleaved (for the ingest:
PostgreSQL into empty tables, again, SQLite into empty tables, again, and round again;
for the recalculation: a, b, a, b, ...), each figure the median of its calls, printed
with their spread. Data generation and loading are outside the timed calls and shared by
both sides.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import math
import os
import pstats
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _timing
import numpy as np
import polars as pl
import sqlalchemy as sa

from customer_health import Customer, Event, HealthScore, Scorer, sample
from customer_health._gc import collector_paused
from customer_health.models import EVENT_LIST_ADAPTER
from customer_health.storage._tables import EVENT_FIELDS
from customer_health.storage.sqlalchemy import SQLAlchemyStore, create_engine, metadata

TARGET_POSTGRES_INGEST = 250_000
TARGET_SQLITE_INGEST = 100_000
TARGET_RECALCULATE_VS_BASELINE = 5.0
SCHEMA = "ch_bench"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TOLERANCE = 1e-9

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INSTANTS = ("occurred_at", "due_at", "paid_at", "resolved_at")
_FIELDS = EVENT_FIELDS
"""The content columns of ``ch_events`` (as the store's ``EVENT_FIELDS``)."""


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _peak() -> str:
    """This process's resident-set high-water mark."""
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"  # KiB


# -- PostgreSQL: a schema of its own ---------------------------------------------------------


@contextmanager
def bench_schema(url: str) -> Iterator[sa.Engine]:
    """An engine whose connections use the schema ``ch_bench`` only, created empty and
    dropped (with everything in it) at the end."""
    admin = create_engine(url)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            connection.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
        engine = create_engine(url, connect_args={"options": f"-csearch_path={SCHEMA}"})
        try:
            yield engine
        finally:
            engine.dispose()
            with admin.begin() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    finally:
        admin.dispose()


def _empty_tables(engine: sa.Engine) -> None:
    metadata.drop_all(engine)
    metadata.create_all(engine)


# -- 1. bulk ingest --------------------------------------------------------------------------


def ingest_data(n_customers: int, n_events: int, seed: int) -> tuple[list[Customer], list[Event]]:
    """The sample's customers and events as models; events without an ``event_id`` get
    one (``r`` and the row number), so that recording the batch again stores nothing."""
    customer_columns, event_columns = sample.generate_columns(n_customers, n_events, seed=seed)
    ids = event_columns["event_id"]
    missing = ids == ""
    rows = np.flatnonzero(missing).astype(str)
    ids = ids.astype(f"<U{max(ids.dtype.itemsize // 4, 1 + rows.dtype.itemsize // 4)}")
    ids[missing] = np.char.add("r", rows)
    event_columns["event_id"] = ids
    customers = sample.customers_from_columns(customer_columns)
    events = sample.events_from_columns(event_columns)
    return customers, events


def ingest_sides(
    label: str, store: SQLAlchemyStore, customers: list[Customer], events: list[Event]
) -> dict[str, _timing.Side[object]]:
    """The two timed calls on one store: ``record_many(events)`` into empty tables (the
    customers added first, untimed), and the same batch recorded again (all
    duplicates: nothing is stored). Each call's answer is checked."""
    n = len(events)
    stored = [False]

    def empty() -> None:
        _empty_tables(store.engine)
        store.add_customers(customers)
        stored[0] = False

    def first() -> object:
        recorded = store.record_many(events)
        if recorded.recorded + recorded.duplicates != n or recorded.recorded == 0:
            raise SystemExit(f"record_many returned {recorded} for {n:,} events")
        stored[0] = True
        return recorded

    def stored_once() -> None:
        if not stored[0]:
            empty()
            first()

    def again() -> object:
        recorded = store.record_many(events)
        if recorded.recorded != 0 or recorded.duplicates != n:
            raise SystemExit(f"recording the batch again returned {recorded}")
        return recorded

    return {
        f"{label}: record_many": _timing.Side(first, before=empty),
        f"{label}: again": _timing.Side(again, before=stored_once),
    }


def profile_ingest(store: SQLAlchemyStore, customers: list[Customer], events: list[Event]) -> None:
    """A cProfile of one ``record_many(events)`` into empty tables."""
    _empty_tables(store.engine)
    store.add_customers(customers)
    gc.collect()
    profiler = cProfile.Profile()
    profiler.runcall(store.record_many, events)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


def ingest(args: argparse.Namespace) -> list[tuple[str, str, bool]]:
    print(
        f"\n1. bulk ingest: {args.ingest_events:,} events of {args.ingest_customers:,} customers"
        f" (seed {args.seed}) ...",
        flush=True,
    )
    start = time.perf_counter()
    customers, events = ingest_data(args.ingest_customers, args.ingest_events, args.seed)
    print(f"  models built in {time.perf_counter() - start:.1f} s; peak {_peak()}", flush=True)
    n = len(events)
    results: list[tuple[str, str, bool]] = []
    runs: list[tuple[str, int, Callable[[], SQLAlchemyStore]]] = []
    folder = tempfile.TemporaryDirectory(prefix="bench_storage_")
    sqlite_url = f"sqlite:///{Path(folder.name) / 'bench.db'}"
    if args.postgres_url:
        runs.append(("PostgreSQL", TARGET_POSTGRES_INGEST, lambda: SQLAlchemyStore(pg_engine)))
    runs.append(("SQLite file", TARGET_SQLITE_INGEST, lambda: SQLAlchemyStore(sqlite_url)))
    with (
        folder,
        bench_schema(args.postgres_url) if args.postgres_url else _nothing() as pg_engine,
        ExitStack() as stack,
    ):
        sides: dict[str, _timing.Side[object]] = {}
        for label, _, make in runs:
            store = make()
            stack.callback(store.close)
            store.create_all()
            if args.profile:
                print(f"  {label}, cProfile of record_many:", flush=True)
                profile_ingest(store, customers, events)
            sides.update(ingest_sides(label, store, customers, events))
        print(
            f"  {', '.join(label for label, _, _ in runs)}: "
            f"{_timing.describe(args.warmup, args.repeat)} ...",
            flush=True,
        )
        timed = _timing.compare(sides, warmup=args.warmup, runs=args.repeat)
    recorded = timed[f"{runs[0][0]}: record_many"].result
    print(
        f"  {recorded.recorded:,} stored, {recorded.duplicates:,} duplicates in the batch",
        flush=True,
    )
    for label, target, _ in runs:
        first, again = timed[f"{label}: record_many"], timed[f"{label}: again"]
        rate = n / first.median
        print(
            f"  {label}:\n"
            f"    {'record_many:':<24} {first.median:7.3f} s  {rate:>11,.0f} events/s"
            f"  (runs {first.spread()})\n"
            f"    {'again (all duplicates):':<24} {again.median:7.3f} s  "
            f"{n / again.median:>11,.0f} events/s  (runs {again.spread()})",
            flush=True,
        )
        results.append((f"ingest {label} >= {target:,} events/s", f"{rate:,.0f}", rate >= target))
    return results


@contextmanager
def _nothing() -> Iterator[Any]:
    yield None


# -- 2. full recalculation -------------------------------------------------------------------


def _micros(column: np.ndarray[Any, Any]) -> pl.Series:
    """``datetime64[us]`` as integer microseconds since the epoch, null for NaT."""
    values = column.view(np.int64)
    return pl.Series(values).set(pl.Series(np.isnat(column)), None)


def event_frame(columns: dict[str, Any], recorded_at: int) -> pl.DataFrame:
    """The rows of ``ch_events`` the store would hold for these events: instants as
    microseconds, fields only on the kinds that have them (with the models' defaults),
    ``properties`` ``{}`` on custom kinds, one row per ``(customer_id, event_id)``."""
    kind = pl.Series("kind", columns["kind"])
    frame = pl.DataFrame(
        {
            "customer_id": columns["customer_id"],
            "event_id": columns["event_id"],
            "kind": kind,
            "occurred_at": _micros(columns["occurred_at"]),
            "quantity": columns["quantity"],
            "feature": columns["feature"],
            "due_at": _micros(columns["due_at"]),
            "paid_at": _micros(columns["paid_at"]),
            "amount": pl.Series(columns["amount"], nan_to_null=True),
            "priority": columns["priority"],
            "resolved_at": _micros(columns["resolved_at"]),
        }
    )
    k = pl.col("kind")
    custom = ~k.is_in(["api_call", "login", "feature_used", "payment", "support_ticket"])
    frame = frame.select(
        "customer_id",
        event_id=pl.when(pl.col("event_id") != "").then("event_id"),
        kind=k,
        occurred_at="occurred_at",
        quantity=pl.when(k == "api_call").then("quantity"),
        user_id=pl.lit(None, pl.String),
        feature=pl.when(k == "feature_used").then("feature"),
        due_at=pl.when(k == "payment").then("due_at"),
        paid_at=pl.when(k == "payment").then("paid_at"),
        amount=pl.when(k == "payment").then("amount"),
        priority=pl.when(k == "support_ticket").then("priority"),
        resolved_at=pl.when(k == "support_ticket").then("resolved_at"),
        properties=pl.when(custom).then(pl.lit("{}")),
        recorded_at=pl.lit(recorded_at, pl.Int64),
    )
    keyed = pl.col("event_id").is_not_null()
    first = pl.int_range(pl.len()).over("customer_id", "event_id") == 0
    return frame.filter(~keyed | first)


def _copy_csv(raw: Any, table: str, frame: pl.DataFrame, chunk: int = 500_000) -> None:
    """``COPY table`` from ``frame`` as CSV (empty unquoted fields are NULL)."""
    names = ", ".join(frame.columns)
    with raw.cursor() as cursor:
        for offset in range(0, frame.height, chunk):
            buffer = io.BytesIO()
            frame.slice(offset, chunk).write_csv(buffer, include_header=False)
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(buffer.getvalue())


def bulk_load(engine: sa.Engine, n_customers: int, n_events: int, seed: int) -> int:
    """Store the sample's customers and events without ``record_many``; the event rows."""
    customer_columns, event_columns = sample.generate_columns(n_customers, n_events, seed=seed)
    now = (datetime.now(UTC) - _EPOCH) // (datetime(1970, 1, 1, 0, 0, 0, 1, UTC) - _EPOCH)
    customers = pl.DataFrame(
        {
            "id": customer_columns["id"],
            "segment": customer_columns["segment"],
            "created_at": _micros(customer_columns["created_at"]),
            "profile": customer_columns["profile"],
        }
    ).select(
        "id",
        "segment",
        "created_at",
        attributes=pl.concat_str(pl.lit('{"profile":"'), "profile", pl.lit('"}')),
        updated_at=pl.lit(now, pl.Int64),
    )
    events = event_frame(event_columns, now)
    del customer_columns, event_columns
    with engine.begin() as connection:
        raw: Any = connection.connection.driver_connection
        _copy_csv(raw, "ch_customers", customers)
        _copy_csv(raw, "ch_events", events)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE ch_events")
        connection.exec_driver_sql("ANALYZE ch_customers")
    return events.height


def baseline(
    engine: sa.Engine, scorer: Scorer, as_of: datetime, keep: list[object] | None = None
) -> tuple[list[HealthScore], float, float]:
    """(b): customers and events out of the database as models, then ``score_many``.

    Returns the scores, the seconds to load and the seconds to score. The models go to
    ``keep`` if given, so that the caller frees them outside the timed call."""
    start = time.perf_counter()
    instants = {
        name: f"timestamptz 'epoch' + {name} * interval '1 microsecond'" for name in _INSTANTS
    }
    selected = ", ".join(
        f"{instants[name]} AS {name}"
        if name in instants
        else ("properties::jsonb AS properties" if name == "properties" else name)
        for name in _FIELDS
    )
    customers: list[Customer] = []
    events: list[Event] = []
    with engine.connect() as connection, connection.begin(), collector_paused():
        raw: Any = connection.connection.driver_connection
        with raw.cursor() as cursor:
            cursor.execute("SET LOCAL TimeZone = 'UTC'")
            cursor.execute(
                "SELECT id, segment, name, timestamptz 'epoch' + created_at * interval "
                "'1 microsecond', attributes::jsonb FROM ch_customers ORDER BY id"
            )
            for cid, segment, name, created_at, attributes in cursor:
                customers.append(
                    Customer(
                        id=cid,
                        segment=segment,
                        name=name,
                        created_at=created_at,
                        attributes=attributes,
                    )
                )
        with raw.cursor(name="ch_bench_events") as cursor:
            cursor.itersize = 100_000
            cursor.execute(f"SELECT {selected} FROM ch_events ORDER BY seq")
            while rows := cursor.fetchmany(500_000):
                records = [
                    {k: v for k, v in zip(_FIELDS, row, strict=True) if v is not None}
                    for row in rows
                ]
                events.extend(EVENT_LIST_ADAPTER.validate_python(records))
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    scores = scorer.score_many(customers, events, as_of=as_of)
    scored = time.perf_counter() - start
    if keep is not None:
        keep += [customers, events]
    return list(scores), loaded, scored


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def check_same(stored: Sequence[HealthScore], loaded: Sequence[HealthScore]) -> None:
    """Fail loudly unless both give every customer the same score, to 1e-9."""
    mine = {s.customer_id: s for s in stored}
    theirs = {s.customer_id: s for s in loaded}
    if mine.keys() != theirs.keys():
        raise SystemExit(f"scored {len(mine):,} customers in SQL, {len(theirs):,} in Python")
    for cid, a in mine.items():
        b = theirs[cid]
        same = (
            a.status == b.status
            and _close(a.score, b.score)
            and _close(a.coverage, b.coverage)
            and len(a.factors) == len(b.factors)
            and all(
                f.name == g.name
                and _close(f.score, g.score)
                and _close(f.value, g.value)
                and _close(f.expected, g.expected)
                and _close(f.contribution, g.contribution)
                for f, g in zip(a.factors, b.factors, strict=True)
            )
        )
        if not same:
            raise SystemExit(f"customer {cid!r} differs:\n{a.explain()}\n--\n{b.explain()}")


def recalculate(args: argparse.Namespace) -> list[tuple[str, str, bool]]:
    as_of = sample.DEFAULT_AS_OF
    print(
        f"\n2. full recalculation on PostgreSQL: {args.customers:,} customers, "
        f"{args.events:,} events (seed {args.seed})",
        flush=True,
    )
    with bench_schema(args.postgres_url) as engine:
        metadata.create_all(engine)
        start = time.perf_counter()
        rows = bulk_load(engine, args.customers, args.events, args.seed)
        print(
            f"  bulk load (COPY, ANALYZE): {rows:,} event rows in "
            f"{time.perf_counter() - start:.1f} s; peak {_peak()}",
            flush=True,
        )
        store = SQLAlchemyStore(engine)
        scorer = store.scorer
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(store.recalculate, as_of=as_of)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        parts: list[tuple[float, float]] = []
        models: list[object] = []

        def ours() -> list[HealthScore]:
            return list(store.recalculate(as_of=as_of))

        def theirs() -> list[HealthScore]:
            scores, loaded, scored = baseline(engine, scorer, as_of, keep=models)
            parts.append((loaded, scored))
            return scores

        def free() -> None:
            """Before each call (untimed): free the last baseline's models, ten million
            objects, so that no call pays for that nor runs while they are held."""
            models.clear()

        def progress(phase: str, name: str, seconds: float) -> None:
            print(f"    {phase:<11} {name}: {seconds:8.3f} s; peak {_peak()}", flush=True)

        a_label, b_label = "(a) recalculate (saved)", "(b) baseline"
        print(f"  {_timing.describe(args.warmup, args.repeat)}:", flush=True)
        timed = _timing.compare(
            {a_label: _timing.Side(ours, before=free), b_label: _timing.Side(theirs, before=free)},
            warmup=args.warmup,
            runs=args.repeat,
            progress=progress,
        )
        a, b = timed[a_label], timed[b_label]
        timed_parts = parts[args.warmup :]
        loaded = _timing.median([load for load, _ in timed_parts])
        scored = _timing.median([score for _, score in timed_parts])
        print(f"  {a_label}: {a.median:8.3f} s (runs {a.runs_text()})", flush=True)
        print(
            f"  {b_label}: {b.median:8.3f} s (runs {b.runs_text()}; medians: load as models "
            f"{loaded:.3f} s, score_many {scored:.3f} s)",
            flush=True,
        )
        check_same(a.result, b.result)
        print(f"  the {len(a.result):,} scores agree to {TOLERANCE:g}", flush=True)
    ratio = b.median / a.median
    print(f"  ratio (b)/(a), medians: {ratio:.1f}", flush=True)
    label = f"recalculate >= {TARGET_RECALCULATE_VS_BASELINE:g}x faster than baseline"
    return [(label, f"{ratio:.1f}x", ratio >= TARGET_RECALCULATE_VS_BASELINE)]


# -- main ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ingest-customers", type=int, default=10_000)
    parser.add_argument("--ingest-events", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000, help="for the recalculation")
    parser.add_argument("--events", type=int, default=10_000_000, help="for the recalculation")
    parser.add_argument("--seed", type=int, default=0)
    _timing.add_arguments(parser)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("CUSTOMER_HEALTH_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite ingest only")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-recalculate", action="store_true")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile record_many and recalculate"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 if a target is not met"
    )
    args = parser.parse_args(argv)
    if args.no_postgres:
        args.postgres_url = None
    print(
        f"python {sys.version.split()[0]}, sqlalchemy {sa.__version__}, {os.cpu_count()} cores",
        flush=True,
    )
    results: list[tuple[str, str, bool]] = []
    if not args.skip_ingest:
        results += ingest(args)
    if not args.skip_recalculate and args.postgres_url:
        results += recalculate(args)
    print("\ntargets:")
    for label, figure, ok in results:
        print(f"  {label:<52} {figure:>12}  {_verdict(ok)}")
    met = all(ok for _, _, ok in results)
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    raise SystemExit(main())
