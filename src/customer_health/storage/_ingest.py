"""Recording events: validate, stage, then a few set-based statements.

A batch is loaded into a temporary staging table (PostgreSQL: ``COPY``; SQLite: one
``executemany`` per chunk), then, in the same transaction:

1. events of customers the store does not know are an error naming them;
2. ``INSERT INTO ch_events ... SELECT ... ON CONFLICT DO NOTHING`` stores what is
   new (the unique ``(customer_id, event_id)`` key makes a repeat a no-op, even when
   two writers race); on PostgreSQL a plain ``INSERT`` of the rows not stored yet, in
   key order, is tried first (twice as fast), with ``ON CONFLICT`` only if a racing
   writer made it fail on the unique key;
3. a staged event whose ``event_id`` is stored with other content is a conflict
   error naming the id (checked after the insert, so a racing writer's copy counts;
   not needed when every staged event was inserted);
4. every customer of the batch is marked pending in ``ch_pending``.

Any error rolls the whole batch back. Copies within the batch are folded in Python
first (identical: one event; different: a conflict).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import sqlalchemy as sa

from .._engine import collector_paused
from .._format import plural
from ..exceptions import EventConflictError, UnknownCustomerError
from ..models import (
    ApiCallEvent,
    Event,
    FeatureUsedEvent,
    LoginEvent,
    PaymentEvent,
    SupportTicketEvent,
)
from ._tables import EVENT_FIELDS, canonical_json, customers, events, pending
from ._upsert import insert_for

__all__ = ["record_events"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_SHOWN = 5
_UNIQUE_VIOLATION = "23505"
_INSTANT_FIELDS = frozenset({"occurred_at", "due_at", "paid_at", "resolved_at"})
_CONTENT = EVENT_FIELDS[2:]
"""What must match for two copies of an event_id to be the same event."""

_staging_metadata = sa.MetaData()
staging = sa.Table(
    "ch_staging",
    _staging_metadata,
    *(
        sa.Column(
            name,
            sa.BigInteger()
            if name in _INSTANT_FIELDS or name == "quantity"
            else sa.Float()
            if name == "amount"
            else sa.Text(),
        )
        for name in EVENT_FIELDS
    ),
    prefixes=["TEMPORARY"],
)

Row = tuple[Any, ...]


def _row(event: Event) -> Row:
    """The staging row of ``event``: instants as microseconds, properties as JSON text."""
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


def _chunks(items: Iterable[Event], size: int) -> Iterator[list[Event]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def record_events(
    connection: sa.Connection, batch: Sequence[Event], now: datetime, chunk_size: int
) -> tuple[int, int]:
    """Record ``batch`` (validated events) inside the caller's transaction.

    Returns how many events were stored and how many were already there (or repeated
    within the batch).
    """
    if not batch:
        return 0, 0
    _prepare_staging(connection)
    staged = 0
    with collector_paused():  # millions of tuples, no cycles: see collector_paused
        seen: dict[tuple[str, str], Row] = {}
        setdefault = seen.setdefault
        builders = _ROWS
        for chunk in _chunks(batch, chunk_size):
            rows: list[Row] = []
            append = rows.append
            for event in chunk:
                row = builders.get(type(event), _row)(event)
                if row[1] is not None:
                    key = (row[0], row[1])
                    first = setdefault(key, row)
                    if first is not row:
                        if first != row:
                            raise EventConflictError(_conflict_message(key))
                        continue  # an identical copy within the batch
                append(row)
            _stage(connection, rows)
            staged += len(rows)
        del seen
    _analyze_staging(connection)
    _check_customers(connection)
    inserted = _insert(connection, now)
    if inserted < staged:
        # Some staged events were stored already (or by a racing writer): each must be
        # the same event. When every staged row went in, none can differ.
        _check_conflicts(connection)
    _mark_pending(connection, now)
    return inserted, len(batch) - inserted


def _prepare_staging(connection: sa.Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Lives until the session ends; emptied at each batch (and by a rollback).
        connection.exec_driver_sql(
            "CREATE TEMPORARY TABLE IF NOT EXISTS ch_staging ("
            + ", ".join(f"{c.name} {c.type.compile(connection.dialect)}" for c in staging.c)
            + ")"
        )
    else:
        staging.create(connection, checkfirst=True)
    connection.execute(staging.delete())


def _stage(connection: sa.Connection, rows: list[Row]) -> None:
    if not rows:
        return
    names = ", ".join(EVENT_FIELDS)
    if connection.dialect.name == "postgresql":
        raw: Any = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY ch_staging ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in EVENT_FIELDS)
        connection.exec_driver_sql(f"INSERT INTO ch_staging ({names}) VALUES ({marks})", rows)


def _analyze_staging(connection: sa.Connection) -> None:
    """Give the planner the staging table's statistics (temporary tables are never
    analysed automatically): without them it takes a big batch for a few rows and
    joins it to ``ch_events`` by nested loops, which takes minutes for a million."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ANALYZE ch_staging")
        # Room to sort a batch in memory (this transaction only): see _insert_new.
        connection.exec_driver_sql("SET LOCAL work_mem = '256MB'")


