"""What checking event kinds costs: score_many (dicts and models) and score_frame
(polars) with the check (the default) against unknown_kinds="keep", which skips it, on
the same sample portfolio, interleaved (medians; tests/benchmarks/_timing.py).

    .venv/bin/python -m tests.benchmarks.bench_event_kinds --customers 2000
"""

from __future__ import annotations

import argparse

from customer_health import Scorer, sample

from ._timing import add_arguments, compare, describe, median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=2000)
    add_arguments(parser)
    args = parser.parse_args()
    data = sample.generate(args.customers, as_of="2026-06-30", seed=1)
    dicts = [event.model_dump(exclude_none=True) for event in data.events]
    checking, keeping = Scorer(entry_points=False), Scorer(entry_points=False, unknown_kinds="keep")
    import json

    import polars as pl

    people = pl.DataFrame([c.model_dump(exclude={"attributes", "name"}) for c in data.customers])
    events = pl.DataFrame(
        [
            {**e, "properties": json.dumps(e["properties"]) if e.get("properties") else None}
            for e in dicts
        ],
        infer_schema_length=None,
    )
    print(f"{len(data.events):,} events, {describe(args.warmup, args.repeat)}")
    for label, call in (
        (
            "score_many, models",
            lambda s: s.score_many(data.customers, data.events, as_of=data.as_of),
        ),
        ("score_many, dicts", lambda s: s.score_many(data.customers, dicts, as_of=data.as_of)),
        ("score_frame, polars", lambda s: s.score_frame(people, events, as_of=data.as_of)),
    ):
        found = compare(
            {"checked": lambda c=call: c(checking), "kept": lambda c=call: c(keeping)},
            warmup=args.warmup,
            runs=args.repeat,
        )
        checked, kept = median(found["checked"].runs), median(found["kept"].runs)
        print(f"{label:22} checked {checked:.3f} s, kept {kept:.3f} s: ratio {checked / kept:.3f}")


if __name__ == "__main__":
    main()
