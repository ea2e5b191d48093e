"""The store's reads and bookkeeping writes, as functions of a connection."""

from __future__ import annotations

import base64
import json
import math
import re
import statistics
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter

from .._format import plural, some
from .._time import micros
from ..exceptions import ConfigurationError, UnknownCustomerError
from ..models import (
    EVENT_ADAPTER,
    MAX_ID_LENGTH,
    Customer,
    Event,
    FactorScore,
    HealthScore,
    HealthStatus,
    trusted,
)
from ._tables import EVENT_FIELDS, customers, events, latest, pending, scores
from ._upsert import insert_for
from .models import (
    Bin,
    GroupStats,
    Page,
    PortfolioStats,
    ScoredCustomer,
    ScoringState,
    StatusChange,
    StatusCount,
)

_ID_CHUNK = 5_000
"""Customer ids per ``IN (...)`` list (SQLite allows 32,766 parameters)."""


def id_chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    """``ids`` in slices short enough for one ``IN (...)`` list each."""
    return [ids[start : start + _ID_CHUNK] for start in range(0, len(ids), _ID_CHUNK)]


_STATUSES = tuple(status.value for status in HealthStatus)
_ORDERS = ("score", "-score", "name", "-name")
_MAX_PAGE = 1_000


# -- customers ------------------------------------------------------------------------


def _customer(row: Any) -> Customer:
    return trusted(
        Customer,
        {
            "id": row.id,
            "segment": row.segment,
            "name": row.name,
            "created_at": row.created_at,
            "attributes": row.attributes,
        },
    )


def existing_ids(connection: sa.Connection, ids: Sequence[str]) -> list[str]:
    """Which of ``ids`` are stored, sorted."""
    found: list[str] = []
    for chunk in id_chunks(ids):
        found += connection.execute(
            sa.select(customers.c.id).where(customers.c.id.in_(chunk))
        ).scalars()
    return sorted(found)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def storable(value: str) -> bool:
    """Whether ``value`` can be a stored id (or segment): 1 to ``MAX_ID_LENGTH``
    characters, no control character. Lookups of other values find nothing without
    asking the database, which on PostgreSQL would refuse a NUL with an error where
    SQLite simply finds nothing."""
    return 0 < len(value) <= MAX_ID_LENGTH and _CONTROL.search(value) is None


def customer(connection: sa.Connection, customer_id: str) -> Customer:
    row = None
    if storable(customer_id):
        row = connection.execute(sa.select(customers).where(customers.c.id == customer_id)).first()
    if row is None:
        raise UnknownCustomerError(f"unknown customer {customer_id!r:.80}")
    return _customer(row)


def all_customers(connection: sa.Connection) -> list[Customer]:
    rows = connection.execute(sa.select(customers).order_by(customers.c.id))
    return [_customer(row) for row in rows]


def customers_by_id(connection: sa.Connection, ids: Sequence[str]) -> list[Customer]:
    """The customers ``ids``, in that order; unknown ids are an error naming them."""
    found: dict[str, Customer] = {}
    for chunk in id_chunks([cid for cid in ids if storable(cid)]):
        for row in connection.execute(sa.select(customers).where(customers.c.id.in_(chunk))):
            found[row.id] = _customer(row)
    missing = [cid for cid in ids if cid not in found]
    if missing:
        raise UnknownCustomerError(f"{plural(len(missing), 'unknown customer')}: {some(missing)}")
    return [found[cid] for cid in ids]


def event_from_row(row: Any) -> Event:
    """The event model of a stored row (its non-null content fields)."""
    return EVENT_ADAPTER.validate_python(
        {name: value for name, value in row._mapping.items() if value is not None}
    )


def customer_events(
    connection: sa.Connection, customer_id: str, start: datetime | None, end: datetime | None
) -> list[Event]:
    query = sa.select(*(events.c[name] for name in EVENT_FIELDS)).where(
        events.c.customer_id == customer_id
    )
    if start is not None:
        query = query.where(events.c.occurred_at >= start)
    if end is not None:
        query = query.where(events.c.occurred_at <= end)
    query = query.order_by(events.c.occurred_at, events.c.seq)
    return [event_from_row(row) for row in connection.execute(query)]


