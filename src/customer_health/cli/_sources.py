"""Where ``score`` and ``explain`` read customers and events: files, or a database."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._inputs import resolve_as_of
from ..exceptions import (
    CustomerHealthError,
    EventConflictError,
    InvalidCustomerError,
    InvalidEventError,
    InvalidInputError,
    UnknownCustomerError,
    UnknownSegmentError,
)
from ._common import DATABASE_ENV, CommandError, UsageError, database_url, require_extra

if TYPE_CHECKING:
    from ..scoring import Scorer
    from ._files import Loaded

__all__ = [
    "Database",
    "Files",
    "add_kind_options",
    "add_model_option",
    "add_source_options",
    "as_of",
    "as_of_dates",
    "events_of",
    "located",
    "located_event",
    "need_frames",
    "one_customer",
    "source",
]

CUSTOMER_COLUMNS = ("id", "segment", "name", "created_at")
"""The customer columns the scorer knows; any other column is an attribute."""


def add_kind_options(parser: argparse.ArgumentParser) -> None:
    """``--event-kind`` and ``--keep-unknown-kinds``: which event kinds are accepted."""
    kinds = parser.add_argument_group(
        "event kinds (an event of a kind that is not built in, read by a factor, or "
        "declared by a plugin is an error)"
    )
    kinds.add_argument(
        "--event-kind",
        action="append",
        default=[],
        metavar="NAME",
        help="accept events of kind NAME too; repeat, or separate with commas, for more",
    )
    kinds.add_argument(
        "--keep-unknown-kinds",
        action="store_true",
        help="accept events of every kind (unknown ones are read like any custom kind)",
    )


def add_model_option(parser: argparse.ArgumentParser) -> None:
    """``--model MODEL``: a built-in model's name, or the model file the scorer reads."""
    parser.add_argument(
        "--model",
        metavar="MODEL",
        help="score with a built-in model (v1, or v2, the default) or the model in a file "
        "(TOML: factors, weights, expectations, thresholds; see docs/model.md; ./v1 reads a "
        "file called v1); with either, the installed plugins' factors take part",
    )


def _items(given: list[str]) -> Iterator[tuple[str, str]]:
    """The items of a repeatable option whose values may each list several, separated by
    commas: ``(value, item)``, the item stripped (empty between two commas)."""
    for text in given:
        for item in text.split(","):
            yield text, item.strip()


def event_kinds(args: argparse.Namespace) -> tuple[str, ...]:
    """The kinds ``--event-kind`` names (each option may list several, comma-separated)."""
    return tuple(kind for _, kind in _items(args.event_kind) if kind)


def add_source_options(parser: argparse.ArgumentParser, *, dates: bool | None = False) -> None:
    """``--customers``, ``--events``, ``--input-format``, ``--column``, the event kinds
    options, ``--database-url`` and ``--as-of`` (with ``dates``: repeatable, and each may
    list several dates, comma-separated; :func:`as_of_dates` reads them; with ``dates``
    None, no ``--as-of``: the command names its dates otherwise)."""
    files = parser.add_argument_group("reading files")
    files.add_argument(
        "--customers", type=Path, metavar="FILE", help="customers: .csv, .parquet or .jsonl"
    )
    files.add_argument(
        "--events", type=Path, metavar="FILE", help="their events: .csv, .parquet or .jsonl"
    )
    files.add_argument(
        "--input-format",
        choices=["csv", "parquet", "jsonl"],
        help="read both files as this format (default: by their suffix; .ndjson is jsonl)",
    )
    files.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="YOURS=OURS",
        help="read your column YOURS as OURS (such as ts=occurred_at); repeat for more",
    )
    add_kind_options(parser)
    add_model_option(parser)
    database = parser.add_argument_group("or reading a database")
    database.add_argument(
        "--database-url",
        metavar="URL",
        help=f"the SQL store to read (default: {DATABASE_ENV}, when no files are given)",
    )
    if dates is None:
        return
    if dates:
        parser.add_argument(
            "--as-of",
            action="append",
            default=[],
            metavar="ISO[,ISO...]",
            help="an instant to score at, an ISO 8601 date or datetime; repeat, or separate "
            "with commas, for more",
        )
    else:
        parser.add_argument(
            "--as-of",
            metavar="ISO",
            help="the instant to score at, an ISO 8601 date or datetime (default: now)",
        )


def as_of_dates(given: list[str], option: str = "--as-of") -> list[datetime]:
    """The instants of a repeatable ``option`` (each may list several, comma-separated),
    in the order given; an empty item is an error, as is a bad date."""
    dates = []
    for text, item in _items(given):
        if not item:
            raise UsageError(f"{option} {text!r}: an empty date between commas")
        dates.append(as_of(item, option))
    return dates


