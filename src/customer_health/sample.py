"""Seeded, realistic sample data for tests, benchmarks, docs and demos.

Two modes:

- :func:`generate` (standard library only) builds a portfolio of customers and their
  events as models, and as the plain dicts an API would receive
  (:meth:`SampleData.customer_dicts`, :meth:`SampleData.event_dicts`). It is meant to
  exercise every path of the model: all segments and event kinds, healthy, at-risk and
  critical customers, churn, window edges, duplicates, late data and every way of
  writing an instant.
- :func:`generate_columns` (the ``sample`` extra: numpy) builds tens of millions of
  events as numpy columns, for benchmarks and DataFrame or database loads;
  :func:`events_from_columns` turns a slice of them into event models to cross-check.

Both are deterministic for a seed::

    from customer_health import Scorer, sample

    data = sample.generate(200, seed=1)
    scores = Scorer().score_many(data.customers, data.events, as_of=data.as_of)

The customers' ``attributes`` say what the generator meant them to be: ``profile``
(``healthy``, ``at_risk`` or ``critical``: it drives their activity) and, for customers
who stopped using the product, ``churned_days_ago``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final

from ._engine import collector_paused
from ._inputs import resolve_as_of
from ._time import DAY_US
from .exceptions import InvalidInputError, MissingExtraError
from .models import EVENT_LIST_ADAPTER, Customer, Event
from .segments import BUILTIN_SEGMENTS

if TYPE_CHECKING:
    from numpy.random import Generator
    from numpy.typing import NDArray

__all__ = [
    "CHURN_EFFECTS",
    "CUSTOM_KINDS",
    "DEFAULT_AS_OF",
    "EVENT_COLUMNS",
    "FEATURES",
    "PERIOD_DAYS",
    "PROFILES",
    "SEGMENTS",
    "STRONG_FACTORS",
    "WEAK_FACTORS",
    "ChurnSimulation",
    "SampleData",
    "customers_from_columns",
    "event_dicts_from_columns",
    "events_from_columns",
    "generate",
    "generate_columns",
    "simulate_churn",
]

DEFAULT_AS_OF: Final = datetime(2026, 6, 30, tzinfo=UTC)
"""The instant samples are generated for unless told otherwise (never the clock)."""
SEGMENTS: Final = ("enterprise", "smb", "startup")
"""The built-in segments, all of which samples use."""
PROFILES: Final = ("healthy", "at_risk", "critical")
"""What the generator means a customer to be; it drives the customer's activity."""
FEATURES: Final = (
    "dashboards",
    "reports",
    "alerts",
    "exports",
    "sso",
    "webhooks",
    "api_keys",
    "audit_log",
    "integrations",
    "workflows",
    "forecasts",
    "sandboxes",
)
"""The product features ``feature_used`` events name (at most 12 characters each)."""
CUSTOM_KINDS: Final = ("nps_response", "seats_changed")
"""Event kinds outside the default model; they carry ``properties``."""
EVENT_COLUMNS: Final = (
    "customer_id",
    "kind",
    "occurred_at",
    "event_id",
    "quantity",
    "feature",
    "due_at",
    "paid_at",
    "amount",
    "priority",
    "resolved_at",
)
"""The columns of :func:`generate_columns`' events, in order."""

_SEGMENT_SHARES: Final = (0.15, 0.45, 0.40)
_PROFILE_SHARES: Final = (0.55, 0.28, 0.17)
_PRIORITIES: Final = ("low", "normal", "high", "urgent")
_PRIORITY_SHARES: Final = (0.25, 0.45, 0.20, 0.10)
_MEAN_PRIORITY_WEIGHT: Final = 0.25 * 0.5 + 0.45 * 1.0 + 0.20 * 2.0 + 0.10 * 3.0
_AMOUNTS: Final = {
    "enterprise": (5_000.0, 20_000.0),
    "smb": (500.0, 3_000.0),
    "startup": (50.0, 500.0),
}
_ZONES: Final = (
    timezone(timedelta(hours=2), "CEST"),
    timezone(timedelta(hours=-5), "EST"),
    timezone(timedelta(hours=5, minutes=30), "IST"),
    timezone(timedelta(hours=9), "JST"),
)
_DAY: Final = timedelta(days=1)

_INVOICE_LEAD: Final = timedelta(days=14)
_NAMES: Final = (
    ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell"),
    ("Analytics", "Logistics", "Labs", "Health", "Retail", "Systems", "Foods", "Media"),
)


