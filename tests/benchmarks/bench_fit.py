"""Benchmark: ``fit`` at 12 monthly ``as_of`` dates against one ``score_frame`` call.

Run it (it needs the ``backtest`` extra)::

    python tests/benchmarks/bench_fit.py                 # 100,000 customers, 10M events
    python tests/benchmarks/bench_fit.py --customers 10000 --events 1000000
    python tests/benchmarks/bench_fit.py --check         # exit 1 unless the target is met

The data comes from :func:`customer_health.sample.simulate_churn` (15 simulated months,
a quarter of the churners fading out), its events sampled down to ``--events`` rows.
It times, in one run and alike (``_timing.compare``), a single ``score_frame`` call at
the last ``as_of`` and ``fit`` over the last 12 ``as_of`` dates (the first 8 to train,
the last 4 to validate, horizon 30 days, 1,000 bootstrap resamples): ``--warmup``
untimed calls of each (1), then ``--repeat`` timed calls of each (3), interleaved. It
prints each median with its runs and the ratio of the medians. The target (issue 18):
``fit`` takes at most 20 times the single call, bootstrap included; ``--check`` exits 1
otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import _timing

import customer_health
from customer_health import sample

TARGET_RATIO = 20.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--resamples", type=int, default=1000)
    _timing.add_arguments(parser)
    parser.add_argument("--check", action="store_true", help="exit 1 unless the target is met")
    args = parser.parse_args()
    started = time.perf_counter()
    sim = sample.simulate_churn(args.customers, months=15, seed=0, fading=0.25)
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
    single_label, whole_label = "score_frame, one as_of", f"fit, {len(dates)} as_of"
    timed = _timing.compare(
        {
            single_label: lambda: customer_health.score_frame(
                sim.customers, events, as_of=dates[-1]
            ),
            whole_label: lambda: customer_health.fit(
                sim.customers,
                events,
                sim.outcomes,
                train=dates[:8],
                validate=dates[8:],
                horizon=30,
                observed_until=sim.end,
                resamples=args.resamples,
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
    found = whole.result
    print(f"  {len(found.candidates)} candidate factors, {len(found.weights)} kept")
    print(f"  verdict: {found.verdict()}")
    return 1 if args.check and ratio > TARGET_RATIO else 0


if __name__ == "__main__":
    sys.exit(main())
