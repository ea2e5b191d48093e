"""Writes a client can retry: a timeout never hides a committed write, and an
Idempotency-Key makes a retried write count once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from customer_health import IdempotencyKeyInUseError, IdempotencyKeyReusedError
from customer_health.service._limits import begin_write
from customer_health.service.app import RequestContext
from customer_health.storage import IdempotentWrite
from customer_health.storage import _idempotency as idempotency_module
from customer_health.storage.sqlalchemy import SQLAlchemyStore

from ..backends import Clock
from .conftest import Client
from .test_api import assert_problem

EVENTS = [
    {"kind": "api_call", "quantity": 5, "occurred_at": "2026-06-20T10:00:00Z"},
    {"kind": "login", "occurred_at": "2026-06-21T10:00:00Z"},
]


def _store(client: TestClient) -> SQLAlchemyStore:
    store: SQLAlchemyStore = client.app.state.store  # type: ignore[attr-defined]
    return store


@pytest.fixture
def acme(make_client: Client) -> TestClient:
    """The app (no keys, no worker) with customer acme."""
    client = make_client()
    assert client.post("/api/customers", json={"id": "acme", "segment": "smb"}).status_code == 201
    return client


# -- timeouts ---------------------------------------------------------------------------


def test_a_slow_write_is_answered_not_timed_out(
    make_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that runs past request_timeout finishes and answers what it did."""
    client = make_client(request_timeout=0.2)
    store = _store(client)
    store.add_customer({"id": "acme", "segment": "smb"})  # not through the time limit
    record_many = store.record_many

    def slow(*args: Any, **kwargs: Any) -> Any:
        recorded = record_many(*args, **kwargs)
        time.sleep(0.6)  # committed; the time limit passes meanwhile
        return recorded

    monkeypatch.setattr(store, "record_many", slow)
    answer = client.post("/api/customers/acme/events", json=EVENTS)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"recorded": 2, "duplicates": 0}
    assert store.count_events("acme") == 2


def _app(timeout: float, route: Any) -> TestClient:
    app = Starlette(routes=[Route("/", route, methods=["POST"])])
    return TestClient(RequestContext(app, timeout=timeout))  # type: ignore[arg-type]


def test_past_the_limit_a_write_does_not_begin() -> None:
    """A request whose time ran out before its write began is 504, and writes nothing,
    even when the limit's timer has not fired yet (no await since it passed)."""
    written: list[str] = []

    async def route(request: Request) -> JSONResponse:
        time.sleep(0.3)  # blocks the loop: the deadline passes, its timer cannot fire
        await begin_write(request)
        written.append("oops")
        return JSONResponse({})

    answer = _app(0.1, route).post("/")
    assert answer.status_code == 504
    assert written == []


def test_a_begun_write_outlives_the_limit() -> None:
    """Once begin_write has run, the time limit no longer applies."""
    written: list[str] = []

    async def route(request: Request) -> JSONResponse:
        await begin_write(request)
        await anyio.sleep(0.3)
        written.append("done")
        return JSONResponse({"written": True})

    answer = _app(0.1, route).post("/")
    assert answer.status_code == 200
    assert written == ["done"]


def test_before_the_write_the_limit_holds() -> None:
    """Work before begin_write is cut off at the limit (504)."""

    async def route(request: Request) -> JSONResponse:
        await anyio.sleep(1)
        await begin_write(request)
        raise AssertionError("not reached")  # pragma: no cover

    assert _app(0.1, route).post("/").status_code == 504


@pytest.mark.anyio
async def test_begin_write_without_a_time_limit_does_nothing() -> None:
    """In a host app without the reference app's middleware, begin_write is a no-op."""
    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    await begin_write(Request(scope))


# -- Idempotency-Key -------------------------------------------------------------------------


