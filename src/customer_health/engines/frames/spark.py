"""Scoring PySpark DataFrames: Spark checks, aggregates and scores; the driver only plans.

:func:`score_spark` is what :func:`customer_health.score_frame` runs when it is given
Spark DataFrames. It follows the polars engine (:mod:`._polars`) step by step (the same
rules, messages and factor forms) with Spark doing the work:

- the checks are aggregations (one pass over the events for every rule); only a few
  offending rows are collected, for the message;
- instants become ``TIMESTAMP_NTZ`` columns holding the UTC wall time (the Spark form
  of "a naive datetime in UTC"), converted exactly: an instant (``TIMESTAMP``) through
  its microseconds since 1970, never through the session time zone;
- each factor's inputs come from its narwhals frame form run on Spark, and the scores
  from its ``frame_score`` and :func:`._combine.combined`, so the
  arithmetic is the polars path's. While those forms build their queries, naive
  ``datetime`` literals (``as_of``) are made ``TIMESTAMP_NTZ`` literals (the session's
  ``spark.sql.timestampType``, set for the duration and restored);
- plugin factors without a frame form run per customer on the executors (a grouped
  map over each customer and its events, through Arrow), with the configuration the
  driver resolved (:class:`~customer_health.model.ResolvedModel`) pickled into it: an
  executor never discovers plugins;
- what a plugin factor raises is a :class:`~customer_health.FactorError` naming it,
  as on the other paths: on the driver while its frame forms build their queries, on
  the executors (the message comes back; the original exception stays there, its
  traceback in the Spark error the FactorError is chained to), and when its frame
  forms' queries fail as they run (see :func:`_checkpoint`).

The result is computed before it is returned (like the other backends' results) and
held by Spark (a local checkpoint): one row per customer, in no particular order.
"""

from __future__ import annotations

import functools
import operator
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import narwhals.stable.v2 as nw
from pyspark.errors import PythonException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..._expr import NUMBER
from ..._time import DAY_US
from ...declare import DeclaredFactor
from ...exceptions import (
    CustomerHealthError,
    EventConflictError,
    FactorError,
    InvalidCustomerError,
    InvalidEventError,
    SlowPathWarning,
    UnknownSegmentError,
)
from ...model import _score, empty_inputs, guard
from ...models import BUILTIN_KINDS
from ._checks import left_out_warning, strangers_error
from ._combine import combined
from ._compile import declared_inputs, declared_score, properties_of, to_narwhals
from ._factors import _event_dict, _models
from ._read import _missing, check_event_columns, instant_of_text, renamings
from ._schema import (
    DEFAULTS,
    EVENT_COLUMNS,
    EVENT_RULES,
    FIELDS_OF_KIND,
    MAXIMA,
    Rule,
    columns_of,
)

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped]

    from ...model import ActiveFactor, EventKinds, ResolvedModel

__all__ = ["score_spark"]

_SHOWN = 5

_EPOCH = datetime(1970, 1, 1)
_INTEGERS = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)
_NUMBERS = (*_INTEGERS, T.FloatType, T.DoubleType, T.DecimalType)
_NULL_TYPES = {
    "id": T.StringType(),
    "text": T.StringType(),
    "instant": T.TimestampNTZType(),
    "integer": T.LongType(),
    "number": T.DoubleType(),
    "json": T.StringType(),
}
_RESULT = "customer_id string, score double, value double"
_RAISED_ON_EXECUTOR = re.compile(r"^(?:[\w.]+\.)?FactorError: (.+)$", re.MULTILINE)
"""The last line of the traceback of a FactorError a Python worker raised."""

_Probe = tuple["ActiveFactor", str, DataFrame]
"""A plugin factor, one of its hooks and the part of the query that hook built."""


