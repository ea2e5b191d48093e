"""The backtest ranks scores rounded as the status rounds them (issue 15, point 5): scores
that round alike are ties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pl = pytest.importorskip("polars")

from customer_health.analysis._backtest_frames import (  # noqa: E402
    auc,
    bands,
    lift,
    roc_points,
    rounded,
)

HALF_WAYS = st.builds(
    lambda k, steps: _stepped((k + 0.5) / 1e9, steps),
    st.integers(0, 100 * 10**9),
    st.integers(-3, 3),
)
"""Doubles at and a few steps either side of a half-way point ``(k + 1/2) / 10**9``,
where rounding by scaling first (polars' ``round``) goes wrong."""


def _stepped(value: float, steps: int) -> float:
    for _ in range(abs(steps)):
        value = math.nextafter(value, math.inf if steps > 0 else -math.inf)
    return value


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            HALF_WAYS,
            st.floats(0, 100),
            st.floats(allow_nan=False, allow_infinity=True),
            st.none(),
        ),
        max_size=50,
    )
)
def test_rounded_is_pythons_round_to_9_places(scores: list[float | None]) -> None:
    """``rounded`` gives ``round(score, 9)`` for every score, nulls kept."""
    got = rounded(pl.Series(scores, dtype=pl.Float64)).to_list()
    assert got == [None if s is None else round(s, 9) for s in scores]


def _close_pair() -> tuple[float, float]:
    """Two different scores that round alike to 9 places (so their statuses agree)."""
    low = 61.25
    high = math.nextafter(low, math.inf)
    assert low != high
    assert round(low, 9) == round(high, 9)
    return low, high


def test_scores_that_round_alike_are_ties_in_auc_roc_and_lift() -> None:
    """A churner and a stayer whose scores differ in the last bit only are a tie: AUC 1/2
    (not 1), one point of the ROC curve, and the tenth's edge shared in proportion."""
    low, high = _close_pair()
    churned = pl.Series([True, False])
    assert auc(pl.Series([low, high]), churned) == 0.5
    assert roc_points(pl.Series([low, high]), churned) == ([0.0, 1.0], [0.0, 1.0])
    # ten customers: the lowest tenth is one of the two tied, so half the churner counts
    scores = pl.Series([low, high] + [90.0] * 8)
    assert lift(scores, pl.Series([True] + [False] * 9)) == pytest.approx(5.0)


def test_a_score_that_rounds_to_a_band_edge_is_in_the_band_above() -> None:
    """A score just below 70 that rounds to 70 (healthy, as its status says) counts in the
    70-80 band."""
    below = math.nextafter(70.0, 0.0)
    assert round(below, 9) == 70.0
    table = pl.DataFrame({"score": [below], "churned": [False]})
    assert [n for n, _, _ in bands(table)] == [0] * 7 + [1, 0, 0]
