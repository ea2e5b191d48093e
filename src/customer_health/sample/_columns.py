"""The columnar generator (numpy, the ``sample`` extra): tens of millions of events
as numpy columns (:func:`generate_columns`), and models from a slice of them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final

from .._gc import collector_paused
from .._inputs import resolve_as_of
from .._time import DAY_US
from ..exceptions import InvalidInputError, MissingExtraError
from ..models import EVENT_LIST_ADAPTER, Customer, Event
from ..segments import BUILTIN_SEGMENTS

if TYPE_CHECKING:
    from numpy.random import Generator
    from numpy.typing import NDArray
from ._common import (
    AMOUNTS,
    CUSTOM_KINDS,
    DEFAULT_AS_OF,
    EVENT_COLUMNS,
    FEATURES,
    PRIORITIES,
    PRIORITY_SHARES,
    PROFILE_PARAMS,
    PROFILE_SHARES,
    PROFILES,
    SEGMENT_SHARES,
    SEGMENTS,
)

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

    segment = rng.choice(3, n, p=SEGMENT_SHARES)
    profile = rng.choice(3, n, p=PROFILE_SHARES)
    grid = min(9, n)
    segment[:grid] = np.arange(grid) % 3
    profile[:grid] = np.arange(grid) // 3
    usage_low = np.array([PROFILE_PARAMS[p].usage[0] for p in PROFILES])
    usage_high = np.array([PROFILE_PARAMS[p].usage[1] for p in PROFILES])
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
    codes[rows] = 1 + rng.choice(4, rows.size, p=PRIORITY_SHARES)
    priority = np.array(("", *PRIORITIES))[codes]
    open_share = np.array([PROFILE_PARAMS[p].open_share for p in PROFILES])
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
    low = np.array([PROFILE_PARAMS[p].late_days[0] for p in PROFILES])[profile]
    high = np.array([PROFILE_PARAMS[p].late_days[1] for p in PROFILES])[profile]
    late_us = (rng.uniform(low, high) * DAY_US).astype(np.int64)
    paid = due + late_us.astype("timedelta64[us]")
    unpaid = rng.random(rows.size) < np.array([PROFILE_PARAMS[p].unpaid for p in PROFILES])[profile]
    paid[unpaid] = np.datetime64("NaT", "us")
    paid_at[rows] = paid
    low_amount = np.array([AMOUNTS[s][0] for s in SEGMENTS])[people["segment_code"][owner]]
    high_amount = np.array([AMOUNTS[s][1] for s in SEGMENTS])[people["segment_code"][owner]]
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
