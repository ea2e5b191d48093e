"""The five factors of the default model (``scoring-model.md``, version 1), declared.

Each is a :class:`~customer_health.DeclaredFactor`: what it aggregates over its events
and how it scores, as expressions that every engine compiles (the object path, frames
and Spark, SQL). None has an engine method of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

from .._format import number, plural
from .._time import DAY_US
from ..declare import (
    Aggregate,
    DeclaredFactor,
    Expr,
    as_of,
    count,
    event,
    expected,
    inputs,
    lit,
    microseconds_between,
    utc_day,
    when,
)
from ..factors import Factor
from ._weights import PRIORITY_WEIGHTS, UNRESOLVED_FACTOR

__all__ = [
    "BUILTIN_FACTORS",
    "ApiUsage",
    "FeatureAdoption",
    "LoginFrequency",
    "PaymentTimeliness",
    "SupportTickets",
]


def _expected_text(numbers: Mapping[str, Any]) -> str:
    expected_now = numbers["expected"]
    segment = numbers["segment"]
    if not numbers["prorated"]:
        return f"{segment} customers are expected {number(expected_now)}"
    tenure = numbers["tenure_days"]
    full = expected_now * 30 / max(1.0, tenure)
    floor = " (counted as one day)" if tenure < 1 else ""
    return (
        f"{segment} customers are expected {number(full)} in 30 days, prorated to "
        f"{number(expected_now)} for a customer {number(tenure)} days old{floor}"
    )


def _capped(ratio: Expr) -> Expr:
    """``100 * min(1, ratio)``."""
    return 100.0 * when((ratio < 1.0, ratio), otherwise=1.0)


def _usage_score(value: Expr) -> Expr:
    """``100 * min(1, value / expected)``; never no data."""
    return _capped(value / expected)


class _Usage(DeclaredFactor):
    """A usage factor: a count against a prorated expectation; never no data."""

    window_days: ClassVar[float | None] = 30
    prorate: ClassVar[bool] = True
    what: ClassVar[str] = ""

    def explain(self, numbers: Mapping[str, Any]) -> str:
        return f"{self._describe(numbers['value'])} in 30 days; {_expected_text(numbers)}"

    def _describe(self, value: float) -> str:
        return plural(value, self.what)


class ApiUsage(_Usage):
    """API calls in the last 30 days against the segment's expectation."""

    name = "api_usage"
    description = "API calls in the last 30 days against the segment's expectation."
    kinds = frozenset({"api_call"})
    default_weight = 0.25
    expectation = "api_calls_30d"
    aggregates: ClassVar[Mapping[str, Aggregate]] = {"calls": event.quantity.sum()}
    score = _usage_score(inputs.calls)
    value = inputs.calls
    what = "API call"


class LoginFrequency(_Usage):
    """Distinct UTC days with a login in the last 30 days."""

    name = "login_frequency"
    description = "Distinct UTC days with a login in the last 30 days."
    kinds = frozenset({"login"})
    default_weight = 0.20
    expectation = "login_days_30d"
    aggregates: ClassVar[Mapping[str, Aggregate]] = {
        "days": utc_day(event.occurred_at).count_distinct()
    }
    score = _usage_score(inputs.days)
    value = inputs.days

    def _describe(self, value: float) -> str:
        return f"logins on {plural(value, 'distinct day')}"


class FeatureAdoption(_Usage):
    """Distinct features used in the last 30 days."""

    name = "feature_adoption"
    description = "Distinct features used in the last 30 days."
    kinds = frozenset({"feature_used"})
    default_weight = 0.15
    expectation = "features_30d"
    aggregates: ClassVar[Mapping[str, Aggregate]] = {"features": event.feature.count_distinct()}
    score = _usage_score(inputs.features)
    value = inputs.features

    def _describe(self, value: float) -> str:
        return plural(value, "distinct feature") + " used"


