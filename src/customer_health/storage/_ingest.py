"""Recording events: rows built in Python and streamed straight into ``ch_events``.

In the caller's transaction (so a batch is all or nothing):

1. events of customers the store does not hold are an error naming them; the same
   query tells which customers have stored events with an ``event_id``;
2. only for those customers, the batch's keyed events are looked up: stored with the
   same content, they are duplicates (not stored again); with other content, a
   conflict error naming the id;
3. chunk after chunk, each event becomes a row as stored (instants as integer
   microseconds, properties as canonical JSON); copies within the batch are folded
   (identical: one event; different: a conflict error naming the ``event_id``); the
   chunk's rows, sorted by customer and time (the unique index then fills page after
   page), go into ``ch_events``: one binary ``COPY`` on PostgreSQL, which stores a
   chunk while the next is built, ``executemany`` on SQLite;
4. every customer of the batch is marked pending in ``ch_pending``.

An error in a late chunk (a conflict) aborts the ``COPY`` and the transaction: nothing
of the batch is stored. A writer racing this one with the same ``event_id`` makes
step 3 fail on the unique key (PostgreSQL; SQLite writers take turns):
:class:`RaceLost` is raised, and the store runs the batch again in a new transaction,
which sees the other writer's rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from .._event_schema import field as schema_field
from .._format import plural, some
from .._gc import collector_paused
from .._json import canonical_json
from ..exceptions import EventConflictError, UnknownCustomerError
from ..models import BUILTIN_KINDS, EVENT_TYPES, Event
from ._queries import id_chunks
from ._tables import EVENT_FIELDS, customers, events, pending
from ._upsert import insert_for

__all__ = ["RaceLost", "record_events"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_SHOWN = 5
_UNIQUE_VIOLATION = "23505"

Row = tuple[Any, ...]


def _row_source(kind: str | None) -> str:
    """The source of the row builder of events of ``kind`` (``None``: any event).

    The row is ``ch_events``' columns (:data:`EVENT_FIELDS`): instants as microseconds
    since the epoch, JSON as canonical text, ``None`` for a field the kind lacks. One
    builder per built-in kind, written out field by field: a generic one (a loop, or a
    ``get`` per field) costs twice as much, and a million events take seconds in Python.
    """
    items = []
    for name in EVENT_FIELDS:
        spec = schema_field(name)
        value = f"f[{name!r}]" if kind is not None else f"get({name!r})"
        if kind is not None and spec.kinds is not None and kind not in spec.kinds:
            items.append("None")
        elif kind is not None and name == "kind":
            items.append(repr(kind))
        elif spec.type == "instant" and spec.required and kind is not None:
            items.append(f"({value} - _EPOCH) // _MICROSECOND")
        elif spec.type == "instant":
            items.append(f"_us({value})")
        elif spec.type == "json":
            items.append(f"_json({value})")
        else:
            items.append(value)
    fields = "    f = event.__dict__\n" if kind is not None else "    get = event.__dict__.get\n"
    return f"def row(event):\n{fields}    return ({', '.join(items)},)\n"


def _compiled_row(kind: str | None) -> Callable[[Event], Row]:
    """The row builder of :func:`_row_source`, compiled."""
    namespace: dict[str, Any] = {
        "_EPOCH": _EPOCH,
        "_MICROSECOND": _MICROSECOND,
        "_us": _us,
        "_json": _json,
    }
    exec(compile(_row_source(kind), f"<ch_events row of {kind or 'any event'}>", "exec"), namespace)
    row: Callable[[Event], Row] = namespace["row"]
    return row


def _us(value: datetime | None) -> int | None:
    return None if value is None else (value - _EPOCH) // _MICROSECOND


def _json(value: Any) -> str | None:
    return None if value is None else canonical_json(value)


_row = _compiled_row(None)
"""The row of any event (custom events, subclasses of the models)."""
_ROWS: dict[type, Callable[[Event], Row]] = {
    model: _compiled_row(model.model_fields["kind"].default)
    for model in EVENT_TYPES
    if model.model_fields["kind"].default in BUILTIN_KINDS
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
    customer_ids = {event.customer_id for event in batch}
    with collector_paused():  # millions of tuples, no cycles: see collector_paused
        with_keys = _check_customers(connection, customer_ids)
        stored = _stored(connection, _candidates(batch, with_keys)) if with_keys else {}
        new = _load(connection, batch, stored, _micros(now), chunk_size)
    mark_pending(connection, customer_ids, now)
    return new, len(batch) - new


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // _MICROSECOND


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


def _candidates(batch: Sequence[Event], with_keys: set[str]) -> dict[Key, Row]:
    """The rows, by key, of the events that may be stored already: those with an
    ``event_id``, of customers with such events stored (first copy of each key)."""
    builders = _ROWS
    candidates: dict[Key, Row] = {}
    for event in batch:
        if event.event_id is not None and event.customer_id in with_keys:
            row = builders.get(type(event), _row)(event)
            candidates.setdefault((row[0], row[1]), row)
    return candidates


def _stored(connection: sa.Connection, keyed: Mapping[Key, Row]) -> dict[Key, Row]:
    """The keys of ``keyed`` that are stored; a conflict error if one is stored with
    other content."""
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
    stored = {(row[0], row[1]): tuple(row) for row in rows}
    for key, row in stored.items():
        if row != keyed[key]:
            raise EventConflictError(_conflict_message(key))
    return stored


class RaceLost(Exception):
    """Another writer stored some of this batch's ``event_id`` first (PostgreSQL): the
    transaction is void; running the batch again sees those rows as stored."""


def _load(
    connection: sa.Connection,
    batch: Sequence[Event],
    stored: Mapping[Key, Row],
    now: int,
    chunk_size: int,
) -> int:
    """Write the batch's events not in ``stored``, chunk after chunk; return how many."""
    new = 0
    seen: dict[Key, Row] = {}
    try:
        with _writer(connection, now, queued=len(batch) > chunk_size) as write:
            for start in range(0, len(batch), chunk_size):
                rows = _new_rows(batch[start : start + chunk_size], seen, stored)
                write(rows)
                new += len(rows)
    except Exception as exc:  # the driver's own error, from COPY on its connection
        if getattr(getattr(exc, "orig", exc), "sqlstate", None) == _UNIQUE_VIOLATION:
            raise RaceLost from exc
        raise
    return new


