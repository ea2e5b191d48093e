"""Plugin factors and segments: what they see, and how they take part in a score."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import pytest

from customer_health import HealthStatus, UnknownFactorError, testing
from customer_health.segments import BUILTIN_SEGMENTS

from .helpers import AS_OF, DAY, NPS_TARGETS, US, NpsScore, Recorder, SeatUsage, nps_event


def nps_plugin(*factors: Any, name: str = "nps_plugin") -> object:
    """A plugin registering ``factors`` (default: NpsScore) and nps_target for every segment."""
    return testing.make_plugin(
        *(factors or (NpsScore(),)),
        expectations={segment: {"nps_target": target} for segment, target in NPS_TARGETS.items()},
        name=name,
    )


def test_plugin_factor_gets_only_its_kind_in_its_window() -> None:
    """A plugin factor receives the customer's events of its custom kind with
    as_of - 90 days < occurred_at <= as_of, de-duplicated, and nothing else."""
    recorder = Recorder()
    scorer = testing.make_scorer(nps_plugin(recorder), event_kinds=["survey"])
    events = [
        nps_event(AS_OF, 1, event_id="at_as_of"),
        nps_event(AS_OF - 90 * DAY + US, 2, event_id="oldest_inside"),
        nps_event(AS_OF - 30 * DAY, 3, event_id="twice"),
        nps_event(AS_OF - 30 * DAY, 3, event_id="twice"),
        nps_event(AS_OF - 90 * DAY, 4, event_id="window_edge"),
        nps_event(AS_OF + US, 5, event_id="after_as_of"),
        nps_event(AS_OF - DAY, 6, customer_id="someone_else", event_id="other_customer"),
        {**nps_event(AS_OF - DAY, 7, event_id="other_kind"), "kind": "survey"},
        {"customer_id": "c1", "kind": "login", "occurred_at": AS_OF - DAY, "event_id": "login"},
    ]
    scorer.score({"id": "c1", "segment": "smb"}, events, as_of=AS_OF)
    ((seen, _),) = recorder.calls
    assert sorted(e.event_id or "" for e in seen) == ["at_as_of", "oldest_inside", "twice"]
    assert {e.event_id: e.properties["score"] for e in seen} == {  # type: ignore[union-attr]
        "at_as_of": 1,
        "oldest_inside": 2,
        "twice": 3,
    }


def test_plugin_factor_reads_attributes_expectations_and_as_of() -> None:
    """The context carries the customer with its attributes, the segment's expectations
    (built-in and plugin keys), the factor's own expectation and as_of in UTC."""
    recorder = Recorder()
    scorer = testing.make_scorer(nps_plugin(recorder))
    customer = {
        "id": "c1",
        "segment": "smb",
        "created_at": "2026-01-01T00:00:00Z",
        "attributes": {"plan": "pro", "seats": 12},
    }
    scorer.score(customer, [], as_of="2026-06-30T02:00:00+02:00")
    ((_, ctx),) = recorder.calls
    assert ctx.customer.attributes == {"plan": "pro", "seats": 12}
    assert ctx.segment == "smb"
    # model v2's last_seen expects an event within 7 days in every segment
    assert dict(ctx.expectations) == {
        **BUILTIN_SEGMENTS["smb"],
        "last_seen": 7.0,
        "nps_target": 7.0,
    }
    assert ctx.expected == 7.0
    assert ctx.prorated is False
    assert ctx.as_of == AS_OF
    assert ctx.as_of.utcoffset() == DAY * 0
    assert ctx.tenure_days == 180.0


def test_plugin_factor_expectation_is_prorated_for_young_customers() -> None:
    """A plugin factor that sets prorate gets its expectation prorated like the built-in
    usage factors: expected * max(1, tenure) / window."""

    class YoungRecorder(Recorder):
        name = "young_recorder"
        window_days = 30
        prorate = True

    recorder = YoungRecorder()
    scorer = testing.make_scorer(nps_plugin(recorder))
    customers = [
        {"id": "ten_days", "segment": "smb", "created_at": AS_OF - 10 * DAY},
        {"id": "an_hour", "segment": "smb", "created_at": AS_OF - DAY / 24},
        {"id": "old", "segment": "smb", "created_at": AS_OF - 31 * DAY},
    ]
    scorer.score_many(customers, [], as_of=AS_OF)
    seen = {ctx.customer.id: (ctx.expected, ctx.prorated) for _, ctx in recorder.calls}
    assert seen == {
        "ten_days": (pytest.approx(7.0 * 10 / 30, abs=1e-12), True),
        "an_hour": (pytest.approx(7.0 / 30, abs=1e-12), True),
        "old": (7.0, False),
    }


class EveryKind(Recorder):
    """Asks for every kind (kinds=None) within 30 days."""

    name = "every_kind"
    kinds: ClassVar[frozenset[str] | None] = None
    window_days: ClassVar[float | None] = 30
    expectation: ClassVar[str | None] = None


class WholeHistory(Recorder):
    """Asks for its kind over the whole history up to as_of (window_days=None)."""

    name = "whole_history"
    window_days: ClassVar[float | None] = None


