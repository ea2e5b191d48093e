"""Benchmark: ``score_frame`` on Spark (local mode, one and two cores) beside polars.

Run it (it needs the ``spark`` and ``sample`` extras and Java 17)::

    python tests/benchmarks/bench_spark.py                          # 10M events
    python tests/benchmarks/bench_spark.py --events 200000 --customers 2000   # a smoke run

It builds the data as ``bench_frames.py`` does (:func:`customer_health.sample.generate_columns`,
nulls where a field is absent) and writes it to Parquet, with instants as UTC
timestamps, so that Spark reads it as it would read a table. Then, in one run:

(a) ``customer_health.score_frame`` on the polars frames (in memory), best of ``--repeat``;
(b) ``customer_health.score_frame`` on the Spark DataFrames read from the Parquet files,
    with ``local[1]`` and then ``local[2]`` (a new session each), best of ``--repeat``
    after one warm-up run. The result is computed by then (``score_frame`` returns it
    checkpointed); the time is from the call to its return. Session start-up is not
    counted.

Throughput is event rows in per second. Before the figures are printed, each Spark
result is checked against (a): every column equal to 1e-9, statuses exactly; a
difference is an error (exit 1).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

import customer_health

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_frames import build

AS_OF = datetime(2026, 6, 30)
TOLERANCE = 1e-9


def _best(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


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
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cores", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", customer_health.CustomersLeftOutWarning)
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")

    customers, events = build(args.customers, args.events, args.seed)
    n = events.height
    print(f"{args.customers:,} customers, {n:,} events, as_of {AS_OF:%Y-%m-%d}")
    seconds, expected = _best(
        lambda: customer_health.score_frame(customers, events, as_of=AS_OF), args.repeat
    )
    print(f"polars score_frame:        {seconds:8.2f} s  {n / seconds:>14,.0f} events/s")

    utc = pl.col(pl.Datetime).dt.replace_time_zone("UTC")
    with tempfile.TemporaryDirectory(prefix="customer-health-bench-spark-") as tmp:
        people_path, events_path = Path(tmp) / "customers.parquet", Path(tmp) / "events.parquet"
        customers.with_columns(utc).write_parquet(people_path)
        events.with_columns(utc).write_parquet(events_path, row_group_size=1_000_000)
        for cores in args.cores:
            spark = _session(cores)
            people = spark.read.parquet(str(people_path))
            rows = spark.read.parquet(str(events_path))

            def run(people: Any = people, rows: Any = rows) -> Any:
                return customer_health.score_frame(people, rows, as_of=AS_OF)

            run()  # warm-up: the JVM's JIT, Python workers
            seconds, result = _best(run, args.repeat)
            got = pl.from_arrow(result.toArrow())
            assert isinstance(got, pl.DataFrame)
            _compare(f"Spark local[{cores}]", got, expected)
            print(
                f"Spark local[{cores}] score_frame: {seconds:8.2f} s  "
                f"{n / seconds:>14,.0f} events/s  (equal to polars to {TOLERANCE:g})"
            )
            spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
