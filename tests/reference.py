"""An independent implementation of the default model (v2) and of model v1, written from
the model document.

It shares no code with the library: plain dicts in, plain dicts out, integer
microseconds for time. Tests compare every scoring path with it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US_PER_DAY = 86_400_000_000

SEGMENTS = {
    "enterprise": {"api": 1000, "login": 20, "features": 8, "tickets": 6},
    "smb": {"api": 500, "login": 15, "features": 5, "tickets": 4},
    "startup": {"api": 200, "login": 10, "features": 3, "tickets": 3},
}
WEIGHTS_V1 = {
    "api_usage": 0.25,
    "login_frequency": 0.20,
    "payment_timeliness": 0.25,
    "feature_adoption": 0.15,
    "support_tickets": 0.15,
}
WEIGHTS = {**WEIGHTS_V1, "last_seen": 0.20, "activity_trend": 0.10}
"""Model v2's: v1's, and last_seen and activity_trend."""
LAST_SEEN_DAYS = 7.0
"""last_seen's expectation in every built-in segment; its score is 0 from 52 times it."""
PRIORITY = {"low": 0.5, "normal": 1.0, "high": 2.0, "urgent": 3.0}


def micros(value: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // timedelta(microseconds=1)


def _dedupe(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    out = []
    for event in events:
        eid = event.get("event_id")
        if eid is None:
            out.append(event)
            continue
        key = (str(event["customer_id"]), eid)
        if key in seen:
            continue
        seen[key] = event
        out.append(event)
    return out


def reference_score(
    customer: dict[str, Any],
    events: list[dict[str, Any]],
    as_of: datetime,
    weights: dict[str, float] | None = None,
    healthy: float = 70.0,
    at_risk: float = 40.0,
) -> dict[str, Any]:
    """Score one customer; returns score, status, coverage and per-factor score/value/expected.

    The factors are those ``weights`` weighs: model v2's by default, v1's with
    :data:`WEIGHTS_V1`."""
    weights = weights or WEIGHTS
    now = micros(as_of)
    cid = str(customer["id"])
    mine = _dedupe([e for e in events if str(e["customer_id"]) == cid])
    mine = [e for e in mine if micros(e["occurred_at"]) <= now]
    seg = SEGMENTS[customer["segment"]]

    def window(kind: str, days: int) -> list[dict[str, Any]]:
        lo = now - days * US_PER_DAY
        return [e for e in mine if e["kind"] == kind and lo < micros(e["occurred_at"])]

    created = customer.get("created_at")
    factor_exp = {"api": seg["api"], "login": seg["login"], "features": seg["features"]}
    if created is not None:
        tenure = (now - micros(created)) / US_PER_DAY
        if tenure < 30:
            factor_exp = {k: v * max(1.0, tenure) / 30 for k, v in factor_exp.items()}

    results: dict[str, tuple[float | None, float | None, float | None]] = {}
    calls = sum(e.get("quantity") or 1 for e in window("api_call", 30))
    results["api_usage"] = (100 * min(1, calls / factor_exp["api"]), calls, factor_exp["api"])

    # A UTC calendar date is the whole number of days since the epoch.
    login_days = len({micros(e["occurred_at"]) // US_PER_DAY for e in window("login", 30)})
    results["login_frequency"] = (
        100 * min(1, login_days / factor_exp["login"]),
        login_days,
        factor_exp["login"],
    )

    invoice_scores = []
    lates = []
    for e in mine:
        if e["kind"] != "payment":
            continue
        due = micros(e["due_at"])
        if not (now - 180 * US_PER_DAY < due <= now):
            continue
        paid = e.get("paid_at")
        settled = micros(paid) if paid is not None and micros(paid) <= now else now
        late = max(0.0, (settled - due) / US_PER_DAY)
        lates.append(late)
        invoice_scores.append(max(0.0, 1 - late / 30))
    if invoice_scores:
        results["payment_timeliness"] = (
            100 * sum(invoice_scores) / len(invoice_scores),
            sum(lates) / len(lates),
            0.0,
        )
    else:
        results["payment_timeliness"] = (None, None, 0.0)

    features = len({e["feature"] for e in window("feature_used", 30)})
    results["feature_adoption"] = (
        100 * min(1, features / factor_exp["features"]),
        features,
        factor_exp["features"],
    )

    load = 0.0
    for e in window("support_ticket", 90):
        weight = PRIORITY[e.get("priority") or "normal"]
        resolved = e.get("resolved_at")
        if resolved is None or micros(resolved) > now:
            weight *= 1.5
        load += weight
    expected_tickets = seg["tickets"]
    ticket_score = 100.0 if load <= expected_tickets else 100 * expected_tickets / load
    results["support_tickets"] = (ticket_score, load, expected_tickets)

    # model v2: usage events (logins, features used, API calls) up to as_of
    usage = ("login", "feature_used", "api_call")
    ages = [now - micros(e["occurred_at"]) for e in mine if e["kind"] in usage]
    if ages:
        since = min(ages) / US_PER_DAY
        zero = 52 * LAST_SEEN_DAYS
        if since <= LAST_SEEN_DAYS:
            recency = 100.0
        elif since < zero:
            recency = 100 * (zero - since) / (zero - LAST_SEEN_DAYS)
        else:
            recency = 0.0
        results["last_seen"] = (recency, since, LAST_SEEN_DAYS)
    else:
        results["last_seen"] = (None, None, LAST_SEEN_DAYS)
    month = 30 * US_PER_DAY
    current = sum(1 for age in ages if age < month)
    previous = sum(1 for age in ages if month <= age < 2 * month)
    if previous:
        results["activity_trend"] = (100 * min(1, current / previous), current / previous, None)
    elif current:
        results["activity_trend"] = (100.0, None, None)
    else:
        results["activity_trend"] = (None, None, None)

    with_data = {n: r for n, r in results.items() if r[0] is not None and n in weights}
    total_w = sum(weights.values())
    wsum = sum(weights[n] for n in with_data)
    if wsum > 0:
        score: float | None = sum(weights[n] * r[0] for n, r in with_data.items()) / wsum  # type: ignore[operator]
    else:
        score = None
    if score is None:
        status = "unknown"
    elif round(score, 9) >= healthy:
        status = "healthy"
    elif round(score, 9) >= at_risk:
        status = "at_risk"
    else:
        status = "critical"
    return {
        "score": score,
        "status": status,
        "coverage": wsum / total_w,
        "factors": {n: r for n, r in results.items() if n in weights},
    }
