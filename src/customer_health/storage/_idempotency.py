"""Idempotency keys of writes: a key is claimed before its write and completed in it.

A request carrying an ``Idempotency-Key`` first *claims* the key in a short
transaction of its own: a new key gets a row that marks it running; a key already
answered gives that answer back (a replay); a key still running, or first used with
another request, is an error. The write then *completes* the key in its own
transaction, with the answer, so that the key is stored exactly when the write is. A
write that fails *releases* the key (it wrote nothing, so running it again is safe).
A running key whose process died is taken over once its lock has expired.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..exceptions import IdempotencyKeyInUseError, IdempotencyKeyReusedError
from ._tables import idempotency
from ._upsert import insert_for
from .models import IdempotentWrite, Replay

__all__ = ["LOCK", "claim", "complete", "release"]

LOCK = timedelta(minutes=2)
"""How long a running key is held for its request; a key running longer was abandoned
(its process died) and the next request with it runs again."""


def _this(write: IdempotentWrite) -> sa.ColumnElement[bool]:
    return sa.and_(
        idempotency.c.owner == write.owner,
        idempotency.c.route == write.route,
        idempotency.c.key == write.key,
    )


def claim(connection: sa.Connection, write: IdempotentWrite, now: datetime) -> Replay | None:
    """Claim ``write``'s key: ``None`` when the write is to run now, else the replay.

    Raises :class:`~customer_health.IdempotencyKeyReusedError` for a key first used
    with another request and :class:`~customer_health.IdempotencyKeyInUseError` for
    one whose request is still running.
    """
    connection.execute(sa.delete(idempotency).where(idempotency.c.created_at < now - write.ttl))
    inserted = connection.execute(
        insert_for(connection, idempotency)
        .values(
            owner=write.owner,
            route=write.route,
            key=write.key,
            fingerprint=write.fingerprint,
            created_at=now,
            locked_until=now + LOCK,
        )
        .on_conflict_do_nothing(index_elements=["owner", "route", "key"])
        .execution_options(preserve_rowcount=True)
    ).rowcount
    if inserted:
        return None
    row = connection.execute(
        sa.select(
            idempotency.c.fingerprint,
            idempotency.c.status,
            idempotency.c.response,
            idempotency.c.locked_until,
        ).where(_this(write))
    ).one()
    if row.fingerprint != write.fingerprint:
        raise IdempotencyKeyReusedError(
            f"idempotency key {write.key!r} was used with another request to "
            f"{write.route}; use a new key for a new request"
        )
    if row.status is not None:
        return Replay(status=row.status, body=row.response)
    if row.locked_until > now:
        raise IdempotencyKeyInUseError(
            f"a request with idempotency key {write.key!r} is still running; "
            "try again when it has finished"
        )
    # Abandoned: its process died before it completed or released the key. Take it
    # over, unless another request just did.
    taken = connection.execute(
        sa.update(idempotency)
        .where(_this(write), idempotency.c.locked_until == row.locked_until)
        .values(locked_until=now + LOCK)
        .execution_options(preserve_rowcount=True)
    ).rowcount
    if not taken:
        raise IdempotencyKeyInUseError(
            f"a request with idempotency key {write.key!r} is still running; "
            "try again when it has finished"
        )
    return None


def complete(connection: sa.Connection, write: IdempotentWrite, body: str) -> None:
    """Store the answer of ``write`` (in the write's own transaction)."""
    connection.execute(
        sa.update(idempotency).where(_this(write)).values(status=write.status, response=body)
    )


def release(connection: sa.Connection, write: IdempotentWrite) -> None:
    """Forget the claim of a write that failed (it wrote nothing)."""
    connection.execute(sa.delete(idempotency).where(_this(write), idempotency.c.status.is_(None)))
