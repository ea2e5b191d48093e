"""score_frame on Spark DataFrames: the polars path's numbers, errors, plugin factors.

``tests/spark/test_engines.py`` holds Spark to the independent reference on generated
portfolios (it replaced a comparison with ``score_many`` here).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pyspark.errors import PySparkException, PythonException

import customer_health
from customer_health import (
    EventConflictError,
    Factor,
    FactorContext,
    FactorError,
    FactorResult,
    InvalidCustomerError,
    InvalidEventError,
    InvalidInputError,
    Scorer,
    SlowPathWarning,
    UnknownCustomerError,
    UnknownSegmentError,
    testing,
)
from customer_health.models import Event

from .conftest import Rows, spark_frame

nw = pytest.importorskip("narwhals.stable.v2")
pl = pytest.importorskip("polars")

TOL = 1e-9
AS_OF = datetime(2026, 6, 30, tzinfo=UTC)


def _by_customer(frame: Any) -> dict[str, dict[str, Any]]:
    return {row["customer_id"]: row.asDict() for row in frame.collect()}


def test_spark_scores_like_polars_on_sample_data(spark: Any) -> None:
    """On the sample portfolio the Spark result equals the polars one, column for column."""
    from customer_health import sample

    customer_columns, event_columns = sample.generate_columns(40, 3000, seed=7)
    people = pl.DataFrame({n: customer_columns[n] for n in ("id", "segment", "created_at")})
    events = pl.DataFrame(dict(event_columns), nan_to_null=True).with_columns(
        [
            pl.when(pl.col(n) != "").then(pl.col(n)).alias(n)
            for n in ("event_id", "feature", "priority")
        ]
        + [pl.when(pl.col("kind") == "api_call").then(pl.col("quantity")).alias("quantity")]
    )
    as_of = "2026-06-30"
    expected = customer_health.score_frame(people, events, as_of=as_of)
    # Spark reads naive Arrow timestamps in the session time zone: hand it instants
    utc = pl.col(pl.Datetime).dt.replace_time_zone("UTC")
    got = customer_health.score_frame(
        spark.createDataFrame(people.with_columns(utc).to_arrow()),
        spark.createDataFrame(events.with_columns(utc).to_arrow()),
        as_of=as_of,
    )
    assert got.columns == expected.columns
    rows = _by_customer(got)
    assert len(rows) == expected.height
    for want in expected.to_dicts():
        have = rows[want["customer_id"]]
        for name, value in want.items():
            if isinstance(value, float):
                assert have[name] == pytest.approx(value, abs=TOL), name
            else:
                assert have[name] == value, name


def _small(spark: Any, events: Rows | None = None, people: Rows | None = None) -> tuple[Any, Any]:
    people = people or [{"id": "a", "segment": "smb"}, {"id": "b", "segment": "startup"}]
    events = (
        events
        if events is not None
        else [{"customer_id": "a", "kind": "api_call", "occurred_at": AS_OF, "quantity": 5}]
    )
    return spark_frame(spark, people), spark_frame(spark, events)


def test_mixing_spark_with_another_kind_is_an_error(spark: Any) -> None:
    """Spark customers with polars events (or the reverse) is an error naming both."""
    customer_frame, event_frame = _small(spark)
    with pytest.raises(InvalidInputError, match=r"events is a polars\.dataframe\.frame\.DataFrame"):
        customer_health.score_frame(
            customer_frame, pl.DataFrame({"customer_id": ["a"]}), as_of=AS_OF
        )
    with pytest.raises(InvalidInputError, match=r"customers is a polars"):
        customer_health.score_frame(pl.DataFrame({"id": ["a"]}), event_frame, as_of=AS_OF)


@pytest.mark.parametrize(
    ("events", "error", "message"),
    [
        (
            [{"customer_id": "zz", "kind": "login", "occurred_at": AS_OF}],
            UnknownCustomerError,
            r"1 event of 1 customer not in the customers frame: 'zz'",
        ),
        (
            [{"customer_id": "a", "kind": "api_call", "occurred_at": AS_OF, "quantity": 0}],
            InvalidEventError,
            r"column 'quantity' has api_call quantities below 1: "
            r"\{'kind': 'api_call', 'quantity': 0\}",
        ),
        (
            [{"customer_id": "a", "kind": "login", "occurred_at": "yesterday"}],
            InvalidEventError,
            r"column 'occurred_at' has text that is not a date or time: "
            r"\{'occurred_at': 'yesterday'\}",
        ),
        (  # a date the offset moves out of range in UTC: rejected as the models reject it
            [{"customer_id": "a", "kind": "login", "occurred_at": "0001-01-01T00:00:00+01:00"}],
            InvalidEventError,
            r"column 'occurred_at' has text that is not a date or time: "
            r"\{'occurred_at': '0001-01-01T00:00:00\+01:00'\}",
        ),
        (
            [
                {
                    "customer_id": "a",
                    "kind": "api_call",
                    "occurred_at": AS_OF,
                    "event_id": "e1",
                    "quantity": 1,
                },
                {
                    "customer_id": "a",
                    "kind": "api_call",
                    "occurred_at": AS_OF,
                    "event_id": "e1",
                    "quantity": 2,
                },
            ],
            EventConflictError,
            r"event_id 'e1' of customer 'a' is used by different events",
        ),
        (
            [{"customer_id": "a", "kind": "login", "occurred_at": AS_OF, "feature": "x"}],
            InvalidEventError,
            r"column 'feature' has values on events of kinds other than feature_used",
        ),
        (
            [
                {
                    "customer_id": "a",
                    "kind": "support_ticket",
                    "occurred_at": AS_OF,
                    "priority": "meh",
                }
            ],
            InvalidEventError,
            r"column 'priority' has priorities other than low, normal, high, urgent: .*'meh'",
        ),
        (
            [{"customer_id": "a", "kind": "login", "occurred_at": AS_OF, "extra": 1}],
            InvalidEventError,
            r"events frame has columns that are no event field: \['extra'\]",
        ),
        (
            [{"customer_id": "a", "kind": "login", "occurred_at": 3}],
            InvalidEventError,
            r"column 'occurred_at' of events is bigint; expected datetimes or ISO 8601 text",
        ),
        (
            [{"customer_id": "a", "kind": "nps", "occurred_at": AS_OF, "properties": "[1]"}],
            InvalidEventError,
            r"column 'properties' must hold JSON objects",
        ),
    ],
    ids=[
        "unknown",
        "quantity",
        "text",
        "out of range in UTC",
        "conflict",
        "field",
        "priority",
        "column",
        "type",
        "json",
    ],
)
def test_bad_events_are_named(
    spark: Any, events: Rows, error: type[Exception], message: str
) -> None:
    """Bad events raise the frames' errors, showing the offending values."""
    customer_frame, event_frame = _small(spark, events)
    with pytest.raises(error, match=message):
        customer_health.score_frame(customer_frame, event_frame, as_of=AS_OF)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("quantity", 1.5, r"column 'quantity' has numbers that are not whole: .*1\.5"),
        ("kind", 7, r"column 'kind' of events is bigint; expected text"),
        ("quantity", "many", r"column 'quantity' of events is string; expected integers"),
        ("amount", "cheap", r"column 'amount' of events is string; expected numbers"),
        ("properties", 3, r"column 'properties' of events is bigint; expected a struct"),
    ],
    ids=["fractional", "kind", "quantity", "amount", "properties"],
)
def test_columns_of_the_wrong_type_are_named(
    spark: Any, column: str, value: Any, message: str
) -> None:
    """A column of the wrong type (or a fractional quantity) is an error naming it."""
    row = {"customer_id": "a", "kind": "api_call", "occurred_at": AS_OF, column: value}
    customer_frame, event_frame = _small(spark, [row])
    with pytest.raises(InvalidEventError, match=message):
        customer_health.score_frame(customer_frame, event_frame, as_of=AS_OF)


