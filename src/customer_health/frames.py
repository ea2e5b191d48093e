"""Scoring DataFrames: pandas, polars, pyarrow and DuckDB in, the same type out.

:func:`score_frame` reads the customers and events frames into polars (a no-op for
polars input), checks and normalises them exactly as the object path does (UTC
instants, defaults, per-kind fields, ``event_id`` de-duplication), computes every
factor's inputs with its frame form (narwhals expressions, so the same code can run on
other engines), scores them with vectorised expressions, and hands back a frame of
the customers' type. Factors without a frame form get their customers' events as
models, one customer at a time (slower; a :class:`SlowPathWarning` says so).

Inside, every instant is a naive ``datetime[us]`` in UTC.
"""

from __future__ import annotations

import functools
import json
import operator
import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from ._engine import checked, empty_inputs, guard, status_cutoff
from ._format import plural, some
from ._time import DAY_US
from .exceptions import (
    ConfigurationError,
    CustomerHealthError,
    CustomersLeftOutWarning,
    EventConflictError,
    InvalidCustomerError,
    InvalidEventError,
    InvalidInputError,
    MissingExtraError,
    SlowPathWarning,
    UnknownCustomerError,
    UnknownSegmentError,
)
from .models import BUILTIN_KINDS, Customer, to_utc

try:
    import narwhals.stable.v2 as nw
    import polars as pl
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise MissingExtraError(exc.name or "polars", "polars", "score_frame()") from exc

if TYPE_CHECKING:
    from ._engine import ActiveFactor
    from .factors import FactorResult
    from .scoring import Scorer

__all__ = ["EVENT_COLUMNS", "score_frame"]

_SHOWN = 5

_PRIORITIES = ("low", "normal", "high", "urgent")

EVENT_COLUMNS: Mapping[str, str] = {
    "customer_id": "id",
    "kind": "text",
    "occurred_at": "instant",
    "event_id": "id",
    "quantity": "integer",
    "feature": "text",
    "due_at": "instant",
    "paid_at": "instant",
    "amount": "number",
    "priority": "text",
    "resolved_at": "instant",
    "user_id": "id",
    "properties": "json",
}
"""The event columns and what each holds; all but the first three are optional."""
_REQUIRED_EVENT_COLUMNS = ("customer_id", "kind", "occurred_at")
_FIELDS_OF_KIND: Mapping[str, frozenset[str]] = {
    "quantity": frozenset({"api_call"}),
    "user_id": frozenset({"login"}),
    "feature": frozenset({"feature_used"}),
    "due_at": frozenset({"payment"}),
    "paid_at": frozenset({"payment"}),
    "amount": frozenset({"payment"}),
    "priority": frozenset({"support_ticket"}),
    "resolved_at": frozenset({"support_ticket"}),
}
"""The built-in kinds that have each optional field; ``properties`` is for custom kinds."""
_CUSTOMER_COLUMNS = ("id", "segment", "name", "created_at")


def score_frame(
    scorer: Scorer,
    customers: Any,
    events: Any,
    *,
    as_of: datetime | date | str | None = None,
    columns: Mapping[str, str] | None = None,
    unknown_customers: str = "error",
) -> Any:
    """Score every customer in ``customers`` from ``events``; see :meth:`Scorer.score_frame`."""
    from ._inputs import resolve_as_of

    if unknown_customers not in ("error", "skip"):
        raise ConfigurationError(f"unknown_customers={unknown_customers!r}; use 'error' or 'skip'")
    instant = resolve_as_of(as_of).replace(tzinfo=None)
    if _is_spark(customers) or _is_spark(events):
        _both_spark(customers, events)
        from ._spark import score_spark

        return score_spark(scorer, customers, events, instant, columns or {}, unknown_customers)
    restore = _restorer(customers)
    checked = checked_frames(scorer, customers, events, columns, unknown_customers)
    people, left_out = _existing(checked.people, instant)
    frame, relevant = counted_events(checked, left_out)
    return restore(scored_frame(scorer, people, frame, relevant, instant, stacklevel=4))


class CheckedFrames(NamedTuple):
    """The customers and events frames, read into polars and checked; see
    :func:`checked_frames`."""

    people: pl.DataFrame
    """The customers, with ``id``, ``segment`` and ``created_at`` (naive UTC) checked."""
    events: pl.DataFrame
    """The events, with every event column, typed and checked."""
    known: pl.Expr
    """Whether an event's customer is in ``people``."""
    skip_unknown: bool
    """Whether events of other customers are skipped (they are an error otherwise)."""


