"""Benchmark: ``score_frame`` on polars and pandas against a hand-written polars query.

Run it (it needs the ``sample`` extra, numpy, and polars and pandas)::

    python tests/benchmarks/bench_frames.py              # 100,000 customers, 10M events
    python tests/benchmarks/bench_frames.py --customers 500 --events 20000   # CI smoke
    python tests/benchmarks/bench_frames.py --memory     # peak RSS too (subprocesses)
    python tests/benchmarks/bench_frames.py --profile    # where (a) spends its time
    python tests/benchmarks/bench_frames.py --large      # (a) alone, 1M customers, 50M events
    python tests/benchmarks/bench_frames.py --check      # exit 1 unless the targets are met
    python tests/benchmarks/bench_frames.py --text       # text instants, at 1M and 10M events

It builds the data with :func:`customer_health.sample.generate_columns` and holds it
as polars DataFrames: customers (``id``, ``segment``, ``created_at``) and events (the
event columns, with nulls where a field is absent; no ``properties``, so the custom
kinds' events come without any). Then it times, in one run, the three paths alike
(``_timing.compare``): ``--warmup`` untimed runs of each (1), then ``--repeat`` timed
runs of each (3), interleaved (a, b, c, a, b, c, ...), each figure the median of its
runs, printed with their spread:

(a) ``score_frame(customers, events, as_of=...)`` of model v1 (``Scorer(model="v1")``,
    the model the query computes) on polars input, end to end (checks, normalisation,
    de-duplication, the five factors, scores);
(b) a hand-written polars query computing the same five factor inputs per customer
    (calls, distinct login days, invoices with late days and credit, distinct
    features, ticket load), de-duplicating by ``event_id``, and nothing else: no
    checks, scores or statuses. Before timing, its inputs are checked against the
    ``*_value`` columns of (a) to 1e-9;
(c) the same as (a) on pandas input (converted once, before timing).

Throughput is event rows in per second. The targets (the issue's), over the medians:
(a) >= 10,000,000 events/s, (a) no more than 1.5 times the time of (b), (c) no more
than twice the time of (a) and, with ``--memory``, the peak memory (a) adds to the
data no more than twice what (b) adds.

``--memory`` runs each path in its own child process, started while this process is
still small: a child builds the data and writes it to Parquet, then a child reads it
and stops (the baseline), one reads it and runs (a) once, one (b). A child's peak is
its ``ru_maxrss`` (what ``resource.getrusage(RUSAGE_CHILDREN)`` reports), taken per
child with ``os.wait4`` since ``RUSAGE_CHILDREN`` is the maximum over all children so
far; what a path adds is its peak less the baseline's. Both sides of that ratio are
measured alike: one child each, one call each, in a fresh process. The children also
report the first call's time in a fresh process (cold: the allocator takes fresh pages
from the OS), which is slower than the warm runs' median; it is shown, not compared.

``--text`` times instead, at 1M events (10,000 customers) and then at ``--events``
(10M; ``--customers``), (a) against (d): the same ``score_frame`` on polars input whose
instant columns (``occurred_at``, ``due_at``, ``paid_at``, ``resolved_at``) are ISO 8601
text as ``sample`` writes them (a random mix of ``Z``, an offset of one of the sample's
zones and naive; six digits of fraction unless it is zero), converted once before
timing; the results are checked to agree first. Target (the issue's): (d) no more
than twice the time of (a), at each size.

``--large`` does the same for (a) alone at 1,000,000 customers and 50,000,000 events;
each child is stopped if its resident set goes beyond 24 GiB (or what the machine has
available, less 1 GiB).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import _timing
import numpy as np
import polars as pl

import customer_health
from customer_health import sample

TARGET_EVENTS_PER_SECOND = 10_000_000
TARGET_VS_QUERY = 1.5
TARGET_PANDAS_VS_POLARS = 2.0
TARGET_MEMORY_VS_QUERY = 2.0
TARGET_TEXT_VS_DATETIME = 2.0
V1 = customer_health.Scorer(model="v1")
"""The model the hand-written query (b) computes: (a), (c) and the memory, profile and
large runs score with it, so that the comparison is of the same work."""
TEXT_SIZES = ((10_000, 1_000_000),)
"""The sizes ``--text`` runs before the one of --customers and --events (those smaller)."""
INSTANT_COLUMNS = ("occurred_at", "due_at", "paid_at", "resolved_at")
LARGE = (1_000_000, 50_000_000)
LARGE_MEMORY_LIMIT = 24 * 2**30
"""--large must finish within this (the child is stopped if its RSS goes beyond)."""
MEMORY_MARGIN = 2**30
"""What the children leave to the rest of the machine (see :func:`_memory_limit`)."""

_DAY_US = 86_400_000_000
_PRIORITY = {"low": 0.5, "normal": 1.0, "high": 2.0, "urgent": 3.0}
_VALUES = {
    "api_usage_value": "calls",
    "login_frequency_value": "days",
    "feature_adoption_value": "features",
    "support_tickets_value": "load",
}


# -- data ------------------------------------------------------------------------------------


def build(n_customers: int, n_events: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Customers and events of :func:`sample.generate_columns` as polars DataFrames, with
    nulls where the sample writes ``""``, NaT, a 0 quantity off API calls or NaN."""
    customer_columns, event_columns = sample.generate_columns(n_customers, n_events, seed=seed)
    customers = pl.DataFrame(
        {name: customer_columns[name] for name in ("id", "segment", "created_at")}
    )
    del customer_columns
    series = []
    for name in sample.EVENT_COLUMNS:  # one column at a time, freeing numpy's as we go
        column = pl.Series(name, event_columns.pop(name), nan_to_null=True)
        if name in ("event_id", "feature", "priority"):
            column = pl.select(pl.when(column != "").then(column)).to_series().alias(name)
        series.append(column)
    events = pl.DataFrame(series)
    del series
    api_call = pl.col("kind") == "api_call"
    events = events.with_columns(quantity=pl.when(api_call).then(pl.col("quantity")))
    return customers, events