def count_events(connection: sa.Connection, customer_id: str | None) -> int:
    query = sa.select(sa.func.count()).select_from(events)
    if customer_id is not None:
        if not storable(customer_id):
            return 0
        query = query.where(events.c.customer_id == customer_id)
    return int(connection.execute(query).scalar_one())


# -- scores ---------------------------------------------------------------------------


def save_scores(connection: sa.Connection, computed: Sequence[HealthScore], now: datetime) -> None:
    """Store ``computed`` and make each the customer's latest unless a later one is."""
    if not computed:
        return
    if connection.dialect.name == "postgresql":
        _save_by_copy(connection, computed, now)
        return
    rows = [
        {
            "customer_id": s.customer_id,
            "as_of": s.as_of,
            "score": s.score,
            "status": s.status.value,
            "coverage": s.coverage,
            # The engine's FactorScores are built from plain dicts: their __dict__ is
            # the breakdown, with no dump needed.
            "factors": [dict(f.__dict__) for f in s.factors],
            "model_version": s.model_version,
            "model_name": s.model_name,
            "fingerprint": s.fingerprint,
            "computed_at": now,
        }
        for s in computed
    ]
    inserted = connection.execute(
        scores.insert().returning(scores.c.id, sort_by_parameter_order=True), rows
    ).scalars()
    latest_rows = [
        {
            "customer_id": s.customer_id,
            "score_id": score_id,
            "as_of": s.as_of,
            "score": s.score,
            "status": s.status.value,
            # What the API returns for the score (the same as serialising it read back).
            "document": s.model_dump_json(),
        }
        for s, score_id in zip(computed, inserted, strict=True)
    ]
    statement = insert_for(connection, latest)
    statement = statement.on_conflict_do_update(
        index_elements=["customer_id"],
        set_={
            "score_id": statement.excluded.score_id,
            "as_of": statement.excluded.as_of,
            "score": statement.excluded.score,
            "status": statement.excluded.status,
            "document": statement.excluded.document,
        },
        where=latest.c.as_of <= statement.excluded.as_of,
    )
    connection.execute(statement, latest_rows)


_FACTORS_JSON = TypeAdapter(tuple[FactorScore, ...])
"""Serialises a score's breakdown (in Rust: several times faster than ``json.dumps``)."""

_LATEST_UPSERT = """
INSERT INTO ch_latest (customer_id, score_id, as_of, score, status, document)
SELECT customer_id, score_id, as_of, score, status, document FROM ch_latest_new
ON CONFLICT (customer_id) DO UPDATE SET
    score_id = EXCLUDED.score_id, as_of = EXCLUDED.as_of, score = EXCLUDED.score,
    status = EXCLUDED.status, document = EXCLUDED.document
WHERE ch_latest.as_of <= EXCLUDED.as_of
"""


def _save_by_copy(
    connection: sa.Connection, computed: Sequence[HealthScore], now: datetime
) -> None:
    """PostgreSQL: the same as the generic path, through ``COPY``.

    A full recalculation saves a hundred thousand scores; as parameters of ``INSERT``
    statements that takes most of its time (the driver splits every statement's text),
    through ``COPY`` a second or two. The ids come from the table's sequence first, so
    that ``ch_latest`` can point at the rows; the latest scores go through a temporary
    table into one ``INSERT ... ON CONFLICT DO UPDATE``.
    """
    raw: Any = connection.connection.driver_connection
    ids = [
        row[0]
        for row in connection.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence('ch_scores', 'id')) "
            "FROM generate_series(1, %(n)s)",
            {"n": len(computed)},
        )
    ]
    computed_at = micros(now)
    connection.exec_driver_sql(
        "CREATE TEMPORARY TABLE IF NOT EXISTS ch_latest_new (customer_id text, score_id bigint, "
        "as_of bigint, score double precision, status text, document text) "
        "ON COMMIT DELETE ROWS"
    )
    connection.exec_driver_sql("DELETE FROM ch_latest_new")
    with raw.cursor() as cursor:
        with cursor.copy(
            "COPY ch_scores (id, customer_id, as_of, score, status, coverage, factors, "
            "model_version, model_name, fingerprint, computed_at) FROM STDIN"
        ) as copy:
            for score_id, s in zip(ids, computed, strict=True):
                copy.write_row(
                    (
                        score_id,
                        s.customer_id,
                        micros(s.as_of),
                        s.score,
                        s.status.value,
                        s.coverage,
                        _FACTORS_JSON.dump_json(s.factors).decode(),
                        s.model_version,
                        s.model_name,
                        s.fingerprint,
                        computed_at,
                    )
                )
        with cursor.copy(
            "COPY ch_latest_new (customer_id, score_id, as_of, score, status, document) FROM STDIN"
        ) as copy:
            for score_id, s in zip(ids, computed, strict=True):
                copy.write_row(
                    (
                        s.customer_id,
                        score_id,
                        micros(s.as_of),
                        s.score,
                        s.status.value,
                        s.model_dump_json(),
                    )
                )
    connection.exec_driver_sql(_LATEST_UPSERT)


