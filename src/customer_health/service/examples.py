"""Examples for the OpenAPI schema: a request body or a response of every route.

The service's tests validate each against its model, so they stay true. No value is
``None``: FastAPI leaves out ``null`` values when it writes the schema.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CUSTOMER",
    "CUSTOMER_PAGE",
    "CUSTOMER_SUMMARY",
    "CUSTOMER_UPDATE",
    "EVENTS",
    "HEALTH_SCORE",
    "LIVENESS",
    "PORTFOLIO_STATS",
    "READINESS",
    "RECORDED",
]

CUSTOMER: dict[str, Any] = {
    "id": "c000042",
    "segment": "enterprise",
    "name": "Tyrell Retail",
    "created_at": "2024-05-25T09:07:07Z",
    "attributes": {"seats": 374},
}

CUSTOMER_UPDATE: dict[str, Any] = {
    "segment": "enterprise",
    "name": "Tyrell Retail Group",
    "created_at": "2024-05-25T09:07:07Z",
    "attributes": {"seats": 420},
}

_FACTORS: list[dict[str, Any]] = [
    {
        "name": "api_usage",
        "score": 42.0,
        "weight": 0.25,
        "contribution": 8.076923076923077,
        "value": 420.0,
        "expected": 1000.0,
        "explanation": "420 API calls in 30 days; enterprise customers are expected 1000",
    },
    {
        "name": "login_frequency",
        "score": 60.0,
        "weight": 0.2,
        "contribution": 9.23076923076923,
        "value": 12.0,
        "expected": 20.0,
        "explanation": (
            "logins on 12 distinct days in 30 days; enterprise customers are expected 20"
        ),
    },
    {
        "name": "payment_timeliness",
        "score": 100.0,
        "weight": 0.25,
        "contribution": 19.23076923076923,
        "value": 0.0,
        "expected": 0.0,
        "explanation": "3 invoices due in 180 days, paid 0 days late on average",
    },
    {
        "name": "feature_adoption",
        "score": 50.0,
        "weight": 0.15,
        "contribution": 5.769230769230769,
        "value": 4.0,
        "expected": 8.0,
        "explanation": "4 distinct features used in 30 days; enterprise customers are expected 8",
    },
    {
        "name": "support_tickets",
        "score": 100.0,
        "weight": 0.15,
        "contribution": 11.538461538461538,
        "value": 0.0,
        "expected": 6.0,
        "explanation": (
            "ticket load 0 in 90 days (0 tickets, 0 open); "
            "enterprise customers are expected at most 6"
        ),
    },
    {
        "name": "last_seen",
        "score": 100.0,
        "weight": 0.2,
        "contribution": 15.384615384615383,
        "value": 1.125,
        "expected": 7.0,
        "explanation": "last usage event 1.12 days ago; expected within 7",
    },
    {
        "name": "activity_trend",
        "score": 100.0,
        "weight": 0.1,
        "contribution": 7.692307692307692,
        "value": 1.1333333333333333,
        "expected": None,
        "explanation": "17 usage events in the last 30 days, 15 in the 30 days before",
    },
]

HEALTH_SCORE: dict[str, Any] = {
    "customer_id": "c000042",
    "as_of": "2026-06-30T00:00:00Z",
    "score": 76.92307692307692,
    "status": "healthy",
    "coverage": 1.0,
    "factors": _FACTORS,
    "model_name": "customer-health",
    "model_version": "2",
    "fingerprint": "3e50c785f832b0077ac2c5afea65cfac43993517cfc0857ced05c5a30a8bef50",
}
"""A score of the default model, as ``tests/service/test_openapi.py`` computes it."""


CUSTOMER_PAGE: dict[str, Any] = {
    "items": [
        {
            "id": "c000042",
            "name": "Tyrell Retail",
            "segment": "enterprise",
            "created_at": "2024-05-25T09:07:07Z",
            "score": 76.92307692307692,
            "status": "healthy",
            "as_of": "2026-06-30T00:00:00Z",
            "scoring": {"pending": False, "attempts": 0},
        },
        {
            "id": "c000043",
            "name": "Initech Foods",
            "segment": "smb",
            "created_at": "2025-02-11T00:00:00Z",
            "score": 81.5,
            "status": "healthy",
            "as_of": "2026-06-30T00:00:00Z",
            "scoring": {
                "pending": True,
                "attempts": 0,
                "next_attempt_at": "2026-06-30T08:14:02Z",
            },
        },
    ],
    "next_cursor": "WzgxLjUsICJjMDAwMDQzIl0",
}

CUSTOMER_SUMMARY: dict[str, Any] = {
    "id": "c000042",
    "name": "Tyrell Retail",
    "segment": "enterprise",
    "created_at": "2024-05-25T09:07:07Z",
    "score": 76.92307692307692,
    "status": "healthy",
    "as_of": "2026-06-30T00:00:00Z",
    "scoring": {
        "pending": True,
        "attempts": 3,
        "last_error": "FactorError: factor 'nps' (plugin 'acme_nps') raised "
        "ZeroDivisionError('division by zero') in compute() while scoring customer 'c000042'",
        "failed_at": "2026-06-30T08:14:09Z",
        "next_attempt_at": "2026-06-30T08:14:13Z",
    },
}
"""A customer whose last three scoring attempts failed (its score is from before)."""

EVENTS: dict[str, Any] = {
    "one": {
        "summary": "One event",
        "value": {
            "kind": "api_call",
            "occurred_at": "2026-06-29T14:03:00Z",
            "quantity": 250,
            "event_id": "evt-0001",
        },
    },
    "batch": {
        "summary": "A batch of events",
        "value": [
            {"kind": "login", "occurred_at": "2026-06-29T08:00:00Z", "user_id": "u-17"},
            {"kind": "feature_used", "occurred_at": "2026-06-29T08:05:00Z", "feature": "reports"},
            {
                "kind": "payment",
                "occurred_at": "2026-06-01T00:00:00Z",
                "due_at": "2026-06-15T00:00:00Z",
                "paid_at": "2026-06-12T10:00:00Z",
                "amount": 1200.0,
            },
            {
                "kind": "support_ticket",
                "occurred_at": "2026-06-20T09:30:00Z",
                "priority": "high",
                "resolved_at": "2026-06-21T16:00:00Z",
            },
        ],
    },
}
"""Named request examples (``openapi_examples``): one event, and a batch."""

RECORDED: dict[str, Any] = {"recorded": 4, "duplicates": 1}


def _group(customers: int, healthy: int, at_risk: int, critical: int) -> dict[str, Any]:
    counts = {"healthy": healthy, "at_risk": at_risk, "critical": critical, "unknown": 0}
    return {
        "customers": customers,
        "statuses": {
            status: {"count": count, "share": count / customers} for status, count in counts.items()
        },
        "mean": 64.5,
        "median": 66.0,
    }


PORTFOLIO_STATS: dict[str, Any] = {
    "overall": _group(4, 2, 1, 1),
    "segments": {"enterprise": _group(2, 1, 1, 0), "smb": _group(2, 1, 0, 1)},
    "unscored": 1,
    "failing": 1,
    "histogram": [
        {"low": float(low), "high": float(low + 10), "count": count}
        for low, count in zip(range(0, 100, 10), (0, 0, 0, 1, 0, 0, 1, 0, 1, 1), strict=True)
    ],
    "changes_days": 7,
    "changes": [{"from_status": "healthy", "to_status": "at_risk", "count": 1}],
}

LIVENESS: dict[str, Any] = {"status": "ok"}
READINESS: dict[str, Any] = {"status": "ready", "database": "postgresql"}
