"""Plugin factors, plugin modules on disk and generated data for the plugin tests."""

from __future__ import annotations

import random
import textwrap
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from customer_health import Event, Factor, FactorContext, FactorResult

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)
DAY = timedelta(days=1)
US = timedelta(microseconds=1)


class NpsScore(Factor):
    """Mean NPS answer (0-10) over 90 days against the segment's ``nps_target``."""

    name = "nps"
    description = "Mean NPS answer in the last 90 days."
    kinds = frozenset({"nps_response"})
    window_days = 90
    default_weight = 0.5
    expectation = "nps_target"
    inputs = ("responses", "total")

    def aggregate(self, events: Sequence[Event], as_of: datetime) -> dict[str, float]:
        scores = [float(e.properties["score"]) for e in events]  # type: ignore[union-attr]
        return {"responses": float(len(scores)), "total": float(sum(scores))}

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        responses = inputs["responses"]
        if not responses:
            return FactorResult(None, "no NPS responses in 90 days")
        mean = inputs["total"] / responses
        expected = ctx.expected
        assert expected is not None
        return FactorResult(
            score=100.0 * min(1.0, mean / expected),
            explanation=f"mean NPS answer {mean:.1f}; {ctx.segment} target {expected:g}",
            value=mean,
            expected=expected,
        )


class SeatUsage(Factor):
    """Distinct users who logged in over 30 days, per seat bought (``attributes["seats"]``).

    It only knows how to look at one customer: it overrides ``evaluate`` and has no inputs.
    """

    name = "seat_usage"
    kinds = frozenset({"login"})
    window_days = 30
    default_weight = 0.3

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        seats = ctx.customer.attributes.get("seats")
        if not seats:
            return FactorResult(None, "seats unknown")
        users = len({e.user_id for e in events if e.user_id is not None})  # type: ignore[union-attr]
        return FactorResult(
            score=100.0 * min(1.0, users / seats),
            explanation=f"{users} of {seats} seats used in 30 days",
            value=float(users),
            expected=float(seats),
        )


class Recorder(Factor):
    """Scores 50 and remembers the events and context of every call."""

    name = "recorder"
    kinds: ClassVar[frozenset[str] | None] = frozenset({"nps_response"})
    window_days: ClassVar[float | None] = 90
    expectation: ClassVar[str | None] = "nps_target"

    def __init__(self) -> None:
        self.calls: list[tuple[list[Event], FactorContext]] = []

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        self.calls.append((list(events), ctx))
        return FactorResult(50.0, "recorded")


NPS_TARGETS = {"enterprise": 8.0, "smb": 7.0, "startup": 6.0}


def nps_event(at: datetime, score: int, customer_id: str = "c1", **extra: Any) -> dict[str, Any]:
    """An ``nps_response`` event as a mapping."""
    return {
        "customer_id": customer_id,
        "kind": "nps_response",
        "occurred_at": at,
        "properties": {"score": score},
        **extra,
    }


def write_plugin_module(directory: Path, module: str, body: str | None = None) -> None:
    """Write ``module.py`` into ``directory``; by default it registers one factor ``<module>``."""
    if body is None:
        body = f"""
            import customer_health
            from customer_health import Factor, FactorResult


            class Constant(Factor):
                name = {module!r}
                window_days = 30

                def evaluate(self, events, ctx):
                    return FactorResult(42.0, "always 42")


            @customer_health.hookimpl
            def register_factors(register):
                register(Constant())
            """
    (directory / f"{module}.py").write_text(textwrap.dedent(body), encoding="utf-8")


def write_dist_info(
    directory: Path, dist: str, version: str, entry_points: Mapping[str, str]
) -> None:
    """Write an installed distribution's ``*.dist-info`` with ``customer_health`` entry points."""
    info = directory / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[customer_health]\n{lines}", encoding="utf-8")


def generated(
    seed: int, as_of: datetime = AS_OF, size: int = 60
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Customers of every segment (some young) and events of every kind around window edges."""
    rng = random.Random(seed)
    customers: list[dict[str, Any]] = []
    for index, segment in enumerate(["enterprise", "smb", "startup", "smb"]):
        customer: dict[str, Any] = {"id": f"c{index}", "segment": segment}
        if index % 2:
            customer["created_at"] = as_of - rng.choice([US, DAY, 12.5 * DAY, 30 * DAY, 45 * DAY])
        customers.append(customer)
    edges = [
        timedelta(0),
        US,
        -US,
        *(d * DAY + e for d in (30, 90, 180) for e in (timedelta(0), US, -US)),
    ]
    events: list[dict[str, Any]] = []
    for index in range(size):
        customer_id = rng.choice(customers)["id"]
        ago = rng.choice(edges) if rng.random() < 0.3 else rng.uniform(-5, 200) * DAY
        event = _event(rng, customer_id, as_of - ago)
        if rng.random() < 0.3:
            event["event_id"] = f"e{index}"
            if rng.random() < 0.3:
                events.append(dict(event))  # the same event recorded twice
        events.append(event)
    return customers, events


def _event(rng: random.Random, customer_id: str, at: datetime) -> dict[str, Any]:
    kind = rng.choice(["api_call", "login", "feature_used", "payment", "support_ticket", "nps"])
    event: dict[str, Any] = {"customer_id": customer_id, "kind": kind, "occurred_at": at}
    if kind == "api_call":
        event["quantity"] = rng.randint(1, 400)
    elif kind == "login":
        event["user_id"] = rng.choice([None, "u1", "u2", "u3"])
    elif kind == "feature_used":
        event["feature"] = rng.choice(["search", "export", "sso", "api", "Search"])
    elif kind == "payment":
        event["due_at"] = at + rng.uniform(-10, 40) * DAY
        if rng.random() < 0.7:
            event["paid_at"] = event["due_at"] + rng.uniform(-5, 60) * DAY
    elif kind == "support_ticket":
        event["priority"] = rng.choice(["low", "normal", "high", "urgent"])
        if rng.random() < 0.6:
            event["resolved_at"] = at + rng.uniform(0, 40) * DAY
    else:
        event["kind"] = "nps_response"
        event["properties"] = {"score": rng.randint(0, 10)}
    return event
