"""A customer whose scoring fails, as the API shows it: its route, the listing, the stats."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from customer_health import ConfigurationError, Scorer
from customer_health.service import Settings, create_app, make_store
from customer_health.storage.sqlalchemy import SQLAlchemyStore

from ..backends import NOW
from ..storage.failing_worker import Fussy, Plugin
from .conftest import Client


def test_a_failing_customer_shows_in_the_api(make_client: Client) -> None:
    """GET /customers/{id} and the list carry the scoring state; the stats count failures."""
    scorer = Scorer(plugins=[Plugin(Fussy(["acme"]))], entry_points=False)
    client = make_client(store_options={"scorer": scorer})
    for cid in ("acme", "globex"):
        assert client.post("/api/customers", json={"id": cid, "segment": "smb"}).status_code == 201
    store = client.app.state.store  # type: ignore[attr-defined]
    assert client.get("/api/customers/globex").json()["scoring"] == {
        "pending": True,
        "attempts": 0,
        "last_error": None,
        "failed_at": None,
        "next_attempt_at": "2026-06-30T00:00:00Z",
    }
    assert store.rescore_pending() == 1
    acme = client.get("/api/customers/acme")
    assert acme.status_code == 200
    body = acme.json()
    assert (body["id"], body["score"], body["status"]) == ("acme", None, None)
    scoring = body["scoring"]
    assert scoring["pending"] is True
    assert scoring["attempts"] == 1
    assert "cannot score acme" in scoring["last_error"]
    assert scoring["failed_at"] == "2026-06-30T00:00:00Z"
    assert scoring["next_attempt_at"] == "2026-06-30T00:00:01Z"
    globex = client.get("/api/customers/globex").json()
    assert globex["score"] is not None
    assert globex["scoring"]["pending"] is False
    assert globex["scoring"]["attempts"] == 0
    listed = {item["id"]: item for item in client.get("/api/customers").json()["items"]}
    assert listed["acme"] == body
    assert listed["globex"] == globex
    assert client.get("/api/dashboard/stats").json()["failing"] == 1
    missing = client.get("/api/customers/nobody")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_the_worker_keeps_going_past_a_failing_customer(make_client: Client) -> None:
    """The app's worker scores the others, and counts the failing customer's attempts."""
    scorer = Scorer(plugins=[Plugin(Fussy(["acme"]))], entry_points=False)
    client = make_client(worker=True, worker_interval=0.05, store_options={"scorer": scorer})
    store = client.app.state.store  # type: ignore[attr-defined]
    store.add_customers([{"id": cid, "segment": "smb"} for cid in ("acme", "globex")])
    worker = client.app.state.worker  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while (worker.rescored, worker.failed) != (1, 1) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (worker.rescored, worker.failed) == (1, 1)
    assert store.latest_score("globex") is not None
    assert store.scoring_state("acme").failed_at == NOW


def test_the_worker_tries_again_after_a_database_error(
    make_store: Callable[..., SQLAlchemyStore],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A drain failing on the database is logged with its traceback, and tried again."""
    store = make_store()
    drain = store.drain
    calls: list[int | None] = []

    def flaky(limit: int | None) -> Any:
        calls.append(limit)
        if len(calls) == 1:
            raise sa.exc.OperationalError("SELECT", {}, ConnectionResetError("lost"))
        return drain(limit)

    # Patched before the worker starts: no drain of the real method can be under way.
    monkeypatch.setattr(store, "drain", flaky)
    store.add_customer({"id": "acme", "segment": "smb"})
    settings = Settings(worker=True, worker_interval=0.05, sample_customers=0, create_tables=False)
    with (
        caplog.at_level(logging.ERROR, logger="customer_health.worker"),
        TestClient(create_app(settings, store=store)),
    ):
        deadline = time.monotonic() + 10
        while store.latest_score("acme") is None and time.monotonic() < deadline:
            time.sleep(0.02)
    assert store.latest_score("acme") is not None
    [record] = [r for r in caplog.records if r.name == "customer_health.worker"]
    assert record.getMessage() == "rescoring failed; retrying"
    assert record.exc_info is not None


def test_the_backoff_settings_reach_the_store() -> None:
    """retry_delay and retry_max_delay (seconds) become the store's backoff, checked."""
    store = make_store(Settings(database_url="sqlite://", retry_delay=5, retry_max_delay=60))
    assert (store.retry_delay, store.retry_max_delay) == (
        timedelta(seconds=5),
        timedelta(minutes=1),
    )
    store.close()
    with pytest.raises(ConfigurationError, match="retry_max_delay"):
        make_store(Settings(database_url="sqlite://", retry_delay=5, retry_max_delay=1))
