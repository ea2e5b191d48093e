"""Scores from stored events: factor inputs by the database, arithmetic in Python.

Every factor with an SQL form contributes its aggregates to one grouped query over
``ch_events`` (no event rows come back, only one row of inputs per customer). A
factor without one gets just its customers' events of its kinds, loaded as models
and fed to it as :meth:`~customer_health.Scorer.score_many` would. The scorer then
does the rest exactly as on the object path.

What a plugin factor raises, here or in the database running its SQL, is a
:class:`~customer_health.FactorError` naming it (see :func:`_sql_fault`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..engines.objects import Plan, feed_events, results, routes_of
from ..engines.sql import condition, inputs_query, sql_events, sql_form
from ..model import guard
from ..models import Customer, Event, HealthScore
from ._queries import event_from_row, id_chunks
from ._tables import EVENT_FIELDS, events

if TYPE_CHECKING:
    from ..model import ActiveFactor
    from ..scoring import Scorer

__all__ = ["compute_scores"]


def compute_scores(
    connection: sa.Connection,
    scorer: Scorer,
    customers: Sequence[Customer],
    as_of: datetime,
    *,
    every_customer: bool,
    failures: dict[str, Exception] | None = None,
) -> list[HealthScore]:
    """Score ``customers`` (all created by ``as_of``) from their stored events.

    ``every_customer`` says ``customers`` are all the store's customers: the queries
    then need no ``IN`` list. With ``failures``, a customer whose scoring raises once
    its inputs are computed (a factor's ``compute`` or ``evaluate``, its segment) is
    left out and its error put there; the others are scored. Errors computing inputs,
    which the customers share, are raised.
    """
    ids = [customer.id for customer in customers]
    if not ids:
        return []
    chunks: list[Sequence[str] | None] = [None] if every_customer else [*id_chunks(ids)]
    plans: list[Plan] = []
    fed: list[Plan] = []
    in_sql: list[tuple[ActiveFactor, Mapping[str, Any]]] = []
    model = scorer.model
    for active in model.factors:
        given = sql_events(active, as_of, events)
        aggregates = guard(active, "sql_inputs", sql_form, active, given)
        if aggregates is None:
            plan = Plan(active, as_of, ids)
            fed.append(plan)
            plans.append(plan)
        else:
            in_sql.append((active, aggregates))
            plans.append(Plan.prepared(active, {}))
    if in_sql:
        inputs = _sql_inputs(connection, in_sql, as_of, ids, chunks)
        for plan in plans:
            if plan.active.name in inputs:
                # None only where a declared factor's own compute() reads it
                plan.inputs = inputs[plan.active.name]  # type: ignore[assignment]
    if fed:
        routes = routes_of(fed)
        for chunk in chunks:
            feed_events(_load_events(connection, fed, as_of, chunk), set(ids), as_of, *routes)
        for plan in fed:
            plan.finish()
    if failures is None:
        return results(model, customers, as_of, plans)
    scores: list[HealthScore] = []
    for customer in customers:  # one at a time: what one raises fails only that one
        try:
            scores += results(model, [customer], as_of, plans)
        except Exception as exc:
            failures[customer.id] = exc
    return scores


def _sql_inputs(
    connection: sa.Connection,
    factors: Sequence[tuple[ActiveFactor, Mapping[str, Any]]],
    as_of: datetime,
    ids: Sequence[str],
    chunks: Iterable[Sequence[str] | None],
) -> dict[str, dict[str, dict[str, float | None]]]:
    """Each SQL factor's inputs by customer id (None: a declared factor's least or
    greatest value of nothing); customers without events get the inputs of no events
    (the factor's own ``aggregate([])``)."""
    empty = {
        active.name: guard(active, "aggregate", active.factor.aggregate, [], as_of)
        for active, _ in factors
    }
    plugins = [active for active, _ in factors if not active.trusted]
    found: dict[str, dict[str, dict[str, float | None]]] = {
        active.name: {} for active, _ in factors
    }
    conditions = [condition(active, as_of, events) for active, _ in factors]
    for chunk in chunks:
        query, labels = inputs_query(factors, conditions, chunk, events)
        with _scanning(connection, whole_table=chunk is None):
            # the database runs the plugins' SQL: its errors about the SQL or the data
            # are theirs (though which one's, one query cannot tell)
            rows = guard(plugins, "sql_inputs", _rows, connection, query, blame=_sql_fault)
        positions = [(factor, name, index) for index, (factor, name, _) in enumerate(labels, 1)]
        for row in rows:
            cid = row[0]
            for factor, name, index in positions:
                value = row[index]
                if value is None:  # 0, but where no events give no value (a least one)
                    value = None if empty[factor][name] is None else 0.0
                found[factor].setdefault(cid, {})[name] = None if value is None else float(value)
    return {
        name: {cid: mine.get(cid) or dict(empty[name]) for cid in ids}
        for name, mine in found.items()
    }


def _rows(connection: sa.Connection, query: sa.Select[Any]) -> Sequence[sa.Row[Any]]:
    return connection.execute(query).all()


def _sql_fault(exc: Exception) -> bool:
    """Whether a database error may come from the SQL it ran or the data (an unknown
    function, a division by zero): PEP 249's ``DataError`` and ``ProgrammingError``, a
    statement that does not compile, and SQLite's generic SQL error (which its driver
    reports as an ``OperationalError``). Not the errors of the database's operation (a
    lost connection, a timeout, a lock), which are nobody's plugin's doing."""
    if isinstance(exc, sa.exc.CompileError | sa.exc.DataError | sa.exc.ProgrammingError):
        return not getattr(exc, "connection_invalidated", False)
    return (
        isinstance(exc, sa.exc.OperationalError)
        and getattr(exc.orig, "sqlite_errorname", None) == "SQLITE_ERROR"
    )


@contextmanager
def _scanning(connection: sa.Connection, *, whole_table: bool) -> Iterator[None]:
    """PostgreSQL, every customer at once: read the table in order, sort in memory.

    The grouped query needs its rows by customer (``count(DISTINCT ...)`` rules out
    hashing), and the planner gets them from the ``(customer_id, occurred_at)`` index:
    a random heap read per event, five times slower over ten million events than a
    sequential scan and an in-memory sort, which is what this asks for (for this query
    only: the settings are put back after it).
    """
    if not whole_table or connection.dialect.name != "postgresql":
        yield
        return
    settings = {"enable_indexscan": "off", "enable_bitmapscan": "off", "work_mem": "'256MB'"}
    for name, value in settings.items():
        connection.exec_driver_sql(f"SET LOCAL {name} = {value}")
    yield
    # Not after an error: the transaction is then aborted, the settings go with it and
    # a RESET would fail in turn, in place of the query's own error.
    for name in settings:
        connection.exec_driver_sql(f"RESET {name}")


def _load_events(
    connection: sa.Connection,
    plans: Sequence[Plan],
    as_of: datetime,
    customer_ids: Sequence[str] | None,
) -> Iterable[Event]:
    """The stored events the fed factors read, as models (oldest first)."""
    where = sa.or_(*(condition(plan.active, as_of, events) for plan in plans))
    query = sa.select(*(events.c[name] for name in EVENT_FIELDS)).where(where)
    if customer_ids is not None:
        query = query.where(events.c.customer_id.in_(customer_ids))
    query = query.order_by(events.c.seq)
    for row in connection.execute(query):
        yield event_from_row(row)