def checked_frames(
    scorer: Scorer,
    customers: Any,
    events: Any,
    columns: Mapping[str, str] | None,
    unknown_customers: str,
) -> CheckedFrames:
    """Read both frames into polars, apply ``columns`` and check them as the models would;
    with ``unknown_customers="error"``, events of customers not in ``customers`` are an
    error. Done once, whatever the number of instants scored from them."""
    people_frame = _to_polars(customers, "customers")
    events_frame = _to_polars(events, "events")
    people_frame, events_frame = _renamed(people_frame, events_frame, columns or {})
    people = _customers(people_frame, scorer)
    known = pl.col("customer_id").is_in(people.get_column("id").implode())
    skip = unknown_customers == "skip"
    frame = _events(events_frame, None if skip else known)
    return CheckedFrames(people, frame, known, skip)


def counted_events(checked: CheckedFrames, left_out: pl.Series) -> tuple[pl.DataFrame, pl.Expr]:
    """The events and the condition on their rows that says which count: those of known
    customers not in ``left_out``, each ``event_id`` once (copies are checked to agree)."""
    frame = checked.events
    known = checked.known
    # The events that count: those of known customers who existed at as_of (with the
    # default unknown_customers="error", every event is a known customer's by now).
    conditions = [known] if checked.skip_unknown else []
    if left_out.len():
        conditions.append(~pl.col("customer_id").is_in(left_out.implode()))
    relevant = functools.reduce(operator.and_, conditions, pl.lit(True))
    masks = [frame.select(relevant).to_series()] if conditions else []
    keep = _first_copies(frame, relevant)
    if keep is not None:
        masks.append(keep)
    if masks:
        # Evaluated once, not in each factor's query; a column, not a literal mask, so
        # that polars folds it into each factor's own filter instead of copying the
        # whole frame first.
        frame = frame.with_columns(functools.reduce(operator.and_, masks).alias("_counts"))
        relevant = pl.col("_counts")
    return frame, relevant


def scored_frame(
    scorer: Scorer,
    people: pl.DataFrame,
    frame: pl.DataFrame,
    relevant: pl.Expr,
    instant: datetime,
    *,
    stacklevel: int,
) -> pl.DataFrame:
    """The scores at ``instant`` (naive UTC) of ``people`` (who all existed then) from the
    rows of ``frame`` where ``relevant`` holds (none of another customer's), as a polars
    frame with the columns of :func:`score_frame`. Warnings point ``stacklevel`` frames
    up from this function's (as :func:`warnings.warn` counts)."""
    # Everything below stays lazy: each factor's query reads only its own rows and
    # columns, instead of copying the whole events frame at every step.
    rows = _normalised(frame.lazy().filter(relevant, pl.col("occurred_at") <= instant))
    people = people.with_columns(
        tenure_days=(pl.lit(instant) - pl.col("created_at")).dt.total_microseconds() / DAY_US
    )
    table = people.select(pl.col("id").alias("customer_id"))
    hashed = _distinct_hashes(people.get_column("id"))
    queries = [_factor_query(active, people, rows, instant, hashed) for active in scorer._active]
    found = iter(_collected(scorer._active, [inputs for _, inputs in queries]))
    parts = []
    for active, (mine, inputs) in zip(scorer._active, queries, strict=True):
        given = None if inputs is None else next(found)
        score, value = _factor_columns(scorer, active, people, mine, given, instant, stacklevel + 1)
        parts.append((active, score, value))
    table = table.with_columns(
        [score.alias(active.name) for active, score, _ in parts]
        + [value.alias(f"{active.name}_value") for active, _, value in parts]
    )
    table = _combine(scorer, table)
    ordered = ["customer_id", "score", "status", "coverage"]
    for active, _, _ in parts:
        ordered += [active.name, f"{active.name}_value"]
    return table.select(ordered)


# -- reading frames -------------------------------------------------------------------------