def as_text(events: pl.DataFrame, seed: int) -> pl.DataFrame:
    """``events`` with its instant columns as ISO 8601 text, written as ``sample`` writes
    them: per value, ``Z`` (40%), an offset of one of the sample's zones (30%) or naive
    (30%); the fraction as six digits, left out when it is zero."""
    from customer_health.sample._common import ZONES

    minutes = pl.Series([int(zone.utcoffset(None).total_seconds()) // 60 for zone in ZONES])
    texts = []
    for index, name in enumerate(INSTANT_COLUMNS):
        draw = pl.Series(np.random.default_rng(seed + index).random(events.height))
        zone = pl.Series(
            np.random.default_rng(seed + 10 + index).integers(0, len(ZONES), events.height)
        )
        shift = minutes.gather(zone)
        frame = pl.DataFrame({"at": events.get_column(name), "draw": draw, "shift": shift})
        frame = frame.with_columns(local=pl.col("at") + pl.duration(minutes=pl.col("shift")))
        whole = "%Y-%m-%dT%H:%M:%S"
        body = pl.when(pl.col("at").dt.microsecond() == 0)
        utc_text = body.then(pl.col("at").dt.strftime(whole)).otherwise(
            pl.col("at").dt.strftime(whole + "%.6f")
        )
        local_text = body.then(pl.col("local").dt.strftime(whole)).otherwise(
            pl.col("local").dt.strftime(whole + "%.6f")
        )
        sign = pl.when(pl.col("shift") < 0).then(pl.lit("-")).otherwise(pl.lit("+"))
        offset = pl.format(
            "{}{}:{}",
            sign,
            (pl.col("shift").abs() // 60).cast(pl.String).str.zfill(2),
            (pl.col("shift").abs() % 60).cast(pl.String).str.zfill(2),
        )
        text = (
            pl.when(pl.col("draw") < 0.4)
            .then(utc_text + "Z")
            .when(pl.col("draw") < 0.7)
            .then(local_text + offset)
            .otherwise(utc_text)
        )
        texts.append(frame.select(text.alias(name)).to_series())
    return events.with_columns(texts)


def time_text(
    customers: pl.DataFrame,
    events: pl.DataFrame,
    as_of: datetime,
    repeat: int,
    warmup: int,
    model: str | None = None,
) -> float:
    """(a) against (d), the same data with text instants, timed alike; the ratio (d)/(a).
    ``model``: the built-in model to score with (default: the default one)."""
    text_events = as_text(events, seed=1)
    score_frame = customer_health.Scorer(model=model).score_frame
    scored = score_frame(customers, events, as_of=as_of)
    check_same(scored, score_frame(customers, text_events, as_of=as_of))
    print(f"  text and datetime instants score alike (model {model or 'default'})", flush=True)
    timed = _timing.compare(
        {
            "(a) score_frame, datetimes": lambda: score_frame(customers, events, as_of=as_of),
            "(d) score_frame, text instants": lambda: score_frame(
                customers, text_events, as_of=as_of
            ),
        },
        warmup=warmup,
        runs=repeat,
    )
    n = events.height
    print(f"{n:,} events, {customers.height:,} customers, {_timing.describe(warmup, repeat)}:")
    for label, timing in timed.items():
        print(
            f"  {label:<32} {timing.median:8.3f} s  {n / timing.median:>13,.0f} events/s"
            f"  (runs {timing.spread()})"
        )
    datetimes, text = (timing.median for timing in timed.values())
    ratio = text / datetimes
    print(
        f"  (d)/(a) time: {ratio:.2f}  target (<= {TARGET_TEXT_VS_DATETIME:g}): "
        f"{_verdict(ratio <= TARGET_TEXT_VS_DATETIME)}\n",
        flush=True,
    )
    return ratio


# -- (b) the hand-written query --------------------------------------------------------------


def _first_copies(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Identical copies sharing (customer_id, event_id) counted once; rows without an
    event_id all kept. Copies are identical, so doing this per kind after the window
    filter gives what de-duplicating all events first gives."""
    keyed = frame.filter(pl.col("event_id").is_not_null()).unique(
        ["customer_id", "event_id"], keep="any"
    )
    return pl.concat([frame.filter(pl.col("event_id").is_null()), keyed])


def query_inputs(customers: pl.DataFrame, events: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """The five factors' inputs per customer, by hand: each kind filtered and aggregated
    alone, then joined onto the customers. ``as_of`` is naive UTC.

    Distinct counts (login days, features) need no de-duplication; sums do.
    """
    frame = events.lazy()
    at = pl.col("occurred_at")
    kind = pl.col("kind")
    known = at <= as_of

    def recent(name: str, days: int) -> pl.LazyFrame:
        return frame.filter(kind == name, at > as_of - timedelta(days=days), known)

    calls = (
        _first_copies(recent("api_call", 30).select("customer_id", "event_id", "quantity"))
        .group_by("customer_id")
        .agg(calls=pl.col("quantity").fill_null(1).sum().cast(pl.Float64))
    )
    days = (
        recent("login", 30)
        .select("customer_id", day=at.dt.date())
        .unique()
        .group_by("customer_id")
        .agg(days=pl.len().cast(pl.Float64))
    )
    features = (
        recent("feature_used", 30)
        .select("customer_id", "feature")
        .unique()
        .group_by("customer_id")
        .agg(features=pl.len().cast(pl.Float64))
    )
    due = pl.col("due_at")
    paid = pl.col("paid_at")
    settled = pl.when(paid.is_not_null() & (paid <= as_of)).then(paid).otherwise(pl.lit(as_of))
    late_us = (settled - due).dt.total_microseconds()
    late = pl.when(late_us > 0).then(late_us / _DAY_US).otherwise(0.0)
    credit = 1.0 - pl.col("late_days") / 30.0
    invoices = (
        _first_copies(
            frame.filter(
                kind == "payment", known, due > as_of - timedelta(days=180), due <= as_of
            ).select("customer_id", "event_id", "due_at", "paid_at")
        )
        .with_columns(late_days=late)
        .with_columns(credit=pl.when(credit > 0).then(credit).otherwise(0.0))
        .group_by("customer_id")
        .agg(
            invoices=pl.len().cast(pl.Float64),
            late_days=pl.col("late_days").sum(),
            credit=pl.col("credit").sum(),
        )
    )
    resolved = pl.col("resolved_at")
    weight = pl.col("priority").fill_null("normal").replace_strict(_PRIORITY)
    unresolved = resolved.is_null() | (resolved > as_of)
    tickets = (
        _first_copies(
            recent("support_ticket", 90).select(
                "customer_id", "event_id", "priority", "resolved_at"
            )
        )
        .group_by("customer_id")
        .agg(load=pl.when(unresolved).then(weight * 1.5).otherwise(weight).sum())
    )
    table = customers.lazy().select(customer_id="id")
    for part in (calls, days, invoices, features, tickets):
        table = table.join(part, on="customer_id", how="left")
    filled = ["calls", "days", "invoices", "late_days", "credit", "features", "load"]
    return table.with_columns(pl.col(filled).fill_null(0.0)).collect()


def check_agreement(scored: pl.DataFrame, inputs: pl.DataFrame) -> None:
    """Fail loudly unless the query's inputs equal the ``*_value`` columns of (a)."""
    if scored.height != inputs.height:
        raise SystemExit(f"(a) has {scored.height} rows, the query {inputs.height}")
    both = scored.join(inputs, on="customer_id", how="left")
    mean_late = pl.when(pl.col("invoices") > 0).then(pl.col("late_days") / pl.col("invoices"))
    pairs = [*_VALUES.items(), ("payment_timeliness_value", "mean_late")]
    both = both.with_columns(mean_late=mean_late)
    for got, want in pairs:
        differ = (pl.col(got).is_null() != pl.col(want).is_null()) | (
            (pl.col(got) - pl.col(want)).abs() > 1e-9
        )
        wrong = both.filter(differ)
        if wrong.height:
            shown = wrong.select("customer_id", got, want).head(5).to_dicts()
            raise SystemExit(f"{wrong.height} customers differ on {got}: {shown}")


def check_same(scored: pl.DataFrame, other: pl.DataFrame) -> None:
    """Fail loudly unless two results of ``score_frame`` agree: same rows, statuses and
    nulls, numbers within 1e-9 (not bit for bit: polars' parallel sums may add in a
    different order from one run to the next)."""
    if scored.columns != other.columns or scored.height != other.height:
        raise SystemExit(f"results differ in shape: {scored.shape} != {other.shape}")
    for name in scored.columns:
        mine, theirs = scored.get_column(name), other.get_column(name)
        if mine.dtype.is_float():
            differ = (mine.is_null() != theirs.is_null()) | ((mine - theirs).abs() > 1e-9)
        else:
            differ = mine.ne_missing(theirs)
        if differ.any():
            raise SystemExit(f"score_frame on pandas input differs on {name!r}")


# -- timing ----------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def time_paths(
    customers: pl.DataFrame, events: pl.DataFrame, as_of: datetime, repeat: int, warmup: int = 1
) -> dict[str, _timing.Timing]:
    """Check that the paths agree, then time them alike: ``warmup`` untimed runs of
    each, then ``repeat`` timed runs of each, interleaved."""
    naive = as_of.replace(tzinfo=None)
    scored = V1.score_frame(customers, events, as_of=as_of)
    check_agreement(scored, query_inputs(customers, events, naive))
    pandas_customers, pandas_events = customers.to_pandas(), events.to_pandas()
    from_pandas = V1.score_frame(pandas_customers, pandas_events, as_of=as_of)
    check_same(scored, pl.from_pandas(from_pandas))
    print("  the query's inputs equal (a)'s values; pandas and polars input score alike")
    return _timing.compare(
        {
            "(a) score_frame, polars": lambda: V1.score_frame(customers, events, as_of=as_of),
            "(b) hand-written query": lambda: query_inputs(customers, events, naive),
            "(c) score_frame, pandas": lambda: V1.score_frame(
                pandas_customers, pandas_events, as_of=as_of
            ),
        },
        warmup=warmup,
        runs=repeat,
    )


# -- profile ---------------------------------------------------------------------------------


@contextmanager
def _phases() -> Iterator[dict[tuple[str, ...], list[float]]]:
    """Time every module-level function of the frame engine
    (``customer_health.engines.frames``; nested calls under their callers) while the
    block runs; yields {call path: [calls, seconds]}, in the order the paths were first
    entered."""
    from customer_health.engines import frames
    from customer_health.engines.frames import _checks, _combine, _factors, _polars, _read

    modules = (_polars, _read, _checks, _factors, _combine)
    package = frames.__name__ + "."
    stack: list[str] = []
    totals: dict[tuple[str, ...], list[float]] = {}
    # Every function of the package, and each module that holds a reference to it (the
    # modules import each other's functions by name, so each reference is patched).
    originals = {
        name: value
        for module in modules
        for name, value in vars(module).items()
        if callable(value)
        and getattr(value, "__module__", "").startswith(package)
        and not isinstance(value, type)
    }

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            stack.append(name)
            entry = totals.setdefault(tuple(stack), [0, 0.0])
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                entry[0] += 1
                entry[1] += time.perf_counter() - start
                stack.pop()

        return wrapper

    wrapped = {name: timed(name, function) for name, function in originals.items()}
    held = [(module, name) for module in modules for name in vars(module) if name in originals]
    for module, name in held:
        setattr(module, name, wrapped[name])
    try:
        yield totals
    finally:
        for module, name in held:
            setattr(module, name, originals[name])


@contextmanager
def _collects_by_line() -> Iterator[dict[str, list[float]]]:
    """Time every polars query run (eager DataFrame methods are lazy queries collected
    on the spot in polars 2; a ``collect_all`` counts as one) by the line of
    ``customer_health`` that ran it; yields {"file:line function: source": [queries,
    seconds]}."""
    import linecache

    from polars.lazyframe import engine

    package = str(Path(customer_health.__file__).parent)
    originals = {name: getattr(engine._LocalEngine, name) for name in ("collect", "collect_all")}
    totals: dict[str, list[float]] = {}
    depth = [0]

    def where() -> str:
        frame = sys._getframe(2)
        while frame is not None and not frame.f_code.co_filename.startswith(package):
            frame = frame.f_back  # type: ignore[assignment]
        if frame is None:
            return "(outside customer_health)"
        code = frame.f_code
        name = os.path.relpath(code.co_filename, package)
        text = linecache.getline(code.co_filename, frame.f_lineno).strip()
        return f"{name}:{frame.f_lineno} {code.co_name}: {text[:60]}"

    def timed(original: Callable[..., Any]) -> Callable[..., Any]:
        def collect(self: Any, *args: Any, **kwargs: Any) -> Any:
            if depth[0]:
                return original(self, *args, **kwargs)
            key = where()
            depth[0] += 1
            start = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                depth[0] -= 1
                entry = totals.setdefault(key, [0, 0.0])
                entry[0] += 1
                entry[1] += time.perf_counter() - start

        return collect

    for name, original in originals.items():  # collect_all runs several queries at once
        setattr(engine._LocalEngine, name, timed(original))
    try:
        yield totals
    finally:
        for name, original in originals.items():
            setattr(engine._LocalEngine, name, original)


def profile(customers: pl.DataFrame, events: pl.DataFrame, as_of: datetime) -> None:
    """Where (a) spends its time: by function of the frame engine, on the first call in
    the process (cold: the allocator takes fresh pages from the OS) and on the next one
    (warm); by line of ``customer_health`` that runs a polars query; a cProfile."""
    runs = []
    for _ in range(2):
        gc.collect()
        with _phases() as totals:
            start = time.perf_counter()
            V1.score_frame(customers, events, as_of=as_of)
            runs.append((totals, time.perf_counter() - start))
    (cold, cold_s), (warm, warm_s) = runs
    print(f"\n(a) by function, inclusive seconds (cold call {cold_s:.3f} s, warm {warm_s:.3f} s):")
    print(f"  {'':<46} {'cold':>8} {'warm':>8} {'warm %':>7}")
    for key, (calls, seconds) in cold.items():
        again = warm.get(key, [0, 0.0])[1]
        label = "  " * (len(key) - 1) + key[-1] + (f" x{calls:.0f}" if calls > 1 else "")
        print(f"  {label:<46} {seconds:8.3f} {again:8.3f} {100 * again / warm_s:6.1f}%")

    gc.collect()
    with _collects_by_line() as lines:
        start = time.perf_counter()
        V1.score_frame(customers, events, as_of=as_of)
        whole = time.perf_counter() - start
    in_queries = sum(seconds for _, seconds in lines.values())
    print(
        f"\n(a) polars queries by the line that runs them ({whole:.3f} s in all, "
        f"{in_queries:.3f} s in {sum(n for n, _ in lines.values()):.0f} queries):"
    )
    ranked = sorted(lines.items(), key=lambda item: -item[1][1])
    for line, (calls, seconds) in ranked[:25]:
        print(f"  {seconds:7.3f} s {100 * seconds / whole:5.1f}% x{calls:<3.0f} {line}")

    gc.collect()
    profiler = cProfile.Profile()
    profiler.runcall(V1.score_frame, customers, events, as_of=as_of)
    print("\n(a) cProfile, by own time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


# -- memory ----------------------------------------------------------------------------------
#
# A child's ru_maxrss starts from its parent's: fork copies the parent's resident
# pages, vfork shares its mm, and exec keeps the larger of the two high-water marks.
# So the children are started while the parent is still small (before it builds the
# data), and a "write" child builds the data and writes it to Parquet for the others.
# Parquet, not Arrow IPC: reading IPC holds the file and the frame at once, a
# transient peak that would hide what the paths add.


def _child(role: str, data: Path, args: argparse.Namespace) -> None:
    """In a child process: ``write`` the data, or read it and run a path once (``data``:
    nothing), printing the path's seconds."""
    as_of = sample.DEFAULT_AS_OF
    if role == "write":
        customers, events = build(args.customers, args.events, args.seed)
        customers.write_parquet(data / "customers.parquet", compression="lz4")
        events.write_parquet(data / "events.parquet", compression="lz4")
        return
    customers = pl.read_parquet(data / "customers.parquet")
    events = pl.read_parquet(data / "events.parquet")
    start = time.perf_counter()
    if role == "a":
        V1.score_frame(customers, events, as_of=as_of)
    elif role == "b":
        query_inputs(customers, events, as_of.replace(tzinfo=None))
    print(f"seconds={time.perf_counter() - start}", flush=True)


class _Run:
    """How a child went: its peak RSS (bytes), the path's seconds, how it ended."""

    def __init__(self, peak: int, seconds: float | None, ended: str) -> None:
        self.peak, self.seconds, self.ended = peak, seconds, ended


def _run_child(role: str, data: Path, args: argparse.Namespace, limit: int) -> _Run:
    """Run a child in ``role``, stopped as soon as its RSS goes beyond ``limit``."""
    command = [sys.executable, __file__, "--child", role, "--data", str(data)]
    command += ["--customers", str(args.customers), "--events", str(args.events)]
    command += ["--seed", str(args.seed)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    stopped = threading.Event()
    threading.Thread(target=_watch, args=(child.pid, limit, stopped), daemon=True).start()
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)  # this child's rusage alone
    child.returncode = os.waitstatus_to_exitcode(status)
    child.stdout.close()
    seconds = None
    for line in output.splitlines():
        if line.startswith("seconds="):
            seconds = float(line.removeprefix("seconds="))
    ended = "stopped over the limit" if stopped.is_set() else f"exit {child.returncode}"
    return _Run(usage.ru_maxrss * 1024, seconds, ended)  # ru_maxrss is in KiB on Linux


def _watch(pid: int, limit: int, stopped: threading.Event) -> None:
    """Kill ``pid`` if its resident set goes beyond ``limit`` bytes."""
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            text = status.read_text()
        except OSError:
            return
        for line in text.splitlines():
            if line.startswith("VmRSS:") and int(line.split()[1]) * 1024 > limit:
                stopped.set()
                os.kill(pid, 9)
                return
        time.sleep(0.05)


def _memory_limit() -> int:
    """24 GiB, or what the machine has available less a margin if that is less: a child
    is stopped before the kernel's OOM killer picks a process of its own choosing."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            available = int(line.split()[1]) * 1024
            return min(LARGE_MEMORY_LIMIT, available - MEMORY_MARGIN)
    return LARGE_MEMORY_LIMIT  # pragma: no cover - not Linux


def _size(size: float) -> str:
    return f"{size / 2**30:.2f} GiB" if abs(size) >= 2**30 else f"{size / 2**20:.0f} MiB"


def _children(args: argparse.Namespace, roles: Sequence[str]) -> dict[str, _Run]:
    """Write the data in a child, then run a child per role; stop at the first failure."""
    runs: dict[str, _Run] = {}
    limit = _memory_limit()
    print(f"  (children are stopped beyond {_size(limit)})")
    with tempfile.TemporaryDirectory(prefix="bench_frames_") as folder:
        for role in ("write", *roles):
            start = time.perf_counter()
            runs[role] = run = _run_child(role, Path(folder), args, limit)
            print(
                f"  child {role:<5} {_size(run.peak):>10} peak, {time.perf_counter() - start:6.1f}"
                f" s, {run.ended}",
                flush=True,
            )
            if run.ended != "exit 0":
                break
    return runs


def memory(args: argparse.Namespace) -> bool:
    """Peak RSS of (a) and (b), each in its own child, over a data-only child."""
    print("peak memory: one child process per path, each reads the data and runs it once")
    runs = _children(args, ("data", "a", "b"))
    if any(run.ended != "exit 0" for run in runs.values()):
        raise SystemExit("a memory child failed")
    base = runs["data"].peak
    for role, label in (("data", "data only"), ("a", "(a) score_frame"), ("b", "(b) query")):
        run = runs[role]
        first = "" if run.seconds is None or role == "data" else f"; first call {run.seconds:.3f} s"
        print(f"  {label:<18} {_size(run.peak):>10}  (+{_size(run.peak - base):>10}{first})")
    added_a, added_b = runs["a"].peak - base, runs["b"].peak - base
    whole = runs["a"].peak / runs["b"].peak
    if added_b < 2**20:
        print(f"  ratio (a)/(b): not measurable at this size (whole peaks: {whole:.2f})")
        return True
    ratio = added_a / added_b
    print(f"  ratio (a)/(b), memory added over the data: {ratio:.2f}  (whole peaks: {whole:.2f})")
    met = ratio <= TARGET_MEMORY_VS_QUERY
    print(f"  target ((a) <= {TARGET_MEMORY_VS_QUERY:g}x (b)): {_verdict(met)}\n", flush=True)
    return met


def large(args: argparse.Namespace) -> int:
    """(a) alone at 1M customers and 50M events, in a child stopped beyond 24 GiB."""
    args.customers, args.events = LARGE
    print(f"--large: {args.customers:,} customers and {args.events:,} events", flush=True)
    runs = _children(args, ("data", "a"))
    if any(run.ended != "exit 0" for run in runs.values()):
        print("  (a) did not finish within the limit")
        return 1
    seconds = runs["a"].seconds or float("nan")
    print(
        f"  (a) score_frame, polars, first call: {seconds:.3f} s, "
        f"{args.events / seconds:,.0f} events/s; peak {_size(runs['a'].peak)} "
        f"(+{_size(runs['a'].peak - runs['data'].peak)} over the data)"
    )
    return 0


# -- main ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    _timing.add_arguments(parser)
    parser.add_argument(
        "--memory", action="store_true", help="also measure peak RSS of (a) and (b)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="print where (a) spends its time, not timings"
    )
    parser.add_argument(
        "--large",
        action="store_true",
        help=f"run (a) alone on {LARGE[0]:,} customers and {LARGE[1]:,} events",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 if a target is not met"
    )
    parser.add_argument(
        "--text",
        action="store_true",
        help="time score_frame with text instants against datetimes, at 1M events and at --events",
    )
    parser.add_argument(
        "--model", help="with --text: the built-in model to score with (default: the default)"
    )
    parser.add_argument("--child", choices=["write", "data", "a", "b"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    as_of = sample.DEFAULT_AS_OF

    if args.child:
        _child(args.child, args.data, args)
        return 0
    print(
        f"python {sys.version.split()[0]}, polars {pl.__version__}, {os.cpu_count()} cores",
        flush=True,
    )
    if args.large:
        return large(args)
    if args.text:
        ratios = []
        smaller = [size for size in TEXT_SIZES if size[1] < args.events]
        for n_customers, n_events in (*smaller, (args.customers, args.events)):
            print(f"building {n_customers:,} customers and {n_events:,} events ...", flush=True)
            customers, events = build(n_customers, n_events, args.seed)
            ratios.append(time_text(customers, events, as_of, args.repeat, args.warmup, args.model))
            del customers, events
        met = all(ratio <= TARGET_TEXT_VS_DATETIME for ratio in ratios)
        return 1 if args.check and not met else 0
    met = memory(args) if args.memory else True

    print(
        f"building {args.customers:,} customers and {args.events:,} events (seed {args.seed}) ...",
        flush=True,
    )
    start = time.perf_counter()
    customers, events = build(args.customers, args.events, args.seed)
    print(f"  built in {time.perf_counter() - start:.1f} s", flush=True)
    if args.profile:
        profile(customers, events, as_of)
        return 0

    timed = time_paths(customers, events, as_of, args.repeat, args.warmup)
    n = events.height
    print(
        f"\n{n:,} events, {customers.height:,} customers, "
        f"{_timing.describe(args.warmup, args.repeat)}:"
    )
    for label, timing in timed.items():
        print(
            f"  {label:<26} {timing.median:8.3f} s  {n / timing.median:>13,.0f} events/s"
            f"  (runs {timing.spread()})"
        )
    frame_s, query_s, pandas_s = (timing.median for timing in timed.values())
    checks = [
        (
            f"(a) >= {TARGET_EVENTS_PER_SECOND:,} events/s",
            f"{n / frame_s:,.0f}",
            n / frame_s >= TARGET_EVENTS_PER_SECOND,
        ),
        (
            f"(a)/(b) time <= {TARGET_VS_QUERY:g}",
            f"{frame_s / query_s:.2f}",
            frame_s <= TARGET_VS_QUERY * query_s,
        ),
        (
            f"(c)/(a) time <= {TARGET_PANDAS_VS_POLARS:g}",
            f"{pandas_s / frame_s:.2f}",
            pandas_s <= TARGET_PANDAS_VS_POLARS * frame_s,
        ),
    ]
    print("targets:")
    for label, figure, ok in checks:
        print(f"  {label:<32} {figure:>14}  {_verdict(ok)}")
    met = met and all(ok for _, _, ok in checks)
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    raise SystemExit(main())
