"""Benchmark: ``backtest`` at 12 monthly ``as_of`` dates against one ``score_frame`` call.

Run it (it needs the ``backtest`` extra)::

    python tests/benchmarks/bench_backtest.py                 # 100,000 customers, 10M events
    python tests/benchmarks/bench_backtest.py --customers 10000 --events 1000000
    python tests/benchmarks/bench_backtest.py --check         # exit 1 unless the target is met

The data comes from :func:`customer_health.sample.simulate_churn` (15 simulated months),
its events sampled down to ``--events`` rows. It times, in one run and alike
(``_timing.compare``), a single ``score_frame`` call at the last ``as_of`` and
``backtest`` at the last 12 ``as_of`` dates (horizon 30 days): ``--warmup`` untimed
calls of each (1), then ``--repeat`` timed calls of each (3), interleaved (score_frame,
backtest, score_frame, backtest, ...). It prints each median with its runs, and the
ratio of the medians. The target (the issue's): the backtest takes no more than 15
times the single call; ``--check`` exits 1 otherwise.

The first calls (the warm-ups, in a process that had made neither call before) are
printed too, with their ratio, for reference: the benchmark once divided by a cold
``score_frame`` call, which made the ratio look better than the warm one.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import _timing

import customer_health
from customer_health import sample

TARGET_RATIO = 15.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    _timing.add_arguments(parser)
    parser.add_argument("--check", action="store_true", help="exit 1 unless the target is met")
    args = parser.parse_args()
    started = time.perf_counter()
    sim = sample.simulate_churn(args.customers, months=15, seed=0)
    events = sim.events
    if events.height > args.events:
        events = events.sample(args.events, seed=0)
    print(
        f"data: {sim.customers.height:,} customers, {events.height:,} events "
        f"({time.perf_counter() - started:.1f} s to build)",
        flush=True,
    )
    dates = sim.as_of_dates[-12:]
    warnings.simplefilter("ignore", customer_health.CustomersLeftOutWarning)
    single_label, whole_label = "score_frame, one as_of", f"backtest, {len(dates)} as_of"
    timed = _timing.compare(
        {
            single_label: lambda: customer_health.score_frame(
                sim.customers, events, as_of=dates[-1]
            ),
            whole_label: lambda: customer_health.backtest(
                sim.customers,
                events,
                sim.outcomes,
                as_of=dates,
                horizon=30,
                observed_until=sim.end,
            ),
        },
        warmup=args.warmup,
        runs=args.repeat,
    )
    single, whole = timed[single_label], timed[whole_label]
    ratio = whole.median / single.median
    print(f"{_timing.describe(args.warmup, args.repeat)}:")
    print(f"  {single_label + ':':<24} {single.median:8.2f} s  (runs {single.spread(2)})")
    print(
        f"  {whole_label + ':':<24} {whole.median:8.2f} s  (runs {whole.spread(2)})  "
        f"{ratio:.1f}x; target <= {TARGET_RATIO:g}x: "
        f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}"
    )
    if args.warmup:
        print(
            f"  first calls (warm-ups, not in the ratio): score_frame {single.first:.2f} s, "
            f"backtest {whole.first:.2f} s ({whole.first / single.first:.1f}x)"
        )
    result = whole.result
    print(f"AUC {result.auc:.3f} over {result.customers:,} scores")
    return 1 if args.check and ratio > TARGET_RATIO else 0


if __name__ == "__main__":
    sys.exit(main())
