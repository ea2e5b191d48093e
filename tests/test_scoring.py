"""The scoring engine: windows, proration, de-duplication, batches and configuration."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

import customer_health
from customer_health import (
    ConfigurationError,
    CustomerNotCreatedError,
    EventConflictError,
    HealthStatus,
    Scorer,
    Thresholds,
    UnknownCustomerError,
    UnknownFactorError,
    UnknownSegmentError,
)
from customer_health.scoring import default_scorer

DAY = timedelta(days=1)
US = timedelta(microseconds=1)
SMB = {"id": "c1", "segment": "smb"}


def ev(kind: str, occurred_at: datetime, **fields: Any) -> dict[str, Any]:
    """An event of customer c1."""
    return {"customer_id": "c1", "kind": kind, "occurred_at": occurred_at, **fields}


def factor(result: customer_health.HealthScore, name: str) -> customer_health.FactorScore:
    return result.factor(name)


# -- windows -------------------------------------------------------------------------


def test_usage_window_excludes_its_lower_edge_and_includes_as_of(as_of: datetime) -> None:
    """An event exactly 30 days before as_of is out; one at as_of is in; later ones are out."""
    events = [
        ev("api_call", as_of - 30 * DAY, quantity=7),
        ev("api_call", as_of - 30 * DAY + US, quantity=11),
        ev("api_call", as_of, quantity=13),
        ev("api_call", as_of + US, quantity=17),
    ]
    result = customer_health.score(SMB, events, as_of=as_of)
    assert factor(result, "api_usage").value == 24


def test_login_days_are_distinct_utc_dates(as_of: datetime) -> None:
    """Logins count by UTC calendar date, whatever zone their timestamps were given in."""
    zone = timezone(timedelta(hours=-8))
    events = [
        ev("login", datetime(2026, 6, 28, 23, 30, tzinfo=UTC)),
        # 2026-06-28 17:00 in UTC-8 is 2026-06-29 01:00 UTC: a second date
        ev("login", datetime(2026, 6, 28, 17, 0, tzinfo=zone)),
        ev("login", datetime(2026, 6, 29, 5, 0)),  # naive: read as UTC, same date as above
    ]
    result = customer_health.score(SMB, events, as_of=as_of)
    assert factor(result, "login_frequency").value == 2


def test_support_window_is_90_days_and_open_tickets_weigh_more(as_of: datetime) -> None:
    """Tickets older than 90 days are out; unresolved (or resolved after as_of) weigh 1.5x."""
    events = [
        ev("support_ticket", as_of - 90 * DAY, priority="urgent"),
        ev("support_ticket", as_of - 89 * DAY, priority="low", resolved_at=as_of - 88 * DAY),
        ev("support_ticket", as_of - 5 * DAY, priority="urgent", resolved_at=as_of + DAY),
        ev("support_ticket", as_of - 1 * DAY),
    ]
    part = factor(customer_health.score(SMB, events, as_of=as_of), "support_tickets")
    assert part.value == pytest.approx(0.5 + 3 * 1.5 + 1 * 1.5)
    assert part.score == pytest.approx(100 * 4 / 6.5)
    assert "3 tickets, 2 open" in part.explanation


def test_payment_window_is_on_due_at_and_unpaid_invoices_accrue(as_of: datetime) -> None:
    """Invoices count by due date within 180 days; unpaid ones are late until as_of."""
    events = [
        ev("payment", as_of - 200 * DAY, due_at=as_of - 180 * DAY, paid_at=None),  # out
        ev("payment", as_of - 200 * DAY, due_at=as_of - 180 * DAY + US, paid_at=None),  # in
        ev("payment", as_of - DAY, due_at=as_of + DAY, paid_at=None),  # not due yet: out
        ev("payment", as_of - 30 * DAY, due_at=as_of - 10 * DAY, paid_at=as_of + DAY),  # 10 late
        ev("payment", as_of + DAY, due_at=as_of - 5 * DAY, paid_at=None),  # recorded later: out
    ]
    part = factor(customer_health.score(SMB, events, as_of=as_of), "payment_timeliness")
    late_first = (180 * DAY - US) / DAY
    assert part.value == pytest.approx((late_first + 10) / 2, abs=1e-9)
    assert part.score == pytest.approx(100 * (0 + (1 - 10 / 30)) / 2, abs=1e-9)
    assert part.expected == 0


def test_payment_without_invoices_is_no_data(as_of: datetime) -> None:
    """No invoice due in the window means no data: the factor carries no weight."""
    result = customer_health.score(SMB, [], as_of=as_of)
    part = factor(result, "payment_timeliness")
    assert part.score is None
    assert part.value is None
    assert part.contribution == 0
    # model v2's last_seen (0.20) and activity_trend (0.10) have no data either
    assert result.coverage == pytest.approx(0.75 / 1.30)
    # usage factors score 0 with no events, tickets 100
    assert result.score == pytest.approx(0.15 * 100 / 0.75)
    assert result.status is HealthStatus.CRITICAL


def test_no_factor_with_data_is_unknown(as_of: datetime) -> None:
    """If only factors without data are selected, the score is None and the status unknown."""
    scorer = Scorer(factors=["payment_timeliness"])
    result = scorer.score(SMB, [], as_of=as_of)
    assert result.score is None
    assert result.status is HealthStatus.UNKNOWN
    assert result.coverage == 0


def test_zero_weight_factors_with_data_give_unknown(as_of: datetime) -> None:
    """When the factors with data all weigh zero the score is unknown, not a division error."""
    scorer = Scorer(factors=["api_usage", "payment_timeliness"], weights={"api_usage": 0})
    result = scorer.score(SMB, [ev("api_call", as_of)], as_of=as_of)
    assert result.score is None
    assert result.status is HealthStatus.UNKNOWN


# -- proration -------------------------------------------------------------------------


def test_young_customers_have_prorated_usage_expectations(as_of: datetime) -> None:
    """A customer 6 days old is expected 6/30 of the usage; tickets are not prorated."""
    customer = {**SMB, "created_at": as_of - 6 * DAY}
    result = customer_health.score(customer, [ev("api_call", as_of, quantity=50)], as_of=as_of)
    api = factor(result, "api_usage")
    assert api.expected == pytest.approx(500 * 6 / 30)
    assert api.score == pytest.approx(50.0)
    assert api.explanation == (
        "50 API calls in 30 days; smb customers are expected 500 in 30 days, prorated to "
        "100 for a customer 6 days old"
    )
    assert factor(result, "support_tickets").expected == 4
    assert factor(result, "login_frequency").expected == pytest.approx(15 * 6 / 30)


def test_proration_uses_at_least_one_day(as_of: datetime) -> None:
    """A customer a few hours old is expected one day's worth, not less."""
    customer = {**SMB, "created_at": as_of - timedelta(hours=3)}
    result = customer_health.score(customer, [], as_of=as_of)
    assert factor(result, "feature_adoption").expected == pytest.approx(5 / 30)
    assert factor(result, "feature_adoption").explanation.endswith(
        "smb customers are expected 5 in 30 days, prorated to 0.17 for a customer 0.12 days "
        "old (counted as one day)"
    )


