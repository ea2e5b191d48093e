"""Properties of the default model, checked on generated customers and events."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import customer_health
from customer_health import HealthScore, Scorer

from .reference import reference_score
from .strategies import as_ofs, customers, histories, json_like

TOL = 1e-9
PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]], datetime]:
    as_of = draw(as_ofs)
    return draw(customers(as_of)), draw(histories(as_of)), as_of


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= TOL


def assert_same(a: HealthScore, b: HealthScore) -> None:
    assert close(a.score, b.score), (a.score, b.score)
    assert a.status == b.status
    assert close(a.coverage, b.coverage)
    for fa, fb in zip(a.factors, b.factors, strict=True):
        assert fa.name == fb.name
        assert close(fa.score, fb.score), (fa.name, fa.score, fb.score)
        assert close(fa.value, fb.value), (fa.name, fa.value, fb.value)


@PROFILE
@given(cases())
def test_score_matches_the_independent_reference(case: Any) -> None:
    """score() equals an independent implementation of the model to 1e-9, statuses exactly."""
    customer, events, as_of = case
    got = customer_health.score(customer, events, as_of=as_of)
    want = reference_score(customer, events, as_of)
    assert close(got.score, want["score"]), (got.score, want["score"])
    assert got.status.value == want["status"]
    assert close(got.coverage, want["coverage"])
    for part in got.factors:
        score, value, expected = want["factors"][part.name]
        assert close(part.score, score), (part.name, part.score, score)
        assert close(part.value, value), (part.name, part.value, value)
        assert close(part.expected, expected), (part.name, part.expected, expected)


@PROFILE
@given(cases())
def test_scores_and_contributions_are_bounded(case: Any) -> None:
    """Every score lies in 0-100 and the contributions add up to the score."""
    customer, events, as_of = case
    result = customer_health.score(customer, events, as_of=as_of)
    assert result.score is None or 0 <= result.score <= 100
    assert 0 <= result.coverage <= 1
    for part in result.factors:
        assert part.score is None or 0 <= part.score <= 100
        assert part.explanation
    if result.score is not None:
        assert abs(sum(p.contribution for p in result.factors) - result.score) <= TOL


@PROFILE
@given(cases(), st.sampled_from(["api_call", "login", "feature_used"]), st.integers(1, 5))
def test_more_usage_never_lowers_the_score(case: Any, kind: str, extra: int) -> None:
    """More API calls, login days or features in the window never lower the score."""
    customer, events, as_of = case
    before = customer_health.score(customer, events, as_of=as_of)
    added = [
        {
            "customer_id": customer["id"],
            "kind": kind,
            "occurred_at": as_of - timedelta(days=i, hours=1),
            **({"feature": f"new-{i}"} if kind == "feature_used" else {}),
        }
        for i in range(extra)
    ]
    after = customer_health.score(customer, events + added, as_of=as_of)
    assert before.score is not None
    assert after.score is not None
    assert after.score >= before.score - TOL


@PROFILE
@given(cases(), st.data())
def test_events_after_as_of_change_nothing(case: Any, data: st.DataObject) -> None:
    """Events recorded after as_of never change the score (point-in-time correctness)."""
    customer, events, as_of = case
    later = data.draw(histories(as_of + timedelta(days=400), customer["id"]))
    for index, event in enumerate(later):
        event["occurred_at"] = as_of + timedelta(microseconds=1 + index)
        event.pop("event_id", None)
    assert_same(
        customer_health.score(customer, events, as_of=as_of),
        customer_health.score(customer, events + later, as_of=as_of),
    )


@PROFILE
@given(cases(), st.randoms(use_true_random=False))
def test_event_order_changes_nothing(case: Any, rng: random.Random) -> None:
    """Shuffling the events never changes the score."""
    customer, events, as_of = case
    shuffled = list(events)
    rng.shuffle(shuffled)
    assert_same(
        customer_health.score(customer, events, as_of=as_of),
        customer_health.score(customer, shuffled, as_of=as_of),
    )


@PROFILE
@given(cases())
def test_duplicate_event_ids_change_nothing(case: Any) -> None:
    """Recording every event that has an event_id twice (even as JSON text) changes nothing."""
    customer, events, as_of = case
    copies = [json_like(e) for e in events if "event_id" in e]
    assert_same(
        customer_health.score(customer, events, as_of=as_of),
        customer_health.score(customer, events + copies, as_of=as_of),
    )


@PROFILE
@given(cases(), st.floats(min_value=0.01, max_value=100))
def test_scaling_all_weights_changes_nothing(case: Any, k: float) -> None:
    """Multiplying every weight by the same k leaves score, status and coverage unchanged."""
    customer, events, as_of = case
    default = Scorer()
    scaled = Scorer(weights={name: w * k for name, w in default.weights.items()})
    a = default.score(customer, events, as_of=as_of)
    b = scaled.score(customer, events, as_of=as_of)
    assert close(a.score, b.score)
    assert a.status == b.status
    assert close(a.coverage, b.coverage)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(as_ofs.flatmap(lambda t: st.tuples(st.just(t), st.integers(1, 6))), st.data())
def test_score_many_equals_score_per_customer(setup: Any, data: st.DataObject) -> None:
    """score_many gives each customer exactly what score() gives it alone."""
    as_of, n = setup
    people = [data.draw(customers(as_of, f"c{i}")) for i in range(n)]
    events = [e for p in people for e in data.draw(histories(as_of, p["id"], max_size=15))]
    random.Random(n).shuffle(events)
    scorer = Scorer()
    batch = scorer.score_many(people, events, as_of=as_of)
    assert [s.customer_id for s in batch] == [p["id"] for p in people]
    for person, result in zip(people, batch, strict=True):
        assert_same(result, scorer.score(person, events, as_of=as_of))