def _to_polars(frame: Any, label: str) -> pl.DataFrame:
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
        raise InvalidInputError(
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

        table = pa.Table.from_pandas(frame, preserve_index=False)
        return pl.from_arrow(table)  # type: ignore[return-value]
    polars_frame: pl.DataFrame = wrapped.to_polars()
    return polars_frame


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


def _restorer(frame: Any) -> Callable[[pl.DataFrame], Any]:
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
        if ours not in EVENT_COLUMNS and ours not in _CUSTOMER_COLUMNS:
            raise InvalidInputError(
                f"columns= maps {yours!r} onto {ours!r}, which is no column name; customer "
                f"columns: {', '.join(_CUSTOMER_COLUMNS)}; event columns: "
                f"{', '.join(EVENT_COLUMNS)}"
            )
        if yours not in people and yours not in events:
            raise InvalidInputError(
                f"columns= names {yours!r}, which is in neither the customers nor the events frame"
            )
    return _rename(people, columns, _CUSTOMER_COLUMNS), _rename(events, columns, EVENT_COLUMNS)


def _rename(present: list[str], columns: Mapping[str, str], names: Any) -> dict[str, str]:
    mapping = {yours: ours for yours, ours in columns.items() if ours in names and yours in present}
    for yours, ours in mapping.items():
        if ours in present and ours not in mapping:
            raise InvalidInputError(
                f"columns= maps {yours!r} onto {ours!r}, but the frame has a column {ours!r} "
                "already; drop one or map it elsewhere"
            )
    return mapping


def _rows(frame: pl.DataFrame | pl.LazyFrame, mask: pl.Expr, columns: list[str]) -> str:
    """A few of the rows ``mask`` selects, with their row numbers, for an error message."""
    selected = frame.lazy().with_row_index("row").filter(mask).select(["row", *columns])
    return "; ".join(str(row) for row in selected.head(_SHOWN).collect().to_dicts())


def _missing(frame: Any, required: tuple[str, ...], label: str) -> None:
    """Raise if ``frame`` (of any kind with a list of ``columns``) lacks a column."""
    absent = [name for name in required if name not in frame.columns]
    if absent:
        error = InvalidCustomerError if label == "customers" else InvalidEventError
        raise error(
            f"{label} frame has no column {absent[0]!r} (columns: {list(frame.columns)}); "
            "map your own names with columns={'yours': 'ours'}"
        )


def _id_column(frame: pl.DataFrame, name: str, label: str) -> pl.DataFrame:
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


def _instant_column(frame: pl.DataFrame, name: str, label: str) -> pl.DataFrame:
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


def _parsed(frame: pl.DataFrame, name: str, error: type[InvalidInputError]) -> pl.DataFrame:
    # Parsed like the object path parses text (pydantic), one distinct value at a time.
    from pydantic import ValidationError

    from ._inputs import DATETIME_ADAPTER as adapter

    mapping: dict[str, datetime | None] = {}
    for text in frame.get_column(name).drop_nulls().unique().to_list():
        try:
            mapping[text] = to_utc(adapter.validate_python(text)).replace(tzinfo=None)
        except ValidationError:
            mapping[text] = None
    bad = [text for text, value in mapping.items() if value is None]
    if bad:
        mask = pl.col(name).is_in(bad)
        raise error(
            f"column {name!r} has text that is not a date or time: {_rows(frame, mask, [name])}"
        )
    parsed = pl.col(name).replace_strict(mapping, default=None, return_dtype=pl.Datetime("us"))
    return frame.with_columns(parsed)


# -- customers ---------------------------------------------------------------------------------


def _customers(frame: pl.DataFrame, scorer: Scorer) -> pl.DataFrame:
    _missing(frame, ("id", "segment"), "customers")
    frame = _id_column(frame, "id", "customers")
    bad_ids = _bad_ids(frame, "id", "customers", required=True)
    _enforce(frame, [] if bad_ids is None else [bad_ids])
    if frame.schema["segment"] != pl.String:
        raise InvalidCustomerError(
            f"column 'segment' of customers is {frame.schema['segment']}; expected text"
        )
    if "created_at" not in frame.columns:
        frame = frame.with_columns(created_at=pl.lit(None, dtype=pl.Datetime("us")))
    frame = _instant_column(frame, "created_at", "customers")
    known = scorer.segments
    unknown = pl.col("segment").is_null() | ~pl.col("segment").is_in(list(known))
    _enforce(
        frame,
        [
            _rule(
                frame,
                InvalidCustomerError,
                pl.col("id").is_duplicated(),
                "column 'id' of customers has ids that appear twice",
                ["id"],
            ),
            _rule(
                frame,
                UnknownSegmentError,
                unknown,
                "column 'segment' of customers has unknown segments (known segments: "
                f"{', '.join(sorted(known))})",
                ["id", "segment"],
            ),
        ],
    )
    return frame


def _existing(people: pl.DataFrame, as_of: datetime) -> tuple[pl.DataFrame, pl.Series]:
    """Leave out customers created after ``as_of``, with a warning; return their ids too."""
    later = pl.col("created_at") > as_of
    left_out = people.filter(later)
    ids = left_out.get_column("id")
    if left_out.height == 0:
        return people, ids
    warnings.warn(
        left_out_warning(left_out.height, ids.head(_SHOWN).to_list(), as_of), stacklevel=4
    )
    return people.filter(~later.fill_null(False)), ids  # no created_at: it existed


def left_out_warning(count: int, shown: list[str], as_of: datetime) -> CustomersLeftOutWarning:
    """The warning for ``count`` customers created after ``as_of``, ``shown`` the first."""
    return CustomersLeftOutWarning(
        f"{plural(count, 'customer')} created after as_of {as_of.isoformat()}Z "
        f"left out: {', '.join(repr(i) for i in shown[:_SHOWN])}"
        + (" ..." if count > _SHOWN else "")
    )


# -- events -----------------------------------------------------------------------------------


def _events(frame: pl.DataFrame, known: pl.Expr | None) -> pl.DataFrame:
    """The checked events frame; with ``known``, events of unknown customers are an error."""
    _missing(frame, _REQUIRED_EVENT_COLUMNS, "events")
    unknown = [name for name in frame.columns if name not in EVENT_COLUMNS]
    if unknown:
        raise InvalidEventError(
            f"events frame has columns that are no event field: {unknown} (event columns: "
            f"{', '.join(EVENT_COLUMNS)}); drop them, or map them with columns="
        )
    for name, role in EVENT_COLUMNS.items():
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=_DTYPES[role]).alias(name))
    for name, role in EVENT_COLUMNS.items():
        if role == "id":
            frame = _id_column(frame, name, "events")
        elif role == "instant":
            frame = _instant_column(frame, name, "events")
    frame = _typed(frame)
    _check_fields(frame, known)
    return _properties_key(frame)


