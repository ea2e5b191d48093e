"""Typed usage of the public API, checked by ``mypy --strict`` (never run by pytest).

If a change to the library's annotations breaks what users write, mypy fails here.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import customer_health
from customer_health import (
    Customer,
    CustomEvent,
    Event,
    Factor,
    FactorContext,
    FactorResult,
    FactorScore,
    HealthScore,
    HealthScores,
    HealthStatus,
    LoginEvent,
    Scorer,
)
from customer_health.plugins import RegisterFactor

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)


def score_one() -> float | None:
    """Score one customer from plain mappings, as from JSON."""
    health: HealthScore = customer_health.score(
        {"id": "acme", "segment": "smb"},
        [{"customer_id": "acme", "kind": "login", "occurred_at": "2026-06-29T09:00:00Z"}],
        as_of="2026-06-30",
    )
    status: HealthStatus = health.status
    if status is HealthStatus.UNKNOWN:
        return None
    print(health.explain())
    return health.score


def score_with_weights() -> list[str]:
    """A scorer with weights and thresholds; iterate the factors of each score."""
    scorer = Scorer(
        weights={"api_usage": 2.0, "support_tickets": 0.5},
        thresholds={"healthy": 75, "at_risk": 45},
    )
    customers = [Customer(id="acme", segment="smb"), Customer(id="globex", segment="startup")]
    events: list[Event] = [LoginEvent(customer_id="acme", occurred_at=AS_OF)]
    scores: HealthScores = scorer.score_many(customers, events, as_of=AS_OF)
    lines: list[str] = []
    for health in scores:
        for factor in health.factors:
            part: FactorScore = factor
            shown = "no data" if part.score is None else f"{part.score:.1f}"
            lines.append(f"{health.customer_id} {part.name}: {shown} x {part.weight}")
    weights: Mapping[str, float] = scorer.weights
    lines.append(", ".join(f"{name}={weight}" for name, weight in weights.items()))
    lines.extend(scores.not_created)
    return lines


class Seats(Factor):
    """Seats in use against seats bought, read from ``seat_report`` custom events."""

    name = "seats"
    kinds = frozenset({"seat_report"})
    window_days = 30
    default_weight = 0.5
    inputs = ("used", "bought")

    def aggregate(self, events: Sequence[Event], as_of: datetime) -> dict[str, float]:
        """The latest report's seats in use and seats bought."""
        reports = [event for event in events if isinstance(event, CustomEvent)]
        if not reports:
            return {"used": 0.0, "bought": 0.0}
        latest = max(reports, key=lambda event: event.occurred_at)
        return {
            "used": float(latest.properties.get("used", 0)),
            "bought": float(latest.properties.get("bought", 0)),
        }

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        """Score the share of seats in use."""
        if not inputs["bought"]:
            return FactorResult(None, f"no seat report for {ctx.customer.id} in 30 days")
        share = min(1.0, inputs["used"] / inputs["bought"])
        return FactorResult(100 * share, f"{share:.0%} of seats in use", value=share)


@customer_health.hookimpl
def register_factors(register: RegisterFactor) -> None:
    """Register the seats factor (an instance; ``register(Seats)`` would do too)."""
    register(Seats())


def score_with_plugin() -> tuple[str, ...]:
    """Register a plugin in-process and read the factors in use."""
    scorer = Scorer(plugins=[sys.modules[__name__]], entry_points=False)
    factor: Factor = scorer.factor("seats")
    return (*scorer.factors, factor.name)
