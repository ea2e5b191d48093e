"""The store's tables: its own ``MetaData``, every table prefixed ``ch_``.

Instants are stored as integer microseconds since 1970-01-01 UTC (:class:`Instant`)
on every backend: SQLite has no timestamp type and its date functions lose
microseconds, and the model needs durations exact to the microsecond. Reading a
column through SQLAlchemy gives an aware UTC ``datetime`` back. JSON payloads
(customer attributes, custom events' properties, a score's factor breakdown) are
stored as canonical JSON text (:class:`CanonicalJSON`), so that equal contents are
equal strings on every backend - which is what the ``event_id`` conflict check
compares.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from .._event_schema import EVENT_FIELDS as SCHEMA
from .._event_schema import EventField, FieldType, field
from .._json import canonical_json
from .._time import instant, micros
from ..models import MAX_TEXT_LENGTH, MODEL_NAME

__all__ = [
    "EVENT_FIELDS",
    "CanonicalJSON",
    "Instant",
    "customers",
    "events",
    "idempotency",
    "latest",
    "metadata",
    "micros",
    "pending",
    "scores",
]


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
"""The store's tables, for hosts that run Alembic (or ``create_all``) themselves."""


class Instant(TypeDecorator[datetime]):
    """An instant: integer microseconds in the database, aware UTC datetime in Python."""

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> int | None:
        return None if value is None else micros(value)

    def process_result_value(self, value: int | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else instant(value)


class CanonicalJSON(TypeDecorator[Any]):
    """A JSON document stored as canonical text (sorted keys, compact)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else canonical_json(value)

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> Any:
        return None if value is None else json.loads(value)


_ID = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")
"""Ids (customers, events, segments, kinds) compare as bytes on PostgreSQL: the order
Python sorts strings in, and much cheaper to compare and index than a language's
collation (ids equal under any deterministic collation are equal bytes anyway)."""


def _column_type(kind: FieldType) -> sa.types.TypeEngine[Any]:
    """The column type of a field of the event schema."""
    types: dict[FieldType, sa.types.TypeEngine[Any]] = {
        "id": _ID,
        "label": _ID,
        "text": sa.String(MAX_TEXT_LENGTH),
        "instant": Instant(),
        "integer": sa.BigInteger(),
        "number": sa.Float(),
        "priority": sa.String(16),
        "json": CanonicalJSON(),
    }
    return types[kind]


def _event_fields() -> list[EventField]:
    """The fields of the event schema in the order of ``ch_events``: the customer and the
    event id (the unique index's columns) first, then the table's order."""
    first = ("customer_id", "event_id")
    return [field(name) for name in first] + [f for f in SCHEMA if f.name not in first]


customers = sa.Table(
    "ch_customers",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("segment", _ID, nullable=False, index=True),
    sa.Column("name", sa.String(1000), nullable=True, index=True),
    sa.Column("created_at", Instant(), nullable=True),
    sa.Column("attributes", CanonicalJSON(), nullable=False),
    sa.Column("updated_at", Instant(), nullable=False),
    comment="customer-health: customers",
)

events = sa.Table(
    "ch_events",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    # No foreign key: it would cost a lookup per row, more than the rest of an insert;
    # recording checks a batch's customers once (and customers are never deleted).
    *(
        sa.Column(f.name, _column_type(f.type), nullable=not (f.kinds is None and f.required))
        for f in _event_fields()
    ),
    sa.Column("recorded_at", Instant(), nullable=False),
    # One event per (customer, event_id): NULL ids are distinct, so events without an
    # id are never in conflict. It is also the index of a customer's events (one index
    # to keep up on every insert, not two: ingest is the table's heaviest work).
    sa.Index("uq_ch_events_customer_event", "customer_id", "event_id", unique=True),
    comment="customer-health: usage events",
)

EVENT_FIELDS: tuple[str, ...] = tuple(f.name for f in _event_fields())
"""The columns of ``ch_events`` that hold an event's content (its identity and fields)."""

scores = sa.Table(
    "ch_scores",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    # Written only by the store, for customers it has just read (see ch_events on why
    # there is no foreign key).
    sa.Column("customer_id", _ID, nullable=False),
    sa.Column("as_of", Instant(), nullable=False),
    sa.Column("score", sa.Float(), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("coverage", sa.Float(), nullable=False),
    sa.Column("factors", CanonicalJSON(), nullable=False),
    sa.Column("model_version", sa.String(16), nullable=False),
    sa.Column("model_name", sa.String(64), server_default=MODEL_NAME, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("computed_at", Instant(), nullable=False),
    sa.Index("ix_ch_scores_customer_as_of", "customer_id", "as_of"),
    comment="customer-health: every score computed, with its factor breakdown",
)

latest = sa.Table(
    "ch_latest",
    metadata,
    # Rewritten for every customer at each recalculation: no foreign keys and no
    # secondary indexes to keep up (listings sort and filter a join with ch_customers,
    # which these indexes did not serve).
    sa.Column("customer_id", _ID, primary_key=True),
    sa.Column("score_id", sa.BigInteger(), nullable=False),
    sa.Column("as_of", Instant(), nullable=False),
    sa.Column("score", sa.Float(), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    # The score as the API returns it (``HealthScore.model_dump_json()``), written with
    # the row: reading a customer's health is then one primary-key lookup, with no
    # decoding, validation or encoding.
    sa.Column("document", sa.Text(), nullable=False),
    comment="customer-health: each customer's score with the latest as_of",
)

pending = sa.Table(
    "ch_pending",
    metadata,
    sa.Column(
        "customer_id",
        _ID,
        sa.ForeignKey("ch_customers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("since", Instant(), nullable=False, index=True),
    # A customer whose scoring failed stays queued with a later ``since`` (its
    # backoff): how many attempts failed in a row, the last error and when.
    sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("failed_at", Instant(), nullable=True),
    comment="customer-health: customers due for rescoring (new events, stale scores)",
)

idempotency = sa.Table(
    "ch_idempotency",
    metadata,
    # Who (a hash of the API key), which route (its template) and the client's key.
    sa.Column("owner", sa.String(64), primary_key=True),
    sa.Column("route", sa.String(255), primary_key=True),
    sa.Column("key", _ID, primary_key=True),
    # The request the key was first used with (a hash of method, path and body).
    sa.Column("fingerprint", sa.String(64), nullable=False),
    # The answer, written in the write's own transaction; NULL while it runs.
    sa.Column("status", sa.Integer(), nullable=True),
    sa.Column("response", sa.Text(), nullable=True),
    sa.Column("created_at", Instant(), nullable=False, index=True),
    # A key still running past this instant was abandoned (its process died).
    sa.Column("locked_until", Instant(), nullable=False),
    comment="customer-health: idempotency keys of writes, with their answers",
)