def _new_rows(chunk: Sequence[Event], seen: dict[Key, Row], stored: Mapping[Key, Row]) -> list[Row]:
    """The rows of ``chunk`` to write, in customer then time order (the order of the
    unique index's customers, so that it fills page after page): copies of an event
    seen earlier in the batch folded (or a conflict error), stored ones left out."""
    builders = _ROWS
    setdefault = seen.setdefault
    by_customer: dict[str, list[Row]] = {}
    for event in chunk:
        row = builders.get(type(event), _row)(event)
        if row[1] is not None:
            key = (row[0], row[1])
            first = setdefault(key, row)
            if first is not row:
                if first != row:
                    raise EventConflictError(_conflict_message(key))
                continue  # an identical copy within the batch
            if key in stored:
                continue
        rows = by_customer.get(row[0])
        if rows is None:
            by_customer[row[0]] = [row]
        else:
            rows.append(row)
    ordered: list[Row] = []
    for customer_id in sorted(by_customer):
        rows = by_customer[customer_id]
        rows.sort(key=_TIME)
        ordered += rows
    return ordered


_TIME = itemgetter(3)
_COLUMNS = ", ".join((*EVENT_FIELDS, "recorded_at"))
_SELECT_STORED = ", ".join(f"e.{name}" for name in EVENT_FIELDS)
_COPY = f"COPY ch_events ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = [
    "text",  # customer_id
    "text",  # event_id
    "text",  # kind
    "int8",  # occurred_at
    "int8",  # quantity
    "text",  # user_id
    "text",  # feature
    "int8",  # due_at
    "int8",  # paid_at
    "float8",  # amount
    "text",  # priority
    "int8",  # resolved_at
    "text",  # properties
    "int8",  # recorded_at
]


@contextmanager
def _writer(
    connection: sa.Connection, now: int, *, queued: bool
) -> Iterator[Callable[[list[Row]], None]]:
    """A function that writes rows into ``ch_events`` (``recorded_at`` set to ``now``).

    PostgreSQL: one binary ``COPY`` for the whole batch. For a batch of several chunks,
    a queued writer sends the data from a thread of the driver's, so the database
    stores one chunk while this process builds the next. SQLite: ``executemany``.
    """
    if connection.dialect.name == "postgresql":
        from psycopg.copy import QueuedLibpqWriter  # the postgres extra's driver

        raw: Any = connection.connection.driver_connection
        with raw.cursor() as cursor:
            kind = QueuedLibpqWriter(cursor) if queued else None
            with cursor.copy(_COPY, writer=kind) as copy:
                copy.set_types(_COPY_TYPES)
                write_row = copy.write_row

                def copy_rows(rows: list[Row]) -> None:
                    for row in rows:
                        write_row((*row, now))

                yield copy_rows
    else:
        marks = ", ".join("?" for _ in range(len(EVENT_FIELDS) + 1))
        statement = f"INSERT INTO ch_events ({_COLUMNS}) VALUES ({marks})"

        def insert_rows(rows: list[Row]) -> None:
            if rows:
                connection.exec_driver_sql(statement, [(*row, now) for row in rows])

        yield insert_rows


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