def score_spark(
    model: ResolvedModel,
    customers: DataFrame,
    events: DataFrame,
    as_of: datetime,
    columns: Mapping[str, str],
    unknown_customers: str,
) -> DataFrame:
    """Score Spark DataFrames; ``as_of`` is naive UTC (see :func:`.score_frame`)."""
    people_names, event_names = renamings(customers.columns, events.columns, columns)
    customers = customers.withColumnsRenamed(people_names)
    events = events.withColumnsRenamed(event_names)
    session = events.sparkSession
    with _naive_literals(session):
        everyone = _customers(customers, model)
        people = _existing(everyone, as_of)
        frame = _events(events, model.kinds)
        if unknown_customers == "error":
            _no_strangers(frame, everyone)
        # the events that count: those of known customers who existed at as_of
        ids = people.select(F.col("id").alias("customer_id"))
        frame = frame.join(F.broadcast(ids), "customer_id", "left_semi")
        rows = _first_copies(frame).filter(F.col("occurred_at") <= F.lit(as_of))
        rows = rows.select(*EVENT_COLUMNS).persist()
        try:
            probes: list[_Probe] = []
            result = _checkpoint(_scores(model, people, rows, as_of, probes), probes)
        finally:
            rows.unpersist()
    return result


@contextmanager
def _naive_literals(session: SparkSession) -> Iterator[None]:
    """Make naive ``datetime`` literals ``TIMESTAMP_NTZ`` while queries are built.

    Spark turns a naive ``datetime`` into a ``TIMESTAMP`` in the Python process's time
    zone, which a comparison with a ``TIMESTAMP_NTZ`` column then shifts by the session
    time zone. With ``spark.sql.timestampType`` at ``TIMESTAMP_NTZ``, PySpark sends the
    wall time itself; literals are fixed when a query is analysed (as it is built), so
    the setting is needed only meanwhile.
    """
    key = "spark.sql.timestampType"
    before = session.conf.get(key, None)
    session.conf.set(key, "TIMESTAMP_NTZ")
    try:
        yield
    finally:
        if before is None:
            session.conf.unset(key)
        else:
            session.conf.set(key, before)


# -- checks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    """A rule on rows: the mask of those that break it, its message, the columns shown."""

    mask: Column
    message: str
    shown: list[str]
    error: type[CustomerHealthError] = InvalidEventError
    explain: Callable[[], CustomerHealthError] | None = None
    """Builds the error instead of ``error`` and ``message`` (it finds its own rows)."""


def _rows(frame: DataFrame, mask: Column, shown: list[str]) -> str:
    """A few of the rows ``mask`` selects, for an error message (Spark rows have no
    position, so they are shown by their values)."""
    found = frame.filter(mask).select(*shown).limit(_SHOWN).collect()
    return "; ".join(str(row.asDict()) for row in found)


def _enforce(frame: DataFrame, rules: list[_Rule]) -> None:
    """Raise the error of the first rule a row breaks: one aggregation for all of them."""
    if not rules:
        return
    flags = frame.select(
        [
            F.coalesce(F.bool_or(rule.mask), F.lit(False)).alias(f"_{i}")
            for i, rule in enumerate(rules)
        ]
    ).first()
    assert flags is not None
    for found, rule in zip(flags, rules, strict=True):
        if found:
            if rule.explain is not None:
                raise rule.explain()
            raise rule.error(f"{rule.message}: {_rows(frame, rule.mask, rule.shown)}")


def _type_name(dtype: T.DataType) -> str:
    return str(dtype.simpleString())


def _id_column(frame: DataFrame, name: str, label: str) -> DataFrame:
    """``name`` as text ids (integers read as text)."""
    dtype = frame.schema[name].dataType
    if isinstance(dtype, (*_INTEGERS, T.NullType)):
        return frame.withColumn(name, F.col(name).cast("string"))
    if not isinstance(dtype, T.StringType):
        error = InvalidCustomerError if label == "customers" else InvalidEventError
        raise error(f"column {name!r} of {label} is {_type_name(dtype)}; expected text or integers")
    return frame


def _bad_ids(name: str, label: str, required: bool) -> _Rule:
    column = F.col(name)
    mask = column.isNull() | (column == "") if required else column == ""
    error = InvalidCustomerError if label == "customers" else InvalidEventError
    return _Rule(mask, f"column {name!r} of {label} has null or empty ids", [name], error)


