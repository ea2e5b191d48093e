"""The field limits of the types: ids, names, kinds, segments, features and JSON mappings."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pydantic
import pytest

import customer_health
from customer_health import (
    MAX_ID_LENGTH,
    MAX_JSON_LENGTH,
    MAX_TEXT_LENGTH,
    Customer,
    CustomEvent,
    InvalidCustomerError,
    InvalidEventError,
    LoginEvent,
)
from customer_health._inputs import validate_customer, validate_events

T = "2026-06-29T12:00:00Z"
CONTROL = ["\x00", "\x01", "\n", "\x1f", "\x7f", "\x80", "\x85", "\x9f"]
"""Control characters (Unicode category Cc), both ends of both ranges included."""
NOT_CONTROL = [" ", "\xa0", "\u00e9", "\u2028", "\ufeff", "\U0001f600"]
"""Characters next to or often mistaken for control characters, which ids may hold."""


def json_of_length(length: int, char: str = "x") -> dict[str, Any]:
    """A mapping whose canonical JSON (``{"k":"..."}``) has exactly ``length`` characters."""
    return {"k": char * (length - len('{"k":""}'))}


def customer(**fields: Any) -> dict[str, Any]:
    """A valid customer, with ``fields`` replacing its own."""
    return {"id": "c1", "segment": "smb"} | fields


def event(**fields: Any) -> dict[str, Any]:
    """A valid login event, with ``fields`` replacing its own."""
    return {"customer_id": "c1", "kind": "login", "occurred_at": T} | fields


# Every limited field: how to make an item with a value in it, the field's name, its
# limit, and whether it holds an id (no control characters) or text (no NUL).
ID_FIELDS = [
    ("customer", "id"),
    ("customer", "segment"),
    ("event", "customer_id"),
    ("event", "event_id"),
    ("event", "user_id"),
    ("custom", "kind"),
]
TEXT_FIELDS = [("customer", "name"), ("feature", "feature")]
JSON_FIELDS = [("customer", "attributes"), ("custom", "properties")]


def item(shape: str, field: str, value: Any) -> dict[str, Any]:
    """An item of ``shape`` whose ``field`` is ``value``."""
    if shape == "customer":
        return customer(**{field: value})
    if shape == "feature":
        return event(kind="feature_used", **{field: value})
    if shape == "custom":
        return event(**{"kind": "nps", "properties": {}, field: value})
    return event(**{field: value})


def validated(shape: str, value: dict[str, Any]) -> Any:
    """``value`` validated as the library validates callers' input."""
    if shape == "customer":
        return validate_customer(value)
    return validate_events([value])[0]


def refusal(shape: str, field: str, value: Any) -> str:
    """The library's error message for an item of ``shape`` whose ``field`` is ``value``."""
    error = InvalidCustomerError if shape == "customer" else InvalidEventError
    with pytest.raises(error) as caught:
        validated(shape, item(shape, field, value))
    message = str(caught.value)
    assert f"field {field!r}: " in message
    return message


@pytest.mark.parametrize(("shape", "field"), ID_FIELDS)
def test_ids_segments_and_kinds_hold_up_to_the_limit(shape: str, field: str) -> None:
    """An id, segment or kind of exactly MAX_ID_LENGTH characters (not bytes) is kept."""
    value = "\u00e9" * MAX_ID_LENGTH
    assert getattr(validated(shape, item(shape, field, value)), field) == value


@pytest.mark.parametrize(("shape", "field"), ID_FIELDS)
def test_ids_segments_and_kinds_over_the_limit_are_refused(shape: str, field: str) -> None:
    """One character more than MAX_ID_LENGTH, or none, is an error naming the field."""
    message = refusal(shape, field, "x" * (MAX_ID_LENGTH + 1))
    assert f"String should have at most {MAX_ID_LENGTH} characters" in message
    assert "String should have at least 1 character" in refusal(shape, field, "")


@pytest.mark.parametrize("char", CONTROL)
@pytest.mark.parametrize(("shape", "field"), ID_FIELDS)
def test_ids_segments_and_kinds_refuse_control_characters(
    shape: str, field: str, char: str
) -> None:
    """A control character anywhere in an id, segment or kind is an error naming the field."""
    message = refusal(shape, field, f"a{char}b")
    assert "String should not contain control characters (U+0000-U+001F, U+007F-U+009F)" in (
        message
    )