def _defaults() -> list[pl.Expr]:
    """The defaults of the event models: quantity 1 on API calls, priority normal."""
    return [
        pl.when(pl.col("kind") == "api_call")
        .then(pl.col("quantity").fill_null(1))
        .otherwise(pl.col("quantity"))
        .alias("quantity"),
        pl.when(pl.col("kind") == "support_ticket")
        .then(pl.col("priority").fill_null("normal"))
        .otherwise(pl.col("priority"))
        .alias("priority"),
    ]


def _normalised(rows: pl.LazyFrame) -> pl.LazyFrame:
    """The events with the models' defaults filled in, and only the event columns."""
    return rows.with_columns(_defaults()).select(list(EVENT_COLUMNS))


def _properties_key(frame: pl.DataFrame) -> pl.DataFrame:
    """Check ``properties`` holds JSON objects; add the canonical form de-duplication
    compares (key order and a missing or empty mapping do not make two copies differ)."""
    texts = frame.get_column("properties").drop_nulls()
    if texts.len() == 0:
        return frame.with_columns(_properties_key=pl.lit(None, dtype=pl.String))
    decoded = _decoded(frame)
    fields = decoded.schema["properties"]
    assert isinstance(fields, pl.Struct)
    names = sorted(field.name for field in fields.fields)
    ordered = pl.struct([pl.col("properties").struct.field(name) for name in names])
    empty = pl.all_horizontal([pl.col("properties").struct.field(n).is_null() for n in names])
    key = (
        pl.when(pl.col("properties").is_null() | empty)
        .then(None)
        .otherwise(ordered.struct.json_encode())
    )
    return frame.with_columns(_properties_key=decoded.select(key).to_series())


_DTYPES: Mapping[str, Any] = {
    "id": pl.String,
    "text": pl.String,
    "instant": pl.Datetime("us"),
    "integer": pl.Int64,
    "number": pl.Float64,
    "json": pl.String,
}


def _typed(frame: pl.DataFrame) -> pl.DataFrame:
    schema = frame.schema
    for name in ("kind", "feature", "priority"):
        if schema[name] == pl.Null:
            frame = frame.with_columns(pl.col(name).cast(pl.String))
        elif schema[name] != pl.String:
            raise InvalidEventError(f"column {name!r} of events is {schema[name]}; expected text")
    quantity = schema["quantity"]
    if quantity.is_float():
        fractional = pl.col("quantity").is_not_null() & (pl.col("quantity") % 1 != 0)
        if frame.select(fractional.any()).item():
            raise InvalidEventError(
                f"column 'quantity' has numbers that are not whole: "
                f"{_rows(frame, fractional, ['kind', 'quantity'])}"
            )
    elif not (quantity.is_integer() or quantity == pl.Null):
        raise InvalidEventError(f"column 'quantity' of events is {quantity}; expected integers")
    amount = schema["amount"]
    if not (amount.is_numeric() or amount == pl.Null):
        raise InvalidEventError(f"column 'amount' of events is {amount}; expected numbers")
    properties = schema["properties"]
    if isinstance(properties, pl.Struct):
        encoded = pl.col("properties").struct.json_encode()
        frame = frame.with_columns(
            pl.when(pl.col("properties").is_null())
            .then(None)
            .otherwise(encoded)
            .alias("properties")
        )
    elif properties not in (pl.String, pl.Null):
        raise InvalidEventError(
            f"column 'properties' of events is {properties}; expected a struct or JSON text"
        )
    return frame.with_columns(
        pl.col("quantity").cast(pl.Int64),
        pl.col("amount").cast(pl.Float64),
        pl.col("properties").cast(pl.String),
    )


