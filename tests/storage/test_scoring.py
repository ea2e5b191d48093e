"""Scores from stored events equal score_many's, on every backend; plugins' fallbacks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customer_health import (
    CustomerNotCreatedError,
    Factor,
    FactorContext,
    FactorResult,
    HealthScore,
    Scorer,
    UnknownCustomerError,
    hookimpl,
    sample,
)
from customer_health.storage.sqlalchemy import SQLAlchemyStore, SQLEvents, metadata

from ..backends import NOW
from ..strategies import US, as_ofs, customers, histories

TOL = 1e-9
PROFILE = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def clear(store: SQLAlchemyStore) -> None:
    """Empty every table of the store."""
    with store.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


def close(a: float | None, b: float | None) -> bool:
    return a is b if a is None or b is None else abs(a - b) <= TOL


def assert_same(got: HealthScore, want: HealthScore) -> None:
    """Scores, statuses, coverage and every factor agree (explanations too)."""
    assert got.customer_id == want.customer_id
    assert close(got.score, want.score), (got.score, want.score)
    assert got.status == want.status
    assert close(got.coverage, want.coverage)
    assert got.fingerprint == want.fingerprint
    for a, b in zip(got.factors, want.factors, strict=True):
        assert a.name == b.name
        assert close(a.score, b.score), (a.name, a.score, b.score)
        assert close(a.value, b.value), (a.name, a.value, b.value)
        assert close(a.expected, b.expected), (a.name, a.expected, b.expected)


def assert_all_same(got: Sequence[HealthScore], want: Sequence[HealthScore]) -> None:
    wanted = {s.customer_id: s for s in want}
    assert sorted(s.customer_id for s in got) == sorted(wanted)
    for score in got:
        assert_same(score, wanted[score.customer_id])


@st.composite
def portfolios(draw: st.DrawFn) -> tuple[datetime, list[dict[str, Any]], list[dict[str, Any]]]:
    """An as_of, a few customers (some created after it) and their events, with window
    edges, several time zones and duplicate copies."""
    as_of = draw(as_ofs)
    people = [draw(customers(as_of, f"c{i}")) for i in range(draw(st.integers(1, 4)))]
    if draw(st.booleans()):
        people.append({"id": "later", "segment": "smb", "created_at": as_of + US})
    events: list[dict[str, Any]] = []
    for person in people:
        events += draw(histories(as_of, person["id"], max_size=15))
    return as_of, people, events


@PROFILE
@given(case=portfolios())
def test_recalculate_equals_score_many(store: SQLAlchemyStore, case: Any) -> None:
    """recalculate() from stored events gives score_many()'s numbers to 1e-9, statuses exactly."""
    as_of, people, events = case
    clear(store)
    store.add_customers(people)
    store.record_many(events)
    got = store.recalculate(as_of=as_of)
    want = store.scorer.score_many(people, events, as_of=as_of)
    assert_all_same(got, want)
    assert got.not_created == want.not_created
    for score in got:
        assert score == score.model_validate(score.model_dump())


def test_sample_portfolio_and_explanations(store: SQLAlchemyStore) -> None:
    """On the sample portfolio every score and explanation equals score_many's."""
    data = sample.generate(60, seed=3, include_not_created=True)
    store.add_customers(data.customers)
    store.record_many(data.events)
    got = store.recalculate(as_of=data.as_of)
    want = store.scorer.score_many(data.customers, data.events, as_of=data.as_of)
    assert_all_same(got, want)
    explanations = {s.customer_id: [f.explanation for f in s.factors] for s in want}
    assert {s.customer_id: [f.explanation for f in s.factors] for s in got} == explanations
    assert len(got.not_created) == len(want.not_created) > 0


def test_recalculating_some_customers(store: SQLAlchemyStore) -> None:
    """Recalculating a set scores just those, in the order given; unknown ids are an error."""
    data = sample.generate(20, seed=4)
    store.add_customers(data.customers)
    store.record_many(data.events)
    ids = [c.id for c in data.customers[5:9]][::-1]
    got = store.recalculate(ids, as_of=data.as_of)
    assert [s.customer_id for s in got] == ids
    want = store.scorer.score_many(data.customers, data.events, as_of=data.as_of)
    assert_all_same(got, [s for s in want if s.customer_id in ids])
    with pytest.raises(UnknownCustomerError, match="'ghost'"):
        store.recalculate([ids[0], "ghost"])


