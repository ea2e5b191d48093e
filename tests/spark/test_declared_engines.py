"""Declared factors on Spark's engines: ``tests/test_declared_engines.py``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ..engines import SPARK_ENGINES, Engine, open_engine
from ..test_declared_engines import check_engine

pytest.importorskip("sqlglot")


@pytest.fixture(scope="module", params=SPARK_ENGINES)
def engine(request: pytest.FixtureRequest, spark: Any) -> Iterator[Engine]:
    """Each Spark engine in turn, on the test session."""
    with open_engine(request.param, spark) as engine:
        yield engine


def test_declared_factors_are_exact_on_spark(engine: Engine) -> None:
    """The declared test factors give the reference's scores and values, and the object
    path's scores, on PySpark frames and in Spark SQL, with no Python UDF (no slow path)."""
    check_engine(engine, spark=True)


def test_factor_types_are_exact_on_spark(engine: Engine) -> None:
    """The factor types (recency, rate, share, trend), configured: the reference's scores
    and values on PySpark frames and in Spark SQL, with no slow path."""
    from ..test_factor_types import reference, types_scorer

    check_engine(engine, spark=True, scorer=types_scorer(), expected=reference)


def test_no_python_runs_in_the_spark_plan_of_declared_factors(spark: Any) -> None:
    """The plan of ``score_frame`` with the declared test factors runs no Python (no UDF,
    no Arrow map): a hand-written factor without a frame form would."""
    from ..declared import declared_scorer
    from ..engines import fixed_portfolio
    from .conftest import STYLES, spark_frames

    portfolio = fixed_portfolio()
    events = [
        *portfolio.events,
        {
            "customer_id": portfolio.customers[0]["id"],
            "kind": "nps_response",
            "occurred_at": portfolio.as_of,
            "properties": {"score": "7"},
        },
    ]
    customers, frame = spark_frames(spark, portfolio.customers, events, STYLES[0])
    out = declared_scorer().score_frame(customers, frame, as_of=portfolio.as_of)
    plan = out._jdf.queryExecution().executedPlan().toString()
    assert "mean_answer" in out.columns
    assert not [word for word in ("Python", "Arrow") if word in plan], plan
