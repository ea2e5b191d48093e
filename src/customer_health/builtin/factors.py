"""The five factors of the default model (``scoring-model.md``, version 1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from .._format import number, plural
from .._time import days
from ..factors import Accumulator, Factor, FactorContext, FactorResult
from ._weights import PRIORITY_WEIGHTS, UNRESOLVED_FACTOR

if TYPE_CHECKING:
    import narwhals.stable.v2 as nw

    from .._sql_events import SQLEvents

__all__ = [
    "BUILTIN_FACTORS",
    "ApiUsage",
    "FeatureAdoption",
    "LoginFrequency",
    "PaymentTimeliness",
    "SupportTickets",
]


def _expected_text(ctx: FactorContext) -> str:
    assert ctx.expected is not None
    if not ctx.prorated:
        return f"{ctx.segment} customers are expected {number(ctx.expected)}"
    assert ctx.tenure_days is not None
    full = ctx.expected * 30 / max(1.0, ctx.tenure_days)
    floor = " (counted as one day)" if ctx.tenure_days < 1 else ""
    return (
        f"{ctx.segment} customers are expected {number(full)} in 30 days, prorated to "
        f"{number(ctx.expected)} for a customer {number(ctx.tenure_days)} days old{floor}"
    )


class _Usage(Factor):
    """A usage factor: a count against a prorated expectation; never no data."""

    window_days: ClassVar[float | None] = 30
    prorate: ClassVar[bool] = True
    what: ClassVar[str] = ""

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        value = inputs[self.inputs[0]]
        expected = ctx.expected
        assert expected is not None
        score = 100.0 * min(1.0, value / expected)
        explanation = f"{self._describe(value)} in 30 days; {_expected_text(ctx)}"
        return FactorResult(score=score, value=value, expected=expected, explanation=explanation)

    def _describe(self, value: float) -> str:
        return plural(value, self.what)

    def frame_score(
        self, inputs: Mapping[str, nw.Expr], expected: nw.Expr | None
    ) -> tuple[nw.Expr, nw.Expr]:
        from .frames import usage_score

        assert expected is not None
        return usage_score(inputs[self.inputs[0]], expected)

    def sql_score(self, inputs: Mapping[str, Any], expected: Any | None) -> tuple[Any, Any]:
        from .sql import usage_sql_score

        assert expected is not None
        return usage_sql_score(inputs[self.inputs[0]], expected)


class ApiUsage(_Usage):
    """API calls in the last 30 days against the segment's expectation."""

    name = "api_usage"
    description = "API calls in the last 30 days against the segment's expectation."
    kinds = frozenset({"api_call"})
    default_weight = 0.25
    expectation = "api_calls_30d"
    inputs = ("calls",)
    what = "API call"

    def accumulator(self, as_of: datetime, customer_ids: Iterable[str]) -> Accumulator:
        calls = dict.fromkeys(customer_ids, 0)

        def add(event: Any) -> None:
            calls[event.customer_id] += event.quantity

        def inputs() -> dict[str, dict[str, float]]:
            return {cid: {"calls": float(n)} for cid, n in calls.items()}

        return Accumulator(add, inputs)

    def frame_inputs(self, events: nw.LazyFrame[Any], as_of: datetime) -> nw.LazyFrame[Any]:
        from .frames import calls_inputs

        return calls_inputs(events)

    def sql_inputs(self, events: SQLEvents) -> dict[str, Any]:
        from .sql import calls_sql

        return calls_sql(events)