def _check_fields(frame: pl.DataFrame, known: pl.Expr | None) -> None:
    """Reject what the event models reject: null or empty ids, bad values, and fields a
    kind lacks; and, given ``known``, events of customers not in the customers frame.

    One scan for every check, reading only what can be bad. Nulls are counted, not
    looked for (polars keeps each column's count): a check on the values of a column
    that has none is left out, and so is a check for nulls where there are none. Each
    built-in kind is compared once, into a flag the checks share (comparing text is
    cheap; casting ``kind`` to a categorical first costs more than it saves).
    """
    flag = {name: pl.col(f"_is_{name}") for name in BUILTIN_KINDS}
    probe = frame.lazy().with_columns(
        (pl.col("kind") == name).alias(f"_is_{name}") for name in BUILTIN_KINDS
    )
    kind, feature, amount = pl.col("kind"), pl.col("feature"), pl.col("amount")
    nulls = functools.partial(_has_nulls, frame)
    values = functools.partial(_has_values, frame)
    no_feature = _either(
        feature.is_null() if nulls("feature") else None,
        feature == "" if values("feature") else None,
    )
    checks = [
        _bad_ids(frame, name, "events", required=name == "customer_id")
        for name, role in EVENT_COLUMNS.items()
        if role == "id"
    ]
    rules: list[tuple[pl.Expr | None, str, list[str]]] = [
        (
            _either(kind.is_null() if nulls("kind") else None, kind == ""),
            "column 'kind' has null or empty kinds",
            ["kind"],
        ),
        (
            pl.col("occurred_at").is_null() if nulls("occurred_at") else None,
            "column 'occurred_at' has null instants",
            ["customer_id", "kind", "occurred_at"],
        ),
        (
            flag["api_call"] & (pl.col("quantity") < 1) if values("quantity") else None,
            "column 'quantity' has api_call quantities below 1",
            ["kind", "quantity"],
        ),
        (
            None if no_feature is None else flag["feature_used"] & no_feature,
            "column 'feature' is null or empty on feature_used events",
            ["kind", "feature"],
        ),
        (
            flag["payment"] & pl.col("due_at").is_null() if nulls("due_at") else None,
            "column 'due_at' is null on payment events",
            ["kind", "due_at"],
        ),
        (
            amount.is_nan() | amount.is_infinite() | (amount < 0) if values("amount") else None,
            "column 'amount' has negative, NaN or infinite amounts",
            ["kind", "amount"],
        ),
        (
            flag["support_ticket"]
            & pl.col("priority").is_not_null()
            & ~pl.col("priority").is_in(list(_PRIORITIES))
            if _foreign_priorities(frame)
            else None,
            f"column 'priority' has priorities other than {', '.join(_PRIORITIES)}",
            ["kind", "priority"],
        ),
        (
            _any_of(flag.values()) & pl.col("properties").is_not_null()
            if values("properties")
            else None,
            "column 'properties' has values on events of built-in kinds, which carry their "
            "data in their own columns",
            ["kind", "properties"],
        ),
    ]
    for name, kinds in _FIELDS_OF_KIND.items():
        rules.append(
            (
                pl.col(name).is_not_null() & ~_any_of(flag[k] for k in kinds)
                if values(name)
                else None,
                f"column {name!r} has values on events of kinds other than "
                f"{', '.join(sorted(kinds))}, which have no such field",
                ["kind", name],
            )
        )
    checks += [
        _rule(probe, InvalidEventError, mask, message, shown)
        for mask, message, shown in rules
        if mask is not None
    ]
    if known is not None:
        checks.append(_Check(~known, lambda: _strangers(frame, known)))
    _enforce(probe, [check for check in checks if check is not None])


def _foreign_priorities(frame: pl.DataFrame) -> bool:
    """Whether a priority other than the known ones is given, on any kind of event.

    Priorities are few (tickets are), so looking at the non-null ones alone costs far
    less than a look at every row; only then is it worth asking which are on tickets.
    """
    given = frame.get_column("priority").drop_nulls()
    return not given.is_in(list(_PRIORITIES)).all()


def _strangers(frame: pl.DataFrame, known: pl.Expr) -> UnknownCustomerError:
    """The error for events of customers not in the customers frame, naming a few."""
    strangers = frame.filter(~known)
    ids = strangers.get_column("customer_id").unique(maintain_order=True)
    return strangers_error(strangers.height, ids.len(), ids.head(_SHOWN).to_list())