@pytest.mark.parametrize(
    ("people", "error", "message"),
    [
        (
            [{"id": "a", "segment": "galactic"}],
            UnknownSegmentError,
            r"unknown segments .*'galactic'",
        ),
        (
            [{"id": "a", "segment": "smb"}, {"id": "a", "segment": "smb"}],
            InvalidCustomerError,
            r"ids that appear twice: \{'id': 'a'\}",
        ),
        ([{"id": "", "segment": "smb"}], InvalidCustomerError, r"null or empty ids"),
        (
            [{"id": 1.5, "segment": "smb"}],
            InvalidCustomerError,
            r"column 'id' of customers is double",
        ),
        ([{"segment": "smb"}], InvalidCustomerError, r"customers frame has no column 'id'"),
        (
            [{"id": "a", "segment": 3}],
            InvalidCustomerError,
            r"column 'segment' of customers is bigint",
        ),
    ],
    ids=["segment", "twice", "empty", "type", "missing", "segment-type"],
)
def test_bad_customers_are_named(
    spark: Any, people: Rows, error: type[Exception], message: str
) -> None:
    """Bad customers raise the frames' errors, naming the column and values."""
    customer_frame, event_frame = _small(spark, [], people)
    event_frame = spark_frame(
        spark, [], {"customer_id": "string", "kind": "string", "occurred_at": "timestamp"}
    )
    with pytest.raises(error, match=message):
        customer_health.score_frame(customer_frame, event_frame, as_of=AS_OF)