def _instant_column(frame: DataFrame, name: str, label: str) -> DataFrame:
    """``name`` as ``TIMESTAMP_NTZ`` in UTC: naive read as UTC, instants converted."""
    error = InvalidCustomerError if label == "customers" else InvalidEventError
    dtype = frame.schema[name].dataType
    column = F.col(name)
    if isinstance(dtype, T.TimestampNTZType):
        return frame
    if isinstance(dtype, T.TimestampType):
        # exact and independent of the session time zone (which a cast would use)
        utc = F.timestamp_add("MICROSECOND", F.unix_micros(column), F.lit(_EPOCH))
        return frame.withColumn(name, utc)
    if isinstance(dtype, (T.DateType, T.NullType)):
        return frame.withColumn(name, column.cast(T.TimestampNTZType()))
    if isinstance(dtype, T.StringType):
        text = f"_{name}_text"
        parsed = frame.withColumn(text, column).withColumn(name, _parse_instant(column))
        bad = F.col(text).isNotNull() & F.col(name).isNull()
        found = parsed.filter(bad).select(F.col(text).alias(name)).distinct().limit(_SHOWN)
        shown = [row[name] for row in found.collect()]
        if shown:
            listed = "; ".join(str({name: value}) for value in shown)
            raise error(f"column {name!r} has text that is not a date or time: {listed}")
        return parsed.drop(text)
    raise error(
        f"column {name!r} of {label} is {_type_name(dtype)}; expected datetimes or ISO 8601 text"
    )


@functools.lru_cache(maxsize=65_536)
def _parsed_text(text: str | None) -> datetime | None:  # pragma: no cover - runs on the executors
    """Text parsed as the event models parse it (:func:`instant_of_text`, as the polars
    engine reads it), as naive UTC; None if it is no date or time. Runs on the executors."""
    return None if text is None else instant_of_text(text)


def _parse_instant(column: Column) -> Column:
    # a lambda: Spark would read the type hints of a function, and warn that it cannot
    # tell from them what kind of UDF it is
    parse = F.udf(lambda text: _parsed_text(text), T.TimestampNTZType())
    return parse(column)


# -- customers --------------------------------------------------------------------------------


def _customers(frame: DataFrame, model: ResolvedModel) -> DataFrame:
    _missing(frame, ("id", "segment"), "customers")
    frame = _id_column(frame, "id", "customers")
    _enforce(frame, [_bad_ids("id", "customers", required=True)])
    segment = frame.schema["segment"].dataType
    if not isinstance(segment, T.StringType):
        raise InvalidCustomerError(
            f"column 'segment' of customers is {_type_name(segment)}; expected text"
        )
    if "created_at" not in frame.columns:
        frame = frame.withColumn("created_at", F.lit(None).cast(T.TimestampNTZType()))
    frame = _instant_column(frame, "created_at", "customers")
    known = sorted(model.segments)
    repeated = frame.groupBy("id").count().filter(F.col("count") > 1).select("id")
    twice = [row["id"] for row in repeated.limit(_SHOWN).collect()]
    if twice:
        listed = "; ".join(str({"id": i}) for i in twice)
        raise InvalidCustomerError(f"column 'id' of customers has ids that appear twice: {listed}")
    unknown = F.col("segment").isNull() | ~F.col("segment").isin(known)
    message = (
        f"column 'segment' of customers has unknown segments (known segments: {', '.join(known)})"
    )
    _enforce(frame, [_Rule(unknown, message, ["id", "segment"], UnknownSegmentError)])
    return frame


def _existing(people: DataFrame, as_of: datetime) -> DataFrame:
    """Leave out customers created after ``as_of``, with a warning."""
    later = F.col("created_at") > F.lit(as_of)
    left_out = people.filter(later)
    count = left_out.count()
    if count:
        shown = [row["id"] for row in left_out.select("id").limit(_SHOWN).collect()]
        warnings.warn(left_out_warning(count, shown, as_of), stacklevel=5)
    return people.filter(~F.coalesce(later, F.lit(False)))  # no created_at: it existed


# -- events -----------------------------------------------------------------------------------