def _check_customers(connection: sa.Connection) -> None:
    s = staging.c
    missing = (
        sa.select(s.customer_id)
        .where(~sa.exists().where(customers.c.id == s.customer_id))
        .distinct()
        .subquery()
    )
    count = connection.execute(sa.select(sa.func.count()).select_from(missing)).scalar_one()
    if count:
        shown = connection.execute(
            sa.select(missing.c.customer_id).order_by(missing.c.customer_id).limit(_SHOWN)
        ).scalars()
        names = ", ".join(repr(cid) for cid in shown)
        more = f" and {count - _SHOWN} more" if count > _SHOWN else ""
        raise UnknownCustomerError(
            f"events of {plural(count, 'unknown customer')}: {names}{more}; add the "
            "customers first (nothing of this batch was recorded)"
        )


def _insert(connection: sa.Connection, now: datetime) -> int:
    s = staging.c
    columns = [*EVENT_FIELDS, "recorded_at"]
    select = sa.select(
        *(s[name] for name in EVENT_FIELDS), sa.literal(now, events.c.recorded_at.type)
    ).where(sa.true())  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT
    if connection.dialect.name == "postgresql":
        stored = _insert_new(connection, select, columns)
        if stored is not None:
            return stored
    statement = (
        insert_for(connection, events)
        .from_select(columns, select)
        .on_conflict_do_nothing(index_elements=["customer_id", "event_id"])
    )
    # psycopg resets rowcount when SQLAlchemy closes the cursor unless asked to keep it
    return connection.execute(statement.execution_options(preserve_rowcount=True)).rowcount


def _insert_new(
    connection: sa.Connection, select: sa.Select[Any], columns: list[str]
) -> int | None:
    """PostgreSQL: a plain ``INSERT`` of the staged events not stored yet, in key order.

    ``ON CONFLICT DO NOTHING`` makes PostgreSQL insert each row speculatively (check,
    insert, confirm), about twice the cost of a plain insert, and in key order the unique
    index, the ``(customer_id, occurred_at)`` index and the foreign key's lookups touch
    one page after another instead of random ones. A writer racing this one with the same
    ``(customer_id, event_id)`` makes the plain insert fail on the unique key: it is then
    undone (to a savepoint) and ``None`` returned, for ``ON CONFLICT`` to do it again.
    """
    s, e = staging.c, events.c
    new = ~sa.exists().where(e.customer_id == s.customer_id, e.event_id == s.event_id)
    statement = events.insert().from_select(
        columns, select.where(new).order_by(s.customer_id, s.event_id)
    )
    try:
        with connection.begin_nested():
            result = connection.execute(statement.execution_options(preserve_rowcount=True))
            return result.rowcount
    except sa.exc.IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) != _UNIQUE_VIOLATION:
            raise
        return None


def _check_conflicts(connection: sa.Connection) -> None:
    s, e = staging.c, events.c
    differs = sa.or_(*(e[name].is_distinct_from(s[name]) for name in _CONTENT))
    query = (
        sa.select(s.customer_id, s.event_id)
        .join_from(
            staging, events, sa.and_(e.customer_id == s.customer_id, e.event_id == s.event_id)
        )
        .where(differs)
        .order_by(s.customer_id, s.event_id)
        .limit(_SHOWN)
    )
    found = connection.execute(query).all()
    if found:
        raise EventConflictError(_conflict_message(tuple(found[0])))


def _conflict_message(key: Sequence[str]) -> str:
    customer_id, event_id = key
    return (
        f"event_id {event_id!r} of customer {customer_id!r} is used by two different "
        "events (nothing of this batch was recorded)"
    )


def _mark_pending(connection: sa.Connection, now: datetime) -> None:
    marked = sa.select(staging.c.customer_id, sa.literal(now, pending.c.since.type)).distinct()
    statement = (
        insert_for(connection, pending)
        .from_select(["customer_id", "since"], marked.where(sa.true()))
        .on_conflict_do_nothing(index_elements=["customer_id"])
    )
    connection.execute(statement)


def mark_pending(connection: sa.Connection, customer_ids: Iterable[str], now: datetime) -> None:
    """Mark ``customer_ids`` due for rescoring (a no-op for those already pending)."""
    rows: list[Mapping[str, Any]] = [{"customer_id": cid, "since": now} for cid in customer_ids]
    if rows:
        statement = insert_for(connection, pending).on_conflict_do_nothing(
            index_elements=["customer_id"]
        )
        connection.execute(statement, rows)
