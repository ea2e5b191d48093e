"""The SQL engine: factor inputs and scores computed by a database.

:func:`inputs_query` puts every factor's SQL form (:meth:`~customer_health.Factor.sql_inputs`,
which sees :func:`sql_events`) into one grouped query over an events table - the
store's; :func:`warehouse_query` writes the whole score (inputs, factor scores, the
weighted mean, coverage and status) as one query for a warehouse, in each dialect, by
sqlglot (:func:`~customer_health.export_sql`). Needs the ``sqlalchemy`` extra (the
warehouse query the ``sql`` extra, imported when it is called).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from ...exceptions import MissingExtraError
from ._inputs import condition, inputs_query, sql_events, sql_form, sql_score_form

if TYPE_CHECKING:
    from ...model import ResolvedModel

__all__ = [
    "condition",
    "inputs_query",
    "sql_events",
    "sql_form",
    "sql_score_form",
    "warehouse_query",
]


def warehouse_query(
    model: ResolvedModel, dialect: str, as_of: datetime, tables: Mapping[str, str]
) -> str:
    """The query that scores every customer of ``tables`` with ``model`` at ``as_of``, in
    ``dialect`` (see :func:`customer_health.export_sql`)."""
    try:
        from ._warehouse import query_text
    except ImportError as exc:
        raise MissingExtraError(exc.name or "sqlglot", "sql", "export_sql()") from exc
    return query_text(model, dialect, as_of, tables)