def test_customers_30_days_old_are_not_prorated(as_of: datetime) -> None:
    """Proration stops once the customer is as old as the window."""
    customer = {**SMB, "created_at": as_of - 30 * DAY}
    assert factor(customer_health.score(customer, [], as_of=as_of), "api_usage").expected == 500


def test_scoring_before_the_customer_existed_is_an_error(as_of: datetime) -> None:
    """score() for a customer created after as_of raises an error saying so."""
    customer = {**SMB, "created_at": as_of + US}
    with pytest.raises(CustomerNotCreatedError, match=r"'c1' was created at .* after as_of"):
        customer_health.score(customer, [], as_of=as_of)


# -- de-duplication ----------------------------------------------------------------------


def test_identical_events_with_one_event_id_count_once(as_of: datetime) -> None:
    """Copies of an event sharing its event_id count once; events without ids all count."""
    events = [
        ev("api_call", as_of, quantity=10, event_id="a"),
        ev("api_call", as_of.isoformat(), quantity=10, event_id="a"),
        ev("api_call", as_of, quantity=10),
        ev("api_call", as_of, quantity=10),
    ]
    assert factor(customer_health.score(SMB, events, as_of=as_of), "api_usage").value == 30


def test_event_ids_are_per_customer(as_of: datetime) -> None:
    """The same event_id for two customers is two events."""
    events = [
        ev("api_call", as_of, event_id="x"),
        {**ev("api_call", as_of, event_id="x"), "customer_id": "c2", "quantity": 5},
    ]
    batch = Scorer().score_many([SMB, {"id": "c2", "segment": "smb"}], events, as_of=as_of)
    assert [factor(s, "api_usage").value for s in batch] == [1, 5]


