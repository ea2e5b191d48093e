"""Recording events: rows built once in Python, checked, then loaded straight in.

In the caller's transaction (so a batch is all or nothing):

1. each event becomes a row as stored (instants as integer microseconds, properties as
   canonical JSON); copies within the batch are folded (identical: one event;
   different: a conflict error naming the ``event_id``);
2. events of customers the store does not hold are an error naming them;
3. the rows whose ``(customer_id, event_id)`` is stored already are read back and
   compared: the same content is a duplicate (not stored again), other content a
   conflict error naming the id;
4. the new rows, sorted by customer and time (the indexes then fill page after page),
   go into ``ch_events`` directly: ``COPY`` on PostgreSQL, ``executemany`` on SQLite;
5. every customer of the batch is marked pending in ``ch_pending``.

A writer racing this one with the same ``event_id`` makes step 4 fail on the unique
key (PostgreSQL; SQLite writers take turns): :class:`RaceLost` is raised, and the store
runs the batch again in a new transaction, which sees the other writer's rows.
Step 3 only looks up the customers step 2 found to have stored events with an
``event_id``: a first load of a customer's history skips it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from .._engine import collector_paused
from .._format import plural, some
from ..exceptions import EventConflictError, UnknownCustomerError
from ..models import (
    ApiCallEvent,
    Event,
    FeatureUsedEvent,
    LoginEvent,
    PaymentEvent,
    SupportTicketEvent,
)
from ._queries import id_chunks
from ._tables import EVENT_FIELDS, canonical_json, customers, events, pending
from ._upsert import insert_for

__all__ = ["RaceLost", "record_events"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_SHOWN = 5
_UNIQUE_VIOLATION = "23505"

Row = tuple[Any, ...]


def _row(event: Event) -> Row:
    """The row of ``event`` as stored: instants as microseconds, properties as JSON text."""
    fields = event.__dict__
    get = fields.get
    properties = get("properties")
    return (
        fields["customer_id"],
        fields["event_id"],
        fields["kind"],
        (fields["occurred_at"] - _EPOCH) // _MICROSECOND,
        get("quantity"),
        get("user_id"),
        get("feature"),
        _us(get("due_at")),
        _us(get("paid_at")),
        get("amount"),
        get("priority"),
        _us(get("resolved_at")),
        None if properties is None else canonical_json(properties),
    )


def _us(value: datetime | None) -> int | None:
    return None if value is None else (value - _EPOCH) // _MICROSECOND


# The rows of the built-in models, field by field (the generic ``_row`` costs twice as
# much: a million events take seconds in Python). Same tuples as ``_row`` gives.


def _api_call_row(event: Event) -> Row:
    f = event.__dict__
    at = (f["occurred_at"] - _EPOCH) // _MICROSECOND
    return (f["customer_id"], f["event_id"], "api_call", at, f["quantity"], *_NONE_8)


def _login_row(event: Event) -> Row:
    f = event.__dict__
    at = (f["occurred_at"] - _EPOCH) // _MICROSECOND
    return (f["customer_id"], f["event_id"], "login", at, None, f["user_id"], *_NONE_7)


def _feature_row(event: Event) -> Row:
    f = event.__dict__
    at = (f["occurred_at"] - _EPOCH) // _MICROSECOND
    return (f["customer_id"], f["event_id"], "feature_used", at, None, None, f["feature"], *_NONE_6)


def _payment_row(event: Event) -> Row:
    f = event.__dict__
    paid = f["paid_at"]
    return (
        f["customer_id"],
        f["event_id"],
        "payment",
        (f["occurred_at"] - _EPOCH) // _MICROSECOND,
        None,
        None,
        None,
        (f["due_at"] - _EPOCH) // _MICROSECOND,
        None if paid is None else (paid - _EPOCH) // _MICROSECOND,
        f["amount"],
        None,
        None,
        None,
    )


def _ticket_row(event: Event) -> Row:
    f = event.__dict__
    resolved = f["resolved_at"]
    return (
        f["customer_id"],
        f["event_id"],
        "support_ticket",
        (f["occurred_at"] - _EPOCH) // _MICROSECOND,
        *_NONE_6,
        f["priority"],
        None if resolved is None else (resolved - _EPOCH) // _MICROSECOND,
        None,
    )


_NONE_6 = (None,) * 6
_NONE_7 = (None,) * 7
_NONE_8 = (None,) * 8
_ROWS: dict[type, Callable[[Event], Row]] = {
    ApiCallEvent: _api_call_row,
    LoginEvent: _login_row,
    FeatureUsedEvent: _feature_row,
    PaymentEvent: _payment_row,
    SupportTicketEvent: _ticket_row,
}
"""Row builders by exact model type; anything else (custom events, subclasses) goes
through ``_row``."""


Key = tuple[str, str]


def record_events(
    connection: sa.Connection, batch: Sequence[Event], now: datetime, chunk_size: int
) -> tuple[int, int]:
    """Record ``batch`` (validated events) inside the caller's transaction.

    Returns how many events were stored and how many were already there (or repeated
    within the batch).
    """
    if not batch:
        return 0, 0
    with collector_paused():  # millions of tuples, no cycles: see collector_paused
        rows, keyed = _rows(batch)
        with_keys = _check_customers(connection, {row[0] for row in rows})
        new = _load(connection, rows, keyed, with_keys, _micros(now), chunk_size)
        del rows, keyed
    mark_pending(connection, {event.customer_id for event in batch}, now)
    return new, len(batch) - new


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // _MICROSECOND


def _rows(batch: Sequence[Event]) -> tuple[list[Row], dict[Key, Row]]:
    """The batch's rows, copies folded, and the rows with an ``event_id`` by key."""
    rows: list[Row] = []
    append = rows.append
    keyed: dict[Key, Row] = {}
    setdefault = keyed.setdefault
    builders = _ROWS
    for event in batch:
        row = builders.get(type(event), _row)(event)
        if row[1] is not None:
            key = (row[0], row[1])
            first = setdefault(key, row)
            if first is not row:
                if first != row:
                    raise EventConflictError(_conflict_message(key))
                continue  # an identical copy within the batch
        append(row)
    return rows, keyed


