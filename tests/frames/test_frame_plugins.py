"""Plugin factors on DataFrames: frame forms when they have them, the slow path otherwise."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import customer_health
from customer_health import (
    Factor,
    FactorContext,
    FactorError,
    FactorResult,
    SlowPathWarning,
    testing,
)
from customer_health.models import Event

pl = pytest.importorskip("polars")
nw = pytest.importorskip("narwhals.stable.v2")

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)
TARGETS = {"enterprise": {"nps_target": 8}, "smb": {"nps_target": 7}, "startup": {"nps_target": 6}}


class EvaluateOnly(Factor):
    """Mean NPS answer against the segment's target, per customer only."""

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
        return FactorResult(100.0 * min(1.0, mean / ctx.expected), "mean answer", value=mean)


class Split(EvaluateOnly):
    """The same factor with inputs and compute, and a frame form for its inputs."""

    inputs = ("answers", "total")

    def aggregate(self, events: Sequence[Event], as_of: datetime) -> dict[str, float]:
        answers = [e.properties["score"] for e in events]  # type: ignore[union-attr]
        return {"answers": float(len(answers)), "total": float(sum(answers))}

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        if not inputs["answers"]:
            return FactorResult(None, "no answers")
        mean = inputs["total"] / inputs["answers"]
        assert ctx.expected is not None
        return FactorResult(100.0 * min(1.0, mean / ctx.expected), "mean answer", value=mean)

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        return self.compute(self.aggregate(events, ctx.as_of), ctx)

    def frame_inputs(self, events: Any, as_of: datetime) -> Any:
        # properties reaches frame forms as a struct column
        score = nw.col("properties").struct.field("score").cast(nw.Float64())
        return (
            events.with_columns(answer=score)
            .group_by("customer_id")
            .agg(
                nw.len().cast(nw.Float64()).alias("answers"), nw.col("answer").sum().alias("total")
            )
        )


class Vectorised(Split):
    """The same factor with a vectorised score too."""

    def frame_score(self, inputs: Mapping[str, Any], expected: Any) -> tuple[Any, Any]:
        mean = inputs["total"] / inputs["answers"]
        ratio = mean / expected
        score = nw.when(inputs["answers"] > 0).then(
            100.0 * nw.when(ratio < 1.0).then(ratio).otherwise(1.0)
        )
        return score, nw.when(inputs["answers"] > 0).then(mean)


def frames() -> tuple[Any, Any, list[dict[str, Any]], list[dict[str, Any]]]:
    """Three customers: two with answers (one answer outside the window), one without."""
    customers = [
        {"id": "a", "segment": "smb", "plan": "pro"},
        {"id": "b", "segment": "startup", "plan": "free"},
        {"id": "c", "segment": "enterprise", "plan": "pro"},
    ]
    events = [
        ("a", 9, 1),
        ("a", 4, 20),
        ("a", 10, 100),  # outside the 90-day window
        ("b", 3, 5),
    ]
    rows = [
        {
            "customer_id": cid,
            "kind": "nps_response",
            "occurred_at": AS_OF - timedelta(days=days),
            "properties": json.dumps({"score": score}),
        }
        for cid, score, days in events
    ]
    rows.append({"customer_id": "c", "kind": "login", "occurred_at": AS_OF, "properties": None})
    return pl.DataFrame(customers), pl.DataFrame(rows), customers, rows