def test_same_event_id_with_different_content_is_a_conflict(as_of: datetime) -> None:
    """Two events sharing an event_id but not their content are an error naming the id."""
    events = [
        ev("api_call", as_of, quantity=1, event_id="dup-7"),
        ev("api_call", as_of, quantity=2, event_id="dup-7"),
    ]
    with pytest.raises(EventConflictError, match="event_id 'dup-7' of customer 'c1'"):
        customer_health.score(SMB, events, as_of=as_of)


def test_deduplication_happens_before_windows(as_of: datetime) -> None:
    """A conflict is an error even when one copy lies outside every window."""
    events = [
        ev("login", as_of - 400 * DAY, event_id="k"),
        ev("login", as_of - 1 * DAY, event_id="k"),
    ]
    with pytest.raises(EventConflictError):
        customer_health.score(SMB, events, as_of=as_of)


# -- score() and score_many() --------------------------------------------------------------


def test_score_ignores_other_customers_events(as_of: datetime) -> None:
    """Events of other customers do not reach score()."""
    events = [ev("api_call", as_of, quantity=3), {**ev("api_call", as_of), "customer_id": "zz"}]
    assert factor(customer_health.score(SMB, events, as_of=as_of), "api_usage").value == 3


def test_integer_ids_are_read_as_decimal_strings(as_of: datetime) -> None:
    """A customer id 42 and events for customer_id 42 or '42' are the same customer."""
    events = [
        {"customer_id": 42, "kind": "api_call", "occurred_at": as_of},
        {"customer_id": "42", "kind": "api_call", "occurred_at": as_of},
    ]
    result = customer_health.score({"id": 42, "segment": "smb"}, events, as_of=as_of)
    assert result.customer_id == "42"
    assert factor(result, "api_usage").value == 2


def test_score_many_rejects_events_of_unknown_customers(as_of: datetime) -> None:
    """Events of customers not in the batch are an error naming a few of them."""
    events = [{**ev("login", as_of), "customer_id": f"x{i}"} for i in range(8)]
    with pytest.raises(
        UnknownCustomerError, match=r"8 events belong to 8 customers.*'x0'.*and 3 more"
    ):
        Scorer().score_many([SMB], events, as_of=as_of)


def test_score_many_can_skip_events_of_unknown_customers(as_of: datetime) -> None:
    """With unknown_customers='skip' those events are skipped and counted."""
    events = [ev("login", as_of), {**ev("login", as_of), "customer_id": "x"}]
    batch = Scorer().score_many([SMB], events, as_of=as_of, unknown_customers="skip")
    assert len(batch) == 1
    assert batch.skipped_events == 1
    assert factor(batch[0], "login_frequency").value == 1


def test_score_many_leaves_out_customers_created_after_as_of(as_of: datetime) -> None:
    """Customers created after as_of are left out of the batch and listed."""
    customers = [SMB, {"id": "late", "segment": "smb", "created_at": as_of + DAY}]
    batch = Scorer().score_many(customers, [], as_of=as_of)
    assert [s.customer_id for s in batch] == ["c1"]
    assert batch.not_created == ("late",)


def test_score_many_rejects_duplicate_customers(as_of: datetime) -> None:
    """The same customer id twice in a batch is an error naming it."""
    with pytest.raises(customer_health.InvalidCustomerError, match="id 'c1' appears twice"):
        Scorer().score_many([SMB, SMB], [], as_of=as_of)


def test_score_many_rejects_a_bad_unknown_customers_option(as_of: datetime) -> None:
    """An unknown_customers value other than 'error' or 'skip' is rejected."""
    with pytest.raises(ConfigurationError, match="unknown_customers='ignore'"):
        Scorer().score_many([SMB], [], as_of=as_of, unknown_customers="ignore")  # type: ignore[arg-type]


def test_unknown_segment_lists_the_known_ones(as_of: datetime) -> None:
    """A customer in an unknown segment is an error naming it and listing the known ones."""
    with pytest.raises(UnknownSegmentError, match=r"'mid-market'.*enterprise, smb, startup"):
        customer_health.score({"id": "c1", "segment": "mid-market"}, [], as_of=as_of)


# -- as_of ------------------------------------------------------------------------------------


