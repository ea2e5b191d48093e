"""Listings and portfolio statistics over the latest scores."""

from __future__ import annotations

import statistics
from datetime import timedelta
from typing import Any

import pytest

from customer_health import ConfigurationError, HealthStatus, sample
from customer_health.storage.sqlalchemy import SQLAlchemyStore

from ..backends import NOW, Clock


@pytest.fixture
def scored(store: SQLAlchemyStore) -> SQLAlchemyStore:
    """The sample portfolio of 40 customers (names, segments, statuses), scored at NOW."""
    data = sample.generate(40, seed=7, as_of=NOW)
    store.add_customers(data.customers)
    store.record_many(data.events)
    store.recalculate()
    return store


def everything(store: SQLAlchemyStore, **query: Any) -> list[Any]:
    """Every item of a listing, following the cursors page by page."""
    items: list[Any] = []
    cursor = None
    while True:
        page = store.latest(cursor=cursor, **query)
        items += page.items
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


def sort_key(item: Any, order: str) -> tuple[Any, str]:
    if order.endswith("score"):
        score = item.health.score if item.health else None
        return (-1.0 if score is None else score, item.customer.id)
    return (item.customer.name or "", item.customer.id)


@pytest.mark.parametrize("order", ["score", "-score", "name", "-name"])
def test_pages_cover_everyone_once_in_order(scored: SQLAlchemyStore, order: str) -> None:
    """Keyset pages of 7 list every customer exactly once, sorted, ties by id."""
    items = everything(scored, order=order, limit=7)
    assert sorted(i.customer.id for i in items) == sorted({i.customer.id for i in items})
    assert len(items) == scored.count_customers() == 40
    keys = [sort_key(i, order) for i in items]
    assert keys == sorted(keys, reverse=order.startswith("-"))


def test_filters(scored: SQLAlchemyStore) -> None:
    """status, segment and a case-insensitive name search narrow the listing."""
    every = everything(scored, limit=100)
    at_risk = everything(scored, status="at_risk", segment=["smb", "startup"], limit=100)
    assert at_risk
    assert at_risk == [
        i
        for i in every
        if i.health
        and i.health.status is HealthStatus.AT_RISK
        and i.customer.segment in ("smb", "startup")
    ]
    name = next(i.customer.name for i in every if i.customer.name)
    part = name[1:4].upper()
    found = everything(scored, search=part, limit=100)
    assert found
    assert all(part.lower() in (i.customer.name or "").lower() for i in found)
    assert everything(scored, search="%_", limit=100) == []


def test_listing_items_carry_the_latest_score(scored: SQLAlchemyStore) -> None:
    """Each item's health is the stored latest score of its customer."""
    for item in scored.latest(limit=5).items:
        assert item.health == scored.latest_score(item.customer.id)


def test_latest_documents_are_the_latest_scores_as_json(scored: SQLAlchemyStore) -> None:
    """latest_documents gives each latest score's model_dump_json(), as stored; ids
    without a score (or not stored) are left out."""
    ids = [item.customer.id for item in scored.latest(limit=1000).items]
    documents = scored.latest_documents([*ids, "nobody", ids[0]])
    assert sorted(documents) == sorted(ids)
    for cid in ids:
        latest = scored.latest_score(cid)
        assert latest is not None
        assert documents[cid] == latest.model_dump_json()
    scored.recalculate(as_of=NOW - timedelta(days=1))  # older: the latest stays
    assert scored.latest_documents(ids) == documents
    assert scored.latest_documents([]) == {}


def test_never_scored_customers_are_listed_without_health(store: SQLAlchemyStore) -> None:
    """A customer with no stored score is listed first by score, with health None."""
    store.add_customers([{"id": "a", "segment": "smb"}, {"id": "b", "segment": "smb"}])
    store.recalculate(["b"])
    items = store.latest().items
    assert [(i.customer.id, i.health is None) for i in items] == [("a", True), ("b", False)]


@pytest.mark.parametrize(
    ("query", "match"),
    [
        ({"order": "size"}, "'size'"),
        ({"limit": 0}, "limit"),
        ({"status": "fine"}, "'fine'"),
        ({"cursor": "not-a-cursor"}, "'not-a-cursor'"),
    ],
)
def test_bad_queries_are_named(store: SQLAlchemyStore, query: dict[str, Any], match: str) -> None:
    """An unknown order or status, a bad limit or cursor: an error naming the value."""
    with pytest.raises(ConfigurationError, match=match):
        store.latest(**query)


def test_statistics(scored: SQLAlchemyStore) -> None:
    """Counts, shares, mean, median and histogram agree with the latest scores."""
    latest = [i.health for i in everything(scored, limit=100) if i.health]
    stats = scored.stats()
    values = [s.score for s in latest if s.score is not None]
    assert stats.overall.customers == len(latest) == 40
    assert stats.unscored == 0
    for status in HealthStatus:
        count = sum(s.status is status for s in latest)
        assert stats.overall.statuses[status.value].count == count
        assert stats.overall.statuses[status.value].share == pytest.approx(count / 40)
    assert stats.overall.mean == pytest.approx(statistics.fmean(values))
    assert stats.overall.median == pytest.approx(statistics.median(values))
    assert sum(b.count for b in stats.histogram) == len(values)
    assert [b.low for b in stats.histogram] == [10.0 * i for i in range(10)]
    assert sum(g.customers for g in stats.segments.values()) == 40
    for name, group in stats.segments.items():
        mine = [i.health for i in everything(scored, segment=name, limit=100) if i.health]
        assert group.customers == len(mine)
    assert stats.changes == ()


def test_status_changes_over_the_last_days(store: SQLAlchemyStore, clock: Clock) -> None:
    """A customer whose latest status differs from its status 7 days ago is counted once."""
    store.add_customers([{"id": "up", "segment": "startup"}, {"id": "same", "segment": "startup"}])
    store.recalculate()  # no usage: both critical
    clock.advance(timedelta(days=8))
    events = [{"customer_id": "up", "kind": "api_call", "quantity": 500, "occurred_at": clock.now}]
    events += [
        {"customer_id": "up", "kind": "feature_used", "feature": f"f{i}", "occurred_at": clock.now}
        for i in range(3)
    ]
    events += [
        {"customer_id": "up", "kind": "login", "occurred_at": clock.now - timedelta(days=d)}
        for d in range(10)
    ]
    store.record_many(events)
    store.recalculate()
    stats = store.stats(changes_days=7)
    changes = [(c.from_status, c.to_status, c.count) for c in stats.changes]
    assert changes == [("critical", "healthy", 1)]
    assert store.stats(changes_days=30).changes == ()
    with pytest.raises(ConfigurationError, match="changes_days"):
        store.stats(changes_days=0)
