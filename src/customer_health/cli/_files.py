"""Reading customers and events from files, and writing scores to one whole or not at all.

Files are read with polars by their suffix (``.csv``, ``.parquet``, ``.jsonl`` or
``.ndjson``). CSV is read as text, every column, so that ids such as ``007`` keep
their zeros; the numeric event columns are then converted, naming the line of a value
that is no number. A file that cannot be parsed is looked at again line by line to
say where (polars' own errors name a byte offset at best).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import polars as pl

from ._common import CommandError, UsageError

__all__ = [
    "FORMATS",
    "Loaded",
    "file_format",
    "read_customers",
    "read_events",
    "write_atomically",
    "write_frame",
]

FORMATS = ("csv", "parquet", "jsonl")
"""The file formats the commands read and write."""
_SUFFIXES: Mapping[str, str] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_NUMBERS = ("quantity", "amount")
"""The event columns that hold numbers (the rest is text, instants or JSON)."""
_GLOB = frozenset("*?[")
_REQUIRED: Mapping[str, tuple[str, ...]] = {
    "customers": ("id", "segment"),
    "events": ("customer_id", "kind", "occurred_at"),
}
"""The columns of an empty file's frame (the required ones)."""


@dataclass(frozen=True)
class Loaded:
    """A file read into a frame, and how to say where one of its rows is."""

    frame: pl.DataFrame
    path: Path
    format: str

    def where(self, row: int) -> str:
        """Where the frame's ``row`` (from 0) is in the file: its line, or for Parquet
        its row (from 1). Read again to count: blank lines of JSON Lines are no rows,
        and a quoted CSV field may span several lines."""
        if self.format == "parquet":
            return f"row {row + 1}"
        with self.path.open(encoding="utf-8", newline="") as file:
            if self.format == "jsonl":
                starts: Iterator[int] = (n for n, line in enumerate(file, 1) if line.strip())
            else:
                starts = _record_lines(file)
                next(starts, None)  # the header
            for _ in range(row):
                next(starts)
            return f"line {next(starts)}"


def _record_lines(file: IO[str]) -> Iterator[int]:
    """The line each CSV record starts on (polars reads a blank line as a row of nulls)."""
    reader = csv.reader(file)
    end = 0
    for _ in reader:
        start, end = end + 1, reader.line_num
        yield start


def file_format(path: Path, given: str | None, option: str) -> str:
    """The format of ``path``: ``given`` (from ``option``), else by the suffix."""
    if given is not None:
        return given
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise UsageError(
            f"{path}: unknown file format {path.suffix or '(no suffix)'!r}; name the file "
            f".csv, .parquet, .jsonl or .ndjson, or pass {option}"
        )
    return found


def read_customers(path: Path, fmt: str) -> Loaded:
    """The customers in ``path``; an ``attributes`` struct (JSON object) becomes columns,
    which the scorer reads as the customer's attributes."""
    loaded = _read(path, fmt, "customers")
    frame = loaded.frame
    attributes = frame.schema.get("attributes")
    if isinstance(attributes, pl.Struct):
        clash = [f.name for f in attributes.fields if f.name in frame.columns]
        if clash:
            raise CommandError(
                f"customers file {path}: attribute {clash[0]!r} has the name of a column"
            )
        frame = frame.unnest("attributes")
    return Loaded(frame, path, fmt)


def read_events(path: Path, fmt: str) -> Loaded:
    """The events in ``path``; numbers in CSV or JSON Lines are checked line by line."""
    loaded = _read(path, fmt, "events")
    if fmt == "parquet":
        return loaded
    frame = loaded.frame
    for name in _NUMBERS:
        if name in frame.columns and not frame.schema[name].is_numeric():
            frame = _numbers(loaded, name)
            loaded = Loaded(frame, path, fmt)
    return loaded


def _read(path: Path, fmt: str, label: str) -> Loaded:
    _check_readable(path, label)
    source: Any = str(path)
    with contextlib.ExitStack() as stack:
        if _GLOB & set(source):
            # polars would take the name for a pattern of names
            source = stack.enter_context(path.open("rb"))
        try:
            frame = _polars_read(source, fmt, label)
        except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
            where = _diagnose(path, fmt, label) or _polars_message(exc)
            raise CommandError(f"{label} file {path}: cannot read it as {fmt}: {where}") from exc
    return Loaded(frame, path, fmt)