@dataclass(frozen=True, slots=True)
class _Profile:
    usage: tuple[float, float]
    """Share of the segment's usage expectations the customer reaches."""
    late_days: tuple[float, float]
    """Days after ``due_at`` invoices are paid (negative: early)."""
    unpaid: float
    """Chance that an invoice is never paid."""
    tickets: tuple[float, float]
    """Ticket load as a share of the segment's expectation."""
    open_share: float
    """Chance that a ticket is never resolved."""
    nps: tuple[int, int]


_PROFILE_PARAMS: Final = {
    "healthy": _Profile((0.85, 1.4), (-10.0, 2.0), 0.0, (0.1, 0.7), 0.1, (8, 10)),
    "at_risk": _Profile((0.3, 0.7), (4.0, 24.0), 0.08, (0.8, 1.8), 0.3, (5, 8)),
    "critical": _Profile((0.0, 0.3), (15.0, 60.0), 0.35, (1.5, 3.5), 0.5, (0, 5)),
}


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
    profile: _Profile
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
            return value.astimezone(rng.choice(_ZONES))
        form = rng.random()
        if form < 0.4:
            return value.isoformat().replace("+00:00", "Z")
        if form < 0.7:
            return value.astimezone(rng.choice(_ZONES)).isoformat()
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
    for plan in plans:
        _usage(writer, plan, history_days)
        _payments(writer, plan)
        _tickets(writer, plan)
        _custom(writer, plan)
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
        segment = rng.choices(SEGMENTS, _SEGMENT_SHARES)[0]
        profile_name = rng.choices(PROFILES, _PROFILE_SHARES)[0]
    profile = _PROFILE_PARAMS[profile_name]
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
    record["name"] = f"{rng.choice(_NAMES[0])} {rng.choice(_NAMES[1])}"
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
        first = -int((plan.created_at - writer.as_of) / _DAY) - 10
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
    low, high = _AMOUNTS[plan.segment]
    for month in range(-1, 8):
        due = anchor - timedelta(days=30 * month)
        issued = due - _INVOICE_LEAD + timedelta(seconds=rng.randrange(8 * 3600, 18 * 3600))
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
    per_ticket = _MEAN_PRIORITY_WEIGHT * (1 + 0.5 * profile.open_share)
    daily = rng.uniform(*profile.tickets) * expected / per_ticket / 90
    for day in range(120):
        if rng.random() >= daily:
            continue
        at = writer.instant(day)
        if not plan.active(at):
            continue
        priority: str | None = rng.choices(_PRIORITIES, _PRIORITY_SHARES)[0]
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
    emit(owner(4), "payment", due180 - _INVOICE_LEAD, due_at=due180, paid_at=None)  # outside
    emit(owner(5), "payment", as_of - _INVOICE_LEAD, due_at=as_of, paid_at=None, amount=99.0)
    emit(owner(6), "api_call", as_of, event_id=f"{owner(6)}-edge", duplicate=True)


# -- the columnar generator (numpy) ---------------------------------------------------


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        raise MissingExtraError("numpy", "sample", "generate_columns()") from None
    return numpy


