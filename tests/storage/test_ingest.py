"""Customers and events in the store: validation, idempotency, all-or-nothing batches."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from customer_health import (
    Customer,
    CustomerExistsError,
    EventConflictError,
    InvalidCustomerError,
    InvalidEventError,
    UnknownCustomerError,
    UnknownSegmentError,
)
from customer_health.storage.sqlalchemy import SQLAlchemyStore

from ..backends import NOW


def api_call(cid: str = "c1", event_id: str | None = None, **fields: Any) -> dict[str, Any]:
    event = {"customer_id": cid, "kind": "api_call", "occurred_at": NOW - timedelta(days=1)}
    if event_id is not None:
        event["event_id"] = event_id
    return event | fields


@pytest.fixture
def customers(store: SQLAlchemyStore) -> SQLAlchemyStore:
    """The store with customers c1 (smb) and c2 (enterprise)."""
    store.add_customers(
        [
            {"id": "c1", "segment": "smb", "name": "Acme", "created_at": NOW - timedelta(days=90)},
            {"id": "c2", "segment": "enterprise", "attributes": {"plan": "gold", "seats": 40}},
        ]
    )
    return store


def test_customers_round_trip(customers: SQLAlchemyStore) -> None:
    """A stored customer comes back equal, with an aware UTC created_at and its attributes."""
    c1 = customers.get_customer("c1")
    assert c1 == Customer(id="c1", segment="smb", name="Acme", created_at=NOW - timedelta(days=90))
    assert c1.created_at is not None
    assert c1.created_at.tzinfo is not None
    assert customers.get_customer("c2").attributes == {"plan": "gold", "seats": 40}
    assert customers.count_customers() == 2


def test_adding_a_stored_id_is_an_error_and_adds_nothing(customers: SQLAlchemyStore) -> None:
    """Adding a batch with one id already stored names it and stores none of the batch."""
    with pytest.raises(CustomerExistsError, match="'c1'"):
        customers.add_customers([{"id": "c3", "segment": "smb"}, {"id": "c1", "segment": "smb"}])
    assert customers.count_customers() == 2
    with pytest.raises(CustomerExistsError, match="'c4' appears twice"):
        customers.add_customers([{"id": "c4", "segment": "smb"}, {"id": "c4", "segment": "smb"}])


def test_bad_customers_are_rejected(store: SQLAlchemyStore) -> None:
    """An invalid customer or an unknown segment is an error naming it; nothing is stored."""
    with pytest.raises(InvalidCustomerError, match="segment"):
        store.add_customer({"id": "c1"})
    with pytest.raises(UnknownSegmentError, match="'galactic'"):
        store.add_customer({"id": "c1", "segment": "galactic"})
    assert store.count_customers() == 0


def test_update_replaces_and_marks_pending(customers: SQLAlchemyStore) -> None:
    """update_customer replaces the stored customer and queues it for rescoring."""
    customers.rescore_pending()
    assert customers.pending_count() == 0
    customers.update_customer({"id": "c1", "segment": "enterprise", "name": "Acme Corp"})
    assert customers.get_customer("c1") == Customer(id="c1", segment="enterprise", name="Acme Corp")
    assert customers.pending_count() == 1
    with pytest.raises(UnknownCustomerError, match="'nope'"):
        customers.update_customer({"id": "nope", "segment": "smb"})
    with pytest.raises(UnknownCustomerError, match="'nope'"):
        customers.get_customer("nope")


def test_recording_is_idempotent_by_event_id(customers: SQLAlchemyStore) -> None:
    """The same event again stores nothing and says so; events without an id all count."""
    assert customers.record(api_call(event_id="e1")).model_dump() == {
        "recorded": 1,
        "duplicates": 0,
    }
    assert customers.record(api_call(event_id="e1")).model_dump() == {
        "recorded": 0,
        "duplicates": 1,
    }
    batch = [api_call(event_id="e1"), api_call(event_id="e2"), api_call(event_id="e2"), api_call()]
    assert customers.record_many(batch).model_dump() == {"recorded": 2, "duplicates": 2}
    assert customers.record(api_call()).recorded == 1
    assert customers.count_events() == 4


def test_an_event_id_is_per_customer(customers: SQLAlchemyStore) -> None:
    """Two customers may use the same event_id for different events."""
    result = customers.record_many([api_call("c1", "e1"), api_call("c2", "e1", quantity=5)])
    assert result.recorded == 2
    assert customers.count_events("c2") == 1


@pytest.mark.parametrize(
    "change",
    [
        {"quantity": 2},
        {"occurred_at": NOW - timedelta(days=1, microseconds=1)},
        {"kind": "login", "quantity": None},
    ],
    ids=["field", "instant", "kind"],
)
def test_a_conflicting_copy_is_an_error_and_nothing_is_stored(
    customers: SQLAlchemyStore, change: dict[str, Any]
) -> None:
    """Same event_id, other content: the error names the id, and the batch is rolled back."""
    customers.record(api_call(event_id="e1"))
    pending = customers.pending_count()
    other = {k: v for k, v in (api_call(event_id="e1") | change).items() if v is not None}
    with pytest.raises(EventConflictError, match="'e1'"):
        customers.record_many([api_call(event_id="new"), other])
    assert customers.count_events() == 1
    assert customers.pending_count() == pending


def test_a_conflict_within_a_batch_is_an_error(customers: SQLAlchemyStore) -> None:
    """Two different events with one event_id in a batch: error, nothing stored."""
    with pytest.raises(EventConflictError, match="'e9'"):
        customers.record_many([api_call(event_id="e9"), api_call(event_id="e9", quantity=3)])
    assert customers.count_events() == 0


def test_custom_events_compare_properties_by_content(customers: SQLAlchemyStore) -> None:
    """A custom event's properties are the same whatever their key order; a change conflicts."""
    event = {"customer_id": "c1", "kind": "nps_response", "occurred_at": NOW, "event_id": "n1"}
    customers.record(event | {"properties": {"a": 1, "b": [1, 2]}})
    assert customers.record(event | {"properties": {"b": [1, 2], "a": 1}}).duplicates == 1
    with pytest.raises(EventConflictError, match="'n1'"):
        customers.record(event | {"properties": {"a": 2, "b": [1, 2]}})


