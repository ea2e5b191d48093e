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
    the time is from the call to its return.

Throughput is event rows in per second. Before the figures are printed, each Spark
result (its warm-up's) is checked against (a)'s: every column equal to 1e-9, statuses
exactly; a difference is an error (exit 1).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

import customer_health

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _timing
from bench_frames import build

AS_OF = datetime(2026, 6, 30)
TOLERANCE = 1e-9


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
        return customer_health.score_frame(customers, events, as_of=AS_OF)  # type: ignore[no-any-return]

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
                return customer_health.score_frame(people, rows, as_of=AS_OF)

            timed = _timing.compare(
                {"polars": polars, label: run}, warmup=args.warmup, runs=args.repeat
            )
            expected = timed["polars"].result
            got = pl.from_arrow(timed[label].result.toArrow())
            assert isinstance(got, pl.DataFrame)
            _compare(label, got, expected)
            for name, timing in (("polars", timed["polars"]), (label, timed[label])):
                print(
                    f"{name + ' score_frame:':<32} {timing.median:8.2f} s  "
                    f"{n / timing.median:>14,.0f} events/s  (runs {timing.spread(2)})"
                )
            ratio = timed[label].median / timed["polars"].median
            print(f"  {label} / polars: {ratio:.1f}x the time (equal to {TOLERANCE:g})")
            spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