def test_unknown_customers_may_be_skipped_and_columns_renamed(spark: Any) -> None:
    """unknown_customers='skip' drops strangers' events; columns= maps names, as on frames."""
    people = spark_frame(spark, [{"account": "a", "segment": "smb"}])
    events = spark_frame(
        spark,
        [
            {"customer_id": "a", "kind": "api_call", "ts": AS_OF, "quantity": 250},
            {"customer_id": "zz", "kind": "api_call", "ts": AS_OF, "quantity": 9},
        ],
    )
    got = customer_health.score_frame(
        people,
        events,
        as_of=AS_OF,
        columns={"account": "id", "ts": "occurred_at"},
        unknown_customers="skip",
    )
    (row,) = got.collect()
    assert row["customer_id"] == "a"
    assert row["api_usage_value"] == 250.0
    assert row["api_usage"] == pytest.approx(50.0)  # smb customers are expected 500 calls


# -- plugins ----------------------------------------------------------------------------------

TARGETS = {"enterprise": {"nps_target": 8}, "smb": {"nps_target": 7}, "startup": {"nps_target": 6}}


class EvaluateOnly(Factor):
    """Mean NPS answer against the segment's target, per customer only; reads the plan."""

    name = "nps"
    kinds = frozenset({"nps_response"})
    window_days = 90
    expectation = "nps_target"

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        answers = [e.properties["score"] for e in events]  # type: ignore[union-attr]
        if not answers:
            return FactorResult(None, "no answers")
        mean = sum(answers) / len(answers)
        assert ctx.expected is not None
        bonus = 1.0 if ctx.customer.attributes.get("plan") == "pro" else 0.0
        return FactorResult(100.0 * min(1.0, (mean + bonus) / ctx.expected), "mean", value=mean)


class Split(EvaluateOnly):
    """The same factor with inputs, compute() and a frame form for its inputs."""

    inputs = ("answers", "total")

    def aggregate(self, events: Sequence[Event], as_of: datetime) -> dict[str, float]:
        answers = [e.properties["score"] for e in events]  # type: ignore[union-attr]
        return {"answers": float(len(answers)), "total": float(sum(answers))}

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        if not inputs["answers"]:
            return FactorResult(None, "no answers")
        mean = inputs["total"] / inputs["answers"]
        assert ctx.expected is not None
        bonus = 1.0 if ctx.customer.attributes.get("plan") == "pro" else 0.0
        return FactorResult(100.0 * min(1.0, (mean + bonus) / ctx.expected), "mean", value=mean)

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        return self.compute(self.aggregate(events, ctx.as_of), ctx)

    def frame_inputs(self, events: Any, as_of: datetime) -> Any:
        score = nw.col("properties").struct.field("score").cast(nw.Float64())
        return (
            events.with_columns(answer=score)
            .group_by("customer_id")
            .agg(
                nw.len().cast(nw.Float64()).alias("answers"), nw.col("answer").sum().alias("total")
            )
        )


