"""``backtest`` and ``fit``: does the score predict churn, and which model would predict
it better? Both read customers, events and outcomes from files or a database."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

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

__all__ = ["add_backtest", "add_fit"]


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
    _add_history_options(parser)
    parser.set_defaults(handler=_backtest)


def add_fit(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``fit`` subcommand."""
    parser = add_command(
        commands,
        "fit",
        help="propose a model fitted to your history, validated on later dates",
        description="Propose a model for your data (customer_health.fit): the factors of "
        "the model it starts from (--model, default the default model) and recency, rate "
        "and trend over every event kind in the data, each segment's expectations from "
        "the customers who stayed, weights and thresholds, learned on the --train dates. "
        "Then compare it with the start model on the later --validate dates (at least "
        "--horizon days after the last training date), with bootstrap intervals, and "
        "print the report. --output writes the proposed model file, which --model reads.",
        examples="""
customer-health fit --customers c.csv --events e.parquet --outcomes churn.csv \\
    --train 2025-09-01,2025-10-01,2025-11-01 --validate 2026-02-01 --horizon 60 \\
    --output ours.toml
customer-health fit --database-url sqlite:///customer-health.db --outcomes churn.csv \\
    --train 2025-09-01 --train 2025-10-01 --validate 2026-01-01 --horizon 60 --model v1
""",
    )
    add_source_options(parser, dates=None)
    for name, what in (("train", "learn from"), ("validate", "measure on")):
        parser.add_argument(
            f"--{name}",
            action="append",
            default=[],
            required=True,
            metavar="ISO[,ISO...]",
            help=f"an as_of date to {what}; repeat, or separate with commas, for more",
        )
    _add_history_options(parser)
    parser.add_argument(
        "--output", type=Path, metavar="FILE", help="write the proposed model file (TOML) here"
    )
    parser.add_argument(
        "--types",
        metavar="TYPE[,TYPE...]",
        help="the factor types to try over the event kinds: recency, rate, trend, tenure "
        "(default: all four; 'none' for the start model's factors alone)",
    )
    parser.add_argument(
        "--resamples",
        type=int,
        default=1000,
        metavar="N",
        help="bootstrap resamples for the intervals (default 1000)",
    )
    parser.add_argument("--seed", type=int, default=0, help="the bootstrap's seed (default 0)")
    parser.set_defaults(handler=_fit)


def _add_history_options(parser: argparse.ArgumentParser) -> None:
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


def _backtest(args: argparse.Namespace, out: TextIO) -> int:
    if not args.as_of:
        raise UsageError("--as-of is required: the date (or dates, comma-separated) to score")
    dates = as_of_dates(args.as_of)
    from ..analysis import backtest

    def call(customers: Any, events: Any, outcomes: Any, scorer: Any, **options: Any) -> Any:
        return backtest(customers, events, outcomes, as_of=dates, scorer=scorer, **options)

    result = _on_history(args, "customer-health backtest", call)
    print(result.report(), file=out)
    return EXIT_OK


def _fit(args: argparse.Namespace, out: TextIO) -> int:
    train, validate = as_of_dates(args.train, "--train"), as_of_dates(args.validate, "--validate")
    types = _types(args.types)
    if args.resamples < 100:
        raise UsageError(f"--resamples {args.resamples}: it must be at least 100")
    from ..analysis import fit

    def call(customers: Any, events: Any, outcomes: Any, scorer: Any, **options: Any) -> Any:
        return fit(
            customers,
            events,
            outcomes,
            train=train,
            validate=validate,
            start=scorer,
            types=types,
            resamples=args.resamples,
            seed=args.seed,
            **options,
        )

    found = _on_history(args, "customer-health fit", call)
    print(found.report(), file=out)
    if args.output is not None:
        found.to_file(args.output)
        print(f"\nwrote the proposed model to {args.output}", file=out)
    return EXIT_OK


def _types(given: str | None) -> tuple[str, ...]:
    from ..analysis import FACTOR_TYPES_FITTED

    if given is None:
        return FACTOR_TYPES_FITTED
    if given.strip() == "none":
        return ()
    named = tuple(item.strip() for item in given.split(","))
    wrong = [item for item in named if item not in FACTOR_TYPES_FITTED]
    if wrong:
        raise UsageError(
            f"--types {given!r}: {', '.join(map(repr, wrong))} is no factor type; use "
            f"{', '.join(FACTOR_TYPES_FITTED)} or none"
        )
    return named


def _on_history(args: argparse.Namespace, command: str, call: Callable[..., Any]) -> Any:
    """Read the customers and events (files or a database) and the outcomes, then
    ``call(customers, events, outcomes, scorer, horizon=..., ...)`` with a progress bar
    over the dates it scores; errors located in the files."""
    need_frames(command)
    require_extra("polars", "backtest", command)
    where = source(args)
    until = None if args.observed_until is None else as_of(args.observed_until, "--observed-until")
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
            "horizon": args.horizon,
            "observed_until": until,
            "unknown_customers": "skip" if args.skip_unknown_customers else "error",
            "progress": scored,
        }
        if isinstance(where, Database):
            from ._database import open_store

            shown.phase("reading the database")
            with open_store(where.url, command) as store:
                people, happened = store.frames()
            shown.phase(f"checking {happened.height:,} events")
            with notes_of_warnings():
                return call(people, happened, outcomes.frame, where.scorer(), **options)
        shown.phase(f"reading {where.customers.name} and {where.events.name}")
        customers, events = where.read()
        shown.phase(f"checking {events.frame.height:,} events")
        with notes_of_warnings():
            try:
                return call(
                    customers.frame, events.frame, outcomes.frame, where.scorer(), **options
                )
            except CustomerHealthError as exc:
                raise located(exc, customers, events) from exc
