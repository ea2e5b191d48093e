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
import operator
from collections.abc import Hashable, Iterator, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import polars as pl

from ..._expr import structure
from ..._time import DAY_US
from ...declare import DeclaredFactor
from ...exceptions import (
    ConfigurationError,
)
from ._compile import divided

if TYPE_CHECKING:
    from ...model import ActiveFactor, ResolvedModel

from ._checks import _customers, _events, _existing, _first_copies, _normalised
from ._combine import combine
from ._factors import (
    KEY,
    _collected,
    _distinct_hashes,
    _factor_columns,
    _factor_query,
    segment_numbers,
)
from ._read import _any_of, _both_spark, _is_spark, _renamed, restorer, to_polars


def score_frame(
    model: ResolvedModel,
    customers: Any,
    events: Any,
    *,
    as_of: datetime | date | str | None = None,
    columns: Mapping[str, str] | None = None,
    unknown_customers: str = "error",
) -> Any:
    """Score every customer in ``customers`` from ``events``; see :meth:`Scorer.score_frame`."""
    instant = _instant(as_of, unknown_customers)
    if _is_spark(customers) or _is_spark(events):
        _both_spark(customers, events)
        from .spark import score_spark

        return score_spark(model, customers, events, instant, columns or {}, unknown_customers)
    restore = restorer(customers)
    # warnings point at the caller of Scorer.score_frame or customer_health.score_frame
    people, frame, relevant = _counted(
        model, customers, events, instant, columns, unknown_customers, stacklevel=4
    )
    return restore(scored_frame(model, people, frame, relevant, instant, stacklevel=4))


def _instant(as_of: datetime | date | str | None, unknown_customers: str) -> datetime:
    """``as_of`` as a naive UTC instant, once ``unknown_customers`` is checked."""
    from ..._inputs import resolve_as_of

    if unknown_customers not in ("error", "skip"):
        raise ConfigurationError(f"unknown_customers={unknown_customers!r}; use 'error' or 'skip'")
    return resolve_as_of(as_of).replace(tzinfo=None)


def _counted(
    model: ResolvedModel,
    customers: Any,
    events: Any,
    instant: datetime,
    columns: Mapping[str, str] | None,
    unknown_customers: str,
    *,
    stacklevel: int,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.Expr]:
    """The customers who existed at ``instant``, the events and the condition on their
    rows that says which count (:func:`checked_frames`, then :func:`counted_events`);
    the warning of customers left out points ``stacklevel`` frames up from here."""
    checked = checked_frames(model, customers, events, columns, unknown_customers)
    people, left_out = _existing(checked.people, instant, stacklevel=stacklevel + 1)
    frame, relevant = counted_events(checked, left_out)
    return people, frame, relevant


class Batches(NamedTuple):
    """The scores of :func:`score_frame`, a batch of customers at a time; see
    :func:`scored_batches`."""

    customers: int
    """How many customers the batches score (those created after ``as_of`` left out)."""
    frames: Iterator[pl.DataFrame]
    """The scores of each batch, in the customers' order: polars frames with the columns
    of :func:`score_frame`, computed as each is asked for."""


def scored_batches(
    model: ResolvedModel,
    customers: Any,
    events: Any,
    *,
    as_of: datetime | date | str | None,
    size: int,
    columns: Mapping[str, str] | None = None,
    unknown_customers: str = "error",
) -> Batches:
    """:func:`score_frame`'s scores of polars-readable frames, ``size`` customers at a
    time, so that a caller can report progress (the command line's bar): the frames are
    checked whole first (errors name the rows of the frames given), then each batch is
    scored from its own customers' events. A customer's numbers do not depend on which
    others share its batch, so the batches joined are :func:`score_frame`'s frame, bit
    for bit."""
    instant = _instant(as_of, unknown_customers)
    if size < 1:
        raise ConfigurationError(f"size={size!r}; it must be at least 1")
    people, frame, relevant = _counted(
        model, customers, events, instant, columns, unknown_customers, stacklevel=3
    )
    return Batches(people.height, _batches(model, people, frame, relevant, instant, size))


