"""Field limits in the store: the same on every backend, and what they allow fits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from customer_health import (
    MAX_ID_LENGTH,
    MAX_JSON_LENGTH,
    MAX_TEXT_LENGTH,
    InvalidCustomerError,
    InvalidEventError,
    Scorer,
    UnknownCustomerError,
)
from customer_health.storage.sqlalchemy import SQLAlchemyStore

from ..backends import NOW

LONG_ID = "\u00e9" * MAX_ID_LENGTH
"""An id at the limit, in characters that take two bytes each in UTF-8."""
LONG_KIND = "\u00ec" * MAX_ID_LENGTH
"""A kind at the limit (declared to the store's scorer, so that it is known)."""
CONTROL_MESSAGE = "String should not contain control characters (U+0000-U+001F, U+007F-U+009F)"


def json_of_length(length: int) -> dict[str, Any]:
    """A mapping whose canonical JSON has exactly ``length`` characters, most non-ASCII."""
    return {"k": "\u00e9" * (length - len('{"k":""}'))}


def test_values_at_every_limit_are_stored_and_read_back(
    make_store: Callable[..., SQLAlchemyStore],
) -> None:
    """A customer and events with every field at its limit round-trip on every backend."""
    store = make_store(scorer=Scorer(event_kinds=[LONG_KIND]))
    customer = {
        "id": LONG_ID,
        "segment": "smb",
        "name": "\t" + "\u00e9" * (MAX_TEXT_LENGTH - 1),
        "attributes": json_of_length(MAX_JSON_LENGTH),
    }
    stored = store.add_customer(customer)
    assert store.get_customer(LONG_ID) == stored
    assert stored.model_dump(exclude={"created_at"}) == customer
    events = [
        {
            "customer_id": LONG_ID,
            "kind": "login",
            "occurred_at": NOW,
            "event_id": "\u00e8" * MAX_ID_LENGTH,
            "user_id": "\u00ea" * MAX_ID_LENGTH,
        },
        {
            "customer_id": LONG_ID,
            "kind": "feature_used",
            "occurred_at": NOW,
            "feature": "\u00eb" * MAX_TEXT_LENGTH,
        },
        {
            "customer_id": LONG_ID,
            "kind": LONG_KIND,
            "occurred_at": NOW,
            "properties": json_of_length(MAX_JSON_LENGTH),
        },
    ]
    assert store.record_many(events).recorded == 3
    read = store.events(LONG_ID)
    assert [e.model_dump(exclude_defaults=True) for e in read] == [
        {k: v for k, v in e.items() if k != "kind" or v not in ("login", "feature_used")}
        for e in events
    ]
    with store.engine.connect() as connection:
        lengths = (
            connection.execute(sa.text("SELECT length(attributes) FROM ch_customers")).scalar_one(),
            connection.execute(
                sa.text("SELECT length(properties) FROM ch_events WHERE properties IS NOT NULL")
            ).scalar_one(),
        )
    assert lengths == (MAX_JSON_LENGTH, MAX_JSON_LENGTH)  # the text the limit measures


def _got(value: Any) -> str:
    """How the library's errors show a given value: its repr, cut at 80 characters."""
    return f"(got {value!r:.80})"


CUSTOMER_CASES = [
    pytest.param(
        {"id": "x" * 1_000_000, "segment": "smb"},
        f" (id '{'x' * 79}): field 'id': String should have at most "
        f"{MAX_ID_LENGTH} characters {_got('x' * 1_000_000)}",
        id="a million-character id",
    ),
    pytest.param(
        {"id": "a\x00b", "segment": "smb"},
        f" (id 'a\\x00b'): field 'id': {CONTROL_MESSAGE} (got 'a\\x00b')",
        id="NUL in an id",
    ),
    pytest.param(
        {"id": "acme", "segment": "smb", "name": "n" * (MAX_TEXT_LENGTH + 1)},
        " (id 'acme'): field 'name': String should have at most "
        f"{MAX_TEXT_LENGTH} characters {_got('n' * (MAX_TEXT_LENGTH + 1))}",
        id="a long name",
    ),
    pytest.param(
        {"id": "acme", "segment": "smb", "name": "Ac\x00me"},
        " (id 'acme'): field 'name': String should not contain the NUL character "
        "(U+0000) (got 'Ac\\x00me')",
        id="NUL in a name",
    ),
    pytest.param(
        {"id": "acme", "segment": "smb", "attributes": json_of_length(MAX_JSON_LENGTH + 1)},
        " (id 'acme'): field 'attributes': Mapping should have at most "
        f"{MAX_JSON_LENGTH} characters as canonical JSON, not {MAX_JSON_LENGTH + 1} "
        f"{_got(json_of_length(MAX_JSON_LENGTH + 1))}",
        id="large attributes",
    ),
]


@pytest.mark.parametrize(("customer", "message"), CUSTOMER_CASES)  # message: after "customer"
def test_invalid_customers_are_the_same_error_on_every_backend(
    store: SQLAlchemyStore, customer: dict[str, Any], message: str
) -> None:
    """Adding or updating a customer over a limit is one error, word for word, everywhere."""
    with pytest.raises(InvalidCustomerError) as caught:
        store.add_customer(customer)
    assert str(caught.value) == "customer #0" + message
    assert store.count_customers() == 0
    with pytest.raises(InvalidCustomerError) as caught:
        store.update_customer(customer)
    assert str(caught.value) == "customer" + message


EVENT_CASES = [
    pytest.param(
        {"kind": "login", "user_id": "u\x1fv"},
        f"event #1 ('login', event_id 'e1'): field 'user_id': {CONTROL_MESSAGE} (got 'u\\x1fv')",
        id="a control character in a user id",
    ),
    pytest.param(
        {"kind": "login", "event_id": "e" * (MAX_ID_LENGTH + 1)},
        f"event #1 ('login', event_id '{'e' * 79}): field 'event_id': String "
        f"should have at most {MAX_ID_LENGTH} characters {_got('e' * (MAX_ID_LENGTH + 1))}",
        id="a long event id",
    ),
    pytest.param(
        {"kind": "feature_used", "feature": "f\x00"},
        "event #1 ('feature_used', event_id 'e1'): field 'feature': String should not contain "
        "the NUL character (U+0000) (got 'f\\x00')",
        id="NUL in a feature",
    ),
    pytest.param(
        {"kind": "k" * (MAX_ID_LENGTH + 1)},
        f"event #1 ('{'k' * 79}, event_id 'e1'): field 'kind': String should "
        f"have at most {MAX_ID_LENGTH} characters {_got('k' * (MAX_ID_LENGTH + 1))}",
        id="a long kind",
    ),
    pytest.param(
        {"kind": "nps", "properties": {"k": "x" * MAX_JSON_LENGTH}},
        "event #1 ('nps', event_id 'e1'): field 'properties': Mapping should have at most "
        f"{MAX_JSON_LENGTH} characters as canonical JSON, not {MAX_JSON_LENGTH + 8} "
        f"{_got({'k': 'x' * MAX_JSON_LENGTH})}",
        id="large properties",
    ),
]


@pytest.mark.parametrize(("fields", "message"), EVENT_CASES)
def test_invalid_events_are_the_same_error_on_every_backend(
    store: SQLAlchemyStore, fields: dict[str, Any], message: str
) -> None:
    """Recording an event over a limit is one error, word for word, and stores nothing."""
    store.add_customer({"id": "acme", "segment": "smb"})
    good = {"customer_id": "acme", "kind": "login", "occurred_at": NOW}
    with pytest.raises(InvalidEventError) as caught:
        store.record_many([good, good | {"event_id": "e1"} | fields])
    assert str(caught.value) == message
    assert store.count_events() == 0


@pytest.mark.parametrize("bad", ["a\x00b", "tab\tid", "x" * (MAX_ID_LENGTH + 1), ""])
def test_lookups_of_ids_that_cannot_be_stored_find_nothing(
    store: SQLAlchemyStore, bad: str
) -> None:
    """An id no customer can have (NUL, a control character, too long, empty) is an
    unknown customer on every backend, not a database error (PostgreSQL refuses NUL)."""
    store.add_customer({"id": "acme", "segment": "smb", "name": "Acme"})
    message = f"unknown customer {bad!r:.80}"
    for lookup in (
        store.get_customer,
        store.health,
        store.history,
        store.events,
        store.latest_score,
        store.scoring_state,
    ):
        with pytest.raises(UnknownCustomerError) as caught:
            lookup(bad)
        assert str(caught.value) == message, lookup
    with pytest.raises(UnknownCustomerError, match="1 unknown customer"):
        store.recalculate(["acme", bad])
    assert store.count_events(bad) == 0
    assert store.latest_documents([bad, "acme"]) == {}
    assert store.latest(segment=[bad]).items == ()
    assert store.latest(search="Ac\x00").items == ()
    assert [i.customer.id for i in store.latest(search="Ac").items] == ["acme"]