def test_as_of_accepts_dates_strings_and_naive_datetimes(as_of: datetime) -> None:
    """A date means 00:00 UTC; a naive datetime is UTC; an ISO string is parsed."""
    events = [ev("api_call", as_of)]
    expected = customer_health.score(SMB, events, as_of=as_of)
    for variant in (date(2026, 6, 30), datetime(2026, 6, 30), "2026-06-30T02:00:00+02:00"):
        got = customer_health.score(SMB, events, as_of=variant)
        assert got.as_of == as_of
        assert got.score == expected.score


def test_as_of_defaults_to_now(as_of: datetime) -> None:
    """Without as_of the score is taken now, in UTC."""
    before = datetime.now(UTC)
    result = customer_health.score(SMB, [])
    assert before <= result.as_of <= datetime.now(UTC)
    assert result.as_of.tzinfo is UTC


def test_bad_as_of_is_rejected() -> None:
    """An as_of that is not a date, a datetime or an ISO string names the value."""
    with pytest.raises(customer_health.InvalidInputError, match="'yesterday'"):
        customer_health.score(SMB, [], as_of="yesterday")
    with pytest.raises(customer_health.InvalidInputError, match=r"12\.5"):
        customer_health.score(SMB, [], as_of=12.5)  # type: ignore[arg-type]
    # Year 1 at 00:00+01:00 is in year 0 in UTC, which datetime cannot hold.
    for early in (
        "0001-01-01T00:00:00+01:00",
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
    ):
        with pytest.raises(customer_health.InvalidInputError, match="out of range once converted"):
            customer_health.score(SMB, [], as_of=early)


# -- status and configuration --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("calls", "status"),
    [(350, "healthy"), (349, "at_risk"), (200, "at_risk"), (199, "critical")],
)
def test_status_thresholds_are_inclusive(as_of: datetime, calls: int, status: str) -> None:
    """healthy at >= 70, at_risk at >= 40, critical below."""
    scorer = Scorer(factors=["api_usage"])
    result = scorer.score(SMB, [ev("api_call", as_of, quantity=calls)], as_of=as_of)
    assert result.status.value == status


def test_status_compares_the_score_rounded_to_nine_places() -> None:
    """A score a hair under a threshold (float noise) still reaches it."""
    thresholds = Thresholds()
    assert thresholds.status(70 - 1e-12) is HealthStatus.HEALTHY
    assert thresholds.status(70 - 1e-8) is HealthStatus.AT_RISK
    assert thresholds.status(None) is HealthStatus.UNKNOWN


def test_custom_thresholds_and_weights_change_the_result(as_of: datetime) -> None:
    """Weights and thresholds are configurable and reflected in score, status and fingerprint."""
    events = [ev("api_call", as_of, quantity=250)]
    default = Scorer()
    custom = Scorer(weights={"api_usage": 1.0}, thresholds={"healthy": 90, "at_risk": 10})
    a, b = default.score(SMB, events, as_of=as_of), custom.score(SMB, events, as_of=as_of)
    assert a.score != b.score
    assert b.factor("api_usage").weight == 1.0
    assert a.fingerprint != b.fingerprint
    assert b.status is HealthStatus.AT_RISK


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights": {"api_usage": -1}}, "weight of factor 'api_usage' is -1"),
        ({"weights": {"api_usage": float("nan")}}, "weight of factor 'api_usage' is nan"),
        ({"weights": {"api_usage": True}}, "weight of factor 'api_usage' is True"),
        (
            {
                "weights": dict.fromkeys(
                    [
                        "api_usage",
                        "login_frequency",
                        "payment_timeliness",
                        "feature_adoption",
                        "support_tickets",
                        "last_seen",
                        "activity_trend",
                    ],
                    0,
                )
            },
            "all factor weights are zero",
        ),
        ({"weights": {"nps": 1}}, "unknown factor 'nps'"),
        ({"factors": ["api_usage"], "weights": {"login_frequency": 1}}, "not among the selected"),
        (
            {"factors": ["api_usage", "bogus"]},
            "unknown factor 'bogus'; known factors: activity_trend, api_usage",
        ),
        ({"factors": []}, "no factors to score with"),
        ({"factors": "api_usage"}, "is a string"),
        ({"thresholds": {"healthy": 40, "at_risk": 70}}, "thresholds out of order"),
        ({"thresholds": {"healthy": 170}}, "healthy"),
        ({"thresholds": {"healthy": 70, "warning": 1}}, "warning"),
    ],
)
def test_nonsense_configuration_is_rejected(kwargs: dict[str, Any], message: str) -> None:
    """Negative, NaN or all-zero weights, unknown factors and bad thresholds are rejected."""
    with pytest.raises(ConfigurationError, match=message):
        Scorer(**kwargs)