_DUE_WINDOW_US: Final = lit(180 * DAY_US, "int")
_CREDIT_US: Final = lit(30 * DAY_US, "int")
"""An invoice's credit runs out after 30 days late: 30 days in microseconds."""
_NONE: Final = lit(0, "int")
_DUE: Final = event.due_at
_PAID: Final = event.paid_at
_SETTLED: Final = when((_PAID.is_not_null() & (as_of >= _PAID), _PAID), otherwise=as_of)
"""When an invoice was settled: its payment if paid by as_of, else as_of (still open)."""
_SETTLED_AFTER_DUE_US: Final = microseconds_between(_SETTLED, _DUE)
_LATE_US: Final = when((_SETTLED_AFTER_DUE_US > _NONE, _SETTLED_AFTER_DUE_US), otherwise=_NONE)
_INVOICE: Final = (microseconds_between(as_of, _DUE) < _DUE_WINDOW_US) & (
    microseconds_between(as_of, _DUE) >= _NONE
)
"""An invoice due in the last 180 days: ``as_of - 180 days < due_at <= as_of``."""


class PaymentTimeliness(DeclaredFactor):
    """How late invoices due in the last 180 days were paid (or are still unpaid).

    Lateness and credit are summed as whole microseconds, then divided once: a sum of
    fractions depends on the order of its terms, which no engine fixes.
    """

    name = "payment_timeliness"
    description = "How late invoices due in the last 180 days were paid."
    kinds = frozenset({"payment"})
    # The 180-day window applies to due_at, not occurred_at: every invoice known at
    # as_of reaches the factor, which selects by due date itself.
    window_days = None
    due_window_days: ClassVar[float] = 180
    default_weight = 0.25
    expected_value = 0.0  # days late
    aggregates: ClassVar[Mapping[str, Aggregate]] = {
        "invoices": count(where=_INVOICE),
        "late_us": _LATE_US.sum(where=_INVOICE),
        "credit_us": when((_LATE_US < _CREDIT_US, _CREDIT_US - _LATE_US), otherwise=_NONE).sum(
            where=_INVOICE
        ),
    }
    score = when(
        (inputs.invoices > 0.0, 100.0 * (inputs.credit_us / float(30 * DAY_US)) / inputs.invoices)
    )
    value = when((inputs.invoices > 0.0, (inputs.late_us / float(DAY_US)) / inputs.invoices))
    no_data = "no invoices due in the last 180 days"

    def explain(self, numbers: Mapping[str, Any]) -> str:
        if numbers["score"] is None:
            return "no invoices due in the last 180 days"
        return (
            f"{plural(numbers['invoices'], 'invoice')} due in 180 days, "
            f"paid {number(numbers['value'])} days late on average"
        )


_PRIORITY: Final[Expr] = event.priority
_WEIGHT: Final = when(
    *(
        (_PRIORITY == name, value)  # noqa: SIM300 - the expression first: an Expr is built
        for name, value in PRIORITY_WEIGHTS.items()
        if name != "normal"
    ),
    otherwise=PRIORITY_WEIGHTS["normal"],
)
_OPEN: Final = event.resolved_at.is_null() | (event.resolved_at > as_of)


class SupportTickets(DeclaredFactor):
    """Support ticket load (by priority, open tickets weigh more) in the last 90 days."""

    name = "support_tickets"
    description = "Support ticket load in the last 90 days, by priority; open tickets weigh 1.5x."
    kinds = frozenset({"support_ticket"})
    window_days = 90
    default_weight = 0.15
    expectation = "tickets_90d"
    aggregates: ClassVar[Mapping[str, Aggregate]] = {
        "load": when((_OPEN, _WEIGHT * UNRESOLVED_FACTOR), otherwise=_WEIGHT).sum(),
        "tickets": count(),
        "open": count(where=_OPEN),
    }
    score = when((inputs.load <= expected, 100.0), otherwise=100.0 * expected / inputs.load)
    value = inputs.load

    def explain(self, numbers: Mapping[str, Any]) -> str:
        return (
            f"ticket load {number(numbers['load'])} in 90 days "
            f"({plural(numbers['tickets'], 'ticket')}, {number(numbers['open'])} open); "
            f"{numbers['segment']} customers are expected at most {number(numbers['expected'])}"
        )


BUILTIN_FACTORS: tuple[type[Factor], ...] = (
    ApiUsage,
    LoginFrequency,
    PaymentTimeliness,
    FeatureAdoption,
    SupportTickets,
)