def _check_customers(connection: sa.Connection, ids: set[str]) -> set[str]:
    """Fail on customers not stored; return those with stored events that have an
    ``event_id`` (only their events can be stored already)."""
    found: dict[str, bool] = {}
    ordered = sorted(ids)
    keyed = sa.exists().where(
        events.c.customer_id == customers.c.id, events.c.event_id.is_not(None)
    )
    for chunk in id_chunks(ordered):
        query = sa.select(customers.c.id, keyed).where(customers.c.id.in_(chunk))
        found.update((row[0], bool(row[1])) for row in connection.execute(query))
    missing = sorted(ids.difference(found))
    if missing:
        raise UnknownCustomerError(
            f"events of {plural(len(missing), 'unknown customer')}: {some(missing)}; add the "
            "customers first (nothing of this batch was recorded)"
        )
    return {cid for cid, has in found.items() if has}


class RaceLost(Exception):
    """Another writer stored some of this batch's ``event_id`` first (PostgreSQL): the
    transaction is void; running the batch again sees those rows as stored."""


def _load(
    connection: sa.Connection,
    rows: list[Row],
    keyed: dict[Key, Row],
    with_keys: set[str],
    now: int,
    chunk_size: int,
) -> int:
    """Store the rows not stored yet; return how many that was."""
    stored = _stored(connection, {k: r for k, r in keyed.items() if k[0] in with_keys})
    for key, row in stored.items():
        if row != keyed[key]:
            raise EventConflictError(_conflict_message(key))
    new = [row for row in rows if row[1] is None or (row[0], row[1]) not in stored]
    new.sort(key=_ORDER)
    try:
        _insert(connection, new, now, chunk_size)
    except Exception as exc:  # the driver's own error, from COPY on its connection
        if getattr(getattr(exc, "orig", exc), "sqlstate", None) == _UNIQUE_VIOLATION:
            raise RaceLost from exc
        raise
    return len(new)


_ORDER = itemgetter(0, 3)
"""Customer, then time: the order of ``ix_ch_events_customer_occurred``."""
_COLUMNS = ", ".join((*EVENT_FIELDS, "recorded_at"))


def _insert(connection: sa.Connection, rows: list[Row], now: int, chunk_size: int) -> None:
    if connection.dialect.name == "postgresql":
        raw: Any = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY ch_events ({_COLUMNS}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write((*row, now))
    else:
        marks = ", ".join("?" for _ in range(len(EVENT_FIELDS) + 1))
        statement = f"INSERT INTO ch_events ({_COLUMNS}) VALUES ({marks})"
        for start in range(0, len(rows), chunk_size):
            chunk = [(*row, now) for row in rows[start : start + chunk_size]]
            connection.exec_driver_sql(statement, chunk)


_SELECT_STORED = ", ".join(f"e.{name}" for name in EVENT_FIELDS)


def _stored(connection: sa.Connection, keyed: Mapping[Key, Row]) -> dict[Key, Row]:
    """The stored rows (as :func:`_row` builds them) of the keys in ``keyed``."""
    if not keyed:
        return {}
    keys = list(keyed)
    if connection.dialect.name == "postgresql":
        rows = connection.exec_driver_sql(
            f"SELECT {_SELECT_STORED} FROM ch_events e "
            "JOIN unnest(%(customers)s::text[], %(ids)s::text[]) AS k(customer_id, event_id) "
            "ON e.customer_id = k.customer_id AND e.event_id = k.event_id "
            "WHERE e.event_id IS NOT NULL",
            {"customers": [k[0] for k in keys], "ids": [k[1] for k in keys]},
        )
    else:  # the keys in a temporary table, joined on the unique index
        connection.exec_driver_sql(
            "CREATE TEMPORARY TABLE IF NOT EXISTS ch_keys (customer_id TEXT, event_id TEXT)"
        )
        connection.exec_driver_sql("DELETE FROM ch_keys")
        connection.exec_driver_sql("INSERT INTO ch_keys VALUES (?, ?)", keys)
        rows = connection.exec_driver_sql(
            f"SELECT {_SELECT_STORED} FROM ch_keys k JOIN ch_events e "
            "ON e.customer_id = k.customer_id AND e.event_id = k.event_id "
            "WHERE e.event_id IS NOT NULL"
        )
    return {(row[0], row[1]): tuple(row) for row in rows}


def _conflict_message(key: Sequence[str]) -> str:
    customer_id, event_id = key
    return (
        f"event_id {event_id!r} of customer {customer_id!r} is used by two different "
        "events (nothing of this batch was recorded)"
    )


def mark_pending(connection: sa.Connection, customer_ids: Iterable[str], now: datetime) -> None:
    """Mark ``customer_ids`` due for rescoring (a no-op for those already pending)."""
    rows: list[Mapping[str, Any]] = [{"customer_id": cid, "since": now} for cid in customer_ids]
    if rows:
        statement = insert_for(connection, pending).on_conflict_do_nothing(
            index_elements=["customer_id"]
        )
        connection.execute(statement, rows)
