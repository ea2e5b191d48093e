"""Each factor's inputs and score from its frame form (narwhals), or from its
object form one customer at a time (the slow path)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import narwhals.stable.v2 as nw
import polars as pl

from ..._expr import NUMBER
from ...declare import DeclaredFactor
from ...exceptions import (
    InvalidEventError,
    SlowPathWarning,
)
from ...model import _score, checked, empty_inputs, guard
from ...models import Customer

if TYPE_CHECKING:
    from ...factors import FactorResult
    from ...model import ActiveFactor, ResolvedModel

from ._compile import declared_inputs, declared_score, properties_of, to_narwhals
from ._read import _any_of, _rows
from ._schema import CUSTOMER_COLUMNS, EVENT_COLUMNS

# -- factors ----------------------------------------------------------------------------------

KEY = "_ch_key"
"""The column of each event's ``customer_id`` hashed (``pl.col("customer_id").hash()``),
where the events carry it: made once for scoring at many dates."""


def _distinct_hashes(ids: pl.Series) -> bool:
    """Whether no two of ``ids`` share a 64-bit hash (see :func:`_factor_query`)."""
    return ids.hash().n_unique() == ids.len()


def _factor_query(
    active: ActiveFactor,
    people: pl.DataFrame,
    rows: pl.LazyFrame,
    as_of: datetime,
    hashed: bool,
    *,
    keyed: bool = False,
    of_kinds: bool = False,
) -> tuple[pl.LazyFrame, pl.LazyFrame | None]:
    """The factor's events (its kinds, in its window), and the query of its inputs for
    every customer in ``people``, in their order (None when it has no frame form).

    With ``hashed``, built-in factors get each customer id as its 64-bit hash: grouping
    by text costs several times what hashing it once and grouping by integers does.
    This is exact because every event that counts is of a customer in ``people``, and
    ``hashed`` says that no two of those share a hash (they never do in practice; if
    they did, the ids themselves would be used). Plugins always get the ids.

    ``keyed``: ``rows`` carry that hash already, in a column :data:`KEY` (made once for
    many dates); ``of_kinds``: ``rows`` hold the factor's kinds alone already.
    """
    mine = rows
    if active.kinds is not None and not of_kinds:
        # a comparison per kind: several times cheaper than is_in on a short list
        mine = mine.filter(_any_of(pl.col("kind") == kind for kind in sorted(active.kinds)))
    if active.window is not None:
        mine = mine.filter(pl.col("occurred_at") > as_of - active.window)
    hashes = mine
    if keyed:  # what a plugin or the slow path gets: the event columns alone
        mine = mine.drop(KEY)
    factor = active.factor
    if not factor.vectorized:
        return mine, None
    # built-in and declared factors never read properties whole: only plugins' frame
    # forms get them decoded (a declared factor gets the numbers it reads)
    key = pl.col("id")
    declared = isinstance(factor, DeclaredFactor)
    if not active.trusted and not declared:
        given = _decoded(mine.collect()).lazy()
    elif hashed:
        if keyed:
            given = hashes.with_columns(customer_id=pl.col(KEY)).drop(KEY)
        else:
            given = mine.with_columns(pl.col("customer_id").hash())
        key = key.hash()
    else:
        given = mine
    if isinstance(factor, DeclaredFactor):
        given = given.with_columns(
            _number_property(key).alias(column) for key, column in properties_of(factor).items()
        )
        inputs = guard(
            active, "frame_inputs", declared_inputs, factor, nw.from_native(given), as_of
        )
    else:
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
        pl.col(name).cast(pl.Float64)
        if value is None
        else pl.col(name).cast(pl.Float64).fill_null(value)
        for name, value in empty.items()
    )


def _number_property(key: str) -> pl.Expr:
    """:func:`~customer_health.declare.number_property` in polars: ``properties[key]``
    (JSON text) as a number, or null."""
    text = pl.col("properties").str.json_path_match(f"$.{key}")
    number = pl.when(text.str.contains(f"^{NUMBER}$")).then(text.cast(pl.Float64, strict=False))
    return pl.when(number.is_finite()).then(number)


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
    model: ResolvedModel,
    active: ActiveFactor,
    people: pl.DataFrame,
    mine: pl.LazyFrame,
    inputs: pl.DataFrame | None,
    as_of: datetime,
    stacklevel: int,
    segments: pl.Series | None = None,
) -> tuple[pl.Expr, pl.Expr]:
    """The factor's score and value for every customer, as expressions over a column of
    literal values aligned with ``people``; ``inputs`` of every customer (as collected
    from :func:`_factor_query`), or None for the slow path over its events, ``mine``.
    ``segments``: :func:`segment_numbers` of ``people``, made once for every factor."""
    factor = active.factor
    if inputs is None:
        warnings.warn(
            SlowPathWarning(
                f"{active.where} has no frame form: its customers' events are scored one "
                "customer at a time in Python (the slow path)"
            ),
            stacklevel=stacklevel,
        )
        return _per_customer(model, active, people, mine.collect(), as_of)
    expected = _expected(model, active, people, segments)
    frame = inputs.with_columns(expected=expected)
    columns = {name: nw.col(name) for name in factor.inputs}
    given = None if expected is None else nw.col("expected")
    scored: tuple[Any, Any] | None
    if isinstance(factor, DeclaredFactor):
        frame = frame.with_columns(_ch_tenure=people.get_column("tenure_days"))
        tenure = nw.col("_ch_tenure")
        scored = guard(active, "frame_score", declared_score, factor, columns, given, tenure)
    else:
        scored = guard(active, "frame_score", factor.frame_score, columns, given)
    if scored is None:
        return _computed(model, active, people, frame, as_of)
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


def segment_numbers(model: ResolvedModel, people: pl.DataFrame) -> pl.Series:
    """Each customer's segment as its place among the model's segments."""
    known = pl.Enum(list(model.segments))
    return people.get_column("segment").cast(known).to_physical()


def _expected(
    model: ResolvedModel,
    active: ActiveFactor,
    people: pl.DataFrame,
    segments: pl.Series | None = None,
) -> pl.Series | None:
    """Each customer's expectation of the factor (prorated); ``segments``:
    :func:`segment_numbers` of ``people`` (made here if not given)."""
    key = active.expectation
    if key is None:
        return None
    if segments is None:
        segments = segment_numbers(model, people)
    values = pl.Series([values[key] for values in model.segments.values()], dtype=pl.Float64)
    base = values.gather(segments)
    window = active.window_days
    if not active.prorate or window is None:
        return base
    rule = _score.prorated(window)["expected"]
    given = nw.from_native(pl.DataFrame({"base": base, "tenure": people.get_column("tenure_days")}))
    columns = {"expected": nw.col("base"), "tenure": nw.col("tenure")}
    prorated: pl.DataFrame = given.select(to_narwhals(rule, columns).alias("expected")).to_native()
    return prorated.get_column("expected")


def _models(people: pl.DataFrame) -> dict[str, Customer]:
    attributes = [c for c in people.columns if c not in (*CUSTOMER_COLUMNS, "tenure_days")]
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
    model: ResolvedModel,
    active: ActiveFactor,
    people: pl.DataFrame,
    frame: pl.DataFrame,
    as_of: datetime,
) -> tuple[pl.Expr, pl.Expr]:
    """``compute()`` row by row, for a factor with frame inputs but no vectorised score."""
    models = _models(people)
    instant = as_of.replace(tzinfo=UTC)
    results = []
    for row in frame.iter_rows(named=True):
        customer = models[row["id"]]
        ctx = model.context(active, customer, instant)
        inputs = {name: row[name] for name in active.factor.inputs}
        results.append(
            checked(active, guard(active, "compute", active.factor.compute, inputs, ctx))
        )
    return _result_columns(results)


def _per_customer(
    model: ResolvedModel,
    active: ActiveFactor,
    people: pl.DataFrame,
    mine: pl.DataFrame,
    as_of: datetime,
) -> tuple[pl.Expr, pl.Expr]:
    """The slow path: each customer's events as models, through ``evaluate()``."""
    from ..._inputs import validate_events

    models = _models(people)
    instant = as_of.replace(tzinfo=UTC)
    grouped: dict[str, list[Any]] = {cid: [] for cid in models}
    for event in validate_events([_event_dict(row) for row in mine.iter_rows(named=True)]):
        grouped[event.customer_id].append(event)
    results = []
    evaluate = active.factor.evaluate
    for cid, customer in models.items():
        ctx = model.context(active, customer, instant)
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