def test_factor_with_no_kinds_gets_every_kind_in_its_window() -> None:
    """kinds=None passes events of every kind, built-in and custom, within the window."""
    recorder = EveryKind()
    scorer = testing.make_scorer(testing.make_plugin(recorder), event_kinds=["x"])
    events = [
        nps_event(AS_OF - DAY, 9, event_id="nps"),
        {"customer_id": "c1", "kind": "login", "occurred_at": AS_OF, "event_id": "login"},
        {"customer_id": "c1", "kind": "x", "occurred_at": AS_OF - 30 * DAY, "event_id": "edge"},
        {"customer_id": "c1", "kind": "x", "occurred_at": AS_OF + US, "event_id": "later"},
    ]
    scorer.score({"id": "c1", "segment": "smb"}, events, as_of=AS_OF)
    ((seen, _),) = recorder.calls
    assert sorted(e.event_id or "" for e in seen) == ["login", "nps"]


def test_factor_with_no_window_gets_everything_up_to_as_of() -> None:
    """window_days=None passes every event of the factor's kinds up to as_of, none after."""
    recorder = WholeHistory()
    scorer = testing.make_scorer(nps_plugin(recorder))
    events = [
        nps_event(AS_OF - 3000 * DAY, 1, event_id="ancient"),
        nps_event(AS_OF, 2, event_id="now"),
        nps_event(AS_OF + US, 3, event_id="later"),
    ]
    scorer.score({"id": "c1", "segment": "smb"}, events, as_of=AS_OF)
    ((seen, _),) = recorder.calls
    assert sorted(e.event_id or "" for e in seen) == ["ancient", "now"]


def test_per_customer_factor_works_in_score_and_score_many() -> None:
    """A factor that only overrides evaluate (no inputs) gives the same results through
    score() and score_many(), with no data where it has none."""
    factor = SeatUsage()
    assert not factor.vectorized
    scorer = testing.make_scorer(testing.make_plugin(factor))
    customers = [
        {"id": "a", "segment": "smb", "attributes": {"seats": 4}},
        {"id": "b", "segment": "startup", "attributes": {"seats": 2}},
        {"id": "c", "segment": "enterprise"},
    ]
    logins = [("a", 1, "u1"), ("a", 2, "u2"), ("a", 3, "u1"), ("a", 40, "u3")]
    logins += [("b", 1, "u1"), ("b", 5, "u2"), ("b", 6, "u3"), ("c", 1, "u1")]
    events = [
        {"customer_id": cid, "kind": "login", "occurred_at": AS_OF - n * DAY, "user_id": user}
        for cid, n, user in logins
    ]
    many = {
        h.customer_id: h.factor("seat_usage")
        for h in scorer.score_many(customers, events, as_of=AS_OF)
    }
    for customer in customers:
        alone = scorer.score(customer, events, as_of=AS_OF).factor("seat_usage")
        assert alone == many[customer["id"]]
    assert (many["a"].score, many["a"].value, many["a"].expected) == (50.0, 2.0, 4.0)
    assert many["a"].explanation == "2 of 4 seats used in 30 days"
    assert many["b"].score == 100.0
    assert many["c"].score is None
    assert many["c"].contribution == 0.0


def test_vectorised_plugin_factor_agrees_between_score_and_score_many() -> None:
    """A plugin factor with aggregate + compute gives the same result for a customer
    scored alone or in a batch with others."""
    scorer = testing.make_scorer(nps_plugin())
    customers = [{"id": f"c{i}", "segment": s} for i, s in enumerate(NPS_TARGETS)]
    events = [
        nps_event(AS_OF - (i * 7 % 100) * DAY, i % 11, customer_id=f"c{i % 3}") for i in range(40)
    ]
    many = scorer.score_many(customers, events, as_of=AS_OF)
    assert [h.customer_id for h in many] == ["c0", "c1", "c2"]
    for health, customer in zip(many, customers, strict=True):
        assert scorer.score(customer, events, as_of=AS_OF).factor("nps") == health.factor("nps")
    mine = [
        e["properties"]["score"]
        for e in events
        if e["customer_id"] == "c1" and e["occurred_at"] > AS_OF - 90 * DAY
    ]
    assert many[1].factor("nps").value == pytest.approx(sum(mine) / len(mine), abs=1e-12)


def test_plugin_segment_is_usable() -> None:
    """A segment a plugin registers scores its customers against its own expectations,
    for built-in and plugin factors alike."""
    plugin = testing.make_plugin(
        NpsScore(),
        segments={
            "nonprofit": {
                "api_calls_30d": 100,
                "login_days_30d": 8,
                "features_30d": 2,
                "tickets_90d": 2,
                "nps_target": 5,
            }
        },
        expectations={segment: {"nps_target": 7} for segment in NPS_TARGETS},
        name="ngo",
    )
    scorer = testing.make_scorer(plugin)
    assert "nonprofit" in scorer.segments
    events = [
        {"customer_id": "n1", "kind": "api_call", "occurred_at": AS_OF - DAY, "quantity": 50},
        nps_event(AS_OF - DAY, 4, customer_id="n1"),
    ]
    health = scorer.score({"id": "n1", "segment": "nonprofit"}, events, as_of=AS_OF)
    api = health.factor("api_usage")
    assert (api.score, api.value, api.expected) == (50.0, 50.0, 100.0)
    assert "nonprofit customers are expected 100" in api.explanation
    assert health.factor("nps").score == pytest.approx(80.0)
    assert health.factor("nps").expected == 5.0


