"""Benchmark: ``Scorer().score_many`` against a plain-Python loop over the same events.

Run it (it needs the ``sample`` extra, numpy)::

    python tests/benchmarks/bench_score_many.py                 # 10,000 customers, 1M events
    python tests/benchmarks/bench_score_many.py --customers 500 --events 20000   # CI smoke
    python tests/benchmarks/bench_score_many.py --profile models    # cProfile of path (a)
    python tests/benchmarks/bench_score_many.py --check   # exit 1 unless the target is met

It builds the events with :func:`customer_health.sample.generate_columns` and times,
in one run, the three paths alike (``_timing.compare``): ``--warmup`` untimed runs of
each (1), then ``--repeat`` timed runs of each (3), interleaved (a, b, c, a, b, c, ...),
each figure the median of its runs, printed with their spread:

(a) ``score_many`` from already-built event models;
(b) ``score_many`` from plain dicts (naive UTC datetimes, as from a database driver),
    so validation included;
(c) a plain-Python loop over the same dicts that computes the five per-customer
    aggregates of model v1 (``--model`` is v1 by default, so that every side does the
    same work), de-duplicating by ``event_id`` too, and nothing
    else: no scores, explanations or models;
(d) ``score_many`` from JSON-decoded dicts (issue 15, point 4): the dicts of (b)
    written as JSON Lines with ISO 8601 text instants in the forms ``sample`` writes
    (``Z``, an offset in another zone, naive), then ``json.loads`` of each line, as
    the command line and a service would get them. The ratio (d)/(a) is printed.
(e) ``score_many`` from event models built again first, with no check and no parsing:
    ``object.__new__`` and the four attributes pydantic sets, from the models' own
    values. No validator that makes the models can cost less, so (a)/(e) bounds what
    (d)/(a) can reach by a faster validation; the bound is printed.

Throughput is events in per second. Before timing, the loop's aggregates are checked
against the values the scorer reports, so all three compute the same aggregates.
The target (the issue's): (a) >= 1,000,000 events/s and (a) no slower than (c), both
over the medians.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import pstats
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import _timing

from customer_health import HealthScore, Scorer, sample

TARGET_EVENTS_PER_SECOND = 1_000_000
PRIORITY = {"low": 0.5, "normal": 1.0, "high": 2.0, "urgent": 3.0}

Aggregates = dict[str, list[Any]]
"""customer id -> [calls, login days, (invoices, late days), features, load]."""


def baseline(
    customer_ids: Sequence[str], events: Sequence[Mapping[str, Any]], as_of: datetime
) -> Aggregates:
    """The five aggregates of the default model in one plain loop over dict events.

    ``as_of`` and the events' instants are naive UTC datetimes.
    """
    since30 = as_of - timedelta(days=30)
    since90 = as_of - timedelta(days=90)
    since180 = as_of - timedelta(days=180)
    day = 86_400_000_000
    tick = timedelta(microseconds=1)
    calls = dict.fromkeys(customer_ids, 0)
    logins: dict[str, set[Any]] = {cid: set() for cid in customer_ids}
    features: dict[str, set[str]] = {cid: set() for cid in customer_ids}
    invoices = dict.fromkeys(customer_ids, 0)
    late = dict.fromkeys(customer_ids, 0.0)
    load = dict.fromkeys(customer_ids, 0.0)
    seen: set[tuple[str, str]] = set()
    for event in events:
        event_id = event.get("event_id")
        cid = event["customer_id"]
        if event_id is not None:
            key = (cid, event_id)
            if key in seen:
                continue
            seen.add(key)
        at = event["occurred_at"]
        if at > as_of:
            continue
        kind = event["kind"]
        if kind == "api_call":
            if at > since30:
                calls[cid] += event.get("quantity") or 1
        elif kind == "login":
            if at > since30:
                logins[cid].add(at.date())
        elif kind == "feature_used":
            if at > since30:
                features[cid].add(event["feature"])
        elif kind == "payment":
            due = event["due_at"]
            if since180 < due <= as_of:
                paid = event.get("paid_at")
                settled = paid if paid is not None and paid <= as_of else as_of
                invoices[cid] += 1
                late[cid] += max(0.0, ((settled - due) // tick) / day)
        elif kind == "support_ticket" and at > since90:
            weight = PRIORITY[event.get("priority") or "normal"]
            resolved = event.get("resolved_at")
            if resolved is None or resolved > as_of:
                weight *= 1.5
            load[cid] += weight
    return {
        cid: [
            calls[cid],
            len(logins[cid]),
            (invoices[cid], late[cid]),
            len(features[cid]),
            load[cid],
        ]
        for cid in customer_ids
    }


_ZONES = (ZoneInfo("America/Los_Angeles"), ZoneInfo("Asia/Kolkata"), ZoneInfo("Pacific/Chatham"))


def _text(value: datetime, index: int) -> str:
    """A naive UTC instant as ISO 8601 text, in one of the forms ``sample`` writes."""
    aware = value.replace(tzinfo=UTC)
    form = index % 4
    if form == 0:
        return aware.isoformat().replace("+00:00", "Z")
    if form == 1:
        return aware.astimezone(_ZONES[index % 3]).isoformat()
    if form == 2:
        return value.isoformat()
    return aware.isoformat()


def json_dicts(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The events as ``json.loads`` gives them back from JSON Lines (instants as text)."""
    lines = [
        json.dumps(
            {
                name: _text(value, index) if isinstance(value, datetime) else value
                for name, value in event.items()
            }
        )
        for index, event in enumerate(events)
    ]
    return [json.loads(line) for line in lines]