def _polars_read(source: Any, fmt: str, label: str) -> pl.DataFrame:
    if fmt == "csv":
        return pl.read_csv(source, infer_schema=False)
    if fmt == "jsonl":
        try:
            return pl.read_ndjson(source, infer_schema_length=None)
        except pl.exceptions.ComputeError:
            if _blank(source):  # no lines, no rows: polars cannot tell the columns
                return pl.DataFrame(schema=dict.fromkeys(_REQUIRED[label], pl.String))
            raise
    return pl.read_parquet(source)


def _blank(source: Any) -> bool:
    """Whether a file (a name or an open binary file) holds nothing but white space."""
    if isinstance(source, str):
        with open(source, "rb") as file:
            return _blank(file)
    source.seek(0)
    return all(not line.strip() for line in source)


def _check_readable(path: Path, label: str) -> None:
    if not path.exists():
        raise CommandError(f"{label} file {path}: no such file")
    if path.is_dir():
        raise CommandError(f"{label} file {path}: is a directory")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise CommandError(f"{label} file {path}: cannot open it: {exc.strerror}") from None


def _polars_message(exc: BaseException) -> str:
    """The part of a polars error that says what is wrong (it adds advice, at length)."""
    text = str(exc)
    if "Original error: ```" in text:
        text = text.split("Original error: ```", 1)[1].split("```", 1)[0]
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return "; ".join(lines[:2]) or type(exc).__name__


def _diagnose(path: Path, fmt: str, label: str) -> str | None:
    """Where a file that polars could not read goes wrong, line by line (None: unknown)."""
    try:
        if fmt == "jsonl":
            return _diagnose_jsonl(path, _NUMBERS if label == "events" else ())
        if fmt == "csv":
            return _diagnose_csv(path)
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text ({exc.reason} at byte {exc.start} of a line)"
    return None


def _diagnose_jsonl(path: Path, numbers: tuple[str, ...]) -> str | None:
    with path.open(encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                return f"line {number}: not valid JSON ({exc.msg}, column {exc.colno})"
            if not isinstance(value, dict):
                return f"line {number}: a JSON {type(value).__name__}, not an object"
            for name in numbers:
                given = value.get(name)
                if given is not None and (
                    isinstance(given, bool) or not isinstance(given, int | float | str)
                ):
                    return f"line {number}: field {name!r} holds {given!r}, which is not a number"
    return None


def _diagnose_csv(path: Path) -> str | None:
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if header is None:
            return "the file is empty (not even a header)"
        try:
            for row in reader:
                if len(row) > len(header):
                    return (
                        f"line {reader.line_num}: {len(row)} fields, but the header has "
                        f"{len(header)}"
                    )
        except csv.Error as exc:
            return f"line {reader.line_num}: {exc}"
    return None


def _numbers(loaded: Loaded, name: str) -> pl.DataFrame:
    """Column ``name`` as numbers; a value that is none is an error naming its line."""
    frame = loaded.frame
    column = pl.col(name)
    converted = column.str.strip_chars().cast(pl.Float64, strict=False)
    if frame.schema[name] == pl.String:
        bad = column.is_not_null() & converted.is_null()
    else:  # JSON Lines of booleans, arrays or objects there: none is a number
        bad = column.is_not_null()
    found = frame.with_row_index("_row").filter(bad)
    if found.height:
        row, value = found.row(0)[0], found.get_column(name)[0]
        raise CommandError(
            f"events file {loaded.path}: {loaded.where(row)}: column {name!r} holds "
            f"{value!r}, which is not a number"
        )
    return frame.with_columns(converted.alias(name))


# -- writing -------------------------------------------------------------------------


def write_frame(frame: pl.DataFrame, path: Path, fmt: str) -> None:
    """Write ``frame`` to ``path`` as ``fmt``, whole or not at all."""
    writers: Mapping[str, Callable[[IO[bytes]], None]] = {
        "csv": frame.write_csv,
        "jsonl": frame.write_ndjson,
        "parquet": frame.write_parquet,
    }
    write_atomically(path, writers[fmt])


def write_atomically(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write`` with a temporary file next to ``path``, then rename it into place.

    A failure (or an interruption) leaves no file behind and an older ``path`` as it
    was: the rename is atomic. The file gets the permissions a new file would get.
    """
    directory = path.parent
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