_SCORE_FIELDS = (
    "customer_id",
    "as_of",
    "score",
    "status",
    "coverage",
    "factors",
    "model_version",
    "model_name",
    "fingerprint",
)


def _health(row: Any, prefix: str = "") -> HealthScore:
    values = row._mapping
    return HealthScore.model_validate({name: values[prefix + name] for name in _SCORE_FIELDS})


def latest_score(connection: sa.Connection, customer_id: str) -> HealthScore | None:
    row = connection.execute(
        sa.select(scores)
        .join(latest, latest.c.score_id == scores.c.id)
        .where(latest.c.customer_id == customer_id)
    ).first()
    return None if row is None else _health(row)


def latest_documents(connection: sa.Connection, ids: Sequence[str]) -> dict[str, str]:
    """The JSON of the latest stored score of each of ``ids`` that has one."""
    found: dict[str, str] = {}
    for chunk in id_chunks([cid for cid in ids if storable(cid)]):
        query = sa.select(latest.c.customer_id, latest.c.document).where(
            latest.c.customer_id.in_(chunk)
        )
        found.update((row[0], row[1]) for row in connection.execute(query))
    return found


def history(
    connection: sa.Connection, customer_id: str, start: datetime | None, end: datetime | None
) -> list[HealthScore]:
    query = sa.select(scores).where(scores.c.customer_id == customer_id)
    if start is not None:
        query = query.where(scores.c.as_of >= start)
    if end is not None:
        query = query.where(scores.c.as_of <= end)
    query = query.order_by(scores.c.as_of, scores.c.id)
    return [_health(row) for row in connection.execute(query)]


# -- the rescoring queue --------------------------------------------------------------


def claim_pending(connection: sa.Connection, size: int, now: datetime) -> dict[str, int]:
    """Take up to ``size`` customers due at ``now`` off the queue, oldest first; return
    each one's failed attempts so far (by id, sorted).

    Due are those pending since ``now`` or before: a customer whose last attempt failed
    waits out its backoff (its ``since`` is when that ends). The rows stay locked
    (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so other workers pass them by) and deleted
    only when the caller's transaction commits; if it rolls back - or its process dies
    - they are pending again.
    """
    oldest = (
        sa.select(pending.c.customer_id)
        .where(pending.c.since <= now)
        .order_by(pending.c.since, pending.c.customer_id)
        .limit(size)
        .with_for_update(skip_locked=True)
    )
    claimed = connection.execute(
        sa.delete(pending)
        .where(pending.c.customer_id.in_(oldest.scalar_subquery()))
        .returning(pending.c.customer_id, pending.c.attempts)
    )
    return dict(sorted((row.customer_id, row.attempts) for row in claimed))


def requeue_failed(connection: sa.Connection, failed: Sequence[Mapping[str, Any]]) -> None:
    """Put customers whose scoring failed back on the queue: each of ``failed`` has the
    ``customer_id``, its ``attempts`` (failed in a row), ``last_error``, ``failed_at``
    and ``since`` (when its backoff ends)."""
    if not failed:
        return
    statement = insert_for(connection, pending)
    statement = statement.on_conflict_do_update(
        index_elements=["customer_id"],
        set_={
            name: statement.excluded[name]
            for name in ("since", "attempts", "last_error", "failed_at")
        },
    )
    connection.execute(statement, list(failed))