def test_a_retried_batch_counts_once(acme: TestClient) -> None:
    """The same key and body again get the first answer and write nothing more."""
    key = {"Idempotency-Key": "batch-1"}
    first = acme.post("/api/customers/acme/events", json=EVENTS, headers=key)
    again = acme.post("/api/customers/acme/events", json=EVENTS, headers=key)
    assert first.status_code == again.status_code == 202
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _store(acme).count_events("acme") == 2
    other = acme.post("/api/customers/acme/events", json=EVENTS, headers={"Idempotency-Key": "2"})
    assert other.json() == {"recorded": 2, "duplicates": 0}  # no event ids: counted again
    assert _store(acme).count_events("acme") == 4


def test_the_key_may_be_quoted(acme: TestClient) -> None:
    """A structured-field string (the draft's quoted form) is the same key as bare."""
    first = acme.post("/api/customers/acme/events", json=EVENTS, headers={"Idempotency-Key": '"k"'})
    again = acme.post("/api/customers/acme/events", json=EVENTS, headers={"Idempotency-Key": "k"})
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content


def test_a_key_reused_for_another_request_is_422(acme: TestClient) -> None:
    """The same key with another body or path is refused, naming the key."""
    key = {"Idempotency-Key": "k1"}
    acme.post("/api/customers/acme/events", json=EVENTS, headers=key)
    assert_problem(
        acme.post("/api/customers/acme/events", json=EVENTS[:1], headers=key),
        422,
        "idempotency key 'k1' was used with another request",
    )
    acme.post("/api/customers", json={"id": "beta", "segment": "smb"})
    assert_problem(acme.post("/api/customers/beta/events", json=EVENTS, headers=key), 422, "'k1'")
    assert _store(acme).count_events() == 2


def test_keys_are_scoped_to_the_route_and_the_api_key(make_client: Client) -> None:
    """One key on two routes, or from two API keys, is two keys."""
    client = make_client(api_keys="a,b")
    for api_key in ("a", "b"):
        headers = {"X-API-Key": api_key, "Idempotency-Key": "same"}
        created = client.post(
            "/api/customers", json={"id": api_key, "segment": "smb"}, headers=headers
        )
        assert created.status_code == 201, created.text
        assert "idempotent-replayed" not in created.headers
        recorded = client.post(f"/api/customers/{api_key}/events", json=EVENTS, headers=headers)
        assert recorded.status_code == 202, recorded.text
        assert "idempotent-replayed" not in recorded.headers