def _batches(
    model: ResolvedModel,
    people: pl.DataFrame,
    frame: pl.DataFrame,
    relevant: pl.Expr,
    instant: datetime,
    size: int,
) -> Iterator[pl.DataFrame]:
    if people.height <= size:
        yield scored_frame(model, people, frame, relevant, instant, stacklevel=4)
        return
    # Each event goes with its customer's batch, in one join and one partition: events
    # of customers not scored get none and are not in any batch.
    batch_of = people.select(
        pl.col("id").alias("customer_id"), (pl.int_range(pl.len()) // size).alias("_batch")
    )
    tagged = frame.join(batch_of, on="customer_id", how="left", maintain_order="left")
    parts = tagged.partition_by("_batch", as_dict=True, include_key=False)
    empty = frame.clear()
    for start in range(0, people.height, size):
        mine = parts.pop((start // size,), empty)
        yield scored_frame(model, people.slice(start, size), mine, relevant, instant, stacklevel=4)


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
    model: ResolvedModel,
    customers: Any,
    events: Any,
    columns: Mapping[str, str] | None,
    unknown_customers: str,
) -> CheckedFrames:
    """Read both frames into polars, apply ``columns`` and check them as the models would;
    with ``unknown_customers="error"``, events of customers not in ``customers`` are an
    error. Done once, whatever the number of instants scored from them."""
    people_frame = to_polars(customers, "customers")
    events_frame = to_polars(events, "events")
    people_frame, events_frame = _renamed(people_frame, events_frame, columns or {})
    people = _customers(people_frame, model)
    known = pl.col("customer_id").is_in(people.get_column("id").implode())
    skip = unknown_customers == "skip"
    frame = _events(events_frame, None if skip else known, model.kinds)
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


class KindSplit:
    """An events frame split by the kinds the factors read, each part made once, when
    first asked for, and kept: for scoring the same events at many dates (a backtest, a
    fit), where each factor's query then reads its own kinds' rows alone, not the whole
    frame again at every date. A part holds the frame's rows of those kinds, in order,
    with every column; a column with no value among them (the fields of other kinds),
    and ``kind`` in a part of one kind, is not copied but named again, as a constant:
    most of the cost of a part is the memory it takes."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        self._parts: dict[tuple[str, ...], pl.DataFrame] = {}

    def rows(self, kinds: tuple[str, ...] | None) -> pl.DataFrame:
        """The rows of ``kinds`` (every row for None)."""
        if kinds is None:
            return self.frame
        part = self._parts.get(kinds)
        if part is None:
            part = self._part(kinds)
            self._parts[kinds] = part
        return part

    def _part(self, kinds: tuple[str, ...]) -> pl.DataFrame:
        frame = self.frame
        mask = frame.select(_any_of(pl.col("kind") == kind for kind in kinds)).to_series()
        if not mask.any():
            return frame.clear()
        given = frame.select(
            (pl.lit(mask) & pl.col(name).is_not_null()).any().alias(name) for name in frame.columns
        ).row(0, named=True)
        if len(kinds) == 1:
            given["kind"] = False
        # by a mask made first: filtering by the expression itself took ten times as
        # long (1 s against 0.1 s for 5.6 million of 10 million rows, polars 2.1)
        part = frame.select(name for name, found in given.items() if found).filter(mask)
        constant = {"kind": pl.lit(kinds[0])} if len(kinds) == 1 else {}
        return part.with_columns(
            constant.get(name, pl.lit(None)).cast(frame.schema[name]).alias(name)
            for name, found in given.items()
            if not found
        ).select(frame.columns)


def inputs_key(active: ActiveFactor, instant: datetime, hashed: bool) -> Hashable | None:
    """What a declared factor's inputs at ``instant`` depend on, besides the customers and
    the rows: its kinds, its window and its aggregates (not its expectation, which only
    its score reads). None for any other factor, whose inputs are not kept."""
    factor = active.factor
    if not isinstance(factor, DeclaredFactor):
        return None
    aggregates = tuple(
        (
            name,
            aggregate.op,
            None if aggregate.of is None else structure(aggregate.of),
            None if aggregate.where is None else structure(aggregate.where),
        )
        for name, aggregate in factor.aggregates.items()
    )
    kinds = None if active.kinds is None else tuple(sorted(active.kinds))
    return (instant, kinds, active.window, aggregates, hashed)


def scored_frame(
    model: ResolvedModel,
    people: pl.DataFrame,
    frame: pl.DataFrame,
    relevant: pl.Expr,
    instant: datetime,
    *,
    stacklevel: int,
    split: KindSplit | None = None,
    inputs: dict[Hashable, pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """The scores at ``instant`` (naive UTC) of ``people`` (who all existed then) from the
    rows of ``frame`` where ``relevant`` holds (none of another customer's), as a polars
    frame with the columns of :func:`score_frame`. Warnings point ``stacklevel`` frames
    up from this function's (as :func:`warnings.warn` counts). ``split``: ``frame``
    split by kinds (:class:`KindSplit`), for a caller that scores it at many dates.

    ``inputs``: for a caller that scores the same ``people`` from the same rows at the
    same instant more than once, with other factors or other expectations (a fit), one
    dict for every call: a declared factor's inputs are computed once per instant and
    declaration (:func:`inputs_key`), and kept there."""
    # Everything below stays lazy: each factor's query reads only its own rows and
    # columns, instead of copying the whole events frame at every step.
    counted = (relevant, pl.col("occurred_at") <= instant)
    keep = (KEY,) if KEY in frame.columns else ()
    rows = _normalised(frame.lazy().filter(*counted), keep)

    def rows_of(active: ActiveFactor) -> tuple[pl.LazyFrame, bool]:
        """The rows the factor reads, and whether they are of its kinds alone."""
        if split is None or active.kinds is None:
            return rows, False
        return _normalised(split.rows(active.kinds).lazy().filter(*counted), keep), True

    def query_of(active: ActiveFactor) -> tuple[pl.LazyFrame, pl.LazyFrame | None]:
        mine, of_kinds = rows_of(active)
        return _factor_query(
            active, people, mine, instant, hashed, keyed=bool(keep), of_kinds=of_kinds
        )

    people = people.with_columns(
        tenure_days=divided(
            (pl.lit(instant) - pl.col("created_at")).dt.total_microseconds(), DAY_US
        )
    )
    table = people.select(pl.col("id").alias("customer_id"))
    hashed = _distinct_hashes(people.get_column("id"))
    keys = [
        None if inputs is None else inputs_key(active, instant, hashed) for active in model.factors
    ]
    kept = {key: inputs[key] for key in keys if inputs is not None and key in inputs}
    queries = [
        (rows_of(active)[0], None)  # the rows (never read: its inputs are kept)
        if key in kept
        else query_of(active)
        for active, key in zip(model.factors, keys, strict=True)
    ]
    found = iter(_collected(model.factors, [query for _, query in queries]))
    segments = segment_numbers(model, people)
    parts = []
    for active, key, (mine, query) in zip(model.factors, keys, queries, strict=True):
        given: pl.DataFrame | None
        if key in kept:
            given = kept[key]
        else:
            given = None if query is None else next(found)
            if inputs is not None and key is not None and given is not None:
                inputs[key] = given = given.select(active.factor.inputs)  # what the score reads
        score, value = _factor_columns(
            model, active, people, mine, given, instant, stacklevel + 1, segments
        )
        parts.append((active, score, value))
    table = table.with_columns(
        [score.alias(active.name) for active, score, _ in parts]
        + [value.alias(f"{active.name}_value") for active, _, value in parts]
    )
    table = combine(model, table)
    ordered = ["customer_id", "score", "status", "coverage"]
    for active, _, _ in parts:
        ordered += [active.name, f"{active.name}_value"]
    return table.select(ordered)