def _scoring(row: Any, prefix: str = "") -> ScoringState:
    """A customer's :class:`ScoringState` from its ``ch_pending`` columns (all null: not
    pending)."""
    values = row._mapping
    since = values[prefix + "since"]
    if since is None:
        return ScoringState(pending=False, attempts=0)
    return ScoringState(
        pending=True,
        attempts=values[prefix + "attempts"],
        last_error=values[prefix + "last_error"],
        failed_at=values[prefix + "failed_at"],
        next_attempt_at=since,
    )


_SCORING = ("since", "attempts", "last_error", "failed_at")


def scoring_state(connection: sa.Connection, customer_id: str) -> ScoringState:
    """Where ``customer_id`` stands in the queue (not pending if it is not there)."""
    row = connection.execute(
        sa.select(*(pending.c[name] for name in _SCORING)).where(
            pending.c.customer_id == customer_id
        )
    ).first()
    return ScoringState(pending=False, attempts=0) if row is None else _scoring(row)


def mark_stale(connection: sa.Connection, now: datetime, before: datetime) -> None:
    """Queue customers never scored, or whose latest score is from before ``before``
    (only those that exist at ``now``)."""
    due = (
        sa.select(customers.c.id, sa.literal(now, pending.c.since.type))
        .outerjoin(latest, latest.c.customer_id == customers.c.id)
        .where(
            sa.or_(latest.c.customer_id.is_(None), latest.c.as_of < before),
            sa.or_(customers.c.created_at.is_(None), customers.c.created_at <= now),
        )
    )
    statement = (
        insert_for(connection, pending)
        .from_select(["customer_id", "since"], due)
        .on_conflict_do_nothing(index_elements=["customer_id"])
    )
    connection.execute(statement)