def _events(frame: DataFrame, kinds: EventKinds) -> DataFrame:
    """The checked events: every event column, typed, instants in UTC, defaults filled;
    events of kinds that ``kinds`` does not know are an error (unless it keeps them)."""
    check_event_columns(frame)
    for name, role in EVENT_COLUMNS.items():
        if name not in frame.columns:
            frame = frame.withColumn(name, F.lit(None).cast(_NULL_TYPES[role]))
    for name, role in EVENT_COLUMNS.items():
        if role == "id":
            frame = _id_column(frame, name, "events")
        elif role == "instant":
            frame = _instant_column(frame, name, "events")
    frame = _typed(frame)
    _enforce(frame, [*_event_rules(frame), *_kind_rules(frame, kinds)])
    return frame.withColumns(
        {
            name: F.when(F.col("kind").isin(list(kinds)), F.coalesce(name, F.lit(value)))
            .otherwise(F.col(name))
            .cast(_NULL_TYPES[EVENT_COLUMNS[name]])
            for name, kinds, value in DEFAULTS
        }
    )


def _typed(frame: DataFrame) -> DataFrame:
    schema = {field.name: field.dataType for field in frame.schema.fields}
    for name in columns_of("text"):
        if isinstance(schema[name], T.NullType):
            frame = frame.withColumn(name, F.col(name).cast("string"))
        elif not isinstance(schema[name], T.StringType):
            raise InvalidEventError(
                f"column {name!r} of events is {_type_name(schema[name])}; expected text"
            )
    for name in columns_of("integer"):
        whole = schema[name]
        if isinstance(whole, (T.FloatType, T.DoubleType, T.DecimalType)):
            fractional = F.col(name).isNotNull() & (F.col(name) % 1 != 0)
            message = f"column {name!r} has numbers that are not whole"
            checks = [_Rule(fractional, message, ["kind", name])]
            if name in MAXIMA:
                # Before the cast to long, which saturates a float and nulls a decimal
                # beyond its range (without ANSI mode); longs are checked with the rest.
                maximum = MAXIMA[name]
                above = F.col(name) > F.lit(maximum.bound)
                checks.append(_Rule(above, maximum.message, list(maximum.shown)))
            _enforce(frame, checks)
        elif not isinstance(whole, (*_INTEGERS, T.NullType)):
            raise InvalidEventError(
                f"column {name!r} of events is {_type_name(whole)}; expected integers"
            )
    for name in columns_of("number"):
        if not isinstance(schema[name], (*_NUMBERS, T.NullType)):
            raise InvalidEventError(
                f"column {name!r} of events is {_type_name(schema[name])}; expected numbers"
            )
    for name in columns_of("json"):
        if isinstance(schema[name], T.StructType):
            frame = frame.withColumn(name, F.to_json(name))
        elif not isinstance(schema[name], (T.StringType, T.NullType)):
            raise InvalidEventError(
                f"column {name!r} of events is {_type_name(schema[name])}; expected a struct "
                "or JSON text"
            )
    return frame.withColumns(
        {
            **{name: F.col(name).cast("long") for name in columns_of("integer")},
            **{name: F.col(name).cast("double") for name in columns_of("number")},
            **{name: F.col(name).cast("string") for name in columns_of("json")},
        }
    )


def _properties_map(column: Column) -> Column:
    """JSON objects as maps (null for other JSON or text that is no JSON)."""
    return F.from_json(column, "map<string,string>", {"mode": "PERMISSIVE"})


def _event_rules(frame: DataFrame) -> list[_Rule]:
    """What the event models reject, as rules (those of :func:`._checks._check_fields`)."""
    flag = {name: F.col("kind") == name for name in BUILTIN_KINDS}
    rules = [
        _bad_ids(name, "events", required=name == "customer_id")
        for name, role in EVENT_COLUMNS.items()
        if role == "id"
    ]
    rules += [_Rule(_rule_mask(rule, flag), rule.message, list(rule.shown)) for rule in EVENT_RULES]
    rules += [
        _Rule(
            F.col("properties").isNotNull() & _properties_map(F.col("properties")).isNull(),
            "column 'properties' must hold JSON objects (or be a struct column)",
            ["kind", "properties"],
        ),
    ]
    for name, kinds in FIELDS_OF_KIND.items():
        rules.append(
            _Rule(
                F.col(name).isNotNull() & ~functools.reduce(operator.or_, (flag[k] for k in kinds)),
                f"column {name!r} has values on events of kinds other than "
                f"{', '.join(sorted(kinds))}, which have no such field",
                ["kind", name],
            )
        )
    return rules


