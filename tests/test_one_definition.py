"""The model's per-customer rules are defined once (``customer_health.model._score``)
and every engine runs that definition (issue 16, point 3): change a term of it and
every engine's scores change with it, away from the independent reference.

Each variant changes one term: proration counts at least half a day instead of one,
or the status compares the score without rounding it to 9 decimal places. Every engine
of the main suite is given a scorer built while the variant is in place, and no longer
matches the reference on the fixed portfolio's young customers (resp. those at a
threshold); with the definition as it is, it does. Spark's
engines run the same test in ``tests/spark/test_one_definition.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from customer_health import Scorer
from customer_health._expr import Expr, ref, when
from customer_health.model import _score

from .engines import (
    MAIN_ENGINES,
    Engine,
    assert_thresholds,
    assert_young,
    fixed_portfolio,
    open_engine,
)


def prorated_from_half_a_day(window: float) -> dict[str, Expr]:
    """Proration counting at least half a day, not one."""
    expected, tenure = ref("expected"), ref("tenure")
    young = tenure.is_not_null() & (tenure < window)
    days = when((tenure > 0.5, tenure), otherwise=0.5)
    prorated = when((young, expected * days / window), otherwise=expected)
    return {"young": young, "expected": prorated}


def status_unrounded(score: Expr, healthy: float, at_risk: float) -> Expr:
    """The status without rounding the score to 9 decimal places."""
    return when(
        (score.is_null(), "unknown"),
        (score >= healthy, "healthy"),
        (score >= at_risk, "at_risk"),
        otherwise="critical",
    )


VARIANTS: dict[str, tuple[str, Callable[..., Any], Callable[..., None]]] = {
    "proration from half a day": ("prorated", prorated_from_half_a_day, assert_young),
    "status without rounding": ("status", status_unrounded, assert_thresholds),
}


@pytest.fixture(scope="module", params=MAIN_ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    with open_engine(request.param) as engine:
        yield engine


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_engine_runs_the_one_definition(
    engine: Engine, variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine matches the reference with the definition as it is, and not with a term
    of it left out: it computes what the definition says, not a copy of its own."""
    name, changed, check = VARIANTS[variant]
    check(engine(fixed_portfolio(), Scorer(entry_points=False, model="v1")), engine)
    monkeypatch.setattr(_score, name, changed)
    results = engine(fixed_portfolio(), Scorer(entry_points=False, model="v1"))
    with pytest.raises(AssertionError):
        check(results, engine)