@pytest.mark.parametrize("char", NOT_CONTROL)
@pytest.mark.parametrize(("shape", "field"), ID_FIELDS)
def test_other_characters_are_welcome_in_ids(shape: str, field: str, char: str) -> None:
    """Spaces, non-ASCII letters, separators and emoji are not control characters."""
    value = f"a{char}b/%"
    assert getattr(validated(shape, item(shape, field, value)), field) == value


@pytest.mark.parametrize(("shape", "field"), TEXT_FIELDS)
def test_names_and_features_hold_up_to_the_limit(shape: str, field: str) -> None:
    """A name or feature of MAX_TEXT_LENGTH characters, control characters but NUL
    included, is kept."""
    value = "\t\n\x7f" + "\u00e9" * (MAX_TEXT_LENGTH - 3)
    assert getattr(validated(shape, item(shape, field, value)), field) == value


@pytest.mark.parametrize(("shape", "field"), TEXT_FIELDS)
def test_names_and_features_over_the_limit_or_with_nul_are_refused(shape: str, field: str) -> None:
    """A name or feature over MAX_TEXT_LENGTH, or with a NUL, is an error naming the field."""
    message = refusal(shape, field, "x" * (MAX_TEXT_LENGTH + 1))
    assert f"String should have at most {MAX_TEXT_LENGTH} characters" in message
    message = refusal(shape, field, "a\x00b")
    assert "String should not contain the NUL character (U+0000)" in message


def test_a_feature_is_still_not_empty_and_a_name_may_be() -> None:
    """An empty feature is refused, as before; an empty name is a name."""
    assert "at least 1 character" in refusal("feature", "feature", "")
    assert validate_customer(customer(name="")).name == ""


@pytest.mark.parametrize("char", ["x", "\u00e9", "\U0001f600"])
@pytest.mark.parametrize(("shape", "field"), JSON_FIELDS)
def test_json_mappings_hold_up_to_the_limit(shape: str, field: str, char: str) -> None:
    """Attributes or properties of exactly MAX_JSON_LENGTH characters of canonical JSON
    (characters, not bytes: non-ASCII is not escaped) are kept."""
    value = json_of_length(MAX_JSON_LENGTH, char)
    assert getattr(validated(shape, item(shape, field, value)), field) == value


@pytest.mark.parametrize(("shape", "field"), JSON_FIELDS)
def test_json_mappings_over_the_limit_are_refused(shape: str, field: str) -> None:
    """One character of canonical JSON more is an error naming the field and the lengths."""
    message = refusal(shape, field, json_of_length(MAX_JSON_LENGTH + 1, "\u00e9"))
    assert (
        f"Mapping should have at most {MAX_JSON_LENGTH} characters as canonical JSON, "
        f"not {MAX_JSON_LENGTH + 1}"
    ) in message


def test_json_mappings_are_measured_as_the_store_writes_them() -> None:
    """Sorted keys and no spaces: the same contents in another order or layout count the same."""
    keys = {f"key{i:05d}": i for i in range(3000)}
    text = '{"a":{' + ",".join(f'"{k}":{v}' for k, v in sorted(keys.items())) + "}}"
    padding = "p" * (MAX_JSON_LENGTH - len(text) - len(',"b":""'))
    exact = {"b": padding, "a": dict(reversed(keys.items()))}
    assert validate_customer(customer(attributes=exact)).attributes == exact
    with pytest.raises(InvalidCustomerError, match="not 65537"):
        validate_customer(customer(attributes=exact | {"b": padding + "p"}))


def test_mappings_that_are_not_json_are_not_measured() -> None:
    """Values no store could write (a datetime, an object) are kept for plugin factors."""
    when = datetime(2026, 1, 1, tzinfo=UTC)
    marker = object()
    big = {"when": when, "text": "x" * MAX_JSON_LENGTH}
    assert validate_customer(customer(attributes=big)).attributes == big
    assert validate_customer(customer(attributes={"marker": marker})).attributes["marker"] is (
        marker
    )


