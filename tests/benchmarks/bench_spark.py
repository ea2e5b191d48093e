"""Benchmark: ``score_frame`` on Spark (local mode, one and two cores) beside polars.

Run it (it needs the ``spark`` and ``sample`` extras and Java 17)::

    python tests/benchmarks/bench_spark.py                          # 10M events
    python tests/benchmarks/bench_spark.py --events 200000 --customers 2000   # a smoke run

It builds the data as ``bench_frames.py`` does (:func:`customer_health.sample.generate_columns`,
nulls where a field is absent) and writes it to Parquet, with instants as UTC
timestamps, so that Spark reads it as it would read a table. Then, for each of
``--cores`` (``local[1]``, then ``local[2]``: a new Spark session each; its start-up is
not counted), it times two paths alike (``_timing.compare``): ``--warmup`` untimed runs
of each (1: the JVM's JIT, Python workers), then ``--repeat`` timed runs of each (3),
interleaved (a, b, a, b, ...), each figure the median of its runs, printed with their
spread:

(a) ``customer_health.score_frame`` on the polars frames (in memory), timed again
    beside each Spark session, so that both sides of each comparison run while the
    same JVM is up;
(b) ``customer_health.score_frame`` on the Spark DataFrames read from the Parquet
    files. The result is computed by then (``score_frame`` returns it checkpointed);
    the time is from the call to its return;
(c) a hand-written PySpark query of model v1's factor values on the same DataFrames
    (:func:`hand_written`): events de-duplicated by ``event_id`` once, then each
    factor's inputs from its own kind's events alone (split per kind), joined to the
    customers once, checkpointed as (b) is; no checks, no scores (as the hand-written
    queries of ``bench_frames.py`` and ``bench_sql.py``). Issue 16's target: (b)
    within 1.5 times (c) on ``local[2]``.

Throughput is event rows in per second. Before the figures are printed, each Spark
result (its warm-up's) is checked against (a)'s: every column equal to 1e-9, statuses
exactly, and (c)'s values against (a)'s ``*_value`` columns; a difference is an error
(exit 1).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

import customer_health

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _timing
from bench_frames import build
from bench_sql import check_values

AS_OF = datetime(2026, 6, 30)
TOLERANCE = 1e-9
V1 = customer_health.Scorer(model="v1")
"""Model v1, the model the hand-written queries compute: every side scores with it."""


def _session(cores: int) -> Any:
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(f"customer-health-bench-{cores}")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(max(2, 2 * cores)))
        .config("spark.driver.memory", "6g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def _compare(label: str, got: pl.DataFrame, expected: pl.DataFrame) -> None:
    got = got.sort("customer_id")
    expected = expected.sort("customer_id")
    if got.height != expected.height or got.columns != expected.columns:
        raise SystemExit(f"{label}: {got.shape} {got.columns} != {expected.shape}")
    for name in expected.columns:
        if expected.schema[name] == pl.Float64:
            both = pl.DataFrame({"a": got[name], "b": expected[name]})
            nulls = both.filter(pl.col("a").is_null() != pl.col("b").is_null()).height
            worst = both.select((pl.col("a") - pl.col("b")).abs().max()).item() or 0.0
            if nulls or worst > TOLERANCE:
                raise SystemExit(f"{label}: column {name} differs (max {worst}, nulls {nulls})")
        elif not got[name].equals(expected[name]):
            raise SystemExit(f"{label}: column {name} differs")


def hand_written(people: Any, events: Any, as_of: datetime) -> Any:
    """Model v1's factor values by a hand-written PySpark query (split per kind, one
    join), computed and held (a local checkpoint), as (b)'s result is."""
    from pyspark.sql import functions as F

    at = F.lit(as_of.replace(tzinfo=UTC))  # an instant: no session time zone involved
    day_us = 86_400_000_000

    def since(days: int) -> Any:
        return F.lit((as_of - timedelta(days=days)).replace(tzinfo=UTC))

    ev = events.filter(F.col("occurred_at") <= at)
    keyed = ev.filter(F.col("event_id").isNotNull()).dropDuplicates(["customer_id", "event_id"])
    ev = ev.filter(F.col("event_id").isNull()).unionByName(keyed)
    recent = F.col("occurred_at") > since(30)

    def of(kind: str, *conditions: Any) -> Any:
        rows = ev.filter(F.col("kind") == kind)
        for condition in conditions:
            rows = rows.filter(condition)
        return rows.groupBy("customer_id")

    calls = of("api_call", recent).agg(F.sum(F.coalesce("quantity", F.lit(1))).alias("calls"))
    day = F.floor(F.unix_micros("occurred_at") / day_us)
    logins = of("login", recent).agg(F.countDistinct(day).alias("days"))
    features = of("feature_used", recent).agg(F.countDistinct("feature").alias("features"))
    weight = (
        F.when(F.col("priority") == "low", 0.5)
        .when(F.col("priority") == "high", 2.0)
        .when(F.col("priority") == "urgent", 3.0)
        .otherwise(1.0)
    )
    unresolved = F.col("resolved_at").isNull() | (F.col("resolved_at") > at)
    load = weight * F.when(unresolved, 1.5).otherwise(1.0)
    tickets = of("support_ticket", F.col("occurred_at") > since(90)).agg(F.sum(load).alias("load"))
    settled = F.when(F.col("paid_at").isNotNull() & (F.col("paid_at") <= at), F.col("paid_at"))
    late = F.unix_micros(F.coalesce(settled, at)) - F.unix_micros("due_at")
    payments = of("payment", F.col("due_at") > since(180), F.col("due_at") <= at).agg(
        (F.sum(F.greatest(late, F.lit(0))) / day_us / F.count(F.lit(1))).alias("late")
    )

    existing = people.filter(F.col("created_at").isNull() | (F.col("created_at") <= at))
    table = existing.select(F.col("id").alias("customer_id"))
    for part in (calls, logins, features, tickets, payments):
        table = table.join(part, "customer_id", "left")
    values = table.select(
        "customer_id",
        F.coalesce("calls", F.lit(0)).cast("double").alias("api_usage_value"),
        F.coalesce("days", F.lit(0)).cast("double").alias("login_frequency_value"),
        F.coalesce("features", F.lit(0)).cast("double").alias("feature_adoption_value"),
        F.coalesce("load", F.lit(0.0)).cast("double").alias("support_tickets_value"),
        F.col("late").cast("double").alias("payment_timeliness_value"),
    )
    return values.localCheckpoint(eager=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    _timing.add_arguments(parser)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cores", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", customer_health.CustomersLeftOutWarning)
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")

    customers, events = build(args.customers, args.events, args.seed)
    n = events.height
    print(f"{args.customers:,} customers, {n:,} events, as_of {AS_OF:%Y-%m-%d}", flush=True)
    print(f"each pair: {_timing.describe(args.warmup, args.repeat)}", flush=True)

    def polars() -> pl.DataFrame:
        return customer_health.score_frame(customers, events, as_of=AS_OF, scorer=V1)  # type: ignore[no-any-return]

    utc = pl.col(pl.Datetime).dt.replace_time_zone("UTC")
    with tempfile.TemporaryDirectory(prefix="customer-health-bench-spark-") as tmp:
        people_path, events_path = Path(tmp) / "customers.parquet", Path(tmp) / "events.parquet"
        customers.with_columns(utc).write_parquet(people_path)
        events.with_columns(utc).write_parquet(events_path, row_group_size=1_000_000)
        for cores in args.cores:
            spark = _session(cores)
            people = spark.read.parquet(str(people_path))
            rows = spark.read.parquet(str(events_path))
            label = f"Spark local[{cores}]"

            def run(people: Any = people, rows: Any = rows) -> Any:
                return customer_health.score_frame(people, rows, as_of=AS_OF, scorer=V1)

            def hand(people: Any = people, rows: Any = rows) -> Any:
                return hand_written(people, rows, AS_OF)

            hand_label = f"{label} hand-written"
            timed = _timing.compare(
                {"polars": polars, label: run, hand_label: hand},
                warmup=args.warmup,
                runs=args.repeat,
            )
            expected = timed["polars"].result
            got = pl.from_arrow(timed[label].result.toArrow())
            assert isinstance(got, pl.DataFrame)
            _compare(label, got, expected)
            by_hand = pl.from_arrow(timed[hand_label].result.toArrow())
            assert isinstance(by_hand, pl.DataFrame)
            check_values(expected, by_hand, hand_label)
            for name, timing in timed.items():
                kind = "" if name == hand_label else " score_frame"
                print(
                    f"{name + kind + ':':<32} {timing.median:8.2f} s  "
                    f"{n / timing.median:>14,.0f} events/s  (runs {timing.spread(2)})"
                )
            ratio = timed[label].median / timed["polars"].median
            print(f"  {label} / polars: {ratio:.1f}x the time (equal to {TOLERANCE:g})")
            ratio = timed[label].median / timed[hand_label].median
            target = " (target <= 1.5)" if cores == 2 else ""
            print(f"  {label} / hand-written: {ratio:.2f}x the time{target}")
            spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
