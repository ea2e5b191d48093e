"""The five factors of the default model (``scoring-model.md``, version 1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from .._format import number, plural
from ..factors import Factor, FactorContext, FactorResult

if TYPE_CHECKING:
    from ..models import Event

__all__ = [
    "BUILTIN_FACTORS",
    "ApiUsage",
    "FeatureAdoption",
    "LoginFrequency",
    "PaymentTimeliness",
    "SupportTickets",
]

_MICROSECOND = timedelta(microseconds=1)
_MICROSECONDS_PER_DAY = 86_400_000_000
PRIORITY_WEIGHTS: Mapping[str, float] = {"low": 0.5, "normal": 1.0, "high": 2.0, "urgent": 3.0}
UNRESOLVED_FACTOR = 1.5


def days(delta: timedelta) -> float:
    """A duration in days: its exact number of microseconds divided by 86,400,000,000."""
    return (delta // _MICROSECOND) / _MICROSECONDS_PER_DAY


def _expected_text(ctx: FactorContext) -> str:
    assert ctx.expected is not None
    text = f"{ctx.segment} customers are expected {number(ctx.expected)}"
    if ctx.prorated:
        assert ctx.tenure_days is not None
        text += f" (prorated: the customer is {number(ctx.tenure_days)} days old)"
    return text


class _Usage(Factor):
    """A usage factor: a count against a prorated expectation; never no data."""

    window_days: ClassVar[float | None] = 30
    prorate: ClassVar[bool] = True
    what: ClassVar[str] = ""

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        (value,) = (inputs[name] for name in self.inputs)
        expected = ctx.expected
        assert expected is not None
        score = 100.0 * min(1.0, value / expected)
        explanation = f"{self._describe(value)} in 30 days; {_expected_text(ctx)}"
        return FactorResult(score=score, value=value, expected=expected, explanation=explanation)

    def _describe(self, value: float) -> str:
        return plural(value, self.what)


class ApiUsage(_Usage):
    """API calls in the last 30 days against the segment's expectation."""

    name = "api_usage"
    description = "API calls in the last 30 days against the segment's expectation."
    kinds = frozenset({"api_call"})
    default_weight = 0.25
    expectation = "api_calls_30d"
    inputs = ("calls",)
    what = "API call"

    def aggregate(self, events: Sequence[Event], ctx: FactorContext) -> dict[str, float]:
        calls: int = sum(e.quantity for e in events)  # type: ignore[union-attr,misc]
        return {"calls": float(calls)}


class LoginFrequency(_Usage):
    """Distinct UTC days with a login in the last 30 days."""

    name = "login_frequency"
    description = "Distinct UTC days with a login in the last 30 days."
    kinds = frozenset({"login"})
    default_weight = 0.20
    expectation = "login_days_30d"
    inputs = ("days",)

    def aggregate(self, events: Sequence[Event], ctx: FactorContext) -> dict[str, float]:
        return {"days": float(len({e.occurred_at.date() for e in events}))}

    def _describe(self, value: float) -> str:
        return f"logins on {plural(value, 'distinct day')}"


class FeatureAdoption(_Usage):
    """Distinct features used in the last 30 days."""

    name = "feature_adoption"
    description = "Distinct features used in the last 30 days."
    kinds = frozenset({"feature_used"})
    default_weight = 0.15
    expectation = "features_30d"
    inputs = ("features",)
    what = "distinct feature"

    def aggregate(self, events: Sequence[Event], ctx: FactorContext) -> dict[str, float]:
        return {"features": float(len({e.feature for e in events}))}  # type: ignore[union-attr]

    def _describe(self, value: float) -> str:
        return plural(value, "distinct feature") + " used"


class PaymentTimeliness(Factor):
    """How late invoices due in the last 180 days were paid (or are still unpaid)."""

    name = "payment_timeliness"
    description = "How late invoices due in the last 180 days were paid."
    kinds = frozenset({"payment"})
    # The 180-day window applies to due_at, not occurred_at: every invoice known at
    # as_of reaches the factor, which selects by due date itself.
    window_days = None
    due_window_days: ClassVar[float] = 180
    default_weight = 0.25
    inputs = ("invoices", "late_days", "credit")

    def aggregate(self, events: Sequence[Event], ctx: FactorContext) -> dict[str, float]:
        as_of = ctx.as_of
        since = as_of - timedelta(days=self.due_window_days)
        invoices = 0
        late_total = 0.0
        credit = 0.0
        for event in events:
            due: Any = event.due_at  # type: ignore[union-attr]
            if not since < due <= as_of:
                continue
            paid = event.paid_at  # type: ignore[union-attr]
            settled = paid if paid is not None and paid <= as_of else as_of
            late = max(0.0, days(settled - due))
            invoices += 1
            late_total += late
            credit += max(0.0, 1.0 - late / 30.0)
        return {"invoices": float(invoices), "late_days": late_total, "credit": credit}

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        invoices = inputs["invoices"]
        if not invoices:
            return FactorResult(
                score=None,
                value=None,
                expected=0.0,
                explanation="no invoices due in the last 180 days",
            )
        mean_late = inputs["late_days"] / invoices
        score = 100.0 * inputs["credit"] / invoices
        explanation = (
            f"{plural(invoices, 'invoice')} due in 180 days, "
            f"paid {number(mean_late)} days late on average"
        )
        return FactorResult(score=score, value=mean_late, expected=0.0, explanation=explanation)


class SupportTickets(Factor):
    """Support ticket load (by priority, open tickets weigh more) in the last 90 days."""

    name = "support_tickets"
    description = "Support ticket load in the last 90 days, by priority; open tickets weigh 1.5x."
    kinds = frozenset({"support_ticket"})
    window_days = 90
    default_weight = 0.15
    expectation = "tickets_90d"
    inputs = ("load", "tickets", "open")

    def aggregate(self, events: Sequence[Event], ctx: FactorContext) -> dict[str, float]:
        as_of = ctx.as_of
        load = 0.0
        open_tickets = 0
        for event in events:
            weight = PRIORITY_WEIGHTS[event.priority]  # type: ignore[union-attr]
            resolved = event.resolved_at  # type: ignore[union-attr]
            if resolved is None or resolved > as_of:
                weight *= UNRESOLVED_FACTOR
                open_tickets += 1
            load += weight
        return {"load": load, "tickets": float(len(events)), "open": float(open_tickets)}

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        load = inputs["load"]
        expected = ctx.expected
        assert expected is not None
        score = 100.0 if load <= expected else 100.0 * expected / load
        explanation = (
            f"ticket load {number(load)} in 90 days "
            f"({plural(inputs['tickets'], 'ticket')}, {number(inputs['open'])} open); "
            f"{ctx.segment} customers are expected at most {number(expected)}"
        )
        return FactorResult(score=score, value=load, expected=expected, explanation=explanation)


BUILTIN_FACTORS: tuple[type[Factor], ...] = (
    ApiUsage,
    LoginFrequency,
    PaymentTimeliness,
    FeatureAdoption,
    SupportTickets,
)
