"""A declared factor runs on every engine with no code of its own (issue 16, proof).

The declared test factors of :mod:`tests.declared` (days since the last event of some
kinds against an expectation, the mean of a number read from properties, the worst
lateness of paid invoices) give on every engine of the main suite the scores and values
of their independent reference, and the same scores, statuses and coverage as the
object path, under hypothesis; with no ``SlowPathWarning``. Spark's engines run the same
tests in ``tests/spark/test_declared_engines.py``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from customer_health import Scorer, SlowPathWarning

from .declared import DECLARED, declared_scorer, own_engine_methods, reference
from .engines import MAIN_ENGINES, TOL, Engine, Results, by_score_many, open_engine
from .reference import micros
from .strategies import Portfolio, portfolios

EXAMPLES = {
    "score": 40,
    "score_many": 60,
    "frame-pandas": 10,
    "frame-polars": 20,
    "frame-polars-lazy": 10,
    "frame-pyarrow": 10,
    "frame-duckdb": 10,
    "store-sqlite": 20,
    "store-postgresql": 15,
    "sql-duckdb": 20,
    "sql-postgresql": 15,
    "spark-frame": 3,  # about 12 s each (tests/spark/test_engines.py)
    "spark-sql": 8,
}

ANSWERS = st.one_of(
    st.integers(-50, 1000),
    st.floats(-50, 1000, allow_nan=False),
    st.integers(-50, 1000).map(str),
    st.floats(-50, 1000, allow_nan=False).map(repr),
    st.sampled_from(
        [
            None,
            True,
            False,
            "",
            " 12",
            "12 ",
            "12\n",
            "twelve",
            "NaN",
            "Infinity",
            "-Infinity",
            "0x1F",
            "+1",
            ".5",
            "1.",
            "01",
            "-0",
            "1e3",
            "2.5E-2",
            "1e400",
            1e300,
            2**53 + 1,
            str(2**53 + 1),
            10**30,
            [1],
            {"score": 3},
            "missing",
        ]
    ),
)
"""What a response's ``score`` property may hold: numbers, texts that are or are not
numbers, other JSON, and no key at all (``"missing"``)."""


@st.composite
def answered_portfolios(draw: st.DrawFn, max_customers: int = 8) -> Portfolio:
    """Portfolios whose NPS responses hold any of :data:`ANSWERS` (the strategy's
    answer 0-10 chooses which, so that copies of an event stay identical)."""
    portfolio = draw(portfolios(max_customers=max_customers))
    table = draw(st.lists(ANSWERS, min_size=11, max_size=11))
    events = []
    for item in portfolio.events:
        if item["kind"] == "nps_response":
            answer = table[item["properties"]["score"]]
            item = {**item, "properties": {} if answer == "missing" else {"score": answer}}
        events.append(item)
    return Portfolio(portfolio.customers, events, portfolio.as_of)


Reference = Callable[
    [Mapping[str, Any], list[dict[str, Any]], datetime],
    dict[str, tuple[float | None, float | None]],
]
"""An independent reference: each factor's (score, value) for a customer, by name."""


def _close(got: float | None, want: float | None, where: str) -> None:
    if want is None or got is None:
        assert got is None, f"{where}: {got!r}, wanted {want!r}"
        assert want is None, f"{where}: {got!r}, wanted {want!r}"
        return
    assert abs(got - want) <= TOL * max(1.0, abs(want)), f"{where}: {got!r}, wanted {want!r}"


def assert_declared(
    portfolio: Portfolio,
    results: Results,
    baseline: Results,
    engine: Engine,
    expected: Reference = reference,
) -> None:
    """The engine gives each customer the declared factors of ``expected`` (the
    independent reference of the factors) and the object path's score, status and
    coverage."""
    now = micros(portfolio.as_of)
    for customer in portfolio.customers:
        created = customer.get("created_at")
        if created is not None and micros(created) > now:
            continue
        cid = str(customer["id"])
        got, want = results.outcomes[cid], baseline.outcomes[cid]
        where = f"{engine}, customer {cid!r}"
        for name, (score, value) in expected(customer, portfolio.events, portfolio.as_of).items():
            _close(got.factors[name].score, score, f"{where}: {name}")
            _close(got.factors[name].value, value, f"{where}: {name}'s value")
        assert got.status == want.status, f"{where}: {got.status!r}, score_many {want.status!r}"
        _close(got.score, want.score, f"{where}: score")
        _close(got.coverage, want.coverage, f"{where}: coverage")


def check_engine(
    engine: Engine,
    spark: bool = False,
    scorer: Scorer | None = None,
    expected: Reference = reference,
) -> None:
    """:func:`assert_declared` on generated portfolios, with no warning of a slow path:
    the declared test factors (:func:`declared_scorer`), or ``scorer``'s against
    ``expected``."""
    scorer = scorer or declared_scorer()

    @settings(
        max_examples=EXAMPLES[engine.name],
        deadline=None,
        phases=[Phase.explicit, Phase.generate] if spark else list(Phase),
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(portfolio=answered_portfolios(max_customers=10 if spark else 8))
    def check(portfolio: Portfolio) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error", SlowPathWarning)
            results = engine(portfolio, scorer)
        assert_declared(portfolio, results, by_score_many(portfolio, scorer), engine, expected)

    check()


@pytest.fixture(scope="module", params=MAIN_ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    with open_engine(request.param) as engine:
        yield engine


def test_declared_factors_are_exact_on_every_engine(engine: Engine) -> None:
    check_engine(engine)


def test_the_test_factors_are_declarations_alone() -> None:
    """No engine method of their own: every form an engine runs comes from the compiler."""
    for factor in DECLARED:
        assert own_engine_methods(factor) == [], factor


def test_reference_reads_numbers_as_defined() -> None:
    from .declared import number_of

    assert [number_of(v) for v in (12, "12", "-0.5e1", True, " 1", "1e400", 10**400, [1])] == [
        12.0,
        12.0,
        -5.0,
        None,
        None,
        None,
        None,
        None,
    ]
    assert math.isclose(number_of(str(2**53 + 1)) or 0, 2.0**53)
