"""Benchmark: ``backtest`` at 12 monthly ``as_of`` dates against one ``score_frame`` call.

Run it (it needs the ``backtest`` extra)::

    python tests/benchmarks/bench_backtest.py                 # 100,000 customers, 10M events
    python tests/benchmarks/bench_backtest.py --customers 10000 --events 1000000

The data comes from :func:`customer_health.sample.simulate_churn` (15 simulated months),
its events sampled down to ``--events`` rows. It times, in one run, a single
``score_frame`` call at the last ``as_of`` and ``backtest`` at the last 12 ``as_of``
dates (horizon 30 days), and prints both and their ratio. The target (the issue's): the
backtest takes no more than 15 times the single call; ``--check`` exits 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import customer_health
from customer_health import sample


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--check", action="store_true", help="exit 1 unless the target is met")
    args = parser.parse_args()
    started = time.perf_counter()
    sim = sample.simulate_churn(args.customers, months=15, seed=0)
    events = sim.events
    if events.height > args.events:
        events = events.sample(args.events, seed=0)
    print(
        f"data: {sim.customers.height:,} customers, {events.height:,} events "
        f"({time.perf_counter() - started:.1f} s to build)"
    )
    dates = sim.as_of_dates[-12:]
    warnings.simplefilter("ignore", customer_health.CustomersLeftOutWarning)
    started = time.perf_counter()
    customer_health.score_frame(sim.customers, events, as_of=dates[-1])
    single = time.perf_counter() - started
    started = time.perf_counter()
    result = customer_health.backtest(
        sim.customers, events, sim.outcomes, as_of=dates, horizon=30, observed_until=sim.end
    )
    whole = time.perf_counter() - started
    ratio = whole / single
    print(f"score_frame, one as_of:  {single:8.2f} s")
    print(f"backtest, {len(dates)} as_of:     {whole:8.2f} s  ({ratio:.1f}x; target <= 15x)")
    print(f"AUC {result.auc:.3f} over {result.customers:,} scores")
    return 1 if args.check and ratio > 15 else 0


if __name__ == "__main__":
    sys.exit(main())
