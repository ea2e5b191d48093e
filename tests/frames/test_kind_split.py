"""Scoring the same events at many dates (``backtest``, ``fit``) reads each factor's
kinds from the events split by kind once (``KindSplit``), each event with its customer's
id hashed and its creation date (``Prepared``), not from the whole frame at every date:
the scores of the whole frame, bit for bit (a sum of floats is added in the rows' order
in both, and a part keeps the frame's order)."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from polars.testing import assert_frame_equal

from customer_health import Scorer
from customer_health.analysis._backtest_frames import Prepared
from customer_health.engines import frames

from ..declared import declared_scorer
from ..engines import FRAME_CUSTOMERS, FRAME_EVENTS, frame_rows
from ..strategies import Portfolio
from ..test_declared_engines import answered_portfolios
from ..test_factor_types import types_scorer_with_last_seen
from .conftest import make_backend

SCORERS = {
    "default": Scorer,
    "declared": declared_scorer,
    "types": types_scorer_with_last_seen,
}


def _scored_both_ways(portfolio: Portfolio, scorer: Scorer) -> list[tuple[pl.DataFrame, ...]]:
    """At the portfolio's as_of and a week and a month before: the scores of the whole
    frame and those of the split frame (each customer alive at each date)."""
    people, events = frame_rows(portfolio)
    backend = make_backend("polars", None)
    customers = backend.to_frame(people, FRAME_CUSTOMERS)
    rows = backend.to_frame(events, FRAME_EVENTS)
    model = scorer.model
    checked = frames.checked_frames(model, customers, rows, None, "error")
    frame, relevant = frames.counted_events(checked, pl.Series("id", [], pl.String))
    nobody = pl.DataFrame(schema={"customer_id": pl.String, "churned_at": pl.Datetime("us")})
    prepared = Prepared(checked, nobody, False)
    assert frames.KEY in prepared.frame.columns
    pairs = []
    for back in (timedelta(0), timedelta(days=7), timedelta(days=30)):
        instant = portfolio.as_of.replace(tzinfo=None) - back
        alive = checked.people.filter(
            pl.col("created_at").is_null() | (pl.col("created_at") <= instant)
        )
        gone = checked.people.filter(~pl.col("id").is_in(alive.get_column("id").implode()))
        scoped = relevant & ~pl.col("customer_id").is_in(gone.get_column("id").implode())
        whole = frames.scored_frame(model, alive, frame, scoped, instant, stacklevel=1)
        parted = frames.scored_frame(
            model,
            alive,
            prepared.frame,
            prepared.alive_at(instant),
            instant,
            stacklevel=1,
            split=prepared.split,
        )
        pairs.append((whole, parted))
    return pairs


@pytest.mark.parametrize("name", SCORERS)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(portfolio=answered_portfolios())
def test_the_split_frame_scores_as_the_whole_frame(name: str, portfolio: Portfolio) -> None:
    for whole, parted in _scored_both_ways(portfolio, SCORERS[name]()):
        assert_frame_equal(parted, whole, check_exact=True)
