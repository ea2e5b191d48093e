"""Plugin errors are named, never silent."""

from __future__ import annotations

import importlib.metadata
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pytest

import customer_health
from customer_health import (
    Accumulator,
    ConfigurationError,
    DuplicateNameError,
    Event,
    Factor,
    FactorContext,
    FactorError,
    FactorResult,
    PluginError,
    Scorer,
    UnknownSegmentError,
    testing,
)
from customer_health.plugins import NAME
from customer_health.plugins.manager import get_plugin_manager

from .._ids import stable_repr
from .helpers import AS_OF, NPS_TARGETS, NpsScore, nps_event

SMB = {"id": "c1", "segment": "smb"}

ALL_NPS_TARGETS = {name: {"nps_target": target} for name, target in NPS_TARGETS.items()}
"""nps_target for every built-in segment, as register_expectations takes it."""


def scoring(
    scorer: Scorer, customer: dict[str, Any], events: list[dict[str, Any]], many: bool
) -> Callable[[], object]:
    """Score ``customer`` alone, or in a batch after ``SMB`` (``many``), when called."""
    if many:
        return lambda: scorer.score_many([SMB, customer], events, as_of=AS_OF)
    return lambda: scorer.score(customer, events, as_of=AS_OF)


class Returns(Factor):
    """Returns whatever the test put in ``result``."""

    name = "returns"
    window_days = 30

    def __init__(self, result: Any) -> None:
        self.result = result

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        return self.result  # type: ignore[no-any-return]


# -- duplicates ----------------------------------------------------------------------------


def test_same_factor_name_from_two_plugins_names_both() -> None:
    """Two plugins registering a factor of the same name is a DuplicateNameError naming
    both plugins and both classes."""

    class OtherNps(Returns):
        name = "nps"

    first = testing.make_plugin(NpsScore(), name="first")
    second = testing.make_plugin(OtherNps(FactorResult(1.0, "x")), name="second")
    with pytest.raises(
        DuplicateNameError,
        match=r"factor 'nps' is registered by plugin 'first' \(NpsScore\) and by "
        r"plugin 'second' \(.*OtherNps\)",
    ):
        testing.make_scorer(first, second)


def test_plugin_factor_named_like_a_builtin_names_both() -> None:
    """A plugin factor called api_usage clashes with the built-in one, naming builtin."""

    class MyApiUsage(NpsScore):
        name = "api_usage"

    with pytest.raises(
        DuplicateNameError,
        match=r"factor 'api_usage' is registered by plugin 'builtin' \(ApiUsage\) and by "
        r"plugin 'mine' \(.*MyApiUsage\)",
    ):
        testing.make_scorer(testing.make_plugin(MyApiUsage, name="mine"))


def test_same_segment_from_two_plugins_names_both() -> None:
    """Two plugins registering the same segment is a DuplicateNameError naming both."""
    first = testing.make_plugin(segments={"nonprofit": {"tickets_90d": 2}}, name="first")
    second = testing.make_plugin(segments={"nonprofit": {"tickets_90d": 3}}, name="second")
    with pytest.raises(
        DuplicateNameError,
        match=r"segment 'nonprofit' is registered by plugin 'first' and by plugin 'second'",
    ):
        testing.make_scorer(first, second)


def test_plugin_registering_a_builtin_segment_names_both() -> None:
    """Re-registering smb (instead of adding expectations to it) names builtin and the plugin."""
    plugin = testing.make_plugin(segments={"smb": {"nps_target": 7}}, name="resizer")
    with pytest.raises(
        DuplicateNameError,
        match=r"segment 'smb' is registered by plugin 'builtin' and by plugin 'resizer'",
    ):
        testing.make_scorer(plugin)


def test_same_expectation_key_twice_names_both() -> None:
    """Two plugins adding the same expectation key to a segment names both plugins."""
    first = testing.make_plugin(expectations={"smb": {"nps_target": 7}}, name="first")
    second = testing.make_plugin(expectations={"smb": {"nps_target": 8}}, name="second")
    with pytest.raises(
        DuplicateNameError,
        match=r"expectation 'nps_target' of segment 'smb' is registered by plugin 'first' "
        r"and by plugin 'second'",
    ):
        testing.make_scorer(first, second)


