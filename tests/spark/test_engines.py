"""Spark's engines against the independent reference (``tests/reference.py``).

``score_frame`` on PySpark frames (instants as ``timestamp``, ``timestamp_ntz`` or ISO
text, a style per call) and ``export_sql("spark")`` run by Spark SQL (``timestamp``
columns), in a session whose time zone is not UTC: on generated portfolios, several
customers per Spark job, and on the fixed portfolios of ``tests/test_engines.py`` (event
ids shared by customers, scores at a threshold). The engines and what their inputs may
hold are in ``tests/engines.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from ..engines import (
    SPARK_ENGINES,
    Engine,
    Results,
    assert_half_way,
    assert_matches_reference,
    assert_shared_event_ids,
    assert_thresholds,
    assert_young,
    fixed_portfolio,
    half_way_portfolio,
    half_way_scorer,
    open_engine,
    v1_scorer,
)
from ..reference import WEIGHTS_V1
from ..strategies import Portfolio, portfolios

pytest.importorskip("sqlglot")

EXAMPLES = {"spark-frame": 3, "spark-sql": 10}
"""Generated portfolios per engine, of up to 10 customers each: a ``score_frame`` on Spark
costs about 12 s in local mode (building the plan of the declared inputs, then its
jobs), an ``export_sql`` query about 2 s; the frame forms are shared with the other
frame backends, which see many more portfolios."""


@pytest.fixture(scope="module", params=SPARK_ENGINES)
def engine(request: pytest.FixtureRequest, spark: Any) -> Iterator[Engine]:
    """Each Spark engine in turn, on the test session."""
    with open_engine(request.param, spark) as engine:
        yield engine


def test_every_spark_engine_matches_the_reference(engine: Engine) -> None:
    """On generated portfolios (window edges, zones, young and later customers, duplicates,
    event ids shared by customers) Spark gives the reference's scores, statuses, coverage
    and factors, and leaves out exactly the customers created after as_of."""

    @settings(
        max_examples=EXAMPLES[engine.name],
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # shrinking on Spark takes minutes
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(portfolio=portfolios(max_customers=10))
    def check(portfolio: Portfolio) -> None:
        assert_matches_reference(portfolio, engine(portfolio), engine)

    check()


@pytest.fixture(scope="module")
def fixed(engine: Engine) -> Results:
    """The engine's results on the fixed portfolios (one call for both)."""
    return engine(fixed_portfolio(), v1_scorer())


def test_the_fixed_portfolios_match_the_reference(engine: Engine, fixed: Results) -> None:
    """Every customer of the fixed portfolios is scored, as the reference scores it."""
    assert_matches_reference(fixed_portfolio(), fixed, engine, weights=WEIGHTS_V1)


def test_an_event_id_shared_by_customers_is_one_event_per_customer(
    engine: Engine, fixed: Results
) -> None:
    """An event_id that several customers use (c1:x, c2:x, c2:x, and other orders) is one
    event of each on Spark too: c2's copies count once, as c1's event does (issue 19, point 2)."""
    assert_shared_event_ids(fixed, engine)


def test_young_customers_are_prorated_from_one_day(engine: Engine, fixed: Results) -> None:
    """Expectations of a customer younger than a factor's window are prorated by its age,
    counted as at least one day: customers 0, 6 and 23 hours old score as one a day old."""
    assert_young(fixed, engine)


def test_statuses_at_the_thresholds(engine: Engine, fixed: Results) -> None:
    """Scores within 1e-9 of 70 and 40 (69.9999999999 among them) get the status of the
    score rounded to 9 places on Spark too, and the score itself stays unrounded (issue 19,
    point 3)."""
    assert_thresholds(fixed, engine)


def test_a_score_just_below_a_half_way_point(engine: Engine) -> None:
    """A score that is the double 39.9999999995, just below the half-way point, rounds to
    39.999999999: critical on Spark too, as Python's round says, though rounding after scaling
    by 10**9 says 40 (issue 19, point 3)."""
    assert_half_way(engine(half_way_portfolio(), half_way_scorer()), engine)
