"""``export-sql``: the warehouse query (:func:`customer_health.export_sql`) as text."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from .._export_sql import SQL_DIALECTS
from ..exceptions import InvalidInputError
from ._common import EXIT_OK, UsageError, add_command, require_extra
from ._sources import as_of

__all__ = ["add_export_sql"]


def add_export_sql(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``export-sql`` subcommand."""
    export = add_command(
        commands,
        "export-sql",
        help="print one SQL query that scores every customer in a warehouse",
        description="Write the query that computes every factor, the score, the status "
        "and the coverage of each customer at --as-of from an events table and a "
        "customers table (the columns of score_frame), in the SQL of --dialect, with the "
        "installed plugins' factors and segments. Run it in the warehouse, or save it as "
        "a dbt model.",
        examples="""
customer-health export-sql --dialect duckdb --as-of 2026-06-30
customer-health export-sql --dialect snowflake --as-of 2026-06-30 \\
    --events analytics.events --customers analytics.customers -o health.sql
customer-health export-sql --dialect bigquery --as-of 2026-06-30 \\
    --events "{{ ref('stg_events') }}" --customers "{{ ref('stg_customers') }}" \\
    -o models/customer_health.sql
""",
    )
    export.add_argument("--dialect", required=True, choices=SQL_DIALECTS, help="the SQL to write")
    export.add_argument(
        "--as-of",
        required=True,
        metavar="ISO",
        help="the instant to score at, an ISO 8601 date or datetime (held in the query)",
    )
    export.add_argument(
        "--events",
        default="events",
        metavar="TABLE",
        help="the events table, as written into the query (default: events)",
    )
    export.add_argument(
        "--customers",
        default="customers",
        metavar="TABLE",
        help="the customers table, as written into the query (default: customers)",
    )
    export.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write the query to FILE (default: print it)",
    )
    export.set_defaults(handler=_export_sql)


def _export_sql(args: argparse.Namespace, out: TextIO) -> int:
    from .._export_sql import export_sql

    for module in ("sqlglot", "sqlalchemy"):
        require_extra(module, "sql", "customer-health export-sql")
    try:
        query = export_sql(
            args.dialect,
            as_of=as_of(args.as_of),
            events=args.events,
            customers=args.customers,
        )
    except InvalidInputError as exc:  # every input is an option's value
        raise UsageError(str(exc)) from exc
    text = query + "\n"  # no semicolon: dbt wraps a model's query in its own statement
    if args.output is None:
        out.write(text)
        return EXIT_OK
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote the {args.dialect} query to {args.output}", file=sys.stderr)
    return EXIT_OK