def test_the_types_themselves_name_the_field() -> None:
    """Built directly, the models raise pydantic errors located at the field, with the message."""
    with pytest.raises(pydantic.ValidationError) as caught:
        Customer(id="a\x00b", segment="s" * (MAX_ID_LENGTH + 1), name="n\x00")
    found = {error["loc"]: error["msg"] for error in caught.value.errors()}
    assert found == {
        ("id",): "String should not contain control characters (U+0000-U+001F, U+007F-U+009F)",
        ("segment",): f"String should have at most {MAX_ID_LENGTH} characters",
        ("name",): "String should not contain the NUL character (U+0000)",
    }
    with pytest.raises(pydantic.ValidationError, match=r"user_id\n  String should not contain"):
        LoginEvent(customer_id="c1", occurred_at=T, user_id="u\x1b")
    with pytest.raises(pydantic.ValidationError, match=r"properties\n  Mapping should have"):
        CustomEvent(
            customer_id="c1",
            kind="nps",
            occurred_at=T,
            properties=json_of_length(MAX_JSON_LENGTH + 1),
        )


def test_library_messages_name_the_item_and_the_field() -> None:
    """The library's errors say which customer or event, which field, and what was given."""
    with pytest.raises(InvalidCustomerError) as caught:
        validate_customer(customer(name="n" * (MAX_TEXT_LENGTH + 1)))
    assert str(caught.value).startswith(
        "customer (id 'c1'): field 'name': String should have at most 1000 characters (got 'nnnn"
    )
    with pytest.raises(InvalidEventError) as caught_event:
        validate_events([event(), event(user_id="u\x00", event_id="e1")])
    assert str(caught_event.value) == (
        "event #1 ('login', event_id 'e1'): field 'user_id': String should not contain "
        "control characters (U+0000-U+001F, U+007F-U+009F) (got 'u\\x00')"
    )


def test_integer_ids_are_still_read_as_text() -> None:
    """An integer id is its decimal string, within the same limit; a bool is not an id."""
    assert validate_customer(customer(id=7)).id == "7"
    (login,) = validate_events([event(customer_id=7, event_id=8, user_id=9)])
    assert isinstance(login, LoginEvent)
    assert (login.customer_id, login.event_id, login.user_id) == ("7", "8", "9")
    assert validate_customer(customer(id=10 ** (MAX_ID_LENGTH - 1))).id == "1" + "0" * 254
    assert "at most 255 characters" in refusal("customer", "id", 10**MAX_ID_LENGTH)
    for value in (True, 1.0, None, ["a"]):
        assert "Input should be a valid string" in refusal("event", "customer_id", value)


def test_scoring_refuses_what_the_types_refuse() -> None:
    """customer_health.score validates through the same types: a long feature is named."""
    events = [event(kind="feature_used", feature="f" * (MAX_TEXT_LENGTH + 1))]
    with pytest.raises(InvalidEventError, match=r"event #0 \('feature_used'\): field 'feature'"):
        customer_health.score(customer(), events, as_of=T)


def test_the_json_schemas_publish_the_limits() -> None:
    """The published schemas carry each limit, so clients can check before sending."""
    fields = Customer.model_json_schema()["properties"]
    assert fields["id"] == {
        "title": "Id",
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_ID_LENGTH,
        "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*$",
    }
    assert fields["name"]["anyOf"][0] == {
        "type": "string",
        "maxLength": MAX_TEXT_LENGTH,
        "pattern": "^[^\\x00]*$",
    }
    for text in (*CONTROL, *NOT_CONTROL):
        allowed = re.fullmatch(fields["id"]["pattern"], f"a{text}") is not None
        assert allowed is (text in NOT_CONTROL)
    schema = customer_health.event_json_schema()
    feature = schema["$defs"]["FeatureUsedEvent"]["properties"]["feature"]
    assert (feature["minLength"], feature["maxLength"]) == (1, MAX_TEXT_LENGTH)
    properties = schema["$defs"]["CustomEvent"]["properties"]["properties"]
    for described in (fields["attributes"], properties):
        assert "at most 65,536 characters as canonical JSON" in described["description"]


def test_errors_show_long_values_cut() -> None:
    """A million-character id, kind or event_id is shown cut at 80 characters, not whole."""
    with pytest.raises(InvalidCustomerError) as caught:
        validate_customer(customer(id="x" * 1_000_000))
    assert str(caught.value).startswith(f"customer (id '{'x' * 79}): field 'id'")
    assert len(str(caught.value)) < 300
    with pytest.raises(InvalidEventError) as caught_event:
        validate_events([event(kind="k" * 1_000_000, event_id="e" * 1_000_000)])
    message = str(caught_event.value)
    assert message.startswith(f"event #0 ('{'k' * 79}, event_id '{'e' * 79}): field")
    assert len(message) < 1000