# -- listing --------------------------------------------------------------------------


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def _encode(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _decode(cursor: str, *, numeric: bool) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        key = None
    # The sort key is a number (score order) or a string (name order), the id a string:
    # anything else would reach the database as a comparison of mismatched types.
    sort_types = (int, float) if numeric else (str,)
    if not (
        isinstance(key, list)
        and len(key) == 2
        and isinstance(key[0], sort_types)
        and not isinstance(key[0], bool)
        and isinstance(key[1], str)
    ):
        raise ConfigurationError(f"cursor {cursor!r} is not a cursor this store handed out")
    return key


def _summaries() -> sa.Select[Any]:
    """Customers with their latest score (``s_`` columns) and their place in the queue
    (``p_`` columns), for :func:`_scored`."""
    c = customers.c
    return (
        sa.select(
            *(c[name] for name in ("id", "segment", "name", "created_at", "attributes")),
            *(scores.c[name].label(f"s_{name}") for name in _SCORE_FIELDS),
            *(pending.c[name].label(f"p_{name}") for name in _SCORING),
        )
        .select_from(customers)
        .outerjoin(latest, latest.c.customer_id == c.id)
        .outerjoin(scores, scores.c.id == latest.c.score_id)
        .outerjoin(pending, pending.c.customer_id == c.id)
    )


def _scored(row: Any) -> ScoredCustomer:
    return ScoredCustomer(
        customer=_customer(row),
        health=None if row.s_as_of is None else _health(row, "s_"),
        scoring=_scoring(row, "p_"),
    )


def scored_customer(connection: sa.Connection, customer_id: str) -> ScoredCustomer:
    """``customer_id`` with its latest score and scoring state, as listings have it."""
    row = connection.execute(_summaries().where(customers.c.id == customer_id)).first()
    if row is None:
        raise UnknownCustomerError(f"unknown customer {customer_id!r}")
    return _scored(row)


def latest_page(
    connection: sa.Connection,
    *,
    status: str | Sequence[str] | None,
    segment: str | Sequence[str] | None,
    search: str | None,
    order: str,
    limit: int,
    cursor: str | None,
) -> Page:
    if order not in _ORDERS:
        raise ConfigurationError(f"order {order!r} is not one of {', '.join(_ORDERS)}")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= _MAX_PAGE:
        raise ConfigurationError(f"limit must be an integer from 1 to {_MAX_PAGE}, not {limit!r}")
    statuses = _as_list(status)
    for value in statuses or ():
        if value not in _STATUSES:
            raise ConfigurationError(f"status {value!r} is not one of {', '.join(_STATUSES)}")
    c = customers.c
    if order.endswith("score"):
        key: sa.ColumnElement[Any] = sa.func.coalesce(latest.c.score, -1.0)
    else:
        key = sa.func.coalesce(c.name, "")
    descending = order.startswith("-")
    query = _summaries().add_columns(key.label("sort_key"))
    if statuses is not None:
        query = query.where(latest.c.status.in_(statuses))
    segments = _as_list(segment)
    if segments is not None:
        query = query.where(c.segment.in_([each for each in segments if storable(each)]))
    if search and "\x00" in search:  # no name has one (and PostgreSQL refuses it)
        query = query.where(sa.false())
    elif search:
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(sa.func.lower(c.name).like(f"%{escaped}%", escape="\\"))
    if cursor is not None:
        last_key, last_id = _decode(cursor, numeric=order.endswith("score"))
        after = sa.tuple_(key, c.id)
        position = sa.tuple_(sa.literal(last_key), sa.literal(last_id))
        query = query.where(after < position if descending else after > position)
    ordering = (key.desc(), c.id.desc()) if descending else (key.asc(), c.id.asc())
    rows = connection.execute(query.order_by(*ordering).limit(limit + 1)).all()
    items = tuple(_scored(row) for row in rows[:limit])
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = _encode([last.sort_key, last.id])
    return Page(items=items, next_cursor=next_cursor)


# -- statistics -----------------------------------------------------------------------


def _group(values: Sequence[tuple[str, float | None]]) -> GroupStats:
    counts = dict.fromkeys(_STATUSES, 0)
    for status, _ in values:
        counts[status] += 1
    total = len(values)
    numbers = [score for _, score in values if score is not None]
    return GroupStats(
        customers=total,
        statuses={
            name: StatusCount(count=n, share=n / total if total else 0.0)
            for name, n in counts.items()
        },
        mean=math.fsum(numbers) / len(numbers) if numbers else None,
        median=statistics.median(numbers) if numbers else None,
    )


def stats(connection: sa.Connection, now: datetime, changes_days: int, bins: int) -> PortfolioStats:
    rows = connection.execute(
        sa.select(customers.c.segment, latest.c.status, latest.c.score).outerjoin(
            latest, latest.c.customer_id == customers.c.id
        )
    ).all()
    scored = [(row.segment, row.status, row.score) for row in rows if row.status is not None]
    by_segment: dict[str, list[tuple[str, float | None]]] = {}
    for segment, status, value in scored:
        by_segment.setdefault(segment, []).append((status, value))
    width = 100.0 / bins
    counts = [0] * bins
    for _, _, value in scored:
        if value is not None:
            counts[min(bins - 1, int(value // width))] += 1
    histogram = tuple(
        Bin(low=i * width, high=(i + 1) * width, count=n) for i, n in enumerate(counts)
    )
    return PortfolioStats(
        overall=_group([(status, value) for _, status, value in scored]),
        segments={name: _group(values) for name, values in sorted(by_segment.items())},
        unscored=len(rows) - len(scored),
        failing=connection.execute(
            sa.select(sa.func.count()).select_from(pending).where(pending.c.attempts > 0)
        ).scalar_one(),
        histogram=histogram,
        changes_days=changes_days,
        changes=_changes(connection, now - timedelta(days=changes_days)),
    )


def _changes(connection: sa.Connection, then: datetime) -> tuple[StatusChange, ...]:
    """Per from -> to pair, customers whose latest status differs from their latest
    status at ``then``."""
    ranked = (
        sa.select(
            scores.c.customer_id,
            scores.c.status,
            sa.func.row_number()
            .over(
                partition_by=scores.c.customer_id,
                order_by=(scores.c.as_of.desc(), scores.c.id.desc()),
            )
            .label("rank"),
        )
        .where(scores.c.as_of <= then)
        .subquery()
    )
    query = (
        sa.select(ranked.c.status.label("before"), latest.c.status.label("after"), sa.func.count())
        .join_from(ranked, latest, latest.c.customer_id == ranked.c.customer_id)
        .where(ranked.c.rank == 1, ranked.c.status != latest.c.status)
        .group_by(ranked.c.status, latest.c.status)
        .order_by(ranked.c.status, latest.c.status)
    )
    return tuple(
        StatusChange(from_status=before, to_status=after, count=n)
        for before, after, n in connection.execute(query)
    )