def test_creating_and_updating_replay_too(acme: TestClient) -> None:
    """POST and PUT of a customer are replayed like events, with their status."""
    key = {"Idempotency-Key": "create-beta"}
    body = {"id": "beta", "segment": "enterprise", "name": "Beta"}
    first = acme.post("/api/customers", json=body, headers=key)
    again = acme.post("/api/customers", json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)  # not 409: a replay
    assert again.json() == first.json() == body | {"created_at": None, "attributes": {}}
    update = {"segment": "smb", "name": "Beta 2"}
    key = {"Idempotency-Key": "update-beta"}
    first = acme.put("/api/customers/beta", json=update, headers=key)
    acme.put("/api/customers/beta", json={"segment": "smb", "name": "Other"})
    again = acme.put("/api/customers/beta", json=update, headers=key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["name"] == "Beta 2"  # the first answer, not the current state
    assert _store(acme).get_customer("beta").name == "Other"


def test_a_failed_write_frees_its_key(acme: TestClient) -> None:
    """A write that fails wrote nothing: the same key runs again once the cause is gone."""
    key = {"Idempotency-Key": "early"}
    assert_problem(acme.post("/api/customers/zeta/events", json=EVENTS, headers=key), 404)
    acme.post("/api/customers", json={"id": "zeta", "segment": "smb"})
    answer = acme.post("/api/customers/zeta/events", json=EVENTS, headers=key)
    assert answer.status_code == 202
    assert "idempotent-replayed" not in answer.headers


def test_the_key_is_stored_in_the_write_transaction(
    acme: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If storing the answer fails, the events roll back with it, and the key is free."""

    def broken(*args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(idempotency_module, "complete", broken)
    crashing = TestClient(acme.app, raise_server_exceptions=False)
    key = {"Idempotency-Key": "atomic"}
    assert_problem(crashing.post("/api/customers/acme/events", json=EVENTS, headers=key), 500)
    assert _store(acme).count_events("acme") == 0
    monkeypatch.undo()
    assert acme.post("/api/customers/acme/events", json=EVENTS, headers=key).status_code == 202
    assert _store(acme).count_events("acme") == 2


def test_a_concurrent_duplicate_is_409(acme: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the first request with a key runs, a second one with it is 409."""
    store = _store(acme)
    record_many = store.record_many
    started, release = threading.Event(), threading.Event()

    def slow(*args: Any, **kwargs: Any) -> Any:
        started.set()
        release.wait(10)
        return record_many(*args, **kwargs)

    monkeypatch.setattr(store, "record_many", slow)
    key = {"Idempotency-Key": "race"}
    answers: list[Any] = []
    first = threading.Thread(
        target=lambda: answers.append(
            acme.post("/api/customers/acme/events", json=EVENTS, headers=key)
        )
    )
    first.start()
    try:
        assert started.wait(10)
        assert_problem(
            acme.post("/api/customers/acme/events", json=EVENTS, headers=key),
            409,
            "still running",
        )
    finally:
        release.set()
        first.join(10)
    assert answers[0].status_code == 202
    again = acme.post("/api/customers/acme/events", json=EVENTS, headers=key)
    assert again.headers["idempotent-replayed"] == "true"
    assert store.count_events("acme") == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
def test_a_malformed_key_is_422_naming_the_header(acme: TestClient, key: str) -> None:
    """Keys are 1 to 255 visible ASCII characters."""
    answer = acme.post(
        "/api/customers/acme/events",
        json=EVENTS,
        headers={"Idempotency-Key": key.encode()},
    )
    body = assert_problem(answer, 422)
    assert body["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert _store(acme).count_events("acme") == 0


# -- the store's side ---------------------------------------------------------------------


def _write(key: str = "k", fingerprint: str = "f1", ttl: timedelta = timedelta(hours=1)) -> Any:
    return IdempotentWrite(
        owner="o", route="POST /x", key=key, fingerprint=fingerprint, status=202, ttl=ttl
    )


def test_store_keys_expire(store: SQLAlchemyStore, clock: Clock) -> None:
    """A key is remembered for its ttl; afterwards it is new again."""
    write = _write(ttl=timedelta(minutes=10))
    assert store.claim_idempotency_key(write) is None
    store.add_customer({"id": "acme", "segment": "smb"}, idempotency=write)
    replay = store.claim_idempotency_key(write)
    assert replay is not None
    assert replay.status == 202
    assert '"id":"acme"' in replay.body
    with pytest.raises(IdempotencyKeyReusedError, match="'k'"):
        store.claim_idempotency_key(_write(fingerprint="f2"))
    clock.advance(timedelta(minutes=11))
    assert store.claim_idempotency_key(_write(fingerprint="f2", ttl=write.ttl)) is None


def test_store_abandoned_keys_are_taken_over(store: SQLAlchemyStore, clock: Clock) -> None:
    """A key whose request died unanswered is in use until its lock expires."""
    assert store.claim_idempotency_key(_write()) is None
    with pytest.raises(IdempotencyKeyInUseError, match="still running"):
        store.claim_idempotency_key(_write())
    clock.advance(idempotency_module.LOCK + timedelta(seconds=1))
    assert store.claim_idempotency_key(_write()) is None  # taken over
    with pytest.raises(IdempotencyKeyInUseError):
        store.claim_idempotency_key(_write())
    store.release_idempotency_key(_write())
    assert store.claim_idempotency_key(_write()) is None
