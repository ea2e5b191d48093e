"""Named hypothesis strategies for customers and events (the attrs habit: one place)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, NamedTuple

from hypothesis import strategies as st

BASE_AS_OF = datetime(2026, 6, 30, tzinfo=UTC)
US = timedelta(microseconds=1)
DAY = timedelta(days=1)
ZONES = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]

as_ofs = st.builds(
    lambda us: BASE_AS_OF + us * US, st.integers(min_value=-(10**12), max_value=10**12)
)
"""Instants around mid-2026, at microsecond resolution."""

# Offsets before as_of (negative: after it), with every window edge and its neighbours.
_EDGES = [
    timedelta(0),
    US,
    -US,
    *(d * DAY + e for d in (30, 90, 180) for e in (timedelta(0), US, -US)),
]
offsets = st.one_of(
    st.sampled_from(_EDGES),
    st.builds(
        lambda us: us * US,
        st.integers(min_value=-5 * 86_400_000_000, max_value=200 * 86_400_000_000),
    ),
)
"""How long before ``as_of`` something happened."""


AT_AS_OF = st.sampled_from([timedelta(0), US, -US])
"""Offsets of ``as_of`` itself and its neighbours (for instants compared with it)."""


@st.composite
def instants(
    draw: st.DrawFn, as_of: datetime, before: st.SearchStrategy[timedelta] = offsets
) -> datetime:
    """An instant ``before`` ``as_of`` (by default anything around it), shown naive (UTC)
    or aware in one of several zones."""
    moment = as_of - draw(before)
    style = draw(st.sampled_from(["utc", "naive", "zone"]))
    if style == "naive":
        return moment.astimezone(UTC).replace(tzinfo=None)
    if style == "zone":
        return moment.astimezone(draw(st.sampled_from(ZONES)))
    return moment


@st.composite
def customers(draw: st.DrawFn, as_of: datetime, customer_id: str = "c1") -> dict[str, Any]:
    """A customer created up to 60 days before ``as_of`` (often young), or of unknown age."""
    customer: dict[str, Any] = {
        "id": customer_id,
        "segment": draw(st.sampled_from(["enterprise", "smb", "startup"])),
    }
    if draw(st.booleans()):
        age = draw(
            st.one_of(
                st.sampled_from([timedelta(0), US, DAY, 30 * DAY - US, 30 * DAY]),
                st.builds(lambda us: us * US, st.integers(0, 60 * 86_400_000_000)),
            )
        )
        customer["created_at"] = as_of - age
    return customer


@st.composite
def events(draw: st.DrawFn, as_of: datetime, customer_id: str = "c1") -> dict[str, Any]:
    """One event of any kind for ``customer_id``, with times at and around window edges."""
    kind = draw(
        st.sampled_from(
            ["api_call", "login", "feature_used", "payment", "support_ticket", "nps_response"]
        )
    )
    event: dict[str, Any] = {
        "customer_id": customer_id,
        "kind": kind,
        "occurred_at": draw(instants(as_of)),
    }
    if kind == "api_call":
        quantity = draw(st.one_of(st.none(), st.integers(1, 400), st.just("absent")))
        if quantity != "absent":
            event["quantity"] = quantity
    elif kind == "login":
        event["user_id"] = draw(st.one_of(st.none(), st.sampled_from(["u1", "u2"])))
    elif kind == "feature_used":
        event["feature"] = draw(
            st.sampled_from(["search", "export", "sso", "api", "Search", "a", "b", "c", "d"])
        )
    elif kind == "payment":
        event["due_at"] = draw(instants(as_of))
        paid = draw(st.sampled_from(["after due", "at as_of", "unpaid"]))
        if paid == "after due":
            delay = draw(st.integers(-10 * 86_400_000_000, 70 * 86_400_000_000)) * US
            event["paid_at"] = event["due_at"] + delay
        elif paid == "at as_of":  # paid at as_of, just before or just after it
            event["paid_at"] = draw(instants(as_of, AT_AS_OF))
        else:
            event["paid_at"] = None
        if draw(st.booleans()):
            event["amount"] = draw(st.floats(0, 1e6, allow_nan=False))
    elif kind == "support_ticket":
        priority = draw(st.sampled_from([None, "low", "normal", "high", "urgent", "absent"]))
        if priority != "absent":
            event["priority"] = priority
        resolved = draw(st.sampled_from(["after", "at as_of", "open"]))
        if resolved == "after":
            delay = draw(st.integers(0, 60 * 86_400_000_000)) * US
            event["resolved_at"] = event["occurred_at"] + delay
        elif resolved == "at as_of":  # resolved at as_of (not open), or just after (open)
            event["resolved_at"] = draw(instants(as_of, AT_AS_OF))
    else:
        event["properties"] = {"score": draw(st.integers(0, 10))}
    return event


@st.composite
def histories(
    draw: st.DrawFn, as_of: datetime, customer_id: str = "c1", max_size: int = 40
) -> list[dict[str, Any]]:
    """A customer's events, some carrying an ``event_id`` and some recorded twice.

    An ``event_id`` is the customer's own (``c1-e3``) or one that other customers'
    histories use too for events of their own (``e0``, ``e1``, ... in each history, so
    that they often meet, and recorded twice more often): de-duplication is per
    (customer, event_id), so those are different events.
    """
    items = draw(st.lists(events(as_of, customer_id), max_size=max_size))
    shared: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if draw(st.booleans()):
            if draw(st.booleans()):
                item["event_id"] = f"e{len(shared)}"
                shared.append(item)
            else:
                item["event_id"] = f"{customer_id}-e{index}"
    duplicates = [
        dict(item)
        for item in items
        if "event_id" in item
        and draw(st.integers(0, 3)) < (2 if any(item is s for s in shared) else 1)
    ]
    return items + duplicates


CUSTOMER_IDS = ["c0", "c1", "C1", "c1 ", "c2", "c3", "c4", "c5", "c6", "c7", "ü8", "9"]
"""Ids for portfolios: ids that differ only in case or in a trailing space are different
customers (the model neither folds case nor trims)."""


class Portfolio(NamedTuple):
    """Customers and their events (plain dicts, as the strategies draw them) and as_of."""

    customers: list[dict[str, Any]]
    events: list[dict[str, Any]]
    as_of: datetime


@st.composite
def portfolios(draw: st.DrawFn, max_customers: int = 8, max_events: int = 12) -> Portfolio:
    """Several customers (some created after ``as_of``, some without events) and all their
    events, shuffled: window edges, several zones, duplicate copies within a customer and
    ``event_id`` values that several customers use for events of their own."""
    as_of = draw(as_ofs)
    ids = draw(
        st.lists(st.sampled_from(CUSTOMER_IDS), min_size=1, max_size=max_customers, unique=True)
    )
    people = [draw(customers(as_of, cid)) for cid in ids]
    for person in people:
        if draw(st.integers(0, 7)) == 0:  # not created yet at as_of
            person["created_at"] = as_of + draw(st.integers(1, 10 * 86_400_000_000)) * US
    events: list[dict[str, Any]] = []
    for person in people:
        events += draw(histories(as_of, person["id"], max_size=max_events))
    return Portfolio(people, list(draw(st.permutations(events))), as_of)


def json_like(event: dict[str, Any]) -> dict[str, Any]:
    """The same event as it would arrive in JSON: datetimes as ISO 8601 strings."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in event.items()}