def rebuilt(models: Sequence[Any]) -> list[Any]:
    """The models made again from their values as cheaply as Python can make a pydantic
    model (what ``model_construct`` sets, without its work), the collector paused as
    while ``score_many`` validates: the least any validation that builds them costs."""
    new, put = object.__new__, object.__setattr__
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        made = []
        for model in models:
            copy = new(type(model))
            put(copy, "__dict__", dict(model.__dict__))
            put(copy, "__pydantic_fields_set__", set(model.__pydantic_fields_set__))
            put(copy, "__pydantic_extra__", None)
            put(copy, "__pydantic_private__", None)
            made.append(copy)
        return made
    finally:
        if was_enabled:
            gc.enable()


def check_agreement(scores: Sequence[HealthScore], aggregates: Aggregates) -> None:
    """Fail loudly unless the loop's aggregates equal the values the scorer reports."""
    for health in scores:
        calls, days, (invoices, late), features, load = aggregates[health.customer_id]
        payment = health.factor("payment_timeliness").value
        expected_payment = None if invoices == 0 else late / invoices
        pairs = [
            ("api_usage", health.factor("api_usage").value, calls),
            ("login_frequency", health.factor("login_frequency").value, days),
            ("feature_adoption", health.factor("feature_adoption").value, features),
            ("support_tickets", health.factor("support_tickets").value, load),
        ]
        for name, got, want in pairs:
            if got is None or abs(got - want) > 1e-9:
                raise SystemExit(f"{health.customer_id} {name}: scorer {got!r} != loop {want!r}")
        if (payment is None) != (expected_payment is None) or (
            payment is not None
            and expected_payment is not None
            and abs(payment - expected_payment) > 1e-9
        ):
            raise SystemExit(
                f"{health.customer_id} payment: scorer {payment!r} != loop {expected_payment!r}"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--model",
        default="v1",
        help="the built-in model to score with (default: v1, whose five aggregates the loop "
        "(c) computes)",
    )
    _timing.add_arguments(parser)
    parser.add_argument(
        "--profile",
        choices=["models", "dicts", "json"],
        help="print a cProfile of path (a) models, (b) dicts or (d) JSON dicts instead of timing",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 if the target is not met"
    )
    args = parser.parse_args(argv)

    print(
        f"python {sys.version.split()[0]}; building {args.customers:,} customers "
        f"and {args.events:,} events (seed {args.seed}) ...",
        flush=True,
    )
    start = time.perf_counter()
    customer_columns, event_columns = sample.generate_columns(
        args.customers, args.events, seed=args.seed
    )
    customers = sample.customers_from_columns(customer_columns)
    dicts = sample.event_dicts_from_columns(event_columns)
    models = sample.events_from_columns(event_columns)
    decoded = json_dicts(dicts)
    del event_columns
    as_of = sample.DEFAULT_AS_OF
    ids = [c.id for c in customers]
    print(f"  built in {time.perf_counter() - start:.1f} s", flush=True)
    scorer = Scorer(model=args.model)

    if args.profile:
        events: Sequence[Any] = {"models": models, "dicts": dicts, "json": decoded}[args.profile]
        profiler = cProfile.Profile()
        profiler.runcall(scorer.score_many, customers, events, as_of=as_of)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return 0

    scores = scorer.score_many(customers, models, as_of=as_of)
    naive_as_of = as_of.replace(tzinfo=None)
    check_agreement(scores, baseline(ids, dicts, naive_as_of))
    if scorer.score_many(customers, dicts, as_of=as_of) != scores:
        raise SystemExit("scores from dicts differ from scores from models")
    if scorer.score_many(customers, decoded, as_of=as_of) != scores:
        raise SystemExit("scores from JSON dicts differ from scores from models")
    if rebuilt(models) != list(models):
        raise SystemExit("models built again differ from the models")
    print("  the loop's aggregates equal the scorer's; dicts, JSON dicts and models score alike")

    n = len(models)
    timed = _timing.compare(
        {
            "(a) score_many, models": lambda: scorer.score_many(customers, models, as_of=as_of),
            "(b) score_many, dicts": lambda: scorer.score_many(customers, dicts, as_of=as_of),
            "(c) plain loop, dicts": lambda: baseline(ids, dicts, naive_as_of),
            "(d) score_many, JSON": lambda: scorer.score_many(customers, decoded, as_of=as_of),
            "(e) score_many, rebuilt": lambda: scorer.score_many(
                customers, rebuilt(models), as_of=as_of
            ),
        },
        warmup=args.warmup,
        runs=args.repeat,
    )
    print(
        f"\n{n:,} events, {len(customers):,} customers, model {scorer.config.model_version}, "
        f"{_timing.describe(args.warmup, args.repeat)}:"
    )
    for label, timing in timed.items():
        print(
            f"  {label:<24} {timing.median:7.3f} s  {n / timing.median:>12,.0f} events/s"
            f"  (runs {timing.spread()})"
        )
    models_s, dicts_s, loop_s, json_s, rebuilt_s = (timing.median for timing in timed.values())
    print(f"  ratio models/baseline (throughput): {loop_s / models_s:.2f}")
    print(f"  ratio dicts/baseline (throughput):  {loop_s / dicts_s:.2f}")
    print(f"  ratio JSON dicts/models (throughput): {models_s / json_s:.2f} (target >= 0.5)")
    print(
        f"  ratio rebuilt models/models (throughput): {models_s / rebuilt_s:.2f} "
        "(the most JSON dicts/models can reach by validating faster)"
    )
    met = n / models_s >= TARGET_EVENTS_PER_SECOND and models_s <= loop_s
    print(
        f"  target (models >= {TARGET_EVENTS_PER_SECOND:,} events/s and no slower than the loop): "
        f"{'met' if met else 'NOT met'}"
    )
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    raise SystemExit(main())
