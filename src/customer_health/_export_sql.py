"""``export_sql``: one SQL query that scores every customer where the data lives.

This module checks the arguments and imports the ``sql`` extra (SQLAlchemy builds the
query, sqlglot writes it in each dialect) only when called; the SQL engine
(:mod:`customer_health.engines.sql`) builds the query.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING

from ._inputs import resolve_as_of
from .exceptions import InvalidInputError, MissingExtraError

if TYPE_CHECKING:
    from .scoring import Scorer

__all__ = ["SQL_DIALECTS", "export_sql"]

SQL_DIALECTS: tuple[str, ...] = ("bigquery", "duckdb", "postgres", "snowflake", "spark")
"""The dialects :func:`export_sql` writes (``spark`` is Spark SQL, Databricks included)."""


def export_sql(
    dialect: str,
    *,
    as_of: datetime | date | str,
    events: str = "events",
    customers: str = "customers",
    scorer: Scorer | None = None,
) -> str:
    """One SQL query that scores every customer at ``as_of`` in a warehouse.

    The query reads an events table and a customers table with the columns of
    :func:`score_frame`'s input - events ``customer_id``, ``kind``, ``occurred_at``,
    ``event_id`` and the fields the factors read (``quantity``, ``feature``,
    ``due_at``, ``paid_at``, ``priority``, ``resolved_at`` for the built-in ones);
    customers ``id``, ``segment`` and ``created_at`` - and returns one row per
    customer with the columns of :func:`score_frame`'s result: ``customer_id``,
    ``score``, ``status``, ``coverage`` and, per factor, ``<factor>`` and
    ``<factor>_value``. The numbers are those of :func:`score` (to 1e-9, statuses
    exactly), with the model's rules: de-duplication by ``event_id``, windows exact to
    the microsecond, proration for young customers, customers created after ``as_of``
    left out. The scorer's configuration (weights, thresholds, every segment's
    expectations) is written into the query.

    :param dialect: one of :data:`SQL_DIALECTS`: ``postgres``, ``duckdb``, ``spark``,
        ``snowflake`` or ``bigquery``.
    :param as_of: the instant to score at (a datetime, a date or ISO 8601 text, as
        everywhere); the query holds it as a constant.
    :param events: the events table, written into the query as given: a name, a
        qualified name (``analytics.events``) or a dbt ``{{ ref('events') }}``.
    :param customers: the customers table, likewise.
    :param scorer: the scorer whose configuration to use (default: the default model
        and installed plugins). Every factor needs an SQL form
        (:meth:`Factor.sql_inputs` and :meth:`Factor.sql_score`); one without is a
        :class:`ConfigurationError` naming it.
    :returns: the query's text, without a trailing semicolon.

    Timestamp columns may be with or without a time zone (without one, an instant is
    read as UTC). Events of customers not in the customers table are ignored. A
    customer whose segment the scorer does not know gets NULL in every column but
    ``customer_id`` (where :func:`score` raises :class:`UnknownSegmentError`). Copies
    of an ``event_id`` that differ (an :class:`EventConflictError` elsewhere) count
    once, as one of them. Needs the ``sql`` extra: ``pip install
    'customer-health[sql]'``.
    """
    if dialect not in SQL_DIALECTS:
        raise InvalidInputError(
            f"unknown SQL dialect {dialect!r}; export_sql writes {', '.join(SQL_DIALECTS)}"
        )
    instant = resolve_as_of(as_of)
    tables = {"events": events, "customers": customers}
    _check_tables(tables)
    try:
        from .engines.sql import warehouse_query
    except ImportError as exc:
        raise MissingExtraError(exc.name or "sqlalchemy", "sql", "export_sql()") from exc
    if scorer is None:
        from .scoring import default_scorer

        scorer = default_scorer()
    return warehouse_query(scorer.model, dialect, instant, tables)


def _check_tables(tables: Mapping[str, str]) -> None:
    for label, table in tables.items():
        if not isinstance(table, str) or not table.strip() or ";" in table:
            raise InvalidInputError(
                f"{label} table {table!r} is no table name: give it as SQL, such as 'events', "
                "'analytics.events' or \"{{ ref('events') }}\" (without a semicolon)"
            )