def strangers_error(events: int, customers: int, shown: list[str]) -> UnknownCustomerError:
    """The error for ``events`` events of ``customers`` customers not in the customers
    frame, ``shown`` a few of them."""
    return UnknownCustomerError(
        f"{plural(events, 'event')} of {plural(customers, 'customer')} not in "
        f"the customers frame: {some(shown[:_SHOWN], customers, _SHOWN)}; pass "
        "unknown_customers='skip' to skip them"
    )


def _first_copies(frame: pl.DataFrame, relevant: pl.Expr) -> pl.Series | None:
    """Which rows to keep so that each (customer_id, event_id) counts once, or None.

    Only rows whose key repeats (among the relevant customers' events) are looked at:
    their contents must agree, else :class:`EventConflictError` names the id.

    Finding the keys that repeat is the costly part, so it takes two steps: first the
    rows whose key has a 64-bit hash that repeats (sorting hashes and comparing
    neighbours costs far less than finding duplicates among text keys), then, among
    those few, the rows whose key itself repeats. Copies share their customer, so
    ``relevant`` is asked of those few rows alone. Without event ids nothing is read.
    """
    if not _has_values(frame, "event_id"):
        return None
    key = pl.struct("customer_id", "event_id")
    hashed = (
        frame.lazy()
        .with_row_index("row")
        .filter(pl.col("event_id").is_not_null())
        .select("row", hash=key.hash())
        .collect()
    )
    ordered = hashed.get_column("hash").sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    if repeated.len() == 0:
        return None
    rows = hashed.filter(pl.col("hash").is_in(repeated.implode())).get_column("row")
    content = [name for name in frame.columns if name != "properties"]
    # compared as the models compare them: with their defaults filled in
    shared = (
        frame.select(content)[rows]
        .with_columns(_defaults())
        .with_columns(row=rows)
        .filter(relevant, key.is_duplicated())
    )
    if shared.height == 0:
        return None
    distinct = shared.drop("row").unique(maintain_order=True)
    clash = key.is_duplicated()
    if distinct.select(clash.any()).item():
        first = distinct.filter(clash).row(0, named=True)
        raise EventConflictError(
            f"event_id {first['event_id']!r} of customer {first['customer_id']!r} is used by "
            f"different events: {_rows(distinct, clash, ['customer_id', 'event_id', 'kind'])}"
        )
    later = shared.filter(~key.is_first_distinct())
    return pl.repeat(True, frame.height, eager=True).scatter(later.get_column("row"), False)


# -- factors ----------------------------------------------------------------------------------


def _distinct_hashes(ids: pl.Series) -> bool:
    """Whether no two of ``ids`` share a 64-bit hash (see :func:`_factor_query`)."""
    return ids.hash().n_unique() == ids.len()


def _factor_query(
    active: ActiveFactor,
    people: pl.DataFrame,
    rows: pl.LazyFrame,
    as_of: datetime,
    hashed: bool,
) -> tuple[pl.LazyFrame, pl.LazyFrame | None]:
    """The factor's events (its kinds, in its window), and the query of its inputs for
    every customer in ``people``, in their order (None when it has no frame form).

    With ``hashed``, built-in factors get each customer id as its 64-bit hash: grouping
    by text costs several times what hashing it once and grouping by integers does.
    This is exact because every event that counts is of a customer in ``people``, and
    ``hashed`` says that no two of those share a hash (they never do in practice; if
    they did, the ids themselves would be used). Plugins always get the ids.
    """
    mine = rows
    if active.kinds is not None:
        # a comparison per kind: several times cheaper than is_in on a short list
        mine = mine.filter(_any_of(pl.col("kind") == kind for kind in sorted(active.kinds)))
    if active.window is not None:
        mine = mine.filter(pl.col("occurred_at") > as_of - active.window)
    factor = active.factor
    if not factor.vectorized:
        return mine, None
    # built-in factors never read properties: only plugins get them decoded
    key = pl.col("id")
    if not active.trusted:
        given = _decoded(mine.collect()).lazy()
    elif hashed:
        given = mine.with_columns(pl.col("customer_id").hash())
        key = key.hash()
    else:
        given = mine
    inputs = guard(active, "frame_inputs", factor.frame_inputs, nw.from_native(given), as_of)
    if inputs is None:
        return mine, None
    empty = empty_inputs(active, as_of.replace(tzinfo=UTC))
    keys = people.lazy().select("id", key.alias("_key"))
    return mine, guard(active, "frame_inputs", _joined, keys, inputs, empty)