def objects(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        event = {k: v for k, v in row.items() if v is not None}
        if "properties" in event:
            event["properties"] = json.loads(event["properties"])
        out.append(event)
    return out


@pytest.mark.parametrize("factor", [EvaluateOnly, Split, Vectorised], ids=lambda f: f.__name__)
def test_plugin_factors_score_frames_like_objects(factor: type[Factor]) -> None:
    """A plugin factor gives the same scores on frames as on objects, whatever its form."""
    scorer = testing.make_scorer(testing.make_plugin(factor(), expectations=TARGETS, name="p"))
    customer_frame, event_frame, customers, rows = frames()
    if factor is EvaluateOnly:
        with pytest.warns(SlowPathWarning, match=r"factor 'nps' \(plugin 'p'\) has no frame form"):
            out = scorer.score_frame(customer_frame, event_frame, as_of=AS_OF)
    else:
        out = scorer.score_frame(customer_frame, event_frame, as_of=AS_OF)
    people = [
        {"id": c["id"], "segment": c["segment"], "attributes": {"plan": c["plan"]}}
        for c in customers
    ]
    expected = scorer.score_many(people, objects(rows), as_of=AS_OF)
    got = out.to_dicts()
    assert [row["customer_id"] for row in got] == ["a", "b", "c"]
    for row, health in zip(got, expected, strict=True):
        assert row["nps"] == pytest.approx(health.factor("nps").score, abs=1e-9)
        assert row["nps_value"] == pytest.approx(health.factor("nps").value, abs=1e-9)
        assert row["score"] == pytest.approx(health.score, abs=1e-9)
        assert row["status"] == health.status.value
    assert got[2]["nps"] is None  # no answers: no data
    assert got[0]["nps_value"] == pytest.approx(6.5)  # the answer outside the window is out


def test_slow_path_reads_customer_attributes() -> None:
    """On the slow path a factor sees each customer's other columns as attributes."""
    seen: dict[str, Any] = {}

    class Plan(Factor):
        name = "plan"

        def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
            seen[ctx.customer.id] = ctx.customer.attributes["plan"]
            return FactorResult(100.0, "plan")

    scorer = testing.make_scorer(testing.make_plugin(Plan(), name="p"))
    customer_frame, event_frame, _, _ = frames()
    with pytest.warns(SlowPathWarning):
        scorer.score_frame(customer_frame, event_frame, as_of=AS_OF)
    assert seen == {"a": "pro", "b": "free", "c": "pro"}


def test_a_bad_result_on_frames_is_named() -> None:
    """A plugin's out-of-range score on the frame path is a FactorError naming it."""

    class TooHigh(Split):
        def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
            return FactorResult(150.0, "too high")

    scorer = testing.make_scorer(testing.make_plugin(TooHigh(), expectations=TARGETS, name="p"))
    customer_frame, event_frame, _, _ = frames()
    with pytest.raises(FactorError, match=r"factor 'nps' \(plugin 'p'\) returned score 150.0"):
        scorer.score_frame(customer_frame, event_frame, as_of=AS_OF)


def test_properties_may_be_a_struct_column() -> None:
    """A struct properties column gives the same scores as JSON text."""
    scorer = testing.make_scorer(testing.make_plugin(Vectorised(), expectations=TARGETS, name="p"))
    customer_frame, event_frame, _, _ = frames()
    as_text = scorer.score_frame(customer_frame, event_frame, as_of=AS_OF)
    structs = event_frame.with_columns(
        pl.col("properties").str.json_decode(pl.Struct({"score": pl.Int64}))
    )
    assert scorer.score_frame(customer_frame, structs, as_of=AS_OF).equals(as_text)


def test_properties_that_are_not_json_objects_are_rejected() -> None:
    """Properties text that is not a JSON object is an error naming the column and rows."""
    scorer = testing.make_scorer(testing.make_plugin(Vectorised(), expectations=TARGETS, name="p"))
    customer_frame, event_frame, _, _ = frames()
    broken = event_frame.with_columns(
        properties=pl.when(pl.col("customer_id") == "b")
        .then(pl.lit("[1, 2]"))
        .otherwise(pl.col("properties"))
    )
    with pytest.raises(
        customer_health.InvalidEventError, match=r"column 'properties' must hold JSON objects"
    ):
        scorer.score_frame(customer_frame, broken, as_of=AS_OF)


# -- plugin factors raising on frames ------------------------------------------------------


class InputsRaise(Vectorised):
    """A frame form that raises while it builds its query."""

    def frame_inputs(self, events: Any, as_of: datetime) -> Any:
        raise RuntimeError("no frames today")


class ScoreRaises(Vectorised):
    """A vectorised score that raises while it builds its expressions."""

    def frame_score(self, inputs: Mapping[str, Any], expected: Any) -> tuple[Any, Any]:
        raise ZeroDivisionError("division by zero")


class EmptyRaises(Vectorised):
    """An aggregate() that divides by the number of answers: it raises for no events."""

    inputs = ("answers", "mean")

    def aggregate(self, events: Sequence[Event], as_of: datetime) -> dict[str, float]:
        answers = [e.properties["score"] for e in events]  # type: ignore[union-attr]
        return {"answers": float(len(answers)), "mean": sum(answers) / len(answers)}


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
    """A frame form whose query fails only when polars runs it (text cast to numbers)."""

    def frame_inputs(self, events: Any, as_of: datetime) -> Any:
        return events.group_by("customer_id").agg(
            nw.len().cast(nw.Float64()).alias("answers"),
            nw.col("kind").cast(nw.Float64()).sum().alias("total"),
        )


RAISING = [
    pytest.param(InputsRaise, "frame_inputs", RuntimeError, None, id="frame_inputs"),
    pytest.param(ScoreRaises, "frame_score", ZeroDivisionError, None, id="frame_score"),
    pytest.param(EmptyRaises, "aggregate", ZeroDivisionError, None, id="aggregate"),
    pytest.param(ComputeRaises, "compute", ZeroDivisionError, "c", id="compute"),
    pytest.param(EvaluateRaises, "evaluate", ZeroDivisionError, "c", id="evaluate"),
    pytest.param(LazyFails, "frame_inputs", pl.exceptions.InvalidOperationError, None, id="lazy"),
]


def _raises_factor_error(
    run: Callable[[], object], hook: str, cause: type[BaseException], customer: str | None
) -> FactorError:
    """Call ``run``; check that it raises a FactorError naming the factor ``nps``, the
    plugin ``p``, ``hook`` and ``customer`` (if any), chained to a ``cause``."""
    with pytest.raises(FactorError) as caught:
        run()
    message = str(caught.value)
    assert message.startswith(f"factor 'nps' (plugin 'p') raised {cause.__name__}(")
    assert f" in {hook}()" in message
    if customer is None:
        assert "while scoring" not in message
    else:
        assert message.endswith(f" in {hook}() while scoring customer {customer!r}")
    assert type(caught.value.__cause__) is cause
    return caught.value


@pytest.mark.filterwarnings("ignore::customer_health.SlowPathWarning")
@pytest.mark.parametrize(("factor", "hook", "cause", "customer"), RAISING)
def test_a_plugin_raising_on_frames_is_a_factor_error(
    factor: type[Factor], hook: str, cause: type[BaseException], customer: str | None
) -> None:
    """What a plugin factor's method raises on the frame path - or the query its frame
    form returned, when polars runs it - is a FactorError naming the factor, its plugin,
    the method and the customer scored (if one), chained to the original exception."""
    scorer = testing.make_scorer(testing.make_plugin(factor(), expectations=TARGETS, name="p"))
    customer_frame, event_frame, _, _ = frames()
    run = functools.partial(scorer.score_frame, customer_frame, event_frame, as_of=AS_OF)
    _raises_factor_error(run, hook, cause, customer)


def test_a_plugin_raising_in_a_backtest_is_a_factor_error() -> None:
    """A backtest scores through the frame path: a plugin raising there is named alike."""
    scorer = testing.make_scorer(testing.make_plugin(InputsRaise(), expectations=TARGETS, name="p"))
    customer_frame, event_frame, _, _ = frames()
    outcomes = pl.DataFrame(schema={"customer_id": pl.String, "churned_at": pl.Datetime("us")})
    run = functools.partial(
        customer_health.backtest,
        customer_frame,
        event_frame,
        outcomes,
        as_of=AS_OF - timedelta(days=40),
        horizon=30,
        scorer=scorer,
    )
    _raises_factor_error(run, "frame_inputs", RuntimeError, None)


def test_a_failed_collect_no_plugin_query_repeats_is_raised_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the one collect of every factor's inputs fails but each plugin factor's query
    runs on its own, the failure is not blamed on a plugin: it is raised as it is."""
    scorer = testing.make_scorer(testing.make_plugin(Vectorised(), expectations=TARGETS, name="p"))
    customer_frame, event_frame, _, _ = frames()

    def collect_all(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError("out of memory")

    monkeypatch.setattr(pl, "collect_all", collect_all)
    with pytest.raises(MemoryError, match="out of memory"):
        scorer.score_frame(customer_frame, event_frame, as_of=AS_OF)
