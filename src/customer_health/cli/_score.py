"""``score`` and ``explain``: scores from files or a database, and one score's breakdown."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..exceptions import CustomerHealthError, InvalidInputError
from ..models import HealthScore, HealthStatus
from ._common import EXIT_OK, UsageError, add_command
from ._database import open_store
from ._output import Progress, note, notes_of_warnings, print_table, progress
from ._sources import (
    Database,
    Files,
    add_source_options,
    as_of,
    events_of,
    located,
    located_event,
    need_frames,
    one_customer,
    source,
)

if TYPE_CHECKING:
    import polars as pl

    from ..scoring import HealthScores

__all__ = ["add_explain", "add_score", "points_lost"]

_FORMATS = ("csv", "parquet", "jsonl")


# -- score ---------------------------------------------------------------------------


def add_score(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``score`` subcommand."""
    score = add_command(
        commands,
        "score",
        help="score customers from files or a database; print a table or write a file",
        description="Score every customer from CSV, Parquet or JSON Lines files (the "
        "columns of score_frame: customers id, segment and optionally name, created_at "
        "and attributes; events customer_id, kind, occurred_at and the optional fields), "
        "or from the SQL store at --database-url (scored, not stored). Prints a table, "
        "or writes one row per customer to --output (customer_id, score, status, "
        "coverage, and each factor's score and value), whole or not at all.",
        examples="""
customer-health score --customers customers.csv --events events.parquet --as-of 2026-06-30
customer-health score --customers c.jsonl --events e.jsonl -o scores.parquet
customer-health score --customers c.csv --events e.csv --column ts=occurred_at
customer-health score --database-url sqlite:///customer-health.db --output-format csv
""",
    )
    add_source_options(score)
    score.add_argument(
        "--skip-unknown-customers",
        action="store_true",
        help="skip events of customers not in the customers file (default: an error)",
    )
    written = score.add_argument_group("output (default: a table)")
    written.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write the scores to FILE: .csv, .parquet, .jsonl or .ndjson",
    )
    written.add_argument(
        "--output-format",
        choices=_FORMATS,
        help="the format of --output (default: by its suffix), or without --output, print "
        "csv or jsonl instead of a table",
    )
    score.set_defaults(handler=_score)


@dataclass(frozen=True)
class _Target:
    """Where the scores go: a file, stdout in a format, or a table (``path`` None)."""

    path: Path | None
    format: str


def _target(args: argparse.Namespace) -> _Target:
    """Checked before any work, so that a bad --output does not waste a long run."""
    from ._files import file_format

    if args.output is None:
        if args.output_format == "parquet":
            raise UsageError("--output-format parquet needs --output FILE (it is binary)")
        return _Target(None, args.output_format or "table")
    path: Path = args.output
    if path.is_dir():
        raise UsageError(f"--output {path}: is a directory")
    fmt = file_format(path, args.output_format, "--output-format")
    if not path.parent.is_dir():
        raise UsageError(f"--output {path}: no such directory {str(path.parent)!r}")
    return _Target(path, fmt)


def _score(args: argparse.Namespace, out: TextIO) -> int:
    need_frames("customer-health score")
    where = source(args)
    instant = as_of(args.as_of)
    target = _target(args)
    with progress() as shown:
        if isinstance(where, Files):
            frame, weights = _from_files(where, instant, args.skip_unknown_customers, shown)
        else:
            frame, weights = _from_database(where, instant, shown)
        if target.path is not None:
            from ._files import write_frame

            shown.phase(f"writing {target.path.name}")
            write_frame(frame, target.path, target.format)
    _report(frame, weights, instant, target, out)
    return EXIT_OK


BATCHES = 20
"""On a terminal, files are scored in about this many batches of customers, so that the
progress bar moves (and tells the time left); the results stay score_frame's, bit for
bit. Splitting the events by batch costs about as much again as scoring them at ten
million events, so elsewhere (a pipe, a log) there is one batch."""
MIN_BATCH = 1_000
"""The fewest customers in a batch: fewer would cost more than the bar is worth."""


