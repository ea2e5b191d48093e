"""Events given as plain dicts (JSON, a driver's rows) take a shorter way into models
(issue 15, point 4): no look at each item when all are dicts, the union's tag read by
pydantic-core rather than by a Python call per item, and instants read as UTC with
less work. These tests hold the
short ways to the general ones: same models, same errors, same instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from customer_health import LoginEvent
from customer_health._inputs import validate_events
from customer_health._time import to_utc
from customer_health.exceptions import InvalidEventError
from customer_health.models import EVENT_LIST_ADAPTER

from .strategies import BASE_AS_OF, events, json_like

_ODD_VALUES = [
    None,
    True,
    0,
    -1,
    2**31,
    1.5,
    float("nan"),
    "",
    "7",
    "x" * 256,
    "a\x00b",
    "2026-13-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    b"login",
    "Login",
    [],
    {},
]
_FIELDS = [
    "customer_id",
    "kind",
    "occurred_at",
    "event_id",
    "quantity",
    "user_id",
    "feature",
    "due_at",
    "paid_at",
    "amount",
    "priority",
    "resolved_at",
    "properties",
    "unexpected",
]


@st.composite
def dict_events(draw: st.DrawFn) -> dict[str, Any]:
    """An event as a dict (datetimes or their text), sometimes with one field set to an
    odd value (of the wrong type, out of range, of another kind) or removed."""
    event = draw(events(BASE_AS_OF))
    if draw(st.booleans()):
        event = json_like(event)
    change = draw(st.sampled_from(["none", "none", "set", "drop"]))
    field = draw(st.sampled_from(_FIELDS))
    if change == "set":
        event[field] = draw(st.sampled_from(_ODD_VALUES))
    elif change == "drop":
        event.pop(field, None)
    return event


_GUARD = LoginEvent(customer_id="guard", occurred_at=BASE_AS_OF)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(dict_events(), max_size=6))
def test_a_list_of_dicts_reads_as_in_a_mixed_list(items: list[dict[str, Any]]) -> None:
    # A model last sends the same dicts, at the same positions, through the general way.
    assert _outcome(items) == _outcome([*items, _GUARD])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(dict_events(), max_size=8))
def test_dicts_validated_with_the_tag_read_in_rust_are_what_the_union_makes(
    items: list[dict[str, Any]],
) -> None:
    # validate_events reads the union's tag in pydantic-core, without the union's call
    # per item for it: the same models in the same order, or an error where it errs.
    try:
        union = EVENT_LIST_ADAPTER.validate_python(items)
    except ValidationError:
        assert _outcome(items)[0] == "error"
        return
    kind, models = _outcome(items)
    assert kind == "models"
    assert list(map(repr, models)) == list(map(repr, union))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(dict_events(), max_size=6))
def test_any_mapping_reads_as_a_dict_does(items: list[dict[str, Any]]) -> None:
    # A driver's rows are mappings but not dicts (SQLAlchemy's RowMapping): a login
    # given so was once read as a custom event and refused as "built in".
    assert _outcome([MappingProxyType(item) for item in items]) == _outcome(items)


def _outcome(items: list[Any]) -> tuple[str, Any]:
    """The models validated from the dicts among ``items``, or the error's text."""
    try:
        models = validate_events(items)
    except InvalidEventError as exc:
        return "error", str(exc)
    return "models", [model for model in models if model is not _GUARD]


_ZONES = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(timezones=_ZONES, allow_imaginary=False), st.booleans())
def test_to_utc_gives_what_replace_and_astimezone_give(value: datetime, fold: bool) -> None:
    value = value.replace(fold=int(fold))
    expected = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    try:
        got = to_utc(value)
    except OverflowError:
        with pytest.raises(OverflowError):
            value.astimezone(UTC)
        return
    assert got == expected
    assert got.tzinfo is UTC
    assert repr(got) == repr(expected)  # fold and type too


class _Moment(datetime):
    """A datetime subclass (as pandas' Timestamp is one)."""


def test_to_utc_keeps_a_naive_subclass_as_replace_does() -> None:
    value = _Moment(2026, 6, 30, 12, 0, 0, 1)
    got = to_utc(value)
    assert type(got) is _Moment
    assert got == value.replace(tzinfo=UTC)
    assert got.tzinfo is UTC