class Vectorised(Split):
    """The same factor with a vectorised score too (no plan bonus: frame_score sees no
    attributes, so the test's customers all have the same plan)."""

    def frame_score(self, inputs: Mapping[str, Any], expected: Any) -> tuple[Any, Any]:
        mean = inputs["total"] / inputs["answers"]
        ratio = (mean + 1.0) / expected
        score = nw.when(inputs["answers"] > 0).then(
            100.0 * nw.when(ratio < 1.0).then(ratio).otherwise(1.0)
        )
        return score, nw.when(inputs["answers"] > 0).then(mean)


def _plugin_rows() -> tuple[Rows, Rows]:
    people = [
        {"id": "a", "segment": "smb", "plan": "pro"},
        {"id": "b", "segment": "startup", "plan": "pro"},
        {"id": "c", "segment": "enterprise", "plan": "pro"},
    ]
    answers = [("a", 9, 1), ("a", 4, 20), ("a", 10, 100), ("b", 3, 5), ("b", 3, 5)]
    events: Rows = [
        {
            "customer_id": cid,
            "kind": "nps_response",
            "occurred_at": AS_OF - timedelta(days=days),
            "event_id": f"{cid}-{i}" if cid == "b" else None,
            "properties": {"score": score},
        }
        for i, (cid, score, days) in enumerate(answers)
    ]
    events[4]["event_id"] = events[3]["event_id"]  # b's answer recorded twice
    events.append({"customer_id": "c", "kind": "login", "occurred_at": AS_OF})
    return people, events


@pytest.mark.parametrize("factor", [EvaluateOnly, Split, Vectorised], ids=lambda f: f.__name__)
def test_plugin_factors_run_on_spark(spark: Any, factor: type[Factor]) -> None:
    """A plugin registered in-process only (no entry points) scores on Spark as on
    objects: natively with a frame form, per customer on the executors without one."""
    scorer = Scorer(
        plugins=[testing.make_plugin(factor(), expectations=TARGETS, name="p")], entry_points=False
    )
    people, events = _plugin_rows()
    expected = scorer.score_many(
        [
            {"id": p["id"], "segment": p["segment"], "attributes": {"plan": p["plan"]}}
            for p in people
        ],
        [{k: v for k, v in e.items() if v is not None} for e in events],
        as_of=AS_OF,
    )
    customer_frame = spark_frame(spark, people)
    event_frame = spark_frame(
        spark,
        [
            {**e, "properties": json.dumps(e["properties"]) if "properties" in e else None}
            for e in events
        ],
        {"event_id": "string", "properties": "string"},
    )
    if factor is EvaluateOnly:
        with pytest.warns(SlowPathWarning, match=r"factor 'nps' \(plugin 'p'\) has no frame form"):
            got = scorer.score_frame(customer_frame, event_frame, as_of=AS_OF)
    else:
        got = scorer.score_frame(customer_frame, event_frame, as_of=AS_OF)
    rows = _by_customer(got)
    for health in expected:
        row = rows[health.customer_id]
        part = health.factor("nps")
        assert row["nps"] == (None if part.score is None else pytest.approx(part.score, abs=TOL))
        assert row["nps_value"] == (
            None if part.value is None else pytest.approx(part.value, abs=TOL)
        )
        assert row["score"] == pytest.approx(health.score, abs=TOL)
        assert row["status"] == health.status.value
    assert rows["a"]["nps_value"] == pytest.approx(6.5)  # the answer outside the window is out
    assert rows["b"]["nps_value"] == pytest.approx(3.0)
    assert rows["c"]["nps"] is None


# -- plugin factors raising on Spark -------------------------------------------------------


class InputsRaise(Vectorised):
    """A frame form that raises on the driver while it builds its query."""

    def frame_inputs(self, events: Any, as_of: datetime) -> Any:
        raise RuntimeError("no frames today")


class ComputeRaises(Split):
    """A compute() that divides by the number of answers: it raises for customer c."""

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        mean = inputs["total"] / inputs["answers"]
        return FactorResult(10.0 * mean, "mean answer", value=mean)


class EvaluateRaises(EvaluateOnly):
    """An evaluate() that divides by the number of answers: it raises for customer c."""

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        mean = sum(e.properties["score"] for e in events) / len(events)  # type: ignore[union-attr]
        return FactorResult(10.0 * mean, "mean answer", value=mean)