def _kind_rules(frame: DataFrame, kinds: EventKinds) -> list[_Rule]:
    """The rule that every event's kind is known, checked with the others."""
    if kinds.keep_unknown:
        return []
    strange = ~F.col("kind").isin(list(kinds.known))

    def explain() -> CustomerHealthError:
        first = frame.filter(strange).select("kind", "customer_id", "event_id").first()
        assert first is not None
        return kinds.error(first["kind"], f"events {first.asDict()}")

    return [_Rule(strange, "", [], explain=explain)]


def _rule_mask(rule: Rule, flag: Mapping[str, Column]) -> Column:
    """The rows that break ``rule`` (of the event schema), as a Spark condition."""
    column = F.col(rule.column)
    if rule.check == "null_or_empty":
        mask = column.isNull() | (column == "")
    elif rule.check == "null":
        mask = column.isNull()
    elif rule.check == "below":
        mask = column < F.lit(rule.bound)
    elif rule.check == "above":
        mask = column > F.lit(rule.bound)
    elif rule.check == "not_finite":
        mask = F.isnan(column) | (F.abs(column) == float("inf")) | (column < F.lit(rule.bound))
    elif rule.check == "choices":
        mask = column.isNotNull() & ~column.isin(list(rule.choices))
    else:  # builtin_kinds
        mask = functools.reduce(operator.or_, flag.values()) & column.isNotNull()
    if rule.kinds is None:
        return mask
    return functools.reduce(operator.or_, (flag[kind] for kind in rule.kinds)) & mask


def _no_strangers(frame: DataFrame, people: DataFrame) -> None:
    """Events of customers not in the customers frame are an error naming a few."""
    ids = people.select(F.col("id").alias("customer_id"))
    strangers = frame.select("customer_id").join(F.broadcast(ids), "customer_id", "left_anti")
    counts = strangers.agg(F.count("*").alias("n"), F.count_distinct("customer_id").alias("ids"))
    found = counts.first()
    assert found is not None
    if found["n"]:
        shown = strangers.distinct().limit(_SHOWN).collect()
        raise strangers_error(found["n"], found["ids"], [row[0] for row in shown])


def _first_copies(frame: DataFrame) -> DataFrame:
    """Each (customer_id, event_id) once; copies must agree (as the models compare them:
    with defaults, properties by their keys and values), else EventConflictError."""
    keyed = frame.filter(F.col("event_id").isNotNull())
    entries = F.array_sort(F.map_entries(_properties_map(F.col("properties"))))
    canonical = F.when(F.size(entries) > 0, F.to_json(entries))
    content = [F.col(name) for name in EVENT_COLUMNS if name != "properties"]
    distinct = keyed.select(*content, canonical.alias("_properties")).distinct()
    clash = distinct.groupBy("customer_id", "event_id").count().filter(F.col("count") > 1)
    first = clash.limit(1).collect()
    if first:
        cid, eid = first[0]["customer_id"], first[0]["event_id"]
        mine = (F.col("customer_id") == cid) & (F.col("event_id") == eid)
        raise EventConflictError(
            f"event_id {eid!r} of customer {cid!r} is used by different events: "
            f"{_rows(distinct, mine, ['customer_id', 'event_id', 'kind'])}"
        )
    once = keyed.dropDuplicates(["customer_id", "event_id"])
    return frame.filter(F.col("event_id").isNull()).unionByName(once)


# -- factors ----------------------------------------------------------------------------------


