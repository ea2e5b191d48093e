"""Declared test factors unlike any built-in, and an independent reference of them.

``LastSeen`` measures days since the last event of some kinds against a segment
expectation; ``MeanAnswer`` the mean of a number read from custom events' properties;
``LatePayer`` the worst lateness of paid invoices, with instants that may be null. They
are declarations alone: no engine method of their own. :func:`reference` computes what
they mean from the portfolio's plain dicts, sharing no code with the library.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import customer_health
from customer_health import Scorer
from customer_health.declare import (
    Aggregate,
    DeclaredFactor,
    as_of,
    count,
    days_between,
    event,
    expected,
    inputs,
    number_property,
    utc_day,
    when,
)

from .reference import _dedupe, micros

DAY_US = 86_400_000_000
LAST_SEEN_DAYS = {"enterprise": 5.0, "smb": 7.0, "startup": 10.0}


class LastSeen(DeclaredFactor):
    """Days since the last login, feature use or API call, against the expectation."""

    name = "last_seen"
    kinds = frozenset({"login", "feature_used", "api_call"})
    expectation = "last_seen_days"
    default_weight = 0.3
    aggregates: ClassVar[Mapping[str, Aggregate]] = {
        "since": days_between(as_of, event.occurred_at).min(),
        "days": utc_day(event.occurred_at).count_distinct(where=~(event.kind == "api_call")),
        "calls": event.quantity.sum(),
    }
    score = when(
        (inputs.since <= expected, 100.0),
        (inputs.since.is_not_null(), 100.0 * expected / inputs.since),
    )
    value = inputs.since
    explanation = "last seen {since} days ago (active {days} days, {calls} calls)"
    no_data = "never seen"


_MEAN = inputs.total / inputs.answered


class MeanAnswer(DeclaredFactor):
    """The mean of the numeric ``score`` property of NPS responses in 90 days."""

    name = "mean_answer"
    kinds = frozenset({"nps_response"})
    window_days = 90
    default_weight = 0.2
    aggregates: ClassVar[Mapping[str, Aggregate]] = {
        "answered": count(where=number_property("score").is_not_null()),
        "total": number_property("score").sum(),
        "best": number_property("score").max(),
    }
    score = when(
        (
            inputs.answered > 0.0,
            when((_MEAN >= 10.0, 100.0), (_MEAN <= 0.0, 0.0), otherwise=10.0 * _MEAN),
        )
    )
    value = when((inputs.answered > 0.0, _MEAN))
    explanation = "mean answer {value} over {answered} answers (best {best})"


class DistinctAnswers(DeclaredFactor):
    """How many different numbers NPS responses answered (0.0 and -0.0 are one), and
    the value: how many different features were used. Only distinct counts, of events
    that mostly have only one of the two."""

    name = "distinct_answers"
    kinds = frozenset({"nps_response", "feature_used"})
    default_weight = 0.1
    aggregates: ClassVar[Mapping[str, Aggregate]] = {
        "distinct": number_property("score").count_distinct(),
        "features": event.feature.count_distinct(),
    }
    score = when(
        (
            inputs.distinct > 0.0,
            when((inputs.distinct >= 5.0, 100.0), otherwise=20.0 * inputs.distinct),
        )
    )
    value = inputs.features
    explanation = "{distinct} different answers, {features} features"


class LatePayer(DeclaredFactor):
    """The worst lateness of invoices paid by as_of; any unpaid invoice scores 0."""

    name = "late_payer"
    kinds = frozenset({"payment"})
    default_weight = 0.1
    aggregates: ClassVar[Mapping[str, Aggregate]] = {
        "worst": days_between(event.paid_at, event.due_at).max(where=event.paid_at <= as_of),
        "unpaid": count(where=event.paid_at.is_null() | (event.paid_at > as_of)),
        "billed": event.amount.sum(),
    }
    score = when(
        (inputs.unpaid > 0.0, 0.0),
        (inputs.worst > 30.0, 0.0),
        (inputs.worst > 0.0, 100.0 - 100.0 * inputs.worst / 30.0),
        (inputs.worst.is_not_null(), 100.0),
    )
    value = inputs.worst
    explanation = "worst {worst} days late, {unpaid} unpaid, {billed} billed"


DECLARED = (LastSeen, MeanAnswer, DistinctAnswers, LatePayer)

ENGINE_METHODS = (
    "aggregate",
    "accumulator",
    "compute",
    "evaluate",
    "frame_inputs",
    "frame_score",
    "sql_inputs",
    "sql_score",
)
"""The methods of a factor's hand-written forms: a declared factor defines none."""