def test_unknown_customers_are_named_and_nothing_is_stored(customers: SQLAlchemyStore) -> None:
    """Events of customers the store does not hold: an error naming them; batch rolled back."""
    batch = [api_call("c1"), api_call("x2"), api_call("x1"), api_call("x2")]
    with pytest.raises(UnknownCustomerError, match="2 unknown customers: 'x1', 'x2'"):
        customers.record_many(batch)
    assert customers.count_events() == 0


def test_invalid_events_name_the_field(customers: SQLAlchemyStore) -> None:
    """A built-in kind with a bad field is rejected before anything is stored."""
    with pytest.raises(InvalidEventError, match="quantity"):
        customers.record_many([api_call(), api_call(quantity=0)])
    assert customers.count_events() == 0


def test_large_batches_are_chunked_and_still_all_or_nothing(
    make_store: Any, customers: SQLAlchemyStore
) -> None:
    """With tiny chunks, counts stay right, and a conflict in a late chunk stores nothing."""
    small = make_store(chunk_size=3)
    batch = [api_call(event_id=f"e{i % 7}") for i in range(20)] + [api_call() for _ in range(5)]
    assert small.record_many(batch).model_dump() == {"recorded": 12, "duplicates": 13}
    late = [api_call(event_id=f"n{i}") for i in range(10)] + [api_call(event_id="e3", quantity=9)]
    with pytest.raises(EventConflictError, match="'e3'"):
        small.record_many(late)
    assert small.count_events() == 12


def test_recording_marks_customers_pending(customers: SQLAlchemyStore) -> None:
    """Recording events queues their customers once each, in the same transaction."""
    customers.rescore_pending()
    customers.record_many([api_call("c1"), api_call("c1"), api_call("c2")])
    assert customers.pending_count() == 2
    assert customers.record_many([]).model_dump() == {"recorded": 0, "duplicates": 0}


def test_instants_are_exact_to_the_microsecond(customers: SQLAlchemyStore) -> None:
    """Naive instants are UTC, aware ones are converted, pre-1970 works; all come back aware."""
    zone = timezone(timedelta(hours=-8))
    moments = [
        datetime(2026, 3, 1, 12, 0, 0, 999_999),
        datetime(2026, 3, 1, 4, 0, 0, 1, tzinfo=zone),
        datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    ]
    customers.record_many(
        [{"customer_id": "c2", "kind": "login", "occurred_at": m} for m in moments]
    )
    stored = sorted(e.occurred_at for e in customers.events("c2"))
    expected = sorted(
        m.replace(tzinfo=UTC) if m.tzinfo is None else m.astimezone(UTC) for m in moments
    )
    assert stored == expected
    assert all(moment.tzinfo is UTC for moment in stored)


@pytest.mark.parametrize("backend", ["postgresql", "sqlite-file"], indirect=True)
def test_racing_writers_store_each_event_once(make_store: Any) -> None:
    """Two writers recording the same batch at once store it once; the other sees copies."""
    first = make_store(new_engine=True)
    second = make_store(new_engine=True)
    first.add_customers([{"id": f"c{i}", "segment": "smb"} for i in range(20)])
    batch = [api_call(f"c{i % 20}", f"e{i}") for i in range(2000)]
    start = threading.Barrier(2)
    results: list[Any] = []

    def record(store: SQLAlchemyStore) -> None:
        start.wait()
        results.append(store.record_many(batch))

    threads = [threading.Thread(target=record, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.recorded for r in results) == [0, 2000]
    assert sorted(r.duplicates for r in results) == [0, 2000]
    assert first.count_events() == 2000