def test_recalculate_saves_unless_asked_not_to(store: SQLAlchemyStore) -> None:
    """Scores are stored with their as_of; save=False computes without storing."""
    store.add_customer({"id": "c1", "segment": "smb"})
    store.recalculate(as_of=NOW - timedelta(days=2), save=False)
    assert store.history("c1") == []
    first = store.recalculate(as_of=NOW - timedelta(days=2))[0]
    assert store.history("c1") == [first]
    assert store.latest_score("c1") == first


def test_health_at_a_past_instant(store: SQLAlchemyStore) -> None:
    """health(as_of=...) scores from the events known then, and refuses before creation."""
    store.add_customer({"id": "c1", "segment": "smb", "created_at": NOW - timedelta(days=100)})
    events = [
        {
            "customer_id": "c1",
            "kind": "api_call",
            "quantity": 250,
            "occurred_at": NOW - timedelta(days=40),
        },
        {
            "customer_id": "c1",
            "kind": "api_call",
            "quantity": 500,
            "occurred_at": NOW - timedelta(days=1),
        },
    ]
    store.record_many(events)
    then = store.health("c1", as_of=NOW - timedelta(days=35))
    assert then.factor("api_usage").value == 250
    assert store.health("c1", as_of=NOW).factor("api_usage").value == 500
    with pytest.raises(CustomerNotCreatedError, match="'c1'"):
        store.health("c1", as_of=NOW - timedelta(days=101))
    assert store.history("c1") == []


class _Nps(Factor):
    """Evaluate-only: the latest nps answer in 90 days."""

    name = "nps"
    kinds = frozenset({"nps_response"})
    window_days = 90
    calls: ClassVar[list[int]] = []

    def evaluate(self, events: Sequence[Any], ctx: FactorContext) -> FactorResult:
        self.calls.append(len(events))
        if not events:
            return FactorResult(score=None, explanation="no nps answer in 90 days")
        latest = max(events, key=lambda e: e.occurred_at)
        value = float(latest.properties["score"])
        return FactorResult(score=value * 10, value=value, explanation=f"nps {value}")


class _Seats(Factor):
    """Aggregate/compute, no SQL form: logins by distinct users."""

    name = "seats"
    kinds = frozenset({"login"})
    window_days = 30
    inputs = ("users",)

    def aggregate(self, events: Sequence[Any], as_of: datetime) -> dict[str, float]:
        return {"users": float(len({e.user_id for e in events if e.user_id}))}

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        users = inputs["users"]
        return FactorResult(score=min(100.0, users * 25), value=users, explanation=f"{users} users")


class _Urgent(Factor):
    """With an SQL form: urgent tickets in 90 days."""

    name = "urgent"
    kinds = frozenset({"support_ticket"})
    window_days = 90
    inputs = ("urgent",)
    sql_calls: ClassVar[list[int]] = []

    def aggregate(self, events: Sequence[Any], as_of: datetime) -> dict[str, float]:
        return {"urgent": float(sum(e.priority == "urgent" for e in events))}

    def sql_inputs(self, events: SQLEvents) -> dict[str, Any]:
        self.sql_calls.append(1)
        return {"urgent": sa.func.sum(events.when(events.c["priority"] == "urgent", 1))}

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        n = inputs["urgent"]
        return FactorResult(score=100.0 / (1 + n), value=n, explanation=f"{n} urgent tickets")


class _Plugin:
    @hookimpl
    def register_factors(self, register: Callable[[Any], None]) -> None:
        register(_Nps())
        register(_Seats())
        register(_Urgent())


def test_plugin_factors_with_and_without_sql_forms(
    make_store: Callable[..., SQLAlchemyStore],
) -> None:
    """A factor with an SQL form joins the query; the others get just their events loaded."""
    scorer = Scorer(plugins=[_Plugin()])
    store = make_store(scorer=scorer)
    data = sample.generate(25, seed=5)
    store.add_customers(data.customers)
    store.record_many(data.events)
    _Nps.calls.clear()
    _Urgent.sql_calls.clear()
    got = store.recalculate(as_of=data.as_of)
    assert _Urgent.sql_calls == [1]
    assert len(_Nps.calls) == len(got)
    want = scorer.score_many(data.customers, data.events, as_of=data.as_of)
    assert_all_same(got, want)
    assert any(s.factor("nps").score is not None for s in got)
    assert any(s.factor("seats").value for s in got)