_OFFSET_ZONES = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-(24 * 60 - 1), 24 * 60 - 1)
)


@st.composite
def _written_instants(draw: st.DrawFn) -> str:
    """An instant written as ISO 8601 text the way clients and ``sample`` write it: naive,
    ``Z`` or an offset, with 0 to 9 digits of fraction, in any year (near the range's ends
    an offset can move it out)."""
    moment = draw(
        st.datetimes(
            min_value=datetime(1, 1, 1),
            max_value=datetime(9999, 12, 31, 23, 59, 59, 999_999),
            timezones=st.one_of(st.none(), st.just(UTC), _OFFSET_ZONES),
        )
    )
    text = moment.replace(tzinfo=None).isoformat(timespec="seconds")
    digits = draw(st.integers(0, 9))
    if digits:
        text += "." + f"{moment.microsecond:06d}{draw(st.integers(0, 999)):03d}"[:digits]
    if moment.tzinfo is UTC and draw(st.booleans()):
        return text + "Z"
    return text + (moment.isoformat()[26:] if moment.tzinfo is not None else "")


_EDGE_TEXTS = [
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:59:59-00:01",
    "9999-12-31T23:59:59-00:01",
    "9999-12-31T23:30:00+00:30",
    "0000-01-01T00:00:00",
    "2026-02-29T00:00:00",
    "2024-02-29T23:59:59.999999Z",
    "2026-06-30T23:59:60",
    "2026-06-30T24:00:00",
    "2026-06-30T12:34:56+24:00",
    "2026-06-30T12:34:56+23:59",
    "2026-06-30T12:34:56.1234567",
    "2026-06-30T12:34:56.Z",
    "2026-06-30T12:34",
    "2026-06-30",
    "1700000000",
    "\uff12026-06-30T12:34:56",
]


@st.composite
def _mutated(draw: st.DrawFn, text: str) -> str:
    """``text`` with a character replaced, inserted or removed."""
    where = draw(st.integers(0, len(text)))
    char = draw(st.sampled_from("0123456789-:T tZz+.,_\uff12"))
    how = draw(st.sampled_from(["replace", "insert", "delete"]))
    if how == "insert":
        return text[:where] + char + text[where:]
    if how == "delete" or where == len(text):
        return text[:where] + text[where + 1 :]
    return text[:where] + char + text[where + 1 :]


instant_texts = st.one_of(
    _written_instants(),
    st.sampled_from(_EDGE_TEXTS),
    _written_instants().flatmap(_mutated),
    st.sampled_from(_EDGE_TEXTS).flatmap(_mutated),
)
"""Text in an instant column: well-formed ISO 8601 as clients write it, edge cases of
range and form, and either with a character replaced, inserted or removed (most of those
are not dates, some are other forms pydantic reads)."""