class LazyFails(Vectorised):
    """A frame form whose query fails only when Spark runs it (text cast to numbers,
    an error with ANSI SQL on)."""

    def frame_inputs(self, events: Any, as_of: datetime) -> Any:
        return events.group_by("customer_id").agg(
            nw.len().cast(nw.Float64()).alias("answers"),
            nw.col("kind").cast(nw.Float64()).sum().alias("total"),
        )


def _plugin_frames(spark: Any) -> tuple[Any, Any]:
    people, events = _plugin_rows()
    event_frame = spark_frame(
        spark,
        [
            {**e, "properties": json.dumps(e["properties"]) if "properties" in e else None}
            for e in events
        ],
        {"event_id": "string", "properties": "string"},
    )
    return spark_frame(spark, people), event_frame


def _score_with(spark: Any, factor: Factor) -> None:
    """Score the plugin rows on Spark with ``factor`` (plugin ``p``), ANSI SQL on."""
    scorer = Scorer(
        plugins=[testing.make_plugin(factor, expectations=TARGETS, name="p")], entry_points=False
    )
    customer_frame, event_frame = _plugin_frames(spark)
    before = spark.conf.get("spark.sql.ansi.enabled")
    spark.conf.set("spark.sql.ansi.enabled", "true")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SlowPathWarning)
            scorer.score_frame(customer_frame, event_frame, as_of=AS_OF)
    finally:
        spark.conf.set("spark.sql.ansi.enabled", before)


@pytest.mark.parametrize(
    ("factor", "hook", "cause"),
    [
        pytest.param(InputsRaise, "frame_inputs", RuntimeError, id="frame_inputs"),
        pytest.param(LazyFails, "frame_inputs", PySparkException, id="lazy"),
    ],
)
def test_a_plugin_raising_on_the_driver_is_a_factor_error(
    spark: Any, factor: type[Factor], hook: str, cause: type[Exception]
) -> None:
    """What a plugin's frame form raises on the driver - or its query, when Spark runs it -
    is a FactorError naming the factor, its plugin and the method, chained to the original."""
    with pytest.raises(FactorError) as caught:
        _score_with(spark, factor())
    message = str(caught.value)
    assert message.startswith("factor 'nps' (plugin 'p') raised "), message
    assert message.endswith(f" in {hook}()"), message
    assert isinstance(caught.value.__cause__, cause)
    if factor is LazyFails:
        assert "CAST_INVALID_INPUT" in message  # the first line of Spark's message


@pytest.mark.parametrize(
    ("factor", "hook"),
    [
        pytest.param(EvaluateRaises, "evaluate", id="evaluate"),
        pytest.param(ComputeRaises, "compute", id="compute"),
    ],
)
def test_a_plugin_raising_on_the_executors_is_a_factor_error(
    spark: Any, factor: type[Factor], hook: str
) -> None:
    """What a plugin factor raises on the executors is a FactorError naming the factor,
    its plugin, the method and the customer, chained to Spark's error, which holds the
    original's traceback (the exception itself stays in the executor's process)."""
    with pytest.raises(FactorError) as caught:
        _score_with(spark, factor())
    assert str(caught.value) == (
        "factor 'nps' (plugin 'p') raised ZeroDivisionError('"
        + ("float " if factor is ComputeRaises else "")
        + f"division by zero') in {hook}() while scoring customer 'c'"
    )
    assert isinstance(caught.value.__cause__, PythonException)
    assert "ZeroDivisionError" in str(caught.value.__cause__)


def test_a_failure_no_plugin_part_repeats_is_raised_as_it_is(
    spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When computing the scores fails but each plugin factor's part runs on its own,
    the failure is not blamed on a plugin: it is raised as it is."""

    def local_checkpoint(self: Any, eager: bool = True) -> Any:
        raise RuntimeError("executor lost")

    monkeypatch.setattr(type(spark.range(1)), "localCheckpoint", local_checkpoint)
    with pytest.raises(RuntimeError, match="executor lost") as caught:
        _score_with(spark, Vectorised())
    assert not isinstance(caught.value, FactorError)