def _joined(keys: pl.LazyFrame, inputs: Any, empty: Mapping[str, float]) -> pl.LazyFrame:
    """The query of every customer's inputs: ``inputs`` (what a factor's frame form
    returned) joined to the customers' ``keys``, in their order, the inputs of no
    events (``empty``) for customers without a row."""
    joined = keys.join(
        inputs.to_native(),
        left_on="_key",
        right_on="customer_id",
        how="left",
        maintain_order="left",  # the scores are aligned with people by position
    )
    return joined.with_columns(
        pl.col(name).cast(pl.Float64).fill_null(value) for name, value in empty.items()
    )


def _collected(
    actives: Iterable[ActiveFactor], queries: Iterable[pl.LazyFrame | None]
) -> list[pl.DataFrame]:
    """The factors' ``queries`` of inputs (None for factors without), collected.

    One collect for every factor, which polars runs side by side. Not sharing their
    common part: polars would cache it whole (every row and column of the events that
    count) instead of each query reading its own rows and columns alone.

    A query fails only when it runs, and then the one collect says not whose it was:
    the plugin factors' queries are then run one by one, and the first that fails on
    its own is a :class:`~customer_health.FactorError` naming it (failures of built-in
    factors' queries are the library's, raised as they are).
    """
    lazy = [
        (active, query) for active, query in zip(actives, queries, strict=True) if query is not None
    ]
    try:
        return pl.collect_all(
            [query for _, query in lazy], optimizations=pl.QueryOptFlags(comm_subplan_elim=False)
        )
    except Exception:
        for active, query in lazy:
            if not active.trusted:
                guard(active, "frame_inputs", query.collect)
        raise


def _factor_columns(
    scorer: Scorer,
    active: ActiveFactor,
    people: pl.DataFrame,
    mine: pl.LazyFrame,
    inputs: pl.DataFrame | None,
    as_of: datetime,
    stacklevel: int,
) -> tuple[pl.Expr, pl.Expr]:
    """The factor's score and value for every customer, as expressions over a column of
    literal values aligned with ``people``; ``inputs`` of every customer (as collected
    from :func:`_factor_query`), or None for the slow path over its events, ``mine``."""
    factor = active.factor
    if inputs is None:
        warnings.warn(
            SlowPathWarning(
                f"{active.where} has no frame form: its customers' events are scored one "
                "customer at a time in Python (the slow path)"
            ),
            stacklevel=stacklevel,
        )
        return _per_customer(scorer, active, people, mine.collect(), as_of)
    expected = _expected(scorer, active, people)
    frame = inputs.with_columns(expected=expected)
    columns = {name: nw.col(name) for name in factor.inputs}
    given = None if expected is None else nw.col("expected")
    scored = guard(active, "frame_score", factor.frame_score, columns, given)
    if scored is None:
        return _computed(scorer, active, people, frame, as_of)
    score, value = guard(active, "frame_score", _scored, nw.from_native(frame), scored)
    return pl.lit(score), pl.lit(value)


def _scored(frame: Any, scored: tuple[Any, Any]) -> tuple[pl.Series, pl.Series]:
    """The score and value of every row of ``frame`` (narwhals), from the expressions a
    factor's ``frame_score`` returned."""
    score, value = scored
    done = frame.select(score.alias("s"), value.alias("v")).to_native()
    return done.get_column("s").cast(pl.Float64), done.get_column("v").cast(pl.Float64)


def _decoded(rows: pl.DataFrame) -> pl.DataFrame:
    """``properties`` as a struct column (JSON objects decoded), for plugins' frame forms."""
    texts = rows.get_column("properties").drop_nulls()
    if texts.len() == 0:
        return rows
    try:
        dtype = texts.str.json_decode(infer_schema_length=None).dtype
    except pl.exceptions.PolarsError:
        dtype = None
    if not isinstance(dtype, pl.Struct):
        mask = pl.col("properties").is_not_null()
        raise InvalidEventError(
            "column 'properties' must hold JSON objects (or be a struct column): "
            f"{_rows(rows, mask, ['kind', 'properties'])}"
        )
    return rows.with_columns(pl.col("properties").str.json_decode(dtype))


def _expected(scorer: Scorer, active: ActiveFactor, people: pl.DataFrame) -> pl.Series | None:
    key = active.expectation
    if key is None:
        return None
    values = {name: seg.expectations[key] for name, seg in scorer.segments.items()}
    base = people.get_column("segment").replace_strict(values, return_dtype=pl.Float64)
    window = active.window_days
    if not active.prorate or window is None:
        return base
    tenure = people.get_column("tenure_days")
    young = tenure.is_not_null() & (tenure < window)
    floor = pl.Series([1.0] * len(tenure))
    prorated = base * pl.select(pl.max_horizontal(floor, tenure)).to_series() / window
    return pl.select(pl.when(young).then(prorated).otherwise(base)).to_series().alias("expected")