def _checkpoint(table: DataFrame, probes: list[_Probe]) -> DataFrame:
    """``table`` computed, and held by Spark (a local checkpoint).

    A plugin factor's part fails only as it runs, and Spark runs every factor's at
    once. What a factor raised on the executors comes back with its FactorError's
    message: it is raised again here, chained to Spark's error. Otherwise the plugin
    factors' parts (``probes``) run one by one, and the first that fails on its own is
    a FactorError naming its factor and the hook that built it; failures of built-in
    factors' parts are the library's, raised as they are.
    """
    try:
        return table.localCheckpoint(eager=True)
    except Exception as exc:
        found = _RAISED_ON_EXECUTOR.findall(str(exc)) if isinstance(exc, PythonException) else []
        if found:
            raise FactorError(found[-1]) from exc
        for active, hook, part in probes:
            guard(active, hook, _run, part)
        raise


def _run(frame: DataFrame) -> None:
    """Compute every row and column of ``frame``, keeping nothing."""
    frame.write.format("noop").mode("overwrite").save()


def _scores(
    model: ResolvedModel, people: DataFrame, rows: DataFrame, as_of: datetime, probes: list[_Probe]
) -> DataFrame:
    """One row per customer: every factor's score and value, then the combined score;
    the parts of plugin factors' frame forms go to ``probes`` (see :func:`_checkpoint`)."""
    tenure = F.timestamp_diff("MICROSECOND", F.col("created_at"), F.lit(as_of)) / DAY_US
    people = people.withColumn("_tenure_days", tenure)
    table = people
    for active in model.factors:
        mine = rows
        if active.kinds is not None:
            mine = mine.filter(F.col("kind").isin(list(active.kinds)))
        if active.window is not None:
            mine = mine.filter(F.col("occurred_at") > F.lit(as_of - active.window))
        part = _factor(model, active, people, mine, as_of, probes)
        table = table.join(part, table["id"] == part["_id"], "left").drop("_id")
    wrapped = nw.from_native(table.withColumnRenamed("id", "customer_id"))
    ordered = ["customer_id", "score", "status", "coverage"]
    for active in model.factors:
        ordered += [active.name, f"{active.name}_value"]
    result: DataFrame = combined(model, wrapped).select(ordered).to_native()
    return result


def _factor(
    model: ResolvedModel,
    active: ActiveFactor,
    people: DataFrame,
    mine: DataFrame,
    as_of: datetime,
    probes: list[_Probe],
) -> DataFrame:
    """``_id`` with the factor's score (``<name>``) and value (``<name>_value``); a
    plugin factor's frame forms add the parts they build to ``probes``."""
    factor = active.factor
    name = active.name
    inputs = None
    if isinstance(factor, DeclaredFactor):
        given = mine.withColumns(
            {column: _number_property(key) for key, column in properties_of(factor).items()}
        )
        inputs = guard(
            active, "frame_inputs", declared_inputs, factor, nw.from_native(given), as_of, True
        )
    elif factor.vectorized:
        given = mine if active.trusted else _decoded(mine)
        inputs = guard(active, "frame_inputs", factor.frame_inputs, nw.from_native(given), as_of)
    if inputs is None:
        warnings.warn(
            SlowPathWarning(
                f"{active.where} has no frame form: its customers' events are scored one "
                "customer at a time in Python on the executors (the slow path)"
            ),
            stacklevel=6,
        )
        scored = _per_customer(model, active, people, mine, as_of)
        return scored.select(
            F.col("customer_id").alias("_id"),
            F.col("score").alias(name),
            F.col("value").alias(f"{name}_value"),
        )
    empty = empty_inputs(active, as_of.replace(tzinfo=UTC))
    inputs_frame = guard(active, "frame_inputs", _joined, people, inputs, empty)
    if not active.trusted:
        probes.append((active, "frame_inputs", inputs_frame))
    inputs_frame = _prorated(active, inputs_frame.withColumn("_expected", _expected(model, active)))
    expected = None if active.expectation is None else nw.col("_expected")
    columns = {key: nw.col(key) for key in factor.inputs}
    scores: tuple[Any, Any] | None
    if isinstance(factor, DeclaredFactor):
        tenure = nw.col("_tenure_days")
        scores = guard(
            active, "frame_score", declared_score, factor, columns, expected, tenure, True
        )
    else:
        scores = guard(active, "frame_score", factor.frame_score, columns, expected)
    if scores is None:
        computed = _computed(model, active, inputs_frame, as_of)
        return computed.select(
            F.col("customer_id").alias("_id"),
            F.col("score").alias(name),
            F.col("value").alias(f"{name}_value"),
        )
    native = guard(active, "frame_score", _scored, nw.from_native(inputs_frame), name, scores)
    if not active.trusted:
        probes.append((active, "frame_score", native))
    return native