class LoginFrequency(_Usage):
    """Distinct UTC days with a login in the last 30 days."""

    name = "login_frequency"
    description = "Distinct UTC days with a login in the last 30 days."
    kinds = frozenset({"login"})
    default_weight = 0.20
    expectation = "login_days_30d"
    inputs = ("days",)

    def accumulator(self, as_of: datetime, customer_ids: Iterable[str]) -> Accumulator:
        dates: dict[str, set[int]] = {cid: set() for cid in customer_ids}

        def add(event: Any) -> None:
            # occurred_at is in UTC, so its ordinal is that of the UTC calendar date
            dates[event.customer_id].add(event.occurred_at.toordinal())

        def inputs() -> dict[str, dict[str, float]]:
            return {cid: {"days": float(len(found))} for cid, found in dates.items()}

        return Accumulator(add, inputs)

    def frame_inputs(self, events: nw.LazyFrame[Any], as_of: datetime) -> nw.LazyFrame[Any]:
        from .frames import login_inputs

        return login_inputs(events)

    def sql_inputs(self, events: SQLEvents) -> dict[str, Any]:
        from .sql import login_sql

        return login_sql(events)

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

    def accumulator(self, as_of: datetime, customer_ids: Iterable[str]) -> Accumulator:
        features: dict[str, set[str]] = {cid: set() for cid in customer_ids}

        def add(event: Any) -> None:
            features[event.customer_id].add(event.feature)

        def inputs() -> dict[str, dict[str, float]]:
            return {cid: {"features": float(len(found))} for cid, found in features.items()}

        return Accumulator(add, inputs)

    def frame_inputs(self, events: nw.LazyFrame[Any], as_of: datetime) -> nw.LazyFrame[Any]:
        from .frames import features_inputs

        return features_inputs(events)

    def sql_inputs(self, events: SQLEvents) -> dict[str, Any]:
        from .sql import features_sql

        return features_sql(events)

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

    def accumulator(self, as_of: datetime, customer_ids: Iterable[str]) -> Accumulator:
        since = as_of - timedelta(days=self.due_window_days)
        sums = {cid: [0.0, 0.0, 0.0] for cid in customer_ids}  # invoices, late days, credit

        def add(event: Any) -> None:
            due: datetime = event.due_at
            if not since < due <= as_of:
                return
            paid: datetime | None = event.paid_at
            settled = paid if paid is not None and paid <= as_of else as_of
            late = max(0.0, days(settled - due))
            acc = sums[event.customer_id]
            acc[0] += 1
            acc[1] += late
            acc[2] += max(0.0, 1.0 - late / 30.0)

        def inputs() -> dict[str, dict[str, float]]:
            return {
                cid: {"invoices": n, "late_days": late, "credit": credit}
                for cid, (n, late, credit) in sums.items()
            }

        return Accumulator(add, inputs)

    def frame_inputs(self, events: nw.LazyFrame[Any], as_of: datetime) -> nw.LazyFrame[Any]:
        from .frames import payment_inputs

        return payment_inputs(events, as_of, self.due_window_days)

    def sql_inputs(self, events: SQLEvents) -> dict[str, Any]:
        from .sql import payment_sql

        return payment_sql(events, self.due_window_days)

    def frame_score(
        self, inputs: Mapping[str, nw.Expr], expected: nw.Expr | None
    ) -> tuple[nw.Expr, nw.Expr]:
        from .frames import payment_score

        return payment_score(inputs)

    def sql_score(self, inputs: Mapping[str, Any], expected: Any | None) -> tuple[Any, Any]:
        from .sql import payment_sql_score

        return payment_sql_score(inputs)

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

    def accumulator(self, as_of: datetime, customer_ids: Iterable[str]) -> Accumulator:
        sums = {cid: [0.0, 0.0, 0.0] for cid in customer_ids}  # load, tickets, open

        def add(event: Any) -> None:
            weight = PRIORITY_WEIGHTS[event.priority]
            resolved: datetime | None = event.resolved_at
            acc = sums[event.customer_id]
            acc[1] += 1
            if resolved is None or resolved > as_of:
                weight *= UNRESOLVED_FACTOR
                acc[2] += 1
            acc[0] += weight

        def inputs() -> dict[str, dict[str, float]]:
            return {
                cid: {"load": load, "tickets": n, "open": unresolved}
                for cid, (load, n, unresolved) in sums.items()
            }

        return Accumulator(add, inputs)

    def frame_inputs(self, events: nw.LazyFrame[Any], as_of: datetime) -> nw.LazyFrame[Any]:
        from .frames import tickets_inputs

        return tickets_inputs(events, as_of)

    def sql_inputs(self, events: SQLEvents) -> dict[str, Any]:
        from .sql import tickets_sql

        return tickets_sql(events)

    def frame_score(
        self, inputs: Mapping[str, nw.Expr], expected: nw.Expr | None
    ) -> tuple[nw.Expr, nw.Expr]:
        from .frames import tickets_score

        assert expected is not None
        return tickets_score(inputs["load"], expected)

    def sql_score(self, inputs: Mapping[str, Any], expected: Any | None) -> tuple[Any, Any]:
        from .sql import tickets_sql_score

        assert expected is not None
        return tickets_sql_score(inputs["load"], expected)

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