def own_engine_methods(factor: type) -> list[tuple[str, str]]:
    """The engine methods ``factor`` or a class of its own between it and
    ``DeclaredFactor`` defines, as (class, method)."""
    from customer_health import DeclaredFactor, Factor

    return [
        (cls.__name__, name)
        for cls in factor.__mro__
        if cls not in (DeclaredFactor, Factor, object)
        for name in ENGINE_METHODS
        if name in vars(cls)
    ]


class DeclaredPlugin:
    """Registers the declared test factors and the expectation ``LastSeen`` reads."""

    @customer_health.hookimpl
    def register_factors(self, register: Any) -> None:
        for factor in DECLARED:
            register(factor())

    @customer_health.hookimpl
    def register_expectations(self, register: Any) -> None:
        for segment, days in LAST_SEEN_DAYS.items():
            register(segment, {"last_seen_days": days})


def declared_scorer() -> Scorer:
    """Model v1 and the declared test factors (no installed plugin)."""
    return Scorer(entry_points=False, plugins=[DeclaredPlugin()], model="v1")


_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?", re.ASCII)


def number_of(value: Any) -> float | None:
    """``number_property``'s definition: a JSON number, or a text that is one, as a
    double within range; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        if not _NUMBER.fullmatch(value):
            return None
        value = float(value)
    if not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def reference(
    customer: Mapping[str, Any], events: list[dict[str, Any]], when_: datetime
) -> dict[str, tuple[float | None, float | None]]:
    """Each declared test factor's (score, value) for ``customer``, by name."""
    now = micros(when_)
    cid = str(customer["id"])
    mine = _dedupe([e for e in events if str(e["customer_id"]) == cid])
    mine = [e for e in mine if micros(e["occurred_at"]) <= now]
    out: dict[str, tuple[float | None, float | None]] = {}

    seen = [e for e in mine if e["kind"] in LastSeen.kinds]
    expectation = LAST_SEEN_DAYS[customer["segment"]]
    if seen:
        since = min((now - micros(e["occurred_at"])) / DAY_US for e in seen)
        score = 100.0 if since <= expectation else 100.0 * expectation / since
        out["last_seen"] = (score, since)
    else:
        out["last_seen"] = (None, None)

    lo = now - 90 * DAY_US
    answers = [
        number_of((e.get("properties") or {}).get("score"))
        for e in mine
        if e["kind"] == "nps_response" and micros(e["occurred_at"]) > lo
    ]
    numbers = [a for a in answers if a is not None]
    if numbers:
        mean = math.fsum(numbers) / len(numbers)
        score = 100.0 if mean >= 10 else 0.0 if mean <= 0 else 10.0 * mean
        out["mean_answer"] = (score, mean)
    else:
        out["mean_answer"] = (None, None)

    every = {
        number
        for e in mine
        if e["kind"] == "nps_response"
        and (number := number_of((e.get("properties") or {}).get("score"))) is not None
    }
    distinct = float(len(every))
    features = float(len({e["feature"] for e in mine if e["kind"] == "feature_used"}))
    if distinct:
        out["distinct_answers"] = (100.0 if distinct >= 5 else 20.0 * distinct, features)
    else:
        out["distinct_answers"] = (None, features)

    invoices = [e for e in mine if e["kind"] == "payment"]
    paid = [e for e in invoices if e.get("paid_at") is not None and micros(e["paid_at"]) <= now]
    unpaid = len(invoices) - len(paid)
    worst = max(((micros(e["paid_at"]) - micros(e["due_at"])) / DAY_US for e in paid), default=None)
    if unpaid:
        score = 0.0
    elif worst is None:
        score = None
    elif worst > 30:
        score = 0.0
    elif worst > 0:
        score = 100.0 - 100.0 * worst / 30.0
    else:
        score = 100.0
    out["late_payer"] = (score, worst)
    return out