@dataclass(frozen=True)
class Files:
    """Customers and events in files."""

    customers: Path
    events: Path
    format: str | None
    columns: Mapping[str, str] = field(default_factory=dict)
    event_kinds: tuple[str, ...] = ()
    """Kinds accepted besides the known ones (``--event-kind``)."""
    keep_unknown_kinds: bool = False
    """Whether events of every kind are accepted (``--keep-unknown-kinds``)."""
    model: str | None = None
    """The model (``--model``): a built-in one's name or a model file, if one."""

    def scorer(self) -> Scorer:
        """The scorer for these files: the default one, unless kinds are declared or kept,
        or a model file is given."""
        from ..scoring import scorer_with_kinds

        return scorer_with_kinds(
            self.event_kinds, "keep" if self.keep_unknown_kinds else "error", self.model
        )

    def read(self) -> tuple[Loaded, Loaded]:
        """Both files, read and renamed (see :meth:`renamed`)."""
        return self.renamed(self.read_customers(), self.read_events())

    def read_customers(self) -> Loaded:
        """The customers file as it is."""
        from ._files import file_format, read_customers

        return read_customers(
            self.customers, file_format(self.customers, self.format, "--input-format")
        )

    def read_events(self) -> Loaded:
        """The events file as it is."""
        from ._files import file_format, read_events

        return read_events(self.events, file_format(self.events, self.format, "--input-format"))

    def renamed(self, customers: Loaded, events: Loaded) -> tuple[Loaded, Loaded]:
        """The files with ``--column`` applied; each must name a column of one of them."""
        from ..engines.frames import EVENT_COLUMNS

        for yours, ours in self.columns.items():
            if yours not in customers.frame.columns and yours not in events.frame.columns:
                raise UsageError(
                    f"--column {yours}={ours}: neither {customers.path} nor {events.path} "
                    f"has a column {yours!r}"
                )
        return _renamed(customers, self.columns, CUSTOMER_COLUMNS), _renamed(
            events, self.columns, tuple(EVENT_COLUMNS)
        )


def _renamed(loaded: Loaded, columns: Mapping[str, str], names: tuple[str, ...]) -> Loaded:
    from ._files import Loaded

    frame = loaded.frame
    mapping = {yours: ours for yours, ours in columns.items() if ours in names and yours in frame}
    for yours, ours in mapping.items():
        if ours in frame.columns and ours not in mapping:
            raise UsageError(
                f"--column {yours}={ours}: {loaded.path} has a column {ours!r} already"
            )
    return Loaded(frame.rename(mapping), loaded.path, loaded.format)


@dataclass(frozen=True)
class Database:
    """Customers and events in the SQL store."""

    url: str
    model: str | None = None
    """The model (``--model``), if one: the store's scorer."""

    def scorer(self) -> Scorer | None:
        """The scorer of the model, or None (the store's default)."""
        if self.model is None:
            return None
        from ..scoring import scorer_of

        return scorer_of(self.model)


def source(args: argparse.Namespace) -> Files | Database:
    """Where to read, from the options; a contradiction is a :class:`CommandError`."""
    given = [name for name in ("customers", "events") if getattr(args, name) is not None]
    if given and args.database_url:
        raise UsageError("give --customers and --events, or --database-url, not both")
    if given:
        missing = {"customers", "events"} - set(given)
        if missing:
            raise UsageError(
                f"--{missing.pop()} is missing: reading files takes --customers and --events"
            )
        return Files(
            args.customers,
            args.events,
            args.input_format,
            _columns(args.column),
            event_kinds(args),
            args.keep_unknown_kinds,
            args.model,
        )
    for option, value in (
        ("--input-format", args.input_format),
        ("--column", args.column),
        # events already stored are read whatever their kind
        ("--event-kind", args.event_kind),
        ("--keep-unknown-kinds", args.keep_unknown_kinds),
    ):
        if value:
            raise UsageError(f"{option} is for files (--customers and --events)")
    url = database_url(args.database_url)
    if url is None:
        raise UsageError(
            "nothing to read: give --customers FILE and --events FILE, or --database-url URL "
            f"(or set {DATABASE_ENV})"
        )
    return Database(url, args.model)


def _columns(given: list[str]) -> dict[str, str]:
    from ..engines.frames import EVENT_COLUMNS

    known = (*CUSTOMER_COLUMNS, *EVENT_COLUMNS)
    columns: dict[str, str] = {}
    for text in given:
        yours, sep, ours = (part.strip() for part in text.partition("="))
        if not sep or not yours or not ours:
            raise UsageError(f"--column {text!r}: expected YOURS=OURS, such as ts=occurred_at")
        if ours not in known:
            raise UsageError(
                f"--column {text!r}: {ours!r} is no column name; customer columns: "
                f"{', '.join(CUSTOMER_COLUMNS)}; event columns: {', '.join(EVENT_COLUMNS)}"
            )
        if yours in columns:
            raise UsageError(f"--column {text!r}: {yours!r} is mapped twice")
        columns[yours] = ours
    return columns