def test_unknown_factor_errors_are_lookup_errors() -> None:
    """An unknown factor is both a configuration error and a LookupError."""
    with pytest.raises(LookupError):
        Scorer(factors=["nope"])
    with pytest.raises(UnknownFactorError):
        Scorer().factor("nope")


def test_fingerprint_is_stable_and_tracks_configuration() -> None:
    """Equal configurations share a fingerprint; any change to weights or thresholds changes it."""
    assert Scorer().fingerprint == Scorer().fingerprint == default_scorer().fingerprint
    assert Scorer(weights={"api_usage": 0.3}).fingerprint != Scorer().fingerprint
    assert Scorer(thresholds=Thresholds(healthy=71)).fingerprint != Scorer().fingerprint
    assert Scorer(factors=["api_usage"]).fingerprint != Scorer().fingerprint
    config = Scorer().config
    assert config.factors == tuple(sorted(config.factors))
    assert config.expectations["smb"]["api_calls_30d"] == 500


def test_scorer_describes_its_configuration() -> None:
    """A scorer exposes its factors, weights, segments and a readable repr."""
    scorer = Scorer()
    assert scorer.factors == (
        "api_usage",
        "login_frequency",
        "payment_timeliness",
        "feature_adoption",
        "support_tickets",
        "last_seen",
        "activity_trend",
    )
    assert sum(scorer.weights.values()) == pytest.approx(1.30)
    assert set(scorer.segments) == {"enterprise", "smb", "startup"}
    assert scorer.factor("api_usage").name == "api_usage"
    assert "api_usage" in repr(scorer)


def test_combine_builds_a_score_from_factor_results(as_of: datetime) -> None:
    """Scorer.combine turns per-factor results computed elsewhere into the same HealthScore."""
    scorer = Scorer(model="v1")
    customer = customer_health.Customer(id="c1", segment="smb")
    direct = scorer.score(customer, [ev("api_call", as_of, quantity=100)], as_of=as_of)
    results = {}
    for name in scorer.factors:
        f = scorer.factor(name)
        ctx = scorer.context(customer, as_of, name)
        inputs = {"calls": 100.0} if name == "api_usage" else dict.fromkeys(f.inputs, 0.0)
        results[name] = f.compute(inputs, ctx)
    combined = scorer.combine("c1", as_of, results)
    assert combined == direct
    with pytest.raises(ConfigurationError, match="no result for factors"):
        scorer.combine("c1", as_of, {})


def test_explain_lists_every_factor(as_of: datetime) -> None:
    """HealthScore.explain() gives the score line and one line per factor."""
    text = customer_health.score(SMB, [ev("api_call", as_of)], as_of=as_of).explain()
    lines = text.splitlines()
    assert lines[0].startswith("c1: ")
    assert len(lines) == 1 + len(Scorer().factors)
    assert "no data" in text
    with pytest.raises(KeyError, match="no factor 'nps'"):
        customer_health.score(SMB, [], as_of=as_of).factor("nps")


def test_segments_are_typed_expectations() -> None:
    """Scorer.segments gives each segment as a SegmentExpectations model with the model's values."""
    smb = Scorer().segments["smb"]
    assert isinstance(smb, customer_health.SegmentExpectations)
    assert smb.expectations == {
        "api_calls_30d": 500,
        "login_days_30d": 15,
        "features_30d": 5,
        "tickets_90d": 4,
        "last_seen": 7.0,  # model v2's default
    }
    with pytest.raises(ValueError, match="greater than 0"):
        customer_health.SegmentExpectations(segment="x", expectations={"api_calls_30d": 0})


def test_the_garbage_collector_is_resumed_after_scoring(as_of: datetime) -> None:
    """Scoring pauses the cyclic collector only while it runs, errors included."""
    import gc

    assert gc.isenabled()
    customer_health.score(SMB, [ev("login", as_of)], as_of=as_of)
    assert gc.isenabled()
    with pytest.raises(EventConflictError):
        Scorer().score_many(
            [SMB], [ev("login", as_of, event_id="x"), ev("api_call", as_of, event_id="x")]
        )
    assert gc.isenabled()
    gc.disable()
    try:
        customer_health.score(SMB, [], as_of=as_of)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
