"""``backtest``: does the score predict churn? Measured on files or a database."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from ..exceptions import CustomerHealthError
from ._common import EXIT_OK, UsageError, add_command, require_extra
from ._output import notes_of_warnings, progress
from ._sources import (
    Database,
    add_source_options,
    as_of,
    as_of_dates,
    located,
    need_frames,
    source,
)

__all__ = ["add_backtest"]


def add_backtest(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``backtest`` subcommand."""
    parser = add_command(
        commands,
        "backtest",
        help="measure how well the score predicted churn (AUC, lift, churn per status)",
        description="Score every customer alive at each --as-of (point in time: events "
        "after it are ignored) from CSV, Parquet or JSON Lines files or the SQL store at "
        "--database-url, label who churned "
        "within --horizon days after it from --outcomes (customer_id, churned_at), and "
        "print the AUC of a low score predicting churn, the top-decile lift, churn per "
        "status, each factor's AUC and a calibration table. Customers created after an "
        "as_of, or churned at or before it, are not scored (the counts are shown).",
        examples="""
customer-health backtest --customers c.csv --events e.parquet --outcomes churn.csv \\
    --as-of 2026-01-01 --as-of 2026-02-01 --horizon 90
customer-health backtest --customers c.csv --events e.csv --outcomes churn.csv \\
    --as-of 2026-03-01 --horizon 30 --observed-until 2026-06-30
customer-health backtest --database-url sqlite:///customer-health.db --outcomes churn.csv \\
    --as-of 2026-03-01 --horizon 30
""",
    )
    add_source_options(parser, dates=True)
    parser.add_argument(
        "--outcomes",
        type=Path,
        required=True,
        metavar="FILE",
        help="who churned when: customer_id, churned_at (.csv, .parquet or .jsonl)",
    )
    parser.add_argument(
        "--horizon",
        type=float,
        required=True,
        metavar="DAYS",
        help="churn counts when it falls in (as_of, as_of + DAYS]",
    )
    parser.add_argument(
        "--observed-until",
        metavar="ISO",
        help="churn is known up to this instant (default: the last event or churn)",
    )
    parser.add_argument(
        "--skip-unknown-customers",
        action="store_true",
        help="skip events and outcomes of customers not in the customers file",
    )
    parser.set_defaults(handler=_backtest)


def _backtest(args: argparse.Namespace, out: TextIO) -> int:
    need_frames("customer-health backtest")
    require_extra("polars", "backtest", "customer-health backtest")
    where = source(args)
    if not args.as_of:
        raise UsageError("--as-of is required: the date (or dates, comma-separated) to score")
    dates = as_of_dates(args.as_of)
    until = None if args.observed_until is None else as_of(args.observed_until)
    from ..analysis import backtest
    from ._files import file_format, read_customers

    with progress() as shown:
        shown.phase(f"reading {args.outcomes.name}")
        outcomes = read_customers(
            args.outcomes, file_format(args.outcomes, args.input_format, "--input-format")
        )

        def scored(done: int, total: int) -> None:
            if done == 0:  # the frames are checked: the dates come
                shown.phase("scoring as_of dates")
            shown.update(done, total)

        options = {
            "as_of": dates,
            "horizon": args.horizon,
            "observed_until": until,
            "unknown_customers": "skip" if args.skip_unknown_customers else "error",
            "progress": scored,
        }
        if isinstance(where, Database):
            from ._database import open_store, stored_frames

            shown.phase("reading the database")
            with open_store(where.url, "customer-health backtest") as store:
                people, happened = stored_frames(store)
            shown.phase(f"checking {happened.height:,} events")
            with notes_of_warnings():
                result = backtest(
                    people, happened, outcomes.frame, scorer=where.scorer(), **options
                )
        else:
            shown.phase(f"reading {where.customers.name} and {where.events.name}")
            customers, events = where.read()
            shown.phase(f"checking {events.frame.height:,} events")
            with notes_of_warnings():
                try:
                    result = backtest(
                        customers.frame,
                        events.frame,
                        outcomes.frame,
                        scorer=where.scorer(),
                        **options,
                    )
                except CustomerHealthError as exc:
                    raise located(exc, customers, events) from exc
    print(result.report(), file=out)
    return EXIT_OK
