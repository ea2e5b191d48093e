"""The worked example of the model document, as a test."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

import customer_health
from customer_health import HealthStatus


def worked_example(as_of: datetime) -> list[dict[str, Any]]:
    """The events of the worked example: an smb customer, as_of 2026-06-30T00:00:00Z."""
    day = timedelta(days=1)
    events: list[dict[str, Any]] = [
        {"customer_id": "acme", "kind": "api_call", "occurred_at": as_of - i * day, "quantity": 100}
        for i in range(4)
    ]
    events += [
        {
            "customer_id": "acme",
            "kind": "login",
            "occurred_at": as_of - i * day - timedelta(hours=2),
        }
        for i in range(12)
    ]
    events += [
        {
            "customer_id": "acme",
            "kind": "payment",
            "occurred_at": as_of - 70 * day,
            "due_at": as_of - 60 * day,
            "paid_at": as_of - 61 * day,
        },
        {
            "customer_id": "acme",
            "kind": "payment",
            "occurred_at": as_of - 40 * day,
            "due_at": as_of - 40 * day,
            "paid_at": as_of - 25 * day,
        },
    ]
    events += [
        {"customer_id": "acme", "kind": "feature_used", "feature": f, "occurred_at": as_of - day}
        for f in ("search", "export", "sso", "search")
    ]
    events += [
        {
            "customer_id": "acme",
            "kind": "support_ticket",
            "priority": "high",
            "occurred_at": as_of - 20 * day,
            "resolved_at": as_of - 18 * day,
        },
        {"customer_id": "acme", "kind": "support_ticket", "occurred_at": as_of - 3 * day},
    ]
    return events


def test_worked_example_scores_78_75_healthy(as_of: datetime) -> None:
    """Model v1's worked example gives 78.75, healthy, coverage 1.0, factor by factor."""
    result = customer_health.Scorer(model="v1").score(
        {"id": "acme", "segment": "smb", "created_at": "2020-01-01"},
        worked_example(as_of),
        as_of=as_of,
    )
    assert result.score == pytest.approx(78.75, abs=1e-9)
    assert result.status is HealthStatus.HEALTHY
    assert result.coverage == pytest.approx(1.0)
    scores = {f.name: f.score for f in result.factors}
    assert scores == pytest.approx(
        {
            "api_usage": 80.0,
            "login_frequency": 80.0,
            "payment_timeliness": 75.0,
            "feature_adoption": 60.0,
            "support_tickets": 100.0,
        },
        abs=1e-9,
    )
    contributions = {f.name: f.contribution for f in result.factors}
    assert contributions == pytest.approx(
        {
            "api_usage": 20.0,
            "login_frequency": 16.0,
            "payment_timeliness": 18.75,
            "feature_adoption": 9.0,
            "support_tickets": 15.0,
        },
        abs=1e-9,
    )
    values = {f.name: (f.value, f.expected) for f in result.factors}
    assert values["api_usage"] == (400, 500)
    assert values["login_frequency"] == (12, 15)
    assert values["payment_timeliness"] == (pytest.approx(7.5), 0)
    assert values["feature_adoption"] == (3, 5)
    assert values["support_tickets"] == (3.5, 4)
    assert result.factor("api_usage").explanation == (
        "400 API calls in 30 days; smb customers are expected 500"
    )
    assert result.model_version == "1"
    assert len(result.fingerprint) == 64


def test_worked_example_in_model_v2(as_of: datetime) -> None:
    """Model v2 (the default) on the same events: v1's five factors as before, and the
    last usage event (an API call at as_of) 0 days ago, 20 usage events in the last 30
    days and none in the 30 before, so last_seen and activity_trend score 100:
    (78.75 + 0.2 * 100 + 0.1 * 100) / 1.3 = 83.653846..., healthy."""
    result = customer_health.score(
        {"id": "acme", "segment": "smb", "created_at": "2020-01-01"},
        worked_example(as_of),
        as_of=as_of,
    )
    assert result.model_version == "2"
    assert result.score == pytest.approx(108.75 / 1.3, abs=1e-9)
    assert result.status is HealthStatus.HEALTHY
    last_seen, trend = result.factor("last_seen"), result.factor("activity_trend")
    assert (last_seen.score, last_seen.value, last_seen.expected) == (100.0, 0.0, 7.0)
    assert (trend.score, trend.value, trend.expected) == (100.0, None, None)
    assert last_seen.explanation == "last usage event 0 days ago; expected within 7"
    assert trend.explanation == "20 usage events in the last 30 days, 0 in the 30 days before"
    assert result.factor("api_usage").contribution == pytest.approx(0.25 * 80 / 1.3, abs=1e-9)
