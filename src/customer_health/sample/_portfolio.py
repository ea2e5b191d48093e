"""The standard-library generator: a portfolio of customers and events as models
(:func:`generate`), and as the plain dicts an API would receive."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from .._gc import collector_paused
from .._inputs import resolve_as_of
from .._time import DAY_US
from ..exceptions import InvalidInputError
from ..models import EVENT_LIST_ADAPTER, Customer, Event
from ..segments import BUILTIN_SEGMENTS
from ._common import (
    AMOUNTS,
    DAY,
    DEFAULT_AS_OF,
    FEATURES,
    INVOICE_LEAD,
    MEAN_PRIORITY_WEIGHT,
    NAMES,
    PRIORITIES,
    PRIORITY_SHARES,
    PROFILE_PARAMS,
    PROFILE_SHARES,
    PROFILES,
    SEGMENT_SHARES,
    SEGMENTS,
    ZONES,
    Profile,
)

# -- the standard-library generator ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class SampleData:
    """A generated portfolio: customers, their events and the instant they describe.

    ``customers`` and ``events`` are validated models; :meth:`customer_dicts` and
    :meth:`event_dicts` give the same data as plain dicts, the way an API receives it
    (instants as aware, naive or non-UTC datetimes and ISO 8601 strings, optional
    fields sometimes left out). Validating those dicts gives ``customers`` and
    ``events`` back, in the same order.
    """

    customers: list[Customer]
    events: list[Event]
    as_of: datetime
    """The instant the sample describes (aware, UTC); score it at this instant."""
    _customer_records: tuple[dict[str, Any], ...] = field(repr=False, compare=False)
    _event_records: tuple[dict[str, Any], ...] = field(repr=False, compare=False)

    def customer_dicts(self, *, iso: bool = False) -> list[dict[str, Any]]:
        """Return the customers as new plain dicts; ``iso=True`` writes every instant as
        ISO 8601 text, so that the dicts are JSON-serialisable as they are."""
        return [_copy_record(record, iso) for record in self._customer_records]

    def event_dicts(self, *, iso: bool = False) -> list[dict[str, Any]]:
        """Return the events as new plain dicts (duplicates and late events included);
        ``iso=True`` writes every instant as ISO 8601 text (JSON-serialisable)."""
        return [_copy_record(record, iso) for record in self._event_records]


def _copy_record(record: Mapping[str, Any], iso: bool) -> dict[str, Any]:
    copy = dict(record)
    for key, value in record.items():
        if isinstance(value, dict):
            copy[key] = dict(value)
        elif iso and isinstance(value, datetime):
            copy[key] = value.isoformat()
    return copy


@dataclass(slots=True)
class _Plan:
    """What one customer is meant to look like."""

    id: str
    segment: str
    profile: Profile
    profile_name: str
    created_at: datetime | None
    active_until: datetime | None
    usage: float
    features: tuple[str, ...]
    late_data: bool

    def active(self, instant: datetime) -> bool:
        if self.created_at is not None and instant < self.created_at:
            return False
        return self.active_until is None or instant <= self.active_until


class _Writer:
    """Emits raw event records, choosing ids, duplicates and how instants are written."""

    def __init__(self, rng: random.Random, as_of: datetime) -> None:
        self.rng = rng
        self.as_of = as_of
        self.records: list[dict[str, Any]] = []
        self.keys: list[tuple[datetime, int]] = []
        self.seq = 0

    def instant(self, day: int) -> datetime:
        """A random instant in ``(as_of - (day + 1) days, as_of - day days]``."""
        offset = int(self.rng.random() * DAY_US)  # faster than randrange
        return self.as_of - timedelta(days=day, microseconds=offset)

    def write_time(self, value: datetime) -> datetime | str:
        """``value`` (aware UTC) written as an API client might: mostly aware UTC,
        sometimes naive (read as UTC), in another zone, or as ISO 8601 text."""
        rng = self.rng
        draw = rng.random()
        if draw < 0.55:
            return value
        if draw < 0.70:
            return value.replace(tzinfo=None)
        if draw < 0.82:
            return value.astimezone(rng.choice(ZONES))
        form = rng.random()
        if form < 0.4:
            return value.isoformat().replace("+00:00", "Z")
        if form < 0.7:
            return value.astimezone(rng.choice(ZONES)).isoformat()
        return value.replace(tzinfo=None).isoformat()

    def emit(
        self,
        customer_id: str,
        kind: str,
        occurred_at: datetime,
        *,
        event_id: str | None = None,
        duplicate: bool | None = None,
        **fields: Any,
    ) -> None:
        """Record one event; some get an ``event_id`` and a few of those a second copy."""
        rng = self.rng
        self.seq += 1
        if event_id is None and rng.random() < 0.35:
            event_id = f"evt-{self.seq:08d}"
        if duplicate is None:
            duplicate = event_id is not None and rng.random() < 0.04
        for _ in range(2 if duplicate else 1):
            record: dict[str, Any] = {"customer_id": customer_id, "kind": kind}
            record["occurred_at"] = self.write_time(occurred_at)
            if event_id is not None:
                record["event_id"] = event_id
            for key, value in fields.items():
                if value is None and rng.random() < 0.5:
                    continue  # an optional field left out rather than null
                record[key] = self.write_time(value) if isinstance(value, datetime) else value
            self.records.append(record)
            self.keys.append((occurred_at, len(self.keys)))

    def sorted_records(self) -> list[dict[str, Any]]:
        """The records in the order of their instants, as an event log would hold them."""
        order = sorted(range(len(self.records)), key=self.keys.__getitem__)
        return [self.records[i] for i in order]


def generate(
    n_customers: int = 200,
    *,
    as_of: datetime | date | str = DEFAULT_AS_OF,
    seed: int = 0,
    history_days: int = 60,
    include_not_created: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> SampleData:
    """Generate a realistic portfolio of customers and events, the same for a seed.

    :param n_customers: how many customers (>= 1). The first twelve are set up so
        that every segment with every profile, a young, a brand-new, an undated and a
        churned customer, and the window edges are always there; the other cases
        below are drawn at random, and a few dozen customers have them all.
    :param as_of: the instant the data describes (default :data:`DEFAULT_AS_OF`).
    :param seed: the seed of the ``random.Random`` every choice comes from.
    :param history_days: days of usage events (API calls, logins, features) before
        ``as_of``; invoices go back about 240 days and tickets 120 days regardless.
    :param include_not_created: also add a few customers created after ``as_of``
        (``attributes["not_created"]``), with events after their creation, for the
        batch paths that leave such customers out; :func:`customer_health.score`
        rejects them.
    :param progress: called with ``(done, total)``, the customers whose events are made
        so far and in all, every hundred customers and at the end (then the events are
        checked as models): for a progress bar.

    The data holds: the three segments; every built-in event kind and two custom ones
    with ``properties``; healthy, at-risk and critical customers; customers who
    churned (no activity for ``churned_days_ago`` days); customers younger than 30
    days (one younger than a day) and customers with no ``created_at``; late and
    unpaid invoices, and payments made after ``as_of``; duplicate events (same
    ``event_id``, same content); events after ``as_of``; and events exactly on the
    window edges (at ``as_of``, ``as_of - 30 days`` and ``as_of - 90 days``, an
    invoice due exactly ``as_of - 180 days``).
    """
    if isinstance(n_customers, bool) or not isinstance(n_customers, int) or n_customers < 1:
        raise InvalidInputError(f"n_customers={n_customers!r}; it must be an integer >= 1")
    if isinstance(history_days, bool) or not isinstance(history_days, int) or history_days < 31:
        raise InvalidInputError(f"history_days={history_days!r}; it must be an integer >= 31")
    instant = resolve_as_of(as_of)
    rng = random.Random(seed)
    writer = _Writer(rng, instant)
    plans = [_plan(rng, instant, index) for index in range(n_customers)]
    if include_not_created:
        plans += [_future_plan(rng, instant, n) for n in range(max(2, n_customers // 100))]
    for done, plan in enumerate(plans, 1):
        _usage(writer, plan, history_days)
        _payments(writer, plan)
        _tickets(writer, plan)
        _custom(writer, plan)
        if progress is not None and (done % 100 == 0 or done == len(plans)):
            progress(done, len(plans))
    _edges(writer, plans[: min(len(plans), n_customers)])
    customer_records = tuple(_customer_record(writer, plan) for plan in plans)
    event_records = tuple(writer.sorted_records())
    with collector_paused():  # millions of models, no cycles
        events = EVENT_LIST_ADAPTER.validate_python(list(event_records))
    return SampleData(
        customers=[Customer.model_validate(record) for record in customer_records],
        events=events,
        as_of=instant,
        _customer_records=customer_records,
        _event_records=event_records,
    )


def _plan(rng: random.Random, as_of: datetime, index: int) -> _Plan:
    if index < 9:  # the first nine: every segment with every profile
        segment, profile_name = SEGMENTS[index % 3], PROFILES[index // 3]
    else:
        segment = rng.choices(SEGMENTS, SEGMENT_SHARES)[0]
        profile_name = rng.choices(PROFILES, PROFILE_SHARES)[0]
    profile = PROFILE_PARAMS[profile_name]
    draw = rng.random()
    created_at: datetime | None
    if index == 9 or (index > 11 and draw < 0.06):
        created_at = as_of - timedelta(days=rng.uniform(1.0, 29.5))  # young
    elif index == 10:
        created_at = as_of - timedelta(hours=rng.uniform(2.0, 20.0))  # younger than a day
    elif index == 11 or (index > 11 and draw < 0.15):
        created_at = None  # unknown
    else:
        created_at = as_of - timedelta(days=rng.uniform(60.0, 1500.0))
    if created_at is not None:
        created_at = created_at.replace(microsecond=0)
    active_until = None
    young = created_at is not None and as_of - created_at < timedelta(days=30)
    # The first customers carry the window-edge events: they never churn.
    churns = rng.random() < 0.08 and profile_name != "critical" and index > 11
    if not young and (index == 11 or churns):
        active_until = as_of - timedelta(days=rng.randint(5, 45))  # churned
    usage = rng.uniform(*profile.usage)
    pool = min(len(FEATURES), round(usage * BUILTIN_SEGMENTS[segment]["features_30d"]))
    return _Plan(
        id=f"c{index:06d}",
        segment=segment,
        profile=profile,
        profile_name=profile_name,
        created_at=created_at,
        active_until=active_until,
        usage=usage,
        features=tuple(rng.sample(FEATURES, pool)),
        late_data=active_until is None and rng.random() < 0.25,
    )


def _future_plan(rng: random.Random, as_of: datetime, number: int) -> _Plan:
    plan = _plan(rng, as_of, 100 + number)
    plan.id = f"f{number:06d}"
    plan.created_at = (as_of + timedelta(days=rng.uniform(0.5, 20.0))).replace(microsecond=0)
    plan.active_until = None
    plan.late_data = True
    return plan


def _customer_record(writer: _Writer, plan: _Plan) -> dict[str, Any]:
    rng = writer.rng
    record: dict[str, Any] = {"id": plan.id, "segment": plan.segment}
    record["name"] = f"{rng.choice(NAMES[0])} {rng.choice(NAMES[1])}"
    if plan.created_at is not None:
        record["created_at"] = writer.write_time(plan.created_at)
    elif rng.random() < 0.5:
        record["created_at"] = None
    attributes: dict[str, Any] = {"profile": plan.profile_name, "seats": rng.randint(2, 400)}
    if plan.active_until is not None:
        attributes["churned_days_ago"] = (writer.as_of - plan.active_until).days
    if plan.created_at is not None and plan.created_at > writer.as_of:
        attributes["not_created"] = True
    record["attributes"] = attributes
    return record


def _usage(writer: _Writer, plan: _Plan, history_days: int) -> None:
    rng = writer.rng
    expected = BUILTIN_SEGMENTS[plan.segment]
    daily_calls = plan.usage * expected["api_calls_30d"] / 30
    api_share = min(0.8, daily_calls)
    login_share = min(1.0, plan.usage * expected["login_days_30d"] / 30)
    users = [f"{plan.id}-u{n}" for n in range(1, 2 + int(plan.usage * 5))]
    first = -2 if plan.late_data else 0
    if plan.created_at is not None and plan.created_at > writer.as_of:
        first = -int((plan.created_at - writer.as_of) / DAY) - 10
    for day in range(first, history_days):
        if api_share > 0 and rng.random() < api_share:
            calls = daily_calls / api_share * rng.uniform(0.5, 1.5)
            pieces = 1 if calls < 20 or rng.random() < 0.5 else 2
            for _ in range(pieces):
                at = writer.instant(day)
                if plan.active(at):
                    quantity: int | None = max(1, round(calls / pieces))
                    if quantity == 1 and rng.random() < 0.5:
                        quantity = None  # missing or null means 1
                    writer.emit(plan.id, "api_call", at, quantity=quantity)
        if rng.random() < login_share:
            for _ in range(1 + int(rng.random() < 0.4) + int(rng.random() < 0.15)):
                at = writer.instant(day)
                if plan.active(at):
                    user = rng.choice(users) if rng.random() < 0.9 else None
                    writer.emit(plan.id, "login", at, user_id=user)
        for feature in plan.features:
            if rng.random() < 0.1:
                at = writer.instant(day)
                if plan.active(at):
                    writer.emit(plan.id, "feature_used", at, feature=feature)


def _payments(writer: _Writer, plan: _Plan) -> None:
    rng = writer.rng
    as_of = writer.as_of
    midnight = as_of.replace(hour=0, minute=0, second=0, microsecond=0)
    anchor = midnight - timedelta(days=rng.randrange(30))
    low, high = AMOUNTS[plan.segment]
    for month in range(-1, 8):
        due = anchor - timedelta(days=30 * month)
        issued = due - INVOICE_LEAD + timedelta(seconds=rng.randrange(8 * 3600, 18 * 3600))
        if plan.created_at is not None and issued < plan.created_at:
            continue
        lateness = timedelta(microseconds=int(rng.uniform(*plan.profile.late_days) * DAY_US))
        paid: datetime | None = due + lateness
        if rng.random() < plan.profile.unpaid or (
            plan.active_until is not None and due > plan.active_until
        ):
            paid = None
        amount = round(rng.uniform(low, high), 2) if rng.random() < 0.9 else None
        writer.emit(plan.id, "payment", issued, due_at=due, paid_at=paid, amount=amount)


def _tickets(writer: _Writer, plan: _Plan) -> None:
    rng = writer.rng
    profile = plan.profile
    expected = BUILTIN_SEGMENTS[plan.segment]["tickets_90d"]
    per_ticket = MEAN_PRIORITY_WEIGHT * (1 + 0.5 * profile.open_share)
    daily = rng.uniform(*profile.tickets) * expected / per_ticket / 90
    for day in range(120):
        if rng.random() >= daily:
            continue
        at = writer.instant(day)
        if not plan.active(at):
            continue
        priority: str | None = rng.choices(PRIORITIES, PRIORITY_SHARES)[0]
        if priority == "normal" and rng.random() < 0.3:
            priority = None  # missing means normal
        resolved: datetime | None = None
        if rng.random() >= profile.open_share:
            resolved = at + timedelta(microseconds=int(rng.uniform(0.02, 12.0) * DAY_US))
        writer.emit(plan.id, "support_ticket", at, priority=priority, resolved_at=resolved)


def _custom(writer: _Writer, plan: _Plan) -> None:
    rng = writer.rng
    for day in range(0, 180, 45):
        at = writer.instant(day + rng.randrange(45))
        if rng.random() < 0.6 and plan.active(at):
            score = rng.randint(*plan.profile.nps)
            writer.emit(plan.id, "nps_response", at, properties={"score": score})
    at = writer.instant(rng.randrange(90))
    if rng.random() < 0.3 and plan.active(at):
        before = rng.randint(2, 200)
        change = {"seats": before + rng.randint(-5, 20) or 1, "previous": before}
        writer.emit(plan.id, "seats_changed", at, properties=change)


def _edges(writer: _Writer, plans: list[_Plan]) -> None:
    """Events exactly on the window edges, spread over the first few customers."""
    as_of = writer.as_of

    def owner(n: int) -> str:
        return plans[n % len(plans)].id

    day30, day90 = as_of - timedelta(days=30), as_of - timedelta(days=90)
    tick = timedelta(microseconds=1)
    emit = writer.emit
    emit(owner(0), "login", as_of, user_id=f"{owner(0)}-edge")
    emit(owner(1), "api_call", day30, quantity=7)  # outside the 30-day window
    emit(owner(1), "api_call", day30 + tick, quantity=3)  # just inside
    emit(owner(2), "feature_used", day30, feature="sandboxes")  # outside
    emit(owner(3), "support_ticket", day90, priority="urgent", resolved_at=None)  # outside
    emit(owner(3), "support_ticket", day90 + tick, priority="low", resolved_at=as_of)  # inside
    due180 = as_of - timedelta(days=180)
    emit(owner(4), "payment", due180 - INVOICE_LEAD, due_at=due180, paid_at=None)  # outside
    emit(owner(5), "payment", as_of - INVOICE_LEAD, due_at=as_of, paid_at=None, amount=99.0)
    emit(owner(6), "api_call", as_of, event_id=f"{owner(6)}-edge", duplicate=True)
