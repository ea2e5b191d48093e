"""The built-in factors are declarations, and every engine runs what they declare
(issue 16, point 4).

No built-in factor has an engine method of its own: each is a
:class:`~customer_health.DeclaredFactor`, and every engine compiles its declaration.
Changing the declaration changes every engine: with ``api_usage`` counting API call
events instead of adding up their quantities, no engine of the main suite gives the
reference's numbers on the fixed portfolio any more (Spark's engines in
``tests/spark/test_builtin_declared.py``).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator

import pytest

from customer_health import DeclaredFactor, Scorer, declare
from customer_health.builtin.factors import BUILTIN_FACTORS, ApiUsage
from customer_health.declare import count

from .declared import own_engine_methods
from .engines import (
    MAIN_ENGINES,
    Engine,
    assert_shared_event_ids,
    fixed_portfolio,
    open_engine,
)


def test_the_builtin_factors_are_declarations_alone() -> None:
    """Each built-in factor is declared and defines no engine method of its own."""
    for factor in BUILTIN_FACTORS:
        assert issubclass(factor, DeclaredFactor), factor
        assert own_engine_methods(factor) == [], factor


@pytest.fixture(scope="module", params=MAIN_ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    with open_engine(request.param) as engine:
        yield engine


def check_engine_compiles_the_declaration(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine matches the reference with ``api_usage`` as declared, and not with its
    aggregate changed: it runs the declaration, not a form of its own."""
    assert_shared_event_ids(
        engine(fixed_portfolio(), Scorer(entry_points=False, model="v1")), engine
    )
    monkeypatch.setattr(ApiUsage, "aggregates", {"calls": count()})
    monkeypatch.setattr(declare, "_COMPILED", weakref.WeakKeyDictionary())  # compiled again
    results = engine(fixed_portfolio(), Scorer(entry_points=False, model="v1"))
    with pytest.raises(AssertionError):
        assert_shared_event_ids(results, engine)
    assert {o.factors["api_usage"].value for o in results.outcomes.values()} <= {0.0, 1.0, 2.0}


def test_every_engine_runs_the_declaration(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    check_engine_compiles_the_declaration(engine, monkeypatch)