def _joined(people: DataFrame, inputs: Any, empty: Mapping[str, float]) -> DataFrame:
    """``people`` with their inputs: ``inputs`` (what a factor's frame form returned),
    the inputs of no events (``empty``) for customers without a row."""
    found = inputs.to_native()
    joined = people.join(found.withColumnRenamed("customer_id", "id"), "id", "left")
    return joined.withColumns(
        {key: F.coalesce(F.col(key).cast("double"), F.lit(value)) for key, value in empty.items()}
    )


def _scored(frame: Any, name: str, scores: tuple[Any, Any]) -> DataFrame:
    """``_id``, ``<name>`` and ``<name>_value`` of every row of ``frame`` (narwhals), from
    the expressions a factor's ``frame_score`` returned."""
    score, value = scores
    done = frame.select(
        nw.col("id").alias("_id"),
        score.cast(nw.Float64()).alias(name),
        value.cast(nw.Float64()).alias(f"{name}_value"),
    )
    native: DataFrame = done.to_native()
    return native


def _prorated(active: ActiveFactor, frame: DataFrame) -> DataFrame:
    """``frame`` with ``_expected`` prorated for customers younger than the factor's
    window, by the model's one rule (:func:`customer_health.model._score.prorated`)."""
    window = active.window_days
    if active.expectation is None or not active.prorate or window is None:
        return frame
    columns = {"expected": nw.col("_expected"), "tenure": nw.col("_tenure_days")}
    rule = to_narwhals(_score.prorated(window)["expected"], columns)
    prorated: DataFrame = nw.from_native(frame).with_columns(rule.alias("_expected")).to_native()
    return prorated


def _expected(model: ResolvedModel, active: ActiveFactor) -> Column:
    """The factor's expectation per customer (its segment's), before proration
    (:func:`_prorated`)."""
    key = active.expectation
    if key is None:
        return F.lit(None).cast("double")
    pairs = [F.lit(v) for name, seg in model.segments.items() for v in (name, seg[key])]
    return F.create_map(*pairs)[F.col("segment")].cast("double")


def _number_property(key: str) -> Column:
    """:func:`~customer_health.declare.number_property` in Spark: ``properties[key]``
    (JSON text) as a number, or null (Java's ``$`` also matches before a final line
    break: ``\\z`` is the end of the text)."""
    text = F.get_json_object(F.col("properties"), f"$.{key}")
    number = F.when(text.rlike(f"^{NUMBER}\\z"), text.cast("double"))
    return F.when(F.abs(number) <= F.lit(sys.float_info.max), number)


def _decoded(rows: DataFrame) -> DataFrame:
    """``properties`` as a struct column (JSON objects decoded), for plugins' frame forms;
    the struct's fields are those Spark infers from every object."""
    texts = rows.select("properties").filter(F.col("properties").isNotNull())
    schema = rows.sparkSession.read.json(texts.rdd.map(operator.itemgetter(0))).schema
    if not schema.fields:
        return rows
    return rows.withColumn("properties", F.from_json("properties", schema))


# -- the slow paths, on the executors ----------------------------------------------------------
# Coverage does not follow Spark's Python workers: what runs there is marked, and the
# plugin tests check what it does (their results are compared with score_many's).