def as_of(text: str | None, option: str = "--as-of") -> datetime:
    """``option`` (``--as-of``) as an aware UTC datetime (now when not given)."""
    try:
        return resolve_as_of(text)
    except InvalidInputError:
        raise UsageError(
            f"{option} {text!r} is not an ISO 8601 date or datetime (such as 2026-06-30 "
            "or 2026-06-30T09:00:00+02:00)"
        ) from None


def need_frames(feature: str) -> None:
    """Reading files needs polars and narwhals: the ``cli`` extra."""
    for module in ("polars", "narwhals"):
        require_extra(module, "cli", feature)


# -- errors in the files' rows -------------------------------------------------------

_ROW = re.compile(r"\{'row': (\d+), ")


def located(exc: CustomerHealthError, customers: Loaded, events: Loaded) -> Exception:
    """``exc`` of scoring the files, with the file it is about and the lines of the rows
    it shows (the frames count rows from 0; people count lines)."""
    if isinstance(exc, InvalidCustomerError | UnknownSegmentError):
        loaded = customers
    elif isinstance(exc, InvalidEventError | UnknownCustomerError):
        loaded = events
    else:
        return exc
    message = str(exc)
    if not isinstance(exc, EventConflictError):  # its rows are not the file's
        message = _ROW.sub(lambda match: f"{{{loaded.where(int(match[1]))}: ", message)
    label = "customers" if loaded is customers else "events"
    return CommandError(f"{label} file {loaded.path}: {message}")


# -- one customer, as models ---------------------------------------------------------


def one_customer(customers: Loaded, customer_id: str) -> dict[str, Any]:
    """The customer ``customer_id`` of the file, as a mapping for the scorer."""
    import polars as pl

    frame = customers.frame
    if "id" not in frame.columns:
        raise CommandError(
            f"customers file {customers.path}: no column 'id' (columns: {frame.columns})"
        )
    rows = (
        frame.with_row_index("_row")
        .filter(pl.col("id").cast(pl.String) == customer_id)
        .get_column("_row")
        .to_list()
    )
    if not rows:
        raise CommandError(f"customer {customer_id!r} is not in customers file {customers.path}")
    if len(rows) > 1:
        lines = ", ".join(customers.where(row) for row in rows[:5])
        raise CommandError(
            f"customers file {customers.path}: customer {customer_id!r} appears "
            f"{len(rows)} times ({lines})"
        )
    row = frame.row(rows[0], named=True)
    customer = {k: row[k] for k in CUSTOMER_COLUMNS if row.get(k) is not None}
    customer["id"] = customer_id
    customer["attributes"] = {k: v for k, v in row.items() if k not in CUSTOMER_COLUMNS}
    return customer


def events_of(events: Loaded, customer_id: str) -> tuple[list[dict[str, Any]], list[int]]:
    """The events of ``customer_id`` as mappings, and the row of each in the file."""
    import polars as pl

    frame = events.frame
    if "customer_id" not in frame.columns:
        raise CommandError(
            f"events file {events.path}: no column 'customer_id' (columns: {frame.columns})"
        )
    mine = frame.with_row_index("_row").filter(pl.col("customer_id").cast(pl.String) == customer_id)
    found: list[dict[str, Any]] = []
    rows: list[int] = []
    for record in mine.iter_rows(named=True):
        row = record.pop("_row")
        event = {key: value for key, value in record.items() if value is not None}
        event["customer_id"] = customer_id
        event.update(_properties(event.get("properties"), events, row))
        found.append(event)
        rows.append(row)
    return found, rows


def _properties(value: Any, events: Loaded, row: int) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):  # a struct column: the fields all rows share
        return {"properties": {k: v for k, v in value.items() if v is not None}}
    try:
        decoded = json.loads(value)
    except (TypeError, ValueError):
        decoded = None
    if not isinstance(decoded, dict):
        raise CommandError(
            f"events file {events.path}: {events.where(row)}: column 'properties' holds "
            f"{value!r}, which is not a JSON object"
        )
    return {"properties": decoded}


_EVENT = re.compile(r"event #(\d+)")


def located_event(exc: InvalidInputError, events: Loaded, rows: list[int]) -> CommandError:
    """``exc`` of validating one customer's events, naming the lines of the file."""
    message = _EVENT.sub(lambda match: f"event at {events.where(rows[int(match[1])])}", str(exc))
    return CommandError(f"events file {events.path}: {message}")
