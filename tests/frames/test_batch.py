"""A customer's numbers do not depend on which other rows share the frame (issue 15, point 5)."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customer_health import Scorer, score_frame
from customer_health._time import DAY_US
from customer_health.engines.frames._compile import divided

from ..declared import declared_scorer
from ..strategies import Portfolio, portfolios
from .conftest import make_backend
from .test_exact import EVENT_TIMES, FACTORS, customer_frame_rows, event_frame_rows

pl = pytest.importorskip("polars")

LAYOUT = {
    "times": dict.fromkeys((*EVENT_TIMES, "created_at"), "datetime"),
    "drop_when_null": False,
    "properties": True,
    "attributes": False,
}
WEIGHTS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {name: st.sampled_from([0.1, 0.15, 0.2, 0.3, 0.35, 0.7, 1.1]) for name in FACTORS}
    ),
)
"""The default weights (which sum to exactly 1) or others (whose sum's reciprocal is
inexact, as the coverage's divisor)."""


def test_divided_is_python_division_in_every_row() -> None:
    """``divided`` gives Python's quotient in every row of a frame of one row or of many,
    where polars' ``/`` by a scalar is off by one unit in the last place for some rows."""
    numerators = [k * 7_919_113 for k in range(1, 2_000)] + [None]
    frame = pl.DataFrame({"n": numerators}, schema={"n": pl.Int64})
    want = [None if n is None else n / DAY_US for n in numerators]
    plain = frame.select(pl.col("n") / DAY_US).to_series().to_list()
    assert plain != want  # what the helper is for (polars multiplies by 1 / DAY_US)
    assert frame.select(divided(pl.col("n"), DAY_US)).to_series().to_list() == want
    alone = [frame.slice(i, 1).select(divided(pl.col("n"), DAY_US)).item() for i in range(9)]
    assert alone == want[:9]
    floats = pl.Series([0.85, 0.7, 1 / 3, None, 2.5e-7])
    assert divided(floats, 1.1).to_list() == [None if x is None else x / 1.1 for x in floats]


def _scored(
    scorer: Scorer, people: list[dict[str, Any]], events: list[dict[str, Any]], as_of: datetime
) -> Any:
    """``score_frame`` of polars frames of ``people`` and ``events`` (naive UTC times)."""
    backend = make_backend("polars")
    customer_rows, customer_schema = customer_frame_rows(people, LAYOUT)
    event_rows, event_schema = event_frame_rows(events, LAYOUT)
    return score_frame(
        backend.to_frame(customer_rows, customer_schema),
        backend.to_frame(event_rows, event_schema),
        as_of=as_of,
        scorer=scorer,
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(portfolio=portfolios(max_customers=4, max_events=8), weights=WEIGHTS)
def test_a_customer_scores_alike_alone_and_in_a_batch(
    portfolio: Portfolio, weights: dict[str, float] | None
) -> None:
    """Each customer's row of a batch equals, bit for bit (``==`` on every float), its row
    when it is scored alone: score, coverage, and each factor's score and value (the mean
    late days of payment_timeliness; the usage scores of young customers, which read the
    tenure in days). Alone, every column is one row, which polars keeps as a scalar; in a
    batch, a factor no row has data for makes its flags scalars too."""
    as_of = portfolio.as_of
    people = [
        p for p in portfolio.customers if p.get("created_at") is None or p["created_at"] <= as_of
    ]
    ids = {p["id"] for p in people}
    # (the strategies' custom kind is left out: the built-in factors ignore it)
    events = [e for e in portfolio.events if e["customer_id"] in ids and e["kind"] != "nps"]
    scorer = Scorer(weights=weights)
    batch = {row["customer_id"]: row for row in _scored(scorer, people, events, as_of).to_dicts()}
    for person in people:
        mine = [e for e in events if e["customer_id"] == person["id"]]
        (alone,) = _scored(scorer, [person], mine, as_of).to_dicts()
        together = batch[person["id"]]
        for name, value in alone.items():
            other = together[name]
            same = value == other or (
                isinstance(value, float) and math.isnan(value) and math.isnan(other)
            )
            assert same, (person["id"], name, value, other)


def test_a_declared_sum_of_floats_is_added_in_the_rows_order() -> None:
    """A declared factor's sum of floats (``MeanAnswer``'s total of a property) is, for
    each customer, the same bit for bit in a batch of thousands of shuffled rows, alone,
    and on the object path, which adds the customer's events one after the other.
    polars' own sum adds in blocks and per thread: it gave other last bits in each case."""
    rng = random.Random(15)
    as_of = datetime(2026, 6, 30)
    people = [{"id": f"c{n:04d}", "segment": "smb"} for n in range(1_500)]
    events = [
        {
            "customer_id": person["id"],
            "kind": "nps_response",
            "occurred_at": as_of - timedelta(minutes=rng.randrange(1, 80_000)),
            "properties": json.dumps({"score": round(rng.uniform(0, 10), 6)}),
        }
        for person in people
        for _ in range(rng.randrange(1, 120))
    ]
    rng.shuffle(events)
    scorer = declared_scorer()
    column = "mean_answer_value"
    customers = pl.DataFrame(people)
    frame = pl.DataFrame(events)
    batch = score_frame(customers, frame, as_of=as_of, scorer=scorer)
    chosen = [person["id"] for person in people[::100]]
    objects = scorer.score_many(
        [p for p in people if p["id"] in chosen],
        [
            {**e, "properties": json.loads(e["properties"])}
            for e in events
            if e["customer_id"] in chosen
        ],
        as_of=as_of.replace(tzinfo=UTC),
    )
    for got in objects:
        mine = pl.col("customer_id") == got.customer_id
        alone = score_frame(
            customers.filter(pl.col("id") == got.customer_id),
            frame.filter(mine),
            as_of=as_of,
            scorer=scorer,
        )
        (want,) = [factor.value for factor in got.factors if factor.name == "mean_answer"]
        assert want is not None
        assert alone.get_column(column).item() == want, got.customer_id
        assert batch.filter(mine).get_column(column).item() == want, got.customer_id
