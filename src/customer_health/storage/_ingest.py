"""Recording events: validate, stage, then a few set-based statements.

A batch is loaded into a temporary staging table (PostgreSQL: ``COPY``; SQLite: one
``executemany`` per chunk), then, in the same transaction:

1. events of customers the store does not know are an error naming them;
2. ``INSERT INTO ch_events ... SELECT ... ON CONFLICT DO NOTHING`` stores what is
   new (the unique ``(customer_id, event_id)`` key makes a repeat a no-op, even when
   two writers race);
3. a staged event whose ``event_id`` is stored with other content is a conflict
   error naming the id (checked after the insert, so a racing writer's copy counts);
4. every customer of the batch is marked pending in ``ch_pending``.

Any error rolls the whole batch back. Copies within the batch are folded in Python
first (identical: one event; different: a conflict).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import sqlalchemy as sa

from .._format import plural
from ..exceptions import EventConflictError, UnknownCustomerError
from ..models import Event
from ._tables import EVENT_FIELDS, canonical_json, customers, events, pending
from ._upsert import insert_for

__all__ = ["record_events"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_SHOWN = 5
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

    def us(name: str) -> int | None:
        value = get(name)
        return None if value is None else (value - _EPOCH) // _MICROSECOND

    properties = get("properties")
    return (
        fields["customer_id"],
        fields["event_id"],
        fields["kind"],
        (fields["occurred_at"] - _EPOCH) // _MICROSECOND,
        get("quantity"),
        get("user_id"),
        get("feature"),
        us("due_at"),
        us("paid_at"),
        get("amount"),
        get("priority"),
        us("resolved_at"),
        None if properties is None else canonical_json(properties),
    )


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
    seen: dict[tuple[str, str], Row] = {}
    repeated = 0
    for chunk in _chunks(batch, chunk_size):
        rows = []
        for event in chunk:
            row = _row(event)
            if row[1] is not None:
                key = (row[0], row[1])
                first = seen.get(key)
                if first is not None:
                    if first != row:
                        raise EventConflictError(_conflict_message(key))
                    repeated += 1
                    continue
                seen[key] = row
            rows.append(row)
        _stage(connection, rows)
    _check_customers(connection)
    inserted = _insert(connection, now)
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
    select = sa.select(
        *(s[name] for name in EVENT_FIELDS), sa.literal(now, events.c.recorded_at.type)
    ).where(sa.true())  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT
    statement = (
        insert_for(connection, events)
        .from_select([*EVENT_FIELDS, "recorded_at"], select)
        .on_conflict_do_nothing(index_elements=["customer_id", "event_id"])
    )
    # psycopg resets rowcount when SQLAlchemy closes the cursor unless asked to keep it
    return connection.execute(statement.execution_options(preserve_rowcount=True)).rowcount


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
