"""The rescoring queue: coalesced, durable, stale scores due again, safe with workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from customer_health.storage.sqlalchemy import SQLAlchemyStore

from ..backends import NOW, Backend, Clock

ROOT = Path(__file__).resolve().parents[2]


def logins(cid: str, n: int) -> list[dict[str, Any]]:
    return [
        {"customer_id": cid, "kind": "login", "occurred_at": NOW - timedelta(hours=i + 1)}
        for i in range(n)
    ]


def test_many_events_one_recalculation(store: SQLAlchemyStore) -> None:
    """A burst of events for a customer causes one recalculation, which sees them all."""
    store.add_customer({"id": "c1", "segment": "smb"})
    for _ in range(20):
        store.record_many(logins("c1", 5))
    assert store.pending_count() == 1
    assert store.rescore_pending() == 1
    history = store.history("c1")
    assert len(history) == 1
    assert history[0].factor("login_frequency").value == 1  # 100 logins within one day
    assert store.pending_count() == 0
    assert store.rescore_pending() == 0


def test_new_customers_are_scored_on_the_next_drain(store: SQLAlchemyStore) -> None:
    """Added customers are due; those created in the future wait until they exist."""
    store.add_customers(
        [
            {"id": "c1", "segment": "smb"},
            {"id": "c2", "segment": "startup", "created_at": NOW + timedelta(days=2)},
        ]
    )
    assert store.rescore_pending() == 1
    assert store.latest_score("c1") is not None
    assert store.latest_score("c2") is None


def test_stale_scores_are_due_again(store: SQLAlchemyStore, clock: Clock) -> None:
    """With no new events, a score older than max_age is recalculated (windows slide)."""
    store.add_customer({"id": "c1", "segment": "smb"})
    store.record_many(logins("c1", 3))
    store.rescore_pending()
    clock.advance(timedelta(hours=23))
    assert store.rescore_pending() == 0
    clock.advance(timedelta(hours=2))
    assert store.rescore_pending() == 1
    latest = store.latest_score("c1")
    assert latest is not None
    assert latest.as_of == clock.now
    assert [s.as_of for s in store.history("c1")] == [NOW, clock.now]


def test_the_limit_stops_a_drain(make_store: Callable[..., SQLAlchemyStore]) -> None:
    """limit= stops after about that many customers; the rest stay pending."""
    store = make_store(batch_size=3)
    store.add_customers([{"id": f"c{i}", "segment": "smb"} for i in range(10)])
    assert store.rescore_pending(limit=4) == 4
    assert store.pending_count() == 6
    assert store.rescore_pending() == 6


def test_the_latest_score_is_the_latest_as_of(store: SQLAlchemyStore) -> None:
    """Scoring the past stores history but does not replace a later latest score."""
    store.add_customer({"id": "c1", "segment": "smb"})
    now = store.recalculate()[0]
    store.recalculate(as_of=NOW - timedelta(days=10))
    assert store.latest_score("c1") == now
    assert len(store.history("c1")) == 2
    assert len(store.history("c1", start=NOW - timedelta(days=1))) == 1
    assert len(store.history("c1", end=NOW - timedelta(days=1))) == 1


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_workers_drain_together_without_overlap(
    make_store: Callable[..., SQLAlchemyStore],
) -> None:
    """Two workers at once (SKIP LOCKED) rescore every pending customer exactly once."""
    first = make_store(batch_size=5, new_engine=True)
    second = make_store(batch_size=5, new_engine=True)
    ids = [f"c{i:03d}" for i in range(120)]
    first.add_customers([{"id": cid, "segment": "smb"} for cid in ids])
    first.recalculate()
    first.record_many([event for cid in ids for event in logins(cid, 2)])
    counts: list[int] = []
    errors: list[BaseException] = []

    def drain(store: SQLAlchemyStore) -> None:
        try:
            counts.append(store.rescore_pending())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(counts) == len(ids)
    assert first.pending_count() == 0
    assert all(len(first.history(cid)) == 2 for cid in ids)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite-file", "postgresql"], indirect=True)
def test_a_killed_worker_loses_nothing(backend: Backend, store: SQLAlchemyStore) -> None:
    """A worker killed mid-batch leaves its customers pending; the next drain scores them."""
    ids = [f"c{i}" for i in range(5)]
    store.add_customers([{"id": cid, "segment": "smb"} for cid in ids])
    store.record_many([event for cid in ids for event in logins(cid, 3)])
    search_path = backend.connect_args.get("options", "").removeprefix("-csearch_path=")
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.storage.worker", backend.url, search_path],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "scoring"  # a batch is claimed
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:  # pragma: no cover - only if the test failed
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert store.pending_count() == len(ids)
    assert store.rescore_pending() == len(ids)
    assert all(store.latest_score(cid) is not None for cid in ids)
    assert store.pending_count() == 0
