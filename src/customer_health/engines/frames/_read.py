"""Reading frames: any supported frame into polars, column renamings, and the
checks of ids and instants every frame goes through."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

import narwhals.stable.v2 as nw
import polars as pl

from ..._terms import COLUMNS, COLUMNS_MAPPING
from ...exceptions import (
    CustomerHealthError,
    InvalidCustomerError,
    InvalidEventError,
    InvalidInputError,
)
from ._iso import instants_of_form
from ._schema import CUSTOMER_COLUMNS, EVENT_COLUMNS, REQUIRED_EVENT_COLUMNS, SHOWN

# -- reading frames -------------------------------------------------------------------------


def to_polars(frame: Any, label: str) -> pl.DataFrame:
    """``frame`` as a polars DataFrame, categorical text read as plain text."""
    converted = _polars(frame, label)
    categorical = [
        name
        for name, dtype in converted.schema.items()
        if isinstance(dtype, pl.Categorical | pl.Enum)
    ]
    return converted.with_columns(pl.col(categorical).cast(pl.String)) if categorical else converted


def _polars(frame: Any, label: str) -> pl.DataFrame:
    if isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    try:
        wrapped = nw.from_native(frame)
    except TypeError:
        error = InvalidCustomerError if label == "customers" else InvalidEventError
        raise error(
            f"{label} is a {type(frame).__name__}; expected a pandas, polars, pyarrow or "
            "DuckDB frame"
        ) from None
    if isinstance(wrapped, nw.LazyFrame):
        return wrapped.collect(backend="polars").to_native()  # type: ignore[no-any-return]
    if wrapped.implementation is nw.Implementation.PANDAS:
        # Through Arrow (which the pandas extra brings): polars' own pandas reader
        # turns datetime columns with NaT into polars many times slower. Both read NaN
        # in float columns as null.
        import pyarrow as pa  # type: ignore[import-untyped]

        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        except OverflowError:  # a column of Python integers beyond 64 bits
            raise _too_large(frame, label) from None
        return pl.from_arrow(table)  # type: ignore[return-value]
    polars_frame: pl.DataFrame = wrapped.to_polars()
    return polars_frame


def _too_large(frame: Any, label: str) -> InvalidInputError:
    """The error of a pandas frame holding Python integers beyond 64 bits (an object
    column), naming the column and a few of those values."""
    error = InvalidCustomerError if label == "customers" else InvalidEventError
    for name in frame.columns:
        large = [
            value
            for value in frame[name]
            if isinstance(value, int) and not -(2**63) <= value < 2**64
        ]
        if large:
            return error(f"column {name!r} of {label} has integers beyond 64 bits: {large[:SHOWN]}")
    return error(f"{label} frame has integers beyond 64 bits")  # pragma: no cover


def _is_spark(frame: Any) -> bool:
    """Whether ``frame`` is a PySpark DataFrame (classic or Spark Connect), without
    importing pyspark."""
    kind = type(frame)
    return kind.__module__.split(".")[0] == "pyspark" and kind.__name__ == "DataFrame"


def _both_spark(customers: Any, events: Any) -> None:
    """Spark frames are scored by Spark: both must be Spark DataFrames."""
    for label, frame in (("customers", customers), ("events", events)):
        if not _is_spark(frame):
            raise InvalidInputError(
                f"{label} is a {type(frame).__module__}.{type(frame).__name__} but the other "
                "frame is a PySpark DataFrame; pass both as Spark DataFrames (or neither)"
            )


def restorer(frame: Any) -> Callable[[pl.DataFrame], Any]:
    """How to turn the result into the type of ``frame`` (lazy in, lazy out)."""
    if isinstance(frame, pl.DataFrame):
        return lambda result: result
    if isinstance(frame, pl.LazyFrame):
        return lambda result: result.lazy()
    module = type(frame).__module__.split(".")[0]
    if module == "pandas":
        return lambda result: result.to_pandas()
    if module == "pyarrow":
        return lambda result: result.to_arrow()
    if module in ("duckdb", "_duckdb"):
        import duckdb

        # The result must live on the caller's connection to be joined with its tables;
        # relations expose it only as ``_con`` (else: DuckDB's default connection).
        connection = getattr(frame, "_con", None) or duckdb
        return lambda result: connection.from_arrow(result.to_arrow())
    return lambda result: nw.from_native(result).to_native()  # pragma: no cover


def _renamed(
    people: pl.DataFrame, events: pl.DataFrame, columns: Mapping[str, str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply ``columns`` (yours -> ours): customer names to customers, event names to events."""
    people_names, event_names = renamings(people.columns, events.columns, columns)
    return people.rename(people_names), events.rename(event_names)