@dataclass(frozen=True)
class _Resolved:
    """What an executor needs to score one factor: the factor as the driver's model
    resolved it, the segments' expectations and ``as_of`` (aware). Pickled with the
    function Spark runs, so no executor looks for plugins."""

    active: ActiveFactor
    segments: dict[str, dict[str, float]]
    as_of: datetime

    def context(self, customer: Any) -> Any:  # pragma: no cover - runs on the executors
        from ...model import factor_context, tenure

        segment = self.segments[customer.segment]
        days = tenure(customer, self.as_of)
        return factor_context(self.active, customer, self.as_of, segment, days)


def _resolved(model: ResolvedModel, active: ActiveFactor, as_of: datetime) -> _Resolved:
    segments = {name: dict(seg) for name, seg in model.segments.items()}
    return _Resolved(active, segments, as_of.replace(tzinfo=UTC))


def _customer_models(table: pa.Table) -> dict[str, Any]:  # pragma: no cover - runs on the executors
    import polars as pl

    people = pl.from_arrow(table)
    assert isinstance(people, pl.DataFrame)
    return _models(people.drop("_tenure_days", strict=False))


def _results_table(
    ids: list[str], results: list[Any]
) -> pa.Table:  # pragma: no cover - runs on the executors
    import pyarrow as pa

    return pa.table(
        {
            "customer_id": pa.array(ids, pa.string()),
            "score": pa.array([r.score for r in results], pa.float64()),
            "value": pa.array([r.value for r in results], pa.float64()),
        }
    )


def _evaluator(resolved: _Resolved) -> Callable[[pa.Table, pa.Table], pa.Table]:
    """The function a cogrouped map runs on a customer and its events: ``evaluate()``."""

    def evaluate(
        people: pa.Table, events: pa.Table
    ) -> pa.Table:  # pragma: no cover - runs on the executors
        from ..._inputs import validate_events
        from ...model import checked, guard

        models = _customer_models(people)
        rows = [_event_dict(row) for row in events.to_pylist()]
        found: dict[str, list[Any]] = {cid: [] for cid in models}
        for event in validate_events(rows):
            found[event.customer_id].append(event)
        active = resolved.active
        results = [
            checked(
                active,
                guard(
                    active, "evaluate", active.factor.evaluate, mine, resolved.context(models[cid])
                ),
            )
            for cid, mine in found.items()
        ]
        return _results_table(list(found), results)

    return evaluate


def _per_customer(
    model: ResolvedModel, active: ActiveFactor, people: DataFrame, mine: DataFrame, as_of: datetime
) -> DataFrame:
    """The slow path: each customer with its events, through ``evaluate()`` on the
    executors (a cogrouped map, so that customers without events are scored too)."""
    evaluate = _evaluator(_resolved(model, active, as_of))
    customers = people.drop("_tenure_days").groupBy("id")
    events = mine.groupBy("customer_id")
    return customers.cogroup(events).applyInArrow(evaluate, _RESULT)


def _computer(
    resolved: _Resolved, inputs: tuple[str, ...]
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function a map over the inputs runs: ``compute()`` row by row."""

    def compute(
        batches: Iterator[pa.RecordBatch],
    ) -> Iterator[pa.RecordBatch]:  # pragma: no cover - runs on the executors
        import pyarrow as pa

        from ...model import checked, guard

        active = resolved.active
        for batch in batches:
            table = pa.Table.from_batches([batch])
            models = _customer_models(table.drop_columns(list(inputs)))
            values = table.select(list(inputs)).to_pylist()
            results = [
                checked(
                    active,
                    guard(
                        active, "compute", active.factor.compute, row, resolved.context(models[cid])
                    ),
                )
                for cid, row in zip(models, values, strict=True)
            ]
            yield from _results_table(list(models), results).to_batches()

    return compute


def _computed(
    model: ResolvedModel, active: ActiveFactor, inputs: DataFrame, as_of: datetime
) -> DataFrame:
    """``compute()`` over each customer's inputs, for a factor with frame inputs but no
    vectorised score; the customers' rows go along (plugins may read their attributes)."""
    people = [name for name in inputs.columns if name not in (*active.factor.inputs, "_expected")]
    keep = inputs.select(*people, *active.factor.inputs)
    compute = _computer(_resolved(model, active, as_of), tuple(active.factor.inputs))
    return keep.mapInArrow(compute, _RESULT)