def _from_files(
    files: Files, instant: datetime, skip: bool, shown: Progress
) -> tuple[pl.DataFrame, Mapping[str, float]]:
    import polars as pl

    from ..engines.frames import scored_batches

    shown.phase(f"reading {files.customers.name}")
    customers = files.read_customers()
    shown.phase(f"reading {files.events.name}")
    events = files.read_events()
    customers, events = files.renamed(customers, events)
    shown.phase(f"checking {events.frame.height:,} events")
    scorer = files.scorer()
    everyone = max(1, customers.frame.height)
    size = max(MIN_BATCH, -(-everyone // BATCHES)) if shown.visible else everyone
    with notes_of_warnings():
        try:
            batches = scored_batches(
                scorer.model,
                customers.frame,
                events.frame,
                as_of=instant,
                size=size,
                unknown_customers="skip" if skip else "error",
            )
            shown.phase("scoring customers", total=batches.customers)
            parts = []
            for part in batches.frames:
                parts.append(part)
                shown.advance(part.height)
        except CustomerHealthError as exc:
            raise located(exc, customers, events) from exc
    return pl.concat(parts) if len(parts) != 1 else parts[0], scorer.weights


def _from_database(
    database: Database, instant: datetime, shown: Progress
) -> tuple[pl.DataFrame, Mapping[str, float]]:
    feature = "customer-health score --database-url"
    with open_store(database.url, feature, scorer=database.scorer()) as store:
        shown.phase("scoring in the database")
        scores = store.recalculate(as_of=instant, save=False)
        factors, weights = store.scorer.factors, store.scorer.weights
    if scores.not_created:
        from .._format import plural, some

        note(
            f"{plural(len(scores.not_created), 'customer')} created after as_of "
            f"{instant.isoformat()} left out: {some(scores.not_created)}"
        )
    return _frame_of(scores, factors), weights


def _frame_of(scores: HealthScores, factors: Sequence[str]) -> pl.DataFrame:
    """The scores as the frame ``score_frame`` returns: the same columns and types."""
    import polars as pl

    columns: dict[str, list[Any]] = {
        "customer_id": [h.customer_id for h in scores],
        "score": [h.score for h in scores],
        "status": [h.status.value for h in scores],
        "coverage": [h.coverage for h in scores],
    }
    schema: dict[str, Any] = {
        "customer_id": pl.String,
        "score": pl.Float64,
        "status": pl.String,
        "coverage": pl.Float64,
    }
    for name in factors:
        parts = [h.factor(name) for h in scores]
        columns[name] = [part.score for part in parts]
        columns[f"{name}_value"] = [part.value for part in parts]
        schema[name] = schema[f"{name}_value"] = pl.Float64
    return pl.DataFrame(columns, schema=schema)


def _report(
    frame: pl.DataFrame,
    weights: Mapping[str, float],
    instant: datetime,
    target: _Target,
    out: TextIO,
) -> None:
    if target.format == "table":
        _table(frame, weights, out)
        print(f"\n{_summary(frame, instant)}", file=out)
    elif target.path is None:
        out.write(frame.write_csv() if target.format == "csv" else frame.write_ndjson())
    else:
        print(f"wrote {target.path}: {_summary(frame, instant)}", file=out)


def _summary(frame: pl.DataFrame, instant: datetime) -> str:
    counts = Counter(frame.get_column("status").to_list())
    statuses = ", ".join(f"{counts[status.value]} {status.value}" for status in HealthStatus)
    return f"{frame.height} customers as of {instant.isoformat()}: {statuses}"


def _table(frame: pl.DataFrame, weights: Mapping[str, float], out: TextIO) -> None:
    """One line per customer: its score, status, coverage and costliest factor."""
    rows = []
    for row in frame.iter_rows(named=True):
        score = row["score"]
        lost = {
            name: weight * (100.0 - row[name])
            for name, weight in weights.items()
            if row[name] is not None
        }
        worst = max(lost, key=lambda name: lost[name], default=None)
        rows.append(
            [
                row["customer_id"],
                "-" if score is None else f"{score:.1f}",
                row["status"],
                f"{row['coverage']:.0%}",
                "-" if worst is None or lost[worst] <= 0 else worst,
            ]
        )
    header = ["customer", "score", "status", "coverage", "weakest factor"]
    print_table(header, rows, out, right=frozenset({1, 3}))


# -- explain -------------------------------------------------------------------------


def add_explain(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``explain`` subcommand."""
    explain = add_command(
        commands,
        "explain",
        help="one customer's score, factor by factor, costliest first",
        description="Score one customer (from files or the SQL store) and show every "
        "factor: its score, weight, the points it costs (weight * (100 - score) / the "
        "sum of the weights of the factors with data; they add up to 100 - score) and "
        "why. Factors without data come last, marked 'no data'.",
        examples="""
customer-health explain acme --customers customers.csv --events events.csv --as-of 2026-06-30
customer-health explain acme --database-url postgresql+psycopg://localhost/db
""",
    )
    explain.add_argument("customer_id", metavar="CUSTOMER_ID", help="the customer to explain")
    add_source_options(explain)
    explain.set_defaults(handler=_explain)


def _explain(args: argparse.Namespace, out: TextIO) -> int:
    where = source(args)
    instant = as_of(args.as_of)
    if isinstance(where, Files):
        health = _explain_files(where, args.customer_id, instant)
    else:
        feature = "customer-health explain --database-url"
        with open_store(where.url, feature, scorer=where.scorer()) as store:
            health = store.health(args.customer_id, as_of=instant)
    _print_explanation(health, out)
    return EXIT_OK


def _explain_files(files: Files, customer_id: str, instant: datetime) -> HealthScore:
    need_frames("customer-health explain")
    customers, events = files.read()
    customer = one_customer(customers, customer_id)
    mine, rows = events_of(events, customer_id)
    try:
        return files.scorer().score(customer, mine, as_of=instant)
    except InvalidInputError as exc:
        if str(exc).startswith("event #"):
            raise located_event(exc, events, rows) from exc
        raise located(exc, customers, events) from exc


def points_lost(health: HealthScore) -> dict[str, float]:
    """The points each factor with data costs: ``weight * (100 - score) / the sum of
    the weights with data``; they add up to ``100 - health.score``."""
    with_data = sum(f.weight for f in health.factors if f.score is not None)
    if with_data <= 0:
        return {}
    return {
        f.name: f.weight * (100.0 - f.score) / with_data
        for f in health.factors
        if f.score is not None
    }


def _print_explanation(health: HealthScore, out: TextIO) -> None:
    lost = points_lost(health)
    ranked = sorted(lost, key=lambda name: -lost[name])
    rows = []
    for name in [*ranked, *(f.name for f in health.factors if f.name not in lost)]:
        factor = health.factor(name)
        rows.append(
            [
                name,
                "no data" if factor.score is None else f"{factor.score:.1f}",
                f"{factor.weight:g}",
                f"{lost[name]:.2f}" if name in lost else "-",
                factor.explanation,
            ]
        )
    print(health.explain().splitlines()[0], file=out)
    print(file=out)
    header = ["factor", "score", "weight", "points lost", "explanation"]
    print_table(header, rows, out, right=frozenset({1, 2, 3}))
    if health.score is not None:
        print(
            f"\npoints lost in all: {sum(lost.values()):.2f} (100 - {health.score:.2f})",
            file=out,
        )