def test_overriding_a_builtin_expectation_names_both() -> None:
    """A plugin cannot silently change a built-in expectation: the error names builtin."""
    plugin = testing.make_plugin(expectations={"startup": {"api_calls_30d": 50}}, name="cheap")
    with pytest.raises(
        DuplicateNameError,
        match=r"expectation 'api_calls_30d' of segment 'startup' is registered by plugin "
        r"'builtin' and by plugin 'cheap'",
    ):
        testing.make_scorer(plugin)


def test_two_entry_points_with_one_name_name_both(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two entry points of one name pointing at different plugins is an error naming both."""
    fake = [
        importlib.metadata.EntryPoint(name="dup", value="customer_health.builtin", group=NAME),
        importlib.metadata.EntryPoint(name="dup", value="customer_health.testing", group=NAME),
    ]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **params: fake)
    with pytest.raises(
        DuplicateNameError,
        match=r"two plugins are named 'dup': customer_health.builtin and customer_health.testing",
    ):
        get_plugin_manager()


# -- expectations --------------------------------------------------------------------------


def test_expectations_for_an_unknown_segment_list_the_known_ones() -> None:
    """Adding expectations to a segment nobody registered names it and lists the known ones."""
    plugin = testing.make_plugin(expectations={"galactic": {"nps_target": 7}}, name="space")
    with pytest.raises(
        UnknownSegmentError,
        match=r"plugin 'space' adds expectations to unknown segment 'galactic'; "
        r"known segments: enterprise, smb, startup",
    ):
        testing.make_scorer(plugin)


BAD_EXPECTATIONS = [0, -1, -0.5, math.nan, math.inf, True, False, "5", None]


@pytest.mark.parametrize("value", BAD_EXPECTATIONS, ids=stable_repr)
def test_bad_expectation_in_a_new_segment_names_the_value(value: Any) -> None:
    """An expectation that is not a finite number > 0 (zero, negative, NaN, a bool, a
    string) in register_segments is a configuration error naming plugin, key and value."""
    plugin = testing.make_plugin(segments={"nonprofit": {"nps_target": value}}, name="bad")
    with pytest.raises(
        ConfigurationError,
        match=rf"plugin 'bad' set expectation 'nps_target' of segment 'nonprofit' to "
        rf"{re.escape(repr(value))}; every expectation must be a number > 0",
    ):
        testing.make_scorer(plugin)


@pytest.mark.parametrize("value", BAD_EXPECTATIONS, ids=stable_repr)
def test_bad_expectation_added_to_a_segment_names_the_value(value: Any) -> None:
    """The same holds for expectations added through register_expectations."""
    plugin = testing.make_plugin(expectations={"smb": {"nps_target": value}}, name="bad")
    with pytest.raises(
        ConfigurationError,
        match=rf"plugin 'bad' set expectation 'nps_target' of segment 'smb' to "
        rf"{re.escape(repr(value))}",
    ):
        testing.make_scorer(plugin)


@pytest.mark.parametrize("segment", ["", 7, None])
def test_bad_segment_name_is_named(segment: Any) -> None:
    """A segment that is not a non-empty string is a configuration error naming it."""
    plugin = testing.make_plugin(segments={segment: {"nps_target": 1}}, name="bad")
    with pytest.raises(
        ConfigurationError,
        match=rf"plugin 'bad' registered segment {re.escape(repr(segment))}; "
        "a segment is a non-empty string",
    ):
        testing.make_scorer(plugin)


def test_expectations_that_are_not_a_mapping_are_named() -> None:
    """Expectations given as something other than a mapping are named."""
    plugin = testing.make_plugin(segments={"nonprofit": [("nps_target", 1)]}, name="bad")  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError, match=r"expectations \[\('nps_target', 1\)\]"):
        testing.make_scorer(plugin)


def test_segment_lacking_an_expectation_a_factor_needs_is_named() -> None:
    """A plugin segment without an expectation that a factor in use needs is a
    configuration error when the scorer is built, naming the segment, key, factor and
    plugin; leaving the factors out makes the configuration whole again."""
    plugin = testing.make_plugin(
        segments={"nonprofit": {"api_calls_30d": 10, "login_days_30d": 2}}, name="ngo"
    )
    with pytest.raises(
        ConfigurationError,
        match=r"segment 'nonprofit' has no expectation 'features_30d', which factor "
        r"'feature_adoption' \(plugin 'builtin'\) needs",
    ):
        testing.make_scorer(plugin)
    scorer = testing.make_scorer(plugin, factors=["api_usage", "login_frequency"])
    assert scorer.score({"id": "c1", "segment": "nonprofit"}, [], as_of=AS_OF).score == 0


def test_builtin_segment_lacking_a_plugin_expectation_is_named() -> None:
    """A plugin factor whose expectation a built-in segment lacks is named when the
    scorer is built, not at the first customer of that segment."""
    plugin = testing.make_plugin(NpsScore(), expectations={"smb": {"nps_target": 7}}, name="n")
    with pytest.raises(
        ConfigurationError,
        match=r"segment '(enterprise|startup)' has no expectation 'nps_target', which factor "
        r"'nps' \(plugin 'n'\) needs",
    ):
        testing.make_scorer(plugin)


# -- what a plugin registers ---------------------------------------------------------------


@pytest.mark.parametrize("thing", ["api_usage", 42, object, NpsScore.compute], ids=stable_repr)
def test_registering_a_non_factor_is_named(thing: Any) -> None:
    """Registering something that is not a Factor (instance or class) names the plugin
    and the object."""
    plugin = testing.make_plugin(thing, name="confused")
    with pytest.raises(
        ConfigurationError,
        match=rf"plugin 'confused' registered {re.escape(repr(thing))}, which is not a "
        r"customer_health.Factor",
    ):
        testing.make_scorer(plugin)


def _factor_class(**attributes: Any) -> type[Factor]:
    """A per-customer factor class with ``attributes`` overriding sound defaults."""

    def evaluate(self: Factor, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        return FactorResult(1.0, "one")

    namespace: dict[str, Any] = {"name": "custom", "window_days": 30, "evaluate": evaluate}
    namespace.update(attributes)
    return type("Custom", (Factor,), namespace)


BAD_DEFINITIONS = [
    ({"name": ""}, r"has name ''; a factor needs a lowercase snake_case name"),
    ({"name": "Custom"}, r"has name 'Custom'"),
    ({"name": "my-factor"}, r"has name 'my-factor'"),
    ({"name": "1st"}, r"has name '1st'"),
    ({"name": "nps\n"}, r"has name 'nps\\n'"),
    ({"name": None}, r"has name None"),
    ({"default_weight": -0.1}, r"factor 'custom' has default_weight -0.1; it must be finite"),
    ({"default_weight": math.inf}, r"default_weight inf"),
    ({"default_weight": math.nan}, r"default_weight nan"),
    ({"default_weight": "1"}, r"default_weight '1'"),
    ({"default_weight": True}, r"default_weight True"),
    ({"window_days": 0}, r"factor 'custom' has window_days 0; it must be > 0 or None"),
    ({"window_days": -30}, r"window_days -30"),
    ({"window_days": math.nan}, r"window_days nan"),
    ({"window_days": math.inf}, r"window_days inf"),
    ({"window_days": "30"}, r"window_days '30'"),
    ({"kinds": "nps_response"}, r"factor 'custom' has kinds 'nps_response'; it must be a coll"),
    ({"kinds": frozenset({""})}, r"has kinds frozenset\(\{''\}\)"),
    ({"kinds": 3}, r"has kinds 3"),
    ({"prorate": True, "expectation": None}, r"sets prorate but has no window_days or expect"),
    ({"expectation": ""}, r"factor 'custom' has expectation ''; it must be the non-empty key"),
    ({"expectation": 5}, r"has expectation 5"),
    (
        {"inputs": ("a",)},
        r"factor 'custom' declares inputs \('a',\) but does not implement compute\(\)",
    ),
    ({"evaluate": Factor.evaluate}, r"factor 'custom' implements neither evaluate\(\) nor"),
]


@pytest.mark.parametrize(("attributes", "message"), BAD_DEFINITIONS, ids=stable_repr)
@pytest.mark.parametrize("as_class", [True, False], ids=["class", "instance"])
def test_bad_factor_definition_is_named(
    attributes: dict[str, Any], message: str, as_class: bool
) -> None:
    """A Factor class with a bad name, weight, window or kinds, or with no way to score,
    is a configuration error naming the plugin, the factor and the bad value, registered
    as a class or as an instance."""
    cls = _factor_class(**attributes)
    plugin = testing.make_plugin(cls if as_class else cls(), name="sloppy")
    with pytest.raises(
        ConfigurationError, match=r"^plugin 'sloppy' registered a bad factor: "
    ) as e:
        testing.make_scorer(plugin)
    assert re.search(message, str(e.value))


def test_factor_class_needing_arguments_is_named() -> None:
    """Registering a Factor class whose constructor needs arguments names the plugin."""
    plugin = testing.make_plugin(Returns, name="eager")
    with pytest.raises(PluginError, match=r"plugin 'eager' raised TypeError\(.*register_factors"):
        testing.make_scorer(plugin)


# -- hooks that raise ----------------------------------------------------------------------


@pytest.mark.parametrize("hook", ["register_factors", "register_segments", "register_expectations"])
def test_hook_that_raises_is_a_plugin_error_naming_the_plugin(hook: str) -> None:
    """A hook implementation that raises becomes a PluginError naming the plugin and the
    hook, with the original exception chained."""

    def broken(register: object) -> None:
        raise RuntimeError("kaput")

    plugin = type("Crashy", (), {hook: staticmethod(customer_health.hookimpl(broken))})
    with pytest.raises(
        PluginError, match=rf"plugin 'Crashy' raised RuntimeError\('kaput'\) in {hook}\(\)"
    ) as caught:
        testing.make_scorer(plugin)
    assert isinstance(caught.value.__cause__, RuntimeError)


# -- factors misbehaving while scoring -----------------------------------------------------


class Raises(Factor):
    """Divides by the number of NPS responses: raises for a customer without any."""

    name = "fragile"
    kinds = frozenset({"nps_response"})
    window_days = 90

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        mean = sum(e.properties["score"] for e in events) / len(events)  # type: ignore[union-attr]
        return FactorResult(10.0 * mean, f"mean {mean}")


@pytest.mark.parametrize("many", [False, True], ids=["score", "score_many"])
def test_factor_raising_is_a_factor_error_naming_plugin_factor_and_customer(many: bool) -> None:
    """A factor that raises while scoring is a FactorError naming the factor, its plugin
    and the customer, chained to the original exception."""
    scorer = testing.make_scorer(testing.make_plugin(Raises(), name="fragile_plugin"))
    message = (
        r"factor 'fragile' \(plugin 'fragile_plugin'\) raised ZeroDivisionError\(.*\) "
        r"while scoring customer 'quiet'"
    )
    run = scoring(scorer, {"id": "quiet", "segment": "smb"}, [nps_event(AS_OF, 9)], many)
    with pytest.raises(FactorError, match=message) as caught:
        run()
    assert isinstance(caught.value.__cause__, ZeroDivisionError)
    assert isinstance(caught.value, RuntimeError)


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (FactorResult(100.5, "too high"), r"returned score 100.5; scores must be within 0-100"),
        (FactorResult(-1e-9, "too low"), r"returned score -1e-09"),
        (FactorResult(math.nan, "nan"), r"returned score nan"),
        (FactorResult(math.inf, "inf"), r"returned score inf"),
        (FactorResult(True, "bool"), r"returned score True"),  # type: ignore[arg-type]
        (FactorResult("50", "text"), r"returned score '50'"),  # type: ignore[arg-type]
        (50.0, r"returned 50.0; expected a FactorResult"),
        (None, r"returned None; expected a FactorResult"),
        ({"score": 50}, r"returned \{'score': 50\}; expected a FactorResult"),
        (FactorResult(50.0, "v", value=math.nan), r"returned value nan; expected a finite"),
        (FactorResult(50.0, "e", expected=math.inf), r"returned expected inf"),
        (FactorResult(50.0, None), r"returned explanation None; expected a line of text"),  # type: ignore[arg-type]
        (FactorResult(50.0, "  "), r"returned explanation '  '; expected a line of text"),
    ],
    ids=stable_repr,
)
@pytest.mark.parametrize("many", [False, True], ids=["score", "score_many"])
def test_bad_factor_result_is_a_factor_error_naming_the_factor(
    result: Any, message: str, many: bool
) -> None:
    """A factor returning a score outside 0-100, NaN, a non-number, a non-finite value or
    something other than a FactorResult is a FactorError naming the factor and plugin."""
    scorer = testing.make_scorer(testing.make_plugin(Returns(result), name="liar"))
    run = scoring(scorer, {"id": "c2", "segment": "smb"}, [], many)
    with pytest.raises(FactorError, match=r"factor 'returns' \(plugin 'liar'\) " + message):
        run()


class BadAggregate(NpsScore):
    """A vectorised factor whose aggregate() raises on an answer without a score."""

    name = "bad_aggregate"


@pytest.mark.parametrize("many", [False, True], ids=["score", "score_many"])
def test_vectorised_factor_raising_in_aggregate_is_named(many: bool) -> None:
    """A vectorised factor raising while its inputs are aggregated is a FactorError naming
    the factor and its plugin, chained to the original exception."""
    plugin = testing.make_plugin(BadAggregate(), expectations=ALL_NPS_TARGETS, name="p")
    scorer = testing.make_scorer(plugin)
    answer = nps_event(AS_OF, 9, customer_id="c2")
    answer["properties"] = {"comment": "no score"}
    run = scoring(scorer, {"id": "c2", "segment": "smb"}, [answer], many)
    with pytest.raises(
        FactorError, match=r"factor 'bad_aggregate' \(plugin 'p'\) raised KeyError\('score'\)"
    ) as caught:
        run()
    assert isinstance(caught.value.__cause__, KeyError)


class BadCompute(NpsScore):
    """A vectorised factor whose compute() goes out of range."""

    name = "bad_compute"

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        return FactorResult(150.0, "too much")


@pytest.mark.parametrize("many", [False, True], ids=["score", "score_many"])
def test_bad_result_from_compute_is_named(many: bool) -> None:
    """The fast path (aggregate + compute) checks results the same way."""
    plugin = testing.make_plugin(BadCompute(), expectations=ALL_NPS_TARGETS, name="p")
    scorer = testing.make_scorer(plugin)
    run = scoring(scorer, {"id": "c2", "segment": "smb"}, [nps_event(AS_OF, 9, "c2")], many)
    with pytest.raises(FactorError, match=r"factor 'bad_compute' \(plugin 'p'\) returned score"):
        run()


class DividesInCompute(NpsScore):
    """A vectorised factor whose compute() divides by the number of answers."""

    name = "divides"

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        mean = inputs["total"] / inputs["responses"]
        return FactorResult(10.0 * mean, f"mean {mean}")


class AddRaises(NpsScore):
    """A vectorised factor whose accumulator's add() raises on every event."""

    name = "add_raises"

    def accumulator(self, as_of: datetime, customer_ids: Iterable[str]) -> Accumulator:
        def add(event: Event) -> None:
            raise RuntimeError("cannot add")

        return Accumulator(add, dict)


class AccumulatorRaises(NpsScore):
    """A vectorised factor whose accumulator() itself raises."""

    name = "no_accumulator"

    def accumulator(self, as_of: datetime, customer_ids: Iterable[str]) -> Accumulator:
        raise RuntimeError("no accumulator")


@pytest.mark.parametrize(
    ("factor", "events", "message"),
    [
        pytest.param(
            Raises(),
            [nps_event(AS_OF, 9)],  # c1 (scored first by score_many) has an answer
            r"factor 'fragile' \(plugin 'p'\) raised ZeroDivisionError\('division by zero'\) in "
            r"evaluate\(\) while scoring customer 'c2'$",
            id="evaluate",
        ),
        pytest.param(
            DividesInCompute(),
            [nps_event(AS_OF, 9)],
            r"factor 'divides' \(plugin 'p'\) raised ZeroDivisionError\('float division by "
            r"zero'\) in compute\(\) while scoring customer 'c2'$",
            id="compute",
        ),
        pytest.param(
            AddRaises(),
            [nps_event(AS_OF, 9, "c2")],
            r"factor 'add_raises' \(plugin 'p'\) raised RuntimeError\('cannot add'\) in add\(\) "
            r"while accumulating an event of customer 'c2'$",
            id="add",
        ),
        pytest.param(
            AccumulatorRaises(),
            [],
            r"factor 'no_accumulator' \(plugin 'p'\) raised RuntimeError\('no accumulator'\) in "
            r"accumulator\(\)$",
            id="accumulator",
        ),
    ],
)
@pytest.mark.parametrize("many", [False, True], ids=["score", "score_many"])
def test_a_factor_error_names_the_method_that_raised(
    factor: Factor, events: list[dict[str, Any]], message: str, many: bool
) -> None:
    """The FactorError of a factor that raises names the method it raised in (and the
    customer scored or whose event was being accumulated), chained to the original."""
    plugin = testing.make_plugin(factor, expectations=ALL_NPS_TARGETS, name="p")
    run = scoring(testing.make_scorer(plugin), {"id": "c2", "segment": "smb"}, events, many)
    with pytest.raises(FactorError, match=message) as caught:
        run()
    assert isinstance(caught.value.__cause__, ZeroDivisionError | RuntimeError)
    assert not isinstance(caught.value.__cause__, FactorError)


class Delegates(Returns):
    """A factor that scores through another scorer, whose factor raises."""

    name = "delegates"

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        inner = testing.make_scorer(testing.make_plugin(Raises(), name="inner"))
        health = inner.score(ctx.customer, [], as_of=ctx.as_of)
        return FactorResult(health.score, "delegated")


@pytest.mark.parametrize("many", [False, True], ids=["score", "score_many"])
def test_a_factor_error_from_a_factor_is_not_wrapped_again(many: bool) -> None:
    """A FactorError a factor lets through (another factor's) passes as it is: it names
    the factor that raised already, and is not wrapped in a second one."""
    scorer = testing.make_scorer(testing.make_plugin(Delegates(None), name="outer"))
    run = scoring(scorer, {"id": "c2", "segment": "smb"}, [], many)
    with pytest.raises(FactorError) as caught:
        run()
    assert str(caught.value).startswith(
        "factor 'fragile' (plugin 'inner') raised ZeroDivisionError"
    )
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


class AddLetsThrough(NpsScore):
    """A vectorised factor whose accumulator lets another factor's FactorError through."""

    name = "lets_through"

    def accumulator(self, as_of: datetime, customer_ids: Iterable[str]) -> Accumulator:
        def add(event: Event) -> None:
            raise FactorError("factor 'inner' (plugin 'inner') raised in add()")

        return Accumulator(add, dict)


def test_a_factor_error_from_an_accumulator_is_not_wrapped_again() -> None:
    """A FactorError raised while an event is accumulated passes as it is, too."""
    plugin = testing.make_plugin(AddLetsThrough(), expectations=ALL_NPS_TARGETS, name="p")
    scorer = testing.make_scorer(plugin)
    with pytest.raises(FactorError) as caught:
        scorer.score({"id": "c2", "segment": "smb"}, [nps_event(AS_OF, 9, "c2")], as_of=AS_OF)
    assert str(caught.value) == "factor 'inner' (plugin 'inner') raised in add()"
    assert caught.value.__cause__ is None


class Opaque(Exception):
    """An exception that keeps its message outside its arguments (as PySpark's do)."""

    def __str__(self) -> str:
        return "[OPAQUE] the first line\nand a second one"


class RaisesOpaque(Returns):
    """Raises an Opaque error."""

    name = "opaque"

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        raise Opaque()


def test_an_exception_keeping_its_message_elsewhere_is_named_by_its_first_line() -> None:
    """An exception whose arguments are empty but whose message is not is shown by its
    type and the first line of its message, not as an empty ``Opaque()``."""
    scorer = testing.make_scorer(testing.make_plugin(RaisesOpaque(None), name="p"))
    with pytest.raises(FactorError) as caught:
        scorer.score({"id": "c2", "segment": "smb"}, [], as_of=AS_OF)
    assert str(caught.value) == (
        "factor 'opaque' (plugin 'p') raised Opaque('[OPAQUE] the first line') in evaluate() "
        "while scoring customer 'c2'"
    )
    assert isinstance(caught.value.__cause__, Opaque)


# -- segments ------------------------------------------------------------------------------


@pytest.mark.parametrize("many", [False, True], ids=["score", "score_many"])
def test_customer_of_an_unknown_segment_lists_the_known_ones(many: bool) -> None:
    """A customer whose segment nobody registered is an UnknownSegmentError naming the
    segment and customer and listing the known segments, plugin ones included."""
    plugin = testing.make_plugin(
        NpsScore(),
        segments={"nonprofit": {**NPS_TARGETS, "tickets_90d": 1, "nps_target": 5}},
        expectations={name: {"nps_target": target} for name, target in NPS_TARGETS.items()},
        name="ngo",
    )
    scorer = testing.make_scorer(plugin, factors=["nps"])
    run = scoring(scorer, {"id": "c9", "segment": "Enterprise"}, [], many)
    with pytest.raises(
        UnknownSegmentError,
        match=r"unknown segment 'Enterprise' of customer 'c9'; "
        r"known segments: enterprise, nonprofit, smb, startup",
    ):
        run()


def test_unknown_segment_error_is_a_lookup_error() -> None:
    """UnknownSegmentError can be caught as a LookupError."""
    with pytest.raises(LookupError, match="known segments: enterprise, smb, startup"):
        testing.make_scorer().score({"id": "c1", "segment": "huge"}, [], as_of=AS_OF)