def test_weights_and_selection_apply_to_plugin_factors() -> None:
    """Scorer(weights=..., factors=...) selects and weighs plugin factors like built-in ones."""
    scorer = testing.make_scorer(nps_plugin(), weights={"nps": 2.0}, factors=["nps", "api_usage"])
    assert scorer.factors == ("nps", "api_usage")
    assert dict(scorer.weights) == {"nps": 2.0, "api_usage": 0.25}
    events = [
        {"customer_id": "c1", "kind": "api_call", "occurred_at": AS_OF, "quantity": 250},
        nps_event(AS_OF, 7),
    ]
    health = scorer.score({"id": "c1", "segment": "smb"}, events, as_of=AS_OF)
    assert [f.name for f in health.factors] == ["nps", "api_usage"]
    assert health.score == pytest.approx((2.0 * 100.0 + 0.25 * 50.0) / 2.25, abs=1e-12)
    assert health.factor("nps").contribution == pytest.approx(2.0 * 100.0 / 2.25, abs=1e-12)
    with pytest.raises(UnknownFactorError, match=r"unknown factor 'npz'; known factors: .*nps"):
        testing.make_scorer(nps_plugin(), factors=["npz"])
    with pytest.raises(UnknownFactorError, match=r"weight given for unknown factor 'npz'"):
        testing.make_scorer(nps_plugin(), weights={"npz": 1.0})


def test_plugin_factor_alone_can_be_scored() -> None:
    """With the built-in factors left out, a plugin factor alone makes the score."""
    scorer = testing.make_scorer(nps_plugin(), factors=["nps"])
    health = scorer.score({"id": "c1", "segment": "enterprise"}, [nps_event(AS_OF, 2)], as_of=AS_OF)
    assert health.score == pytest.approx(25.0)
    assert health.status is HealthStatus.CRITICAL
    assert health.coverage == 1.0


def test_fingerprint_changes_when_a_plugin_adds_a_factor_or_an_expectation() -> None:
    """The configuration fingerprint differs with a plugin factor, with a plugin
    expectation alone, and is the same for the same plugins."""
    plain = testing.make_scorer().fingerprint
    expectation_only = testing.make_scorer(
        testing.make_plugin(expectations={"smb": {"nps_target": 7}})
    ).fingerprint
    with_factor = testing.make_scorer(nps_plugin()).fingerprint
    other_target = testing.make_scorer(
        testing.make_plugin(NpsScore(), expectations={s: {"nps_target": 9} for s in NPS_TARGETS})
    ).fingerprint
    assert len({plain, expectation_only, with_factor, other_target}) == 4
    assert testing.make_scorer(nps_plugin()).fingerprint == with_factor
    health = testing.make_scorer(nps_plugin()).score(
        {"id": "c1", "segment": "smb"}, [], as_of=AS_OF
    )
    assert health.fingerprint == with_factor


def test_health_score_includes_the_plugin_factor() -> None:
    """The HealthScore lists the plugin factor with its score, weight, contribution,
    value, expectation and explanation, and the contributions add up to the score."""
    scorer = testing.make_scorer(nps_plugin())
    events = [nps_event(AS_OF - n * DAY, s) for n, s in [(1, 6), (2, 7)]]
    health = scorer.score({"id": "c1", "segment": "smb"}, events, as_of=AS_OF)
    nps = health.factor("nps")
    assert nps.score == pytest.approx(100.0 * 6.5 / 7.0, abs=1e-12)
    assert (nps.weight, nps.value, nps.expected) == (0.5, 6.5, 7.0)
    assert nps.explanation == "mean NPS answer 6.5; smb target 7"
    with_data = sum(f.weight for f in health.factors if f.score is not None)
    assert nps.contribution == pytest.approx(0.5 * nps.score / with_data, abs=1e-12)
    assert math.fsum(f.contribution for f in health.factors) == pytest.approx(health.score)
    assert "nps" in health.explain()
    assert "mean NPS answer 6.5; smb target 7" in health.explain()


def test_plugin_factor_without_data_has_no_contribution() -> None:
    """A plugin factor returning no data contributes 0 and lowers the coverage."""
    scorer = testing.make_scorer(nps_plugin())
    health = scorer.score({"id": "c1", "segment": "smb"}, [], as_of=AS_OF)
    nps = health.factor("nps")
    assert (nps.score, nps.contribution, nps.explanation) == (
        None,
        0.0,
        "no NPS responses in 90 days",
    )
    total = sum(scorer.weights.values())
    # without events, nps, payment_timeliness, last_seen and activity_trend have no data
    assert health.coverage == pytest.approx((total - 0.5 - 0.25 - 0.2 - 0.1) / total)
