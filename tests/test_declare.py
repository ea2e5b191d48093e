"""Declaring a factor: what the vocabulary accepts, the errors that name a mistake, and
what a declared factor does with properties (``customer_health.declare``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

import customer_health
from customer_health import ConfigurationError, Scorer
from customer_health._expr import type_of
from customer_health.declare import (
    Aggregate,
    DeclaredFactor,
    as_of,
    count,
    days_between,
    event,
    expected,
    inputs,
    lit,
    microseconds_between,
    number_property,
    utc_day,
    when,
)

from .declared import number_of

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)


def _factor(**attributes: Any) -> type[DeclaredFactor]:
    """A declared factor class with ``attributes`` over a working default."""
    body: dict[str, Any] = {
        "name": "probe",
        "kinds": frozenset({"login"}),
        "window_days": 30,
        "aggregates": {"logins": count()},
        "score": when((inputs.logins > 0.0, 100.0)),
        "explanation": "{logins} logins",
    }
    body.update(attributes)
    return type("Probe", (DeclaredFactor,), body)


def _registered(factor: type[DeclaredFactor]) -> Scorer:
    class Plugin:
        @customer_health.hookimpl
        def register_factors(self, register: Any) -> None:
            register(factor())

        @customer_health.hookimpl
        def register_expectations(self, register: Any) -> None:
            for segment in ("enterprise", "smb", "startup"):
                register(segment, {"probe_target": 5.0})

    return Scorer(entry_points=False, plugins=[Plugin()])


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"aggregates": {}}, r"has aggregates \{\}; it needs a mapping"),
        ({"aggregates": {"n": 3}}, r"aggregate 'n' is 3, not an aggregate"),
        ({"aggregates": {"score": count()}}, r"aggregate named 'score'"),
        (
            {"aggregates": {"n": (event.feature + 1.0).sum()}},
            r"aggregate 'n': \(feature \+ 1.0\): \+ needs numbers, not text and float",
        ),
        (
            {"aggregates": {"n": count(where=event.due_at > 3.0)}},
            r"cannot compare instant with float",
        ),
        ({"aggregates": {"n": event.feature.sum()}}, r"sum of feature needs numbers, not text"),
        (
            {"aggregates": {"n": count(where=inputs.logins > 0.0)}},
            r"reads 'logins', which is not an event field",
        ),
        ({"score": inputs.calls * 2.0}, r"reads 'calls', which is not one of its aggregates"),
        ({"score": expected * 2.0}, r"reads expected, but the factor has no expectation"),
        ({"score": event.feature == "x"}, r"score is bool; it must be a number"),
        ({"score": 3.0}, r"has score 3.0, not an expression"),
        ({"explanation": ""}, r"has explanation ''; it needs a template"),
        ({"explanation": "{logins} of {calls}"}, r"which names \{calls\}; it may name"),
        ({"no_data": "{logins"}, r"has no_data '\{logins': "),
        (
            {"score": days_between(as_of, event.occurred_at)},
            r"calls days_between\(\), which reads events",
        ),
    ],
)
def test_a_mistake_is_an_error_naming_the_factor_and_the_expression(
    attributes: dict[str, Any], message: str
) -> None:
    """What does not fit is a ConfigurationError when the plugin registers the factor,
    naming the plugin, the factor and what is wrong."""
    with pytest.raises(
        ConfigurationError, match=r"plugin 'Plugin' registered a bad factor"
    ) as info:
        _registered(_factor(**attributes))
    assert "declared factor 'probe'" in str(info.value)
    assert info.match(message)


def test_an_unknown_field_names_the_fields() -> None:
    with pytest.raises(AttributeError, match=r"no field 'logged_at'.*occurred_at"):
        _ = event.logged_at


def test_a_property_key_must_be_a_name() -> None:
    with pytest.raises(ValueError, match=r"number_property key 'a.b' must be a name"):
        number_property("a.b")


def test_types() -> None:
    """Whole numbers stay whole through + - *; / and doubles give doubles; instants are
    measured, not added."""
    assert type_of(event.quantity * event.quantity) == "int"
    assert type_of(event.quantity / event.quantity) == "float"
    assert type_of(event.quantity + 1.0) == "float"
    assert type_of(microseconds_between(as_of, event.due_at) + lit(1, "int")) == "int"
    assert type_of(days_between(as_of, event.due_at)) == "float"
    assert type_of(utc_day(event.occurred_at)) == "int"
    assert type_of(when((event.paid_at <= as_of, event.paid_at), otherwise=as_of)) == "instant"
    with pytest.raises(TypeError, match="needs numbers, not instant and float"):
        type_of(event.due_at + 1.0)
    with pytest.raises(TypeError, match="texts only with =="):
        type_of(event.feature > "a")
    with pytest.raises(TypeError, match="needs a whole number"):
        lit(1.5, "int")


class Answers(DeclaredFactor):
    """Counts the numbers read from ``properties["n"]`` and adds them up."""

    name = "answers"
    kinds = frozenset({"survey"})
    aggregates: ClassVar[Mapping[str, Aggregate]] = {
        "read": count(where=number_property("n").is_not_null()),
        "total": number_property("n").sum(),
        "least": number_property("n").min(),
    }
    score = when((inputs.read > 0.0, 50.0))
    value = inputs.total
    explanation = "{read} numbers adding up to {total}, the least {least}"
    no_data = "no numbers among {read}"


@pytest.mark.parametrize(
    ("given", "read"),
    [
        (12, 12.0),
        (-0.5, -0.5),
        ("12", 12.0),
        ("-1.5e3", -1500.0),
        (2**53 + 1, float(2**53 + 1)),
        (str(2**53 + 1), float(2**53 + 1)),
        (True, None),
        (None, None),
        (" 12", None),
        ("12\n", None),
        ("0x1F", None),
        ("NaN", None),
        ("Infinity", None),
        ("1e400", None),
        (10**400, None),
        ([1], None),
        ({"n": 1}, None),
        ("", None),
        ("01", None),
        (".5", None),
    ],
)
def test_a_number_in_properties_is_read_as_defined(given: Any, read: float | None) -> None:
    """A JSON number, or a text that holds one and nothing else; null for the rest."""
    assert number_of(given) == read  # the tests' reference reads it so too
    scorer = Scorer(entry_points=False, plugins=[_plugin(Answers)], factors=["answers"])
    events = [
        {"customer_id": "c", "kind": "survey", "occurred_at": AS_OF, "properties": {"n": given}}
    ]
    part = scorer.score({"id": "c", "segment": "smb"}, events, as_of=AS_OF).factor("answers")
    if read is None:
        assert (part.score, part.value) == (None, 0.0)
        assert part.explanation == "no numbers among 0"
    else:
        assert (part.score, part.value) == (50.0, read)
        assert part.explanation.startswith("1 numbers adding up to")


def _plugin(*factors: type[DeclaredFactor]) -> object:
    class Plugin:
        @customer_health.hookimpl
        def register_factors(self, register: Any) -> None:
            for factor in factors:
                register(factor())

    return Plugin()


def test_without_events_counts_and_sums_are_0_and_least_values_null() -> None:
    scorer = Scorer(entry_points=False, plugins=[_plugin(Answers)], factors=["answers"])
    inputs_of = scorer.model.factor("answers").factor.aggregate([], AS_OF)
    assert inputs_of == {"read": 0.0, "total": 0.0, "least": None}


def test_the_explanation_formats_numbers_as_the_library_does() -> None:
    events = [
        {"customer_id": "c", "kind": "survey", "occurred_at": AS_OF, "properties": {"n": n}}
        for n in (2.5, "4", 1)
    ]
    scorer = Scorer(entry_points=False, plugins=[_plugin(Answers)], factors=["answers"])
    part = scorer.score({"id": "c", "segment": "smb"}, events, as_of=AS_OF).factor("answers")
    assert part.explanation == "3 numbers adding up to 7.5, the least 1"


@pytest.mark.parametrize(
    ("ago", "shown"),
    [(timedelta(days=1), "1 day"), (timedelta(days=2.5), "2.5 days"), (timedelta(0), "0 days")],
)
def test_days_show_with_their_unit_one_day_alone_singular(ago: timedelta, shown: str) -> None:
    """``{since:days}`` in a template shows the number with its unit; the built-in recency
    factors use it (the default model's last_seen once read "1 days ago")."""
    login = {"customer_id": "c", "kind": "login", "occurred_at": AS_OF - ago}
    part = Scorer().score({"id": "c", "segment": "smb"}, [login], as_of=AS_OF).factor("last_seen")
    assert part.explanation == f"last usage event {shown} ago; expected within 7"


def test_the_generated_accumulator_is_readable_python() -> None:
    """The object path runs one generated function per factor; its source is its doc."""
    from customer_health.declare import _compiled

    source = _compiled(Answers).accumulator.__doc__ or ""
    assert source.startswith("def make(")
    assert "_number(" in source


def test_days_and_utc_days_are_exact() -> None:
    """days_between is the exact microseconds over 86,400,000,000; utc_day counts from
    1970-01-01, before it too."""

    class Days(DeclaredFactor):
        name = "days"
        kinds = frozenset({"login"})
        aggregates: ClassVar[Mapping[str, Aggregate]] = {
            "since": days_between(as_of, event.occurred_at).min(),
            "first_day": utc_day(event.occurred_at).min(),
        }
        score = lit(0.0)
        value = inputs.since
        explanation = "{since}"

    when_ = AS_OF - timedelta(days=3, microseconds=7)
    early = datetime(1969, 12, 31, 23, 59, tzinfo=UTC)
    found = Days().aggregate(
        [
            customer_health.LoginEvent(customer_id="c", occurred_at=when_),
            customer_health.LoginEvent(customer_id="c", occurred_at=early),
        ],
        AS_OF,
    )
    assert found["since"] == (3 * 86_400_000_000 + 7) / 86_400_000_000
    assert found["first_day"] == -1.0
    assert math.isfinite(found["since"])


def test_empty_properties_alone_are_read_in_a_frame() -> None:
    """A frame whose only properties are empty objects scores (no struct type has no
    field: the de-duplication key is then that of no properties)."""
    pl = pytest.importorskip("polars")
    scorer = Scorer(entry_points=False, plugins=[_plugin(Answers)], factors=["answers"])
    events = pl.DataFrame(
        {
            "customer_id": ["c", "c"],
            "kind": ["survey", "survey"],
            "occurred_at": [AS_OF.replace(tzinfo=None)] * 2,
            "event_id": ["e1", "e1"],
            "properties": ["{}", "{}"],
        }
    )
    out = scorer.score_frame(pl.DataFrame({"id": ["c"], "segment": ["smb"]}), events, as_of=AS_OF)
    assert out.get_column("answers_value").to_list() == [0.0]
    assert out.get_column("answers").to_list() == [None]