def _models(people: pl.DataFrame) -> dict[str, Customer]:
    attributes = [c for c in people.columns if c not in (*_CUSTOMER_COLUMNS, "tenure_days")]
    models = {}
    for row in people.iter_rows(named=True):
        created = row["created_at"]
        models[row["id"]] = Customer(
            id=row["id"],
            segment=row["segment"],
            name=row.get("name"),
            created_at=None if created is None else created.replace(tzinfo=UTC),
            attributes={name: row[name] for name in attributes},
        )
    return models


def _computed(
    scorer: Scorer, active: ActiveFactor, people: pl.DataFrame, frame: pl.DataFrame, as_of: datetime
) -> tuple[pl.Expr, pl.Expr]:
    """``compute()`` row by row, for a factor with frame inputs but no vectorised score."""
    models = _models(people)
    instant = as_of.replace(tzinfo=UTC)
    results = []
    for row in frame.iter_rows(named=True):
        customer = models[row["id"]]
        ctx = scorer.context(customer, instant, active.name)
        inputs = {name: row[name] for name in active.factor.inputs}
        results.append(
            checked(active, guard(active, "compute", active.factor.compute, inputs, ctx))
        )
    return _result_columns(results)


def _per_customer(
    scorer: Scorer, active: ActiveFactor, people: pl.DataFrame, mine: pl.DataFrame, as_of: datetime
) -> tuple[pl.Expr, pl.Expr]:
    """The slow path: each customer's events as models, through ``evaluate()``."""
    from ._inputs import validate_events

    models = _models(people)
    instant = as_of.replace(tzinfo=UTC)
    grouped: dict[str, list[Any]] = {cid: [] for cid in models}
    for event in validate_events([_event_dict(row) for row in mine.iter_rows(named=True)]):
        grouped[event.customer_id].append(event)
    results = []
    evaluate = active.factor.evaluate
    for cid, customer in models.items():
        ctx = scorer.context(customer, instant, active.name)
        results.append(checked(active, guard(active, "evaluate", evaluate, grouped[cid], ctx)))
    return _result_columns(results)


def _event_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    event = {k: v for k, v in row.items() if v is not None}
    for name, role in EVENT_COLUMNS.items():
        if role == "instant" and name in event:
            event[name] = event[name].replace(tzinfo=UTC)
    if "properties" in event:
        event["properties"] = json.loads(event["properties"])
    return event


def _result_columns(results: list[FactorResult]) -> tuple[pl.Expr, pl.Expr]:
    scores = pl.Series([r.score for r in results], dtype=pl.Float64)
    values = pl.Series([r.value for r in results], dtype=pl.Float64)
    return pl.lit(scores), pl.lit(values)


def _combine(scorer: Scorer, table: pl.DataFrame) -> pl.DataFrame:
    """:func:`combined` on a polars frame."""
    done: pl.DataFrame = combined(scorer, nw.from_native(table)).to_native()
    return done


def combined(scorer: Scorer, table: Any) -> Any:
    """Weighted score over the factors with data, coverage and status, as in the model.

    ``table`` is a narwhals frame with a column per factor (its score): the same
    expressions run on polars and on Spark.
    """
    with_data = nw.lit(0.0)
    total = nw.lit(0.0)
    for active in scorer._active:
        has = ~nw.col(active.name).is_null()
        with_data = with_data + nw.when(has).then(active.weight).otherwise(0.0)
        total = total + nw.when(has).then(active.weight * nw.col(active.name)).otherwise(0.0)
    score = nw.when(with_data > 0).then((total / with_data).clip(0.0, 100.0))
    coverage = with_data / scorer._total_weight
    table = table.with_columns(
        score=score,
        coverage=nw.when(coverage > 1.0).then(1.0).otherwise(coverage),
    )
    thresholds = scorer.thresholds
    # round(score, 9) >= threshold, exactly as Python rounds (polars' and Spark's round
    # do not, next to a half-way point): see status_cutoff
    score_column = nw.col("score")
    status = (
        nw.when(score_column.is_null())
        .then(nw.lit("unknown"))
        .otherwise(
            nw.when(score_column >= status_cutoff(thresholds.healthy))
            .then(nw.lit("healthy"))
            .otherwise(
                nw.when(score_column >= status_cutoff(thresholds.at_risk))
                .then(nw.lit("at_risk"))
                .otherwise(nw.lit("critical"))
            )
        )
    )
    return table.with_columns(status=status)