def generate_columns(
    n_customers: int = 10_000,
    n_events: int = 1_000_000,
    *,
    as_of: datetime | date | str = DEFAULT_AS_OF,
    seed: int = 0,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Generate customers and events as numpy columns (needs the ``sample`` extra).

    Fast and vectorised: ten million events take a few seconds and about 2.5 GB.
    Returns ``(customers, events)``. ``customers`` has the columns ``id``,
    ``segment``, ``profile`` (fixed-width unicode) and ``created_at``
    (``datetime64[us]``, NaT when unknown). ``events`` has :data:`EVENT_COLUMNS`:
    instants are ``datetime64[us]`` in UTC without a zone (NaT when absent); strings
    are fixed-width unicode, ``""`` when absent (``event_id`` is empty for about 90%
    of the events); ``quantity`` is ``int64`` (0 on rows that are not API calls) and
    ``amount`` is ``float64`` (NaN when absent). About 0.4% of the rows repeat an
    earlier row with the same ``event_id``, some 0.5% happen after ``as_of``, and
    the first four rows sit exactly on window edges (with ``n_events >= 4``).
    Deterministic for a seed (and a numpy version).
    """
    _numpy()
    import numpy as np

    for label, value in (("n_customers", n_customers), ("n_events", n_events)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidInputError(f"{label}={value!r}; it must be an integer >= 1")
    base = np.datetime64(resolve_as_of(as_of).replace(tzinfo=None), "us")
    rng = np.random.default_rng(seed)
    people = _customer_columns(rng, n_customers, base)
    kind_codes = rng.choice(len(_KINDS), n_events, p=_KIND_SHARES).astype(np.int8)
    edge_rows = min(4, n_events)
    kind_codes[:edge_rows] = [_KINDS.index(k) for k in _EDGE_KINDS[:edge_rows]]
    owner = _owners(rng, people, kind_codes)
    events = _event_columns(rng, people, kind_codes, owner, base)
    _mark_edges(events, people, base, edge_rows)
    _add_ids_and_duplicates(rng, events, edge_rows)
    customers = {
        "id": people["id"],
        "segment": people["segment"],
        "profile": people["profile"],
        "created_at": people["created_at"],
    }
    return customers, {name: events[name] for name in EVENT_COLUMNS}


_KINDS: Final = ("api_call", "login", "feature_used", "payment", "support_ticket", *CUSTOM_KINDS)
_KIND_SHARES: Final = (0.34, 0.30, 0.22, 0.04, 0.03, 0.04, 0.03)
_EDGE_KINDS: Final = ("login", "api_call", "support_ticket", "payment")
_SEGMENT_SCALE: Final = (2.0, 1.0, 0.5)  # how many more events a bigger customer makes


def _labels(prefix: str, numbers: NDArray[Any], width: int) -> NDArray[Any]:
    """``prefix`` + zero-padded ``numbers`` as a fixed-width unicode array, vectorised."""
    import numpy as np

    size = len(prefix) + width
    codes = np.empty((len(numbers), size), dtype=np.uint32)
    codes[:, : len(prefix)] = [ord(char) for char in prefix]
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    codes[:, len(prefix) :] = (numbers.astype(np.int64)[:, None] // powers) % 10 + ord("0")
    return codes.view(f"<U{size}").reshape(len(numbers))


def _customer_columns(rng: Generator, n: int, base: Any) -> dict[str, Any]:
    import numpy as np

    segment = rng.choice(3, n, p=_SEGMENT_SHARES)
    profile = rng.choice(3, n, p=_PROFILE_SHARES)
    grid = min(9, n)
    segment[:grid] = np.arange(grid) % 3
    profile[:grid] = np.arange(grid) // 3
    usage_low = np.array([_PROFILE_PARAMS[p].usage[0] for p in PROFILES])
    usage_high = np.array([_PROFILE_PARAMS[p].usage[1] for p in PROFILES])
    usage = rng.uniform(usage_low[profile], usage_high[profile])
    age = rng.uniform(60.0, 1500.0, n)
    young = rng.random(n) < 0.05
    age[young] = rng.uniform(0.25, 29.5, int(young.sum()))
    created = base - (age * DAY_US).astype(np.int64).astype("timedelta64[us]")
    created[(rng.random(n) < 0.1) & ~young] = np.datetime64("NaT", "us")
    width = max(6, len(str(n - 1)))
    return {
        "id": _labels("c", np.arange(n), width),
        "segment": np.array(SEGMENTS)[segment],
        "segment_code": segment,
        "profile": np.array(PROFILES)[profile],
        "profile_code": profile,
        "created_at": created,
        "age": age,
        "usage": usage,
    }


def _pick(rng: Generator, weights: NDArray[Any], size: int) -> NDArray[Any]:
    """``size`` customer indices drawn with probabilities proportional to ``weights``,
    in random order (multinomial counts: much faster than a search per row)."""
    import numpy as np

    counts = rng.multinomial(size, weights / weights.sum())
    picked: NDArray[np.int32] = np.repeat(np.arange(len(weights), dtype=np.int32), counts)
    rng.shuffle(picked)
    return picked


def _owners(rng: Generator, people: dict[str, Any], kind: NDArray[Any]) -> NDArray[Any]:
    """Who each event belongs to: active customers make more usage, critical ones more
    tickets, and invoices and surveys come evenly."""
    import numpy as np

    n = len(people["usage"])
    scale = np.array(_SEGMENT_SCALE)[people["segment_code"]]
    ticket_share = np.array([0.4, 1.3, 2.5])[people["profile_code"]]
    weights = {
        (0, 1, 2): people["usage"] * scale + 0.02,
        (3, 5, 6): np.ones(n),
        (4,): ticket_share * scale,
    }
    owner = np.empty(len(kind), dtype=np.int32)
    for codes, weight in weights.items():
        rows = np.flatnonzero(np.isin(kind, codes))
        owner[rows] = _pick(rng, weight, rows.size)
    return owner


def _nat_column(n: int) -> NDArray[Any]:
    """``n`` NaT instants (filling the int64 view is several times faster)."""
    import numpy as np

    return np.full(n, np.iinfo(np.int64).min, dtype=np.int64).view("datetime64[us]")


def _event_columns(
    rng: Generator, people: dict[str, Any], kind: NDArray[Any], owner: NDArray[Any], base: Any
) -> dict[str, Any]:
    import numpy as np

    n = len(kind)
    age_us = (people["age"] * DAY_US).astype(np.int64)[owner]
    span = np.full(n, 60 * DAY_US, dtype=np.int64)  # usage kinds: the last 60 days
    span[kind == 4] = 120 * DAY_US
    span[kind >= 5] = 180 * DAY_US
    offset = (rng.random(n) * np.minimum(span, age_us)).astype(np.int64)
    late = rng.random(n) < 0.005
    offset[late] = -(rng.random(int(late.sum())) * 3 * DAY_US).astype(np.int64)
    occurred = base - offset.astype("timedelta64[us]")

    quantity = np.zeros(n, dtype=np.int64)
    api = np.flatnonzero(kind == 0)
    api_counts = np.bincount(owner[api], minlength=len(people["usage"]))
    in_window = api_counts * np.minimum(1.0, 30.0 / np.minimum(60.0, people["age"]))
    expected = np.array([BUILTIN_SEGMENTS[s]["api_calls_30d"] for s in SEGMENTS])
    per_event = people["usage"] * expected[people["segment_code"]] / np.maximum(in_window, 1.0)
    quantity[api] = 1 + rng.poisson(np.maximum(per_event - 1.0, 0.0)[owner[api]])

    codes = np.zeros(n, dtype=np.int8)  # 0 is "": strings are written in one pass
    rows = np.flatnonzero(kind == 2)
    wanted = np.array([BUILTIN_SEGMENTS[s]["features_30d"] for s in SEGMENTS])
    pool = np.clip(np.rint(people["usage"] * wanted[people["segment_code"]]), 1, len(FEATURES))
    start = rng.integers(0, len(FEATURES), len(pool))
    pick = (rng.random(rows.size) * pool[owner[rows]]).astype(np.int64)
    codes[rows] = 1 + (start[owner[rows]] + pick) % len(FEATURES)
    feature = np.array(("", *FEATURES))[codes]

    due_at = _nat_column(n)
    paid_at = _nat_column(n)
    amount = np.full(n, np.nan)
    rows = np.flatnonzero(kind == 3)
    _invoices(rng, people, owner[rows], rows, base, occurred, due_at, paid_at, amount)

    resolved_at = _nat_column(n)
    rows = np.flatnonzero(kind == 4)
    codes[:] = 0
    codes[rows] = 1 + rng.choice(4, rows.size, p=_PRIORITY_SHARES)
    priority = np.array(("", *_PRIORITIES))[codes]
    open_share = np.array([_PROFILE_PARAMS[p].open_share for p in PROFILES])
    solved = rows[rng.random(rows.size) >= open_share[people["profile_code"][owner[rows]]]]
    took = (rng.uniform(0.02, 12.0, solved.size) * DAY_US).astype(np.int64)
    resolved_at[solved] = occurred[solved] + took.astype("timedelta64[us]")

    return {
        "customer_id": people["id"][owner],
        "kind": np.array(_KINDS)[kind],
        "occurred_at": occurred,
        "event_id": np.zeros(n, dtype="<U11"),
        "quantity": quantity,
        "feature": feature,
        "due_at": due_at,
        "paid_at": paid_at,
        "amount": amount,
        "priority": priority,
        "resolved_at": resolved_at,
    }


def _invoices(
    rng: Generator,
    people: dict[str, Any],
    owner: NDArray[Any],
    rows: NDArray[Any],
    base: Any,
    occurred: NDArray[Any],
    due_at: NDArray[Any],
    paid_at: NDArray[Any],
    amount: NDArray[Any],
) -> None:
    """Invoices due at midnight between 30 days after ``as_of`` and 200 days before
    (not before the customer's creation), issued 14 days earlier and paid by profile."""
    import numpy as np

    midnight = base.astype("datetime64[D]").astype("datetime64[us]")
    back = np.minimum(200.0, people["age"][owner])
    due_days = np.floor(rng.random(rows.size) * (back + 30.0)).astype(np.int64) - 30
    due = midnight - (due_days * DAY_US).astype("timedelta64[us]")
    hours = rng.integers(8 * 3600, 18 * 3600, rows.size) * 1_000_000
    occurred[rows] = due - 14 * np.timedelta64(DAY_US, "us") + hours.astype("timedelta64[us]")
    due_at[rows] = due
    profile = people["profile_code"][owner]
    low = np.array([_PROFILE_PARAMS[p].late_days[0] for p in PROFILES])[profile]
    high = np.array([_PROFILE_PARAMS[p].late_days[1] for p in PROFILES])[profile]
    late_us = (rng.uniform(low, high) * DAY_US).astype(np.int64)
    paid = due + late_us.astype("timedelta64[us]")
    unpaid = (
        rng.random(rows.size) < np.array([_PROFILE_PARAMS[p].unpaid for p in PROFILES])[profile]
    )
    paid[unpaid] = np.datetime64("NaT", "us")
    paid_at[rows] = paid
    low_amount = np.array([_AMOUNTS[s][0] for s in SEGMENTS])[people["segment_code"][owner]]
    high_amount = np.array([_AMOUNTS[s][1] for s in SEGMENTS])[people["segment_code"][owner]]
    value = np.round(rng.uniform(low_amount, high_amount), 2)
    value[rng.random(rows.size) < 0.1] = np.nan
    amount[rows] = value


def _mark_edges(events: dict[str, Any], people: dict[str, Any], base: Any, rows: int) -> None:
    """Rows 0-3: a login at ``as_of``, an API call at ``as_of - 30 days``, an open urgent
    ticket at ``as_of - 90 days`` and an unpaid invoice due at ``as_of - 180 days``,
    all of the first customer; only the login counts."""
    import numpy as np

    day = np.timedelta64(DAY_US, "us")
    times = (base, base - 30 * day, base - 90 * day, base - 194 * day)
    nat = np.datetime64("NaT", "us")
    for row in range(rows):
        events["customer_id"][row] = people["id"][0]
        events["occurred_at"][row] = times[row]
        for column, blank in (
            ("quantity", 0),
            ("feature", ""),
            ("due_at", nat),
            ("paid_at", nat),
            ("amount", np.nan),
            ("priority", ""),
            ("resolved_at", nat),
        ):
            events[column][row] = blank
    if rows > 1:
        events["quantity"][1] = 5
    if rows > 2:
        events["priority"][2] = "urgent"
    if rows > 3:
        events["due_at"][3] = base - 180 * day


def _add_ids_and_duplicates(rng: Generator, events: dict[str, Any], keep: int) -> None:
    """Give about 10% of the rows an ``event_id`` and copy 4% of those over other rows
    (beyond the first ``keep``): the copies are duplicates a scorer must count once."""
    import numpy as np

    n = len(events["kind"])
    has_id = np.flatnonzero(rng.random(n) < 0.1)
    events["event_id"][has_id] = _labels("e", has_id, 10)
    wanted = min(has_id.size // 25, max(0, n - keep - has_id.size))
    if wanted == 0:
        return
    candidates = keep + rng.choice(n - keep, min(n - keep, 2 * wanted + 16), replace=False)
    targets = candidates[events["event_id"][candidates] == ""][:wanted]
    sources = rng.choice(has_id, targets.size, replace=False)
    for column in EVENT_COLUMNS:
        events[column][targets] = events[column][sources]


def customers_from_columns(customers: Mapping[str, Any]) -> list[Customer]:
    """The customers of :func:`generate_columns` as :class:`Customer` models (the
    profile goes to ``attributes``)."""
    ids = customers["id"].tolist()
    segments = customers["segment"].tolist()
    created = customers["created_at"].tolist()
    profiles = customers["profile"].tolist()
    return [
        Customer(id=cid, segment=seg, created_at=at, attributes={"profile": prof})
        for cid, seg, at, prof in zip(ids, segments, created, profiles, strict=True)
    ]


def event_dicts_from_columns(
    events: Mapping[str, Any], rows: slice | None = None
) -> list[dict[str, Any]]:
    """The events of :func:`generate_columns` (``rows`` of them, default all) as plain
    dicts: naive datetimes (UTC), only the fields each kind has, no ``event_id`` where
    it is empty."""
    where = slice(None) if rows is None else rows
    columns = [events[name][where].tolist() for name in EVENT_COLUMNS]
    result: list[dict[str, Any]] = []
    append = result.append
    for cid, kind, at, eid, qty, feat, due, paid, amount, prio, resolved in zip(
        *columns, strict=True
    ):
        record: dict[str, Any] = {"customer_id": cid, "kind": kind, "occurred_at": at}
        if eid:
            record["event_id"] = eid
        if kind == "api_call":
            record["quantity"] = qty
        elif kind == "login":
            pass
        elif kind == "feature_used":
            record["feature"] = feat
        elif kind == "payment":
            record["due_at"] = due
            record["paid_at"] = paid
            if not math.isnan(amount):
                record["amount"] = amount
        elif kind == "support_ticket":
            record["priority"] = prio
            record["resolved_at"] = resolved
        append(record)
    return result


def events_from_columns(events: Mapping[str, Any], rows: slice | None = None) -> list[Event]:
    """The events of :func:`generate_columns` (``rows`` of them, default all) as
    validated event models, in row order."""
    records = event_dicts_from_columns(events, rows)
    with collector_paused():  # millions of models, no cycles
        return EVENT_LIST_ADAPTER.validate_python(records)


# -- the churn simulation (numpy and polars) ------------------------------------------

STRONG_FACTORS: Final = ("login_frequency", "feature_adoption")
"""The factors whose behaviour drives churn strongly in :func:`simulate_churn`."""
WEAK_FACTORS: Final = ("api_usage", "support_tickets")
"""The factors whose behaviour drives churn weakly in :func:`simulate_churn`;
``payment_timeliness`` does not drive it at all."""
CHURN_EFFECTS: Final[Mapping[str, float]] = {
    "api_usage": 0.3,
    "login_frequency": 1.2,
    "payment_timeliness": 0.0,
    "feature_adoption": 1.2,
    "support_tickets": 0.3,
}
"""The planted truth of :func:`simulate_churn`: how much one standard deviation less
of the behaviour each factor measures adds to the log-odds of churning next month."""
PERIOD_DAYS: Final = 30
"""The length of a simulated month, in days: the simulation's ``as_of`` dates are this
far apart, and a usage factor's 30-day window covers exactly one such month."""
_CHURN_BASE: Final = -5.0  # log-odds of churning in a month at average behaviour
_PERSISTENCE: Final = 0.7  # how much of a month's behaviour carries over to the next
_FACTOR_ORDER: Final = tuple(CHURN_EFFECTS)


@dataclass(frozen=True)
class ChurnSimulation:
    """Customers, their events and who churned when, from :func:`simulate_churn`.

    The three frames are polars DataFrames, ready for
    :func:`customer_health.backtest` (``.to_pandas()``, ``.to_arrow()`` for the other
    backends).
    """

    customers: Any
    """``id``, ``segment`` and ``created_at`` (UTC, without a zone)."""
    events: Any
    """``customer_id``, ``kind``, ``occurred_at`` and the fields of the built-in kinds
    (null where a kind has no such field); no event ids, no custom kinds."""
    outcomes: Any
    """``customer_id`` and ``churned_at``: one row per customer who churned before
    :attr:`end`. Nobody makes events after churning."""
    as_of_dates: tuple[datetime, ...]
    """The instants to backtest at: every :data:`PERIOD_DAYS` days, from the fourth
    simulated month to one month before :attr:`end`."""
    end: datetime
    """The last instant simulated: events and churn are known up to it."""
    churn_effects: Mapping[str, float] = field(default_factory=lambda: dict(CHURN_EFFECTS))
    """The planted truth, as :data:`CHURN_EFFECTS`."""

    @property
    def strong(self) -> tuple[str, ...]:
        """The factors that drive churn strongly (:data:`STRONG_FACTORS`)."""
        return STRONG_FACTORS

    @property
    def weak(self) -> tuple[str, ...]:
        """The factors that drive churn weakly (:data:`WEAK_FACTORS`)."""
        return WEAK_FACTORS


def simulate_churn(
    n_customers: int = 2_000,
    *,
    months: int = 15,
    end: datetime | date | str = DEFAULT_AS_OF,
    seed: int = 0,
) -> ChurnSimulation:
    """Simulate a portfolio over ``months`` months in which churn has a known cause.

    Needs numpy and polars (the ``backtest`` extra). A month is :data:`PERIOD_DAYS`
    days; the last one ends at ``end``. Each customer has, for each built-in factor, a
    level of the behaviour it measures (API calls, login days, payment delays, distinct
    features, ticket load), which drifts from month to month. At the end of each month
    a customer churns, some time in the next month, with log-odds
    ``-5 + sum(effect * shortfall)``: ``shortfall`` is how many standard deviations the
    behaviour was below average that month, ``effect`` is :data:`CHURN_EFFECTS`
    (strong for :data:`STRONG_FACTORS`, weak for :data:`WEAK_FACTORS`, none for
    ``payment_timeliness``). About 3% of the customers churn each month. A fifth of
    the customers are created during the period. Deterministic for a seed (and a numpy
    version); two thousand customers over 15 months make about half a million events.
    """
    for label, value, low in (("n_customers", n_customers, 1), ("months", months, 5)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidInputError(f"{label}={value!r}; it must be an integer >= {low}")
    _numpy()
    try:
        import polars as pl
    except ImportError:
        raise MissingExtraError("polars", "backtest", "simulate_churn()") from None
    import numpy as np

    rng = np.random.default_rng(seed)
    last = resolve_as_of(end).replace(tzinfo=None)
    start = last - timedelta(days=PERIOD_DAYS * months)
    base = np.datetime64(start, "us")
    month_us = PERIOD_DAYS * DAY_US
    segment = rng.choice(3, n_customers, p=_SEGMENT_SHARES)
    created_days = rng.uniform(-720.0, -30.0, n_customers)
    later = rng.random(n_customers) < 0.2
    created_days[later] = rng.uniform(0.0, PERIOD_DAYS * (months - 2), int(later.sum()))
    created_us = (created_days * 86_400).astype(np.int64) * 1_000_000  # whole seconds
    levels = _levels(rng, n_customers, months)
    churn_us = _churn(rng, levels, created_us, months, month_us)
    ids = _labels("c", np.arange(n_customers), max(6, len(str(n_customers - 1))))
    kinds = _simulated_events(rng, levels, segment, months, month_us)
    rows = []
    for kind, columns in kinds.items():
        owner, at = columns.pop("owner"), columns["occurred_at"]
        alive = (at > created_us[owner]) & (at <= churn_us[owner]) & (at <= months * month_us)
        frame = {"customer_id": owner[alive], "kind": kind}
        frame.update({name: values[alive] for name, values in columns.items()})
        rows.append(pl.DataFrame(frame))
    instants = ["occurred_at", "due_at", "paid_at", "resolved_at"]
    offsets = [pl.col(name).cast(pl.Duration("us")) for name in instants]
    events = (
        pl.concat(rows, how="diagonal_relaxed")
        .with_columns(
            customer_id=pl.lit(pl.Series(ids)).gather(pl.col("customer_id")),
            **{name: pl.lit(base) + off for name, off in zip(instants, offsets, strict=True)},
        )
        .select(
            "customer_id",
            "kind",
            "occurred_at",
            "quantity",
            "feature",
            "due_at",
            "paid_at",
            "amount",
            "priority",
            "resolved_at",
        )
    )
    churned = np.flatnonzero(churn_us <= months * month_us)
    outcomes = pl.DataFrame(
        {"customer_id": ids[churned], "churned_at": base + churn_us[churned].astype("m8[us]")}
    ).sort("churned_at", "customer_id")
    customers = pl.DataFrame(
        {
            "id": ids,
            "segment": np.array(SEGMENTS)[segment],
            "created_at": base + created_us.astype("m8[us]"),
        }
    )
    dates = tuple(
        (start + timedelta(days=PERIOD_DAYS * k)).replace(tzinfo=UTC) for k in range(3, months)
    )
    return ChurnSimulation(customers, events, outcomes, dates, last.replace(tzinfo=UTC))


def _levels(rng: Generator, n: int, months: int) -> NDArray[Any]:
    """Each customer's behaviour per factor and month, in standard deviations above the
    average (shape customers x factors x months): each month keeps some of the last."""
    import numpy as np

    levels = np.empty((n, len(_FACTOR_ORDER), months))
    levels[:, :, 0] = rng.standard_normal((n, len(_FACTOR_ORDER)))
    fresh = math.sqrt(1 - _PERSISTENCE**2)
    for month in range(1, months):
        noise = rng.standard_normal((n, len(_FACTOR_ORDER)))
        levels[:, :, month] = _PERSISTENCE * levels[:, :, month - 1] + fresh * noise
    return levels


def _churn(
    rng: Generator, levels: NDArray[Any], created: NDArray[Any], months: int, month_us: int
) -> NDArray[Any]:
    """When each customer churns, in microseconds from the start (past the end: never)."""
    import numpy as np

    n = levels.shape[0]
    effects = np.array([CHURN_EFFECTS[name] for name in _FACTOR_ORDER])
    odds = _CHURN_BASE - np.einsum("f,nfm->nm", effects, levels)
    draws = rng.random((n, months)) < 1 / (1 + np.exp(-odds))
    # a customer can churn after a month it existed in, and not before its creation
    ends = (np.arange(months) + 1) * month_us
    draws &= created[:, None] < ends[None, :]
    churn = np.full(n, np.iinfo(np.int64).max // 2, dtype=np.int64)
    first = draws.argmax(axis=1)
    hit = draws[np.arange(n), first]
    into = np.asarray(rng.random(n) * month_us).astype(np.int64) + 1
    churn[hit] = ends[first[hit]] + into[hit]
    return churn


def _share(level: NDArray[Any], mean: float, spread: float, low: float, high: float) -> Any:
    import numpy as np

    return np.clip(mean + spread * level, low, high)


def _simulated_events(
    rng: Generator, levels: NDArray[Any], segment: NDArray[Any], months: int, month_us: int
) -> dict[str, dict[str, Any]]:
    """Every customer's events of each built-in kind, month by month, as columns; instants
    in microseconds from the start (who is alive when is applied by the caller)."""
    import numpy as np

    n = levels.shape[0]
    cells = np.arange(n * months)
    owner_of, month_of = cells // months, cells % months
    level = {name: levels[:, i, :].reshape(-1) for i, name in enumerate(_FACTOR_ORDER)}
    seg = segment[owner_of]
    wanted = {
        key: np.array([BUILTIN_SEGMENTS[s][key] for s in SEGMENTS])[seg]
        for key in ("api_calls_30d", "login_days_30d", "features_30d", "tickets_90d")
    }
    day = DAY_US
    month_start = month_of.astype(np.int64) * month_us
    found: dict[str, dict[str, Any]] = {}

    # logins: each day of the month with a chance set by the login level
    chance = np.minimum(
        1.0, _share(level["login_frequency"], 0.75, 0.3, 0.03, 1.3) * wanted["login_days_30d"] / 30
    )
    cell, day_no = np.nonzero(rng.random((cells.size, PERIOD_DAYS)) < chance[:, None])
    at = month_start[cell] + day_no * day + (rng.random(cell.size) * day).astype(np.int64) + 1
    found["login"] = {"owner": owner_of[cell], "occurred_at": at}

    # API calls: a few events a month that add up to the calls of the API level
    calls = _share(level["api_usage"], 0.8, 0.3, 0.03, 1.6) * wanted["api_calls_30d"]
    count = 1 + rng.poisson(2.0, cells.size)
    cell = np.repeat(cells, count)
    per_event = calls * rng.uniform(0.8, 1.2, cells.size) / count
    found["api_call"] = {
        "owner": owner_of[cell],
        "occurred_at": month_start[cell] + (rng.random(cell.size) * month_us).astype(np.int64) + 1,
        "quantity": np.maximum(1, np.rint(per_event[cell])).astype(np.int64),
    }

    # features: the level sets how many distinct ones; most are used each month
    pool = np.rint(
        _share(level["feature_adoption"], 0.75, 0.3, 0.0, 1.5) * wanted["features_30d"]
    ).astype(np.int64)
    pool = np.minimum(pool, len(FEATURES))
    cell = np.repeat(cells, pool)
    rank = np.arange(cell.size) - np.repeat(np.cumsum(pool) - pool, pool)
    used = rng.random(cell.size) < 0.9
    cell, rank = cell[used], rank[used]
    first_feature = np.asarray(rng.integers(0, len(FEATURES), n))[owner_of[cell]]
    found["feature_used"] = {
        "owner": owner_of[cell],
        "occurred_at": month_start[cell] + (rng.random(cell.size) * month_us).astype(np.int64) + 1,
        "feature": np.array(FEATURES)[(first_feature + rank) % len(FEATURES)],
    }

    # invoices: one a month, due mid-month, paid as late as the payment level says
    due = month_start + 15 * day
    late = _share(level["payment_timeliness"], 6.0, -9.0, -5.0, 60.0)
    late = late + rng.normal(0.0, 2.0, cells.size)
    paid = (due + late * day).astype("m8[us]").astype(np.int64)
    paid_at = paid.astype("m8[us]")
    paid_at[(late > 30) & (rng.random(cells.size) < 0.3)] = np.timedelta64("NaT", "us")
    found["payment"] = {
        "owner": owner_of,
        "occurred_at": due - 14 * day + rng.integers(8, 18, cells.size) * 3_600_000_000,
        "due_at": due,
        "paid_at": paid_at,
        "amount": np.round(rng.uniform(100.0, 5_000.0, cells.size), 2),
    }

    # tickets: as many as the ticket level says, most resolved within days
    load = _share(level["support_tickets"], 0.9, -0.45, 0.05, 3.0) * wanted["tickets_90d"] / 3
    cell = np.repeat(cells, rng.poisson(load / _MEAN_PRIORITY_WEIGHT))
    opened = month_start[cell] + (rng.random(cell.size) * month_us).astype(np.int64) + 1
    resolved = (opened + rng.uniform(0.05, 10.0, cell.size) * day).astype(np.int64)
    resolved_at = resolved.astype("m8[us]")
    resolved_at[rng.random(cell.size) < 0.2] = np.timedelta64("NaT", "us")
    found["support_ticket"] = {
        "owner": owner_of[cell],
        "occurred_at": opened,
        "priority": np.array(_PRIORITIES)[rng.choice(4, cell.size, p=_PRIORITY_SHARES)],
        "resolved_at": resolved_at,
    }
    return found