def renamings(
    people: list[str], events: list[str], columns: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The renamings ``columns`` (yours -> ours) makes of the customers' and the events'
    columns (``people`` and ``events``), checked; shared with the Spark path."""
    for yours, ours in columns.items():
        if ours not in EVENT_COLUMNS and ours not in CUSTOMER_COLUMNS:
            raise InvalidInputError(
                f"{COLUMNS} maps {yours!r} onto {ours!r}, which is no column name; customer "
                f"columns: {', '.join(CUSTOMER_COLUMNS)}; event columns: "
                f"{', '.join(EVENT_COLUMNS)}"
            )
        if yours not in people and yours not in events:
            raise InvalidInputError(
                f"{COLUMNS} names {yours!r}, which is in neither the customers nor the events frame"
            )
    return _rename(people, columns, CUSTOMER_COLUMNS), _rename(events, columns, EVENT_COLUMNS)


def _rename(present: list[str], columns: Mapping[str, str], names: Any) -> dict[str, str]:
    mapping = {yours: ours for yours, ours in columns.items() if ours in names and yours in present}
    for yours, ours in mapping.items():
        if ours in present and ours not in mapping:
            raise InvalidInputError(
                f"{COLUMNS} maps {yours!r} onto {ours!r}, but the frame has a column {ours!r} "
                "already; drop one or map it elsewhere"
            )
    return mapping


def _rows(frame: pl.DataFrame | pl.LazyFrame, mask: pl.Expr, columns: list[str]) -> str:
    """A few of the rows ``mask`` selects, with their row numbers, for an error message."""
    selected = frame.lazy().with_row_index("row").filter(mask).select(["row", *columns])
    return "; ".join(str(row) for row in selected.head(SHOWN).collect().to_dicts())


def check_event_columns(frame: Any) -> None:
    """Raise unless ``frame`` (of any kind with a list of ``columns``) has every required
    event column and no column that is no event field."""
    _missing(frame, REQUIRED_EVENT_COLUMNS, "events")
    unknown = [name for name in frame.columns if name not in EVENT_COLUMNS]
    if unknown:
        raise InvalidEventError(
            f"events frame has columns that are no event field: {unknown} (event columns: "
            f"{', '.join(EVENT_COLUMNS)}); drop them, or map them with {COLUMNS}"
        )


def _missing(frame: Any, required: tuple[str, ...], label: str) -> None:
    """Raise if ``frame`` (of any kind with a list of ``columns``) lacks a column."""
    absent = [name for name in required if name not in frame.columns]
    if absent:
        error = InvalidCustomerError if label == "customers" else InvalidEventError
        raise error(
            f"{label} frame has no column {absent[0]!r} (columns: {list(frame.columns)}); "
            f"map your own names with {COLUMNS_MAPPING}"
        )


def id_column(frame: pl.DataFrame, name: str, label: str) -> pl.DataFrame:
    """``name`` as text ids (integers read as text); see :func:`_bad_ids` for the values."""
    error = InvalidCustomerError if label == "customers" else InvalidEventError
    dtype = frame.schema[name]
    if dtype.is_integer() or dtype == pl.Null:
        return frame.with_columns(pl.col(name).cast(pl.String))
    if dtype != pl.String:
        raise error(f"column {name!r} of {label} is {dtype}; expected text or integers")
    return frame


def _bad_ids(frame: pl.DataFrame, name: str, label: str, required: bool) -> _Check | None:
    """The check of an id column: no empty ids, nor null ones if ``required`` (None when
    no row can break it)."""
    error = InvalidCustomerError if label == "customers" else InvalidEventError
    column = pl.col(name)
    bad = _either(
        column.is_null() if required and _has_nulls(frame, name) else None,
        column == "" if _has_values(frame, name) else None,
    )
    if bad is None:
        return None
    return _rule(frame, error, bad, f"column {name!r} of {label} has null or empty ids", [name])


class _Check(NamedTuple):
    """A rule on rows: the mask of the rows that break it, and the error to raise then
    (built only when needed: it shows a few of those rows)."""

    mask: pl.Expr
    error: Callable[[], CustomerHealthError]


def _rule(
    frame: pl.DataFrame | pl.LazyFrame,
    error: type[CustomerHealthError],
    mask: pl.Expr,
    message: str,
    shown: list[str],
) -> _Check:
    """The check whose error is ``message`` followed by a few of the rows that break it."""
    return _Check(mask, lambda: error(f"{message}: {_rows(frame, mask, shown)}"))


def _enforce(frame: pl.DataFrame | pl.LazyFrame, checks: list[_Check]) -> None:
    """Raise the error of the first of ``checks`` that a row of ``frame`` breaks: one
    scan for all of them; only a failing one looks at its rows again."""
    if not checks:
        return
    flags = frame.lazy().select([check.mask.any().alias(str(i)) for i, check in enumerate(checks)])
    for found, check in zip(flags.collect().row(0), checks, strict=True):
        if found:
            raise check.error()


def _has_nulls(frame: pl.DataFrame, name: str) -> bool:
    """Whether the column has nulls: polars keeps the count, so this reads no values."""
    return frame.get_column(name).null_count() > 0


def _has_values(frame: pl.DataFrame, name: str) -> bool:
    """Whether the column has a value other than null (read from the count as well)."""
    return frame.get_column(name).null_count() < frame.height


def _either(*masks: pl.Expr | None) -> pl.Expr | None:
    """The masks or'ed together, leaving out the None ones (None if all are)."""
    present = [mask for mask in masks if mask is not None]
    return functools.reduce(operator.or_, present) if present else None


def _any_of(flags: Iterable[pl.Expr]) -> pl.Expr:
    """The flags or'ed together (false if there are none)."""
    return functools.reduce(operator.or_, flags, pl.lit(False))


def instant_column(frame: pl.DataFrame, name: str, label: str) -> pl.DataFrame:
    """``name`` as a naive UTC ``datetime[us]``: naive read as UTC, aware converted."""
    error = InvalidCustomerError if label == "customers" else InvalidEventError
    dtype = frame.schema[name]
    column = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            column = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return frame.with_columns(column.cast(pl.Datetime("us")))
    if dtype in (pl.Date, pl.Null):
        return frame.with_columns(column.cast(pl.Datetime("us")))
    if dtype == pl.String:
        return _parsed(frame, name, error)
    raise error(f"column {name!r} of {label} is {dtype}; expected datetimes or ISO 8601 text")


# -- text instants ----------------------------------------------------------------------------
#
# Text is read as the event models read it (pydantic, then UTC): :func:`instant_of_text`
# is that rule for one text. A column of text would cost a pydantic call per distinct
# value, so :func:`~._iso.instants_of_form` reads the form ``sample`` and most clients
# write (``2026-06-30T12:34:56[.ffffff][Z|+hh:mm]``, fields in range) vectorised, and only
# the rows it leaves undecided go through :func:`instant_of_text`, once per distinct
# text. It decides a row only where pydantic gives the same instant, so what is
# accepted and what each text means stay exactly pydantic's.


def instant_of_text(text: str) -> datetime | None:
    """``text`` as the event models read it (pydantic, then converted to UTC), as a naive
    UTC datetime; None if they would reject it (not a date or time, or out of range
    once in UTC). The polars and the Spark engines read text instants with it."""
    from pydantic import ValidationError

    try:
        value: datetime = _instant_adapter().validate_python(text)
    except ValidationError:
        return None
    return value.replace(tzinfo=None)


@functools.cache
def _instant_adapter() -> Any:
    """The event models' rule for an instant (pydantic's datetime, then UTC)."""
    from pydantic import TypeAdapter

    from ...models import UtcDatetime

    return TypeAdapter(UtcDatetime)


def _parsed(frame: pl.DataFrame, name: str, error: type[InvalidInputError]) -> pl.DataFrame:
    """``name`` (text) as naive UTC instants, read as :func:`instant_of_text` reads them;
    an error naming a few rows if any text is not a date or time."""
    column = frame.get_column(name)
    if column.null_count() == 0:
        texts = column
        fast = decided = instants_of_form(texts)
    else:  # the text alone (an optional column is mostly null), then put back in its rows
        present = column.is_not_null().arg_true()
        texts = column.gather(present)
        decided = instants_of_form(texts)
        fast = pl.Series(name, dtype=pl.Datetime("us")).extend_constant(None, frame.height)
        fast = fast.scatter(present, decided)
    if decided.null_count() == 0:  # every text read: nothing left for pydantic
        return frame.with_columns(fast.alias(name))
    undecided = texts.filter(decided.is_null()).unique()
    mapping = {text: instant_of_text(text) for text in undecided.to_list()}
    bad = [text for text, value in mapping.items() if value is None]
    if bad:
        mask = pl.col(name).is_in(pl.Series(bad, dtype=pl.String).implode())
        raise error(
            f"column {name!r} has text that is not a date or time: {_rows(frame, mask, [name])}"
        )
    slow = pl.Series(list(mapping.values()), dtype=pl.Datetime("us"))
    others = pl.col(name).replace_strict(undecided, slow, default=None)
    return frame.with_columns(pl.coalesce(pl.lit(fast), others).alias(name))
