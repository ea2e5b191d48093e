"""The API: every route, its errors as problem details, auth, request ids, timeouts."""

from __future__ import annotations

import base64
import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

import customer_health
from customer_health import sample

from ..backends import NOW
from .conftest import Client

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, *fragments: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with ``status`` whose detail has the fragments."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["instance"] == response.request.url.raw_path.decode().partition("?")[0]
    assert body["type"].startswith("https://")
    for fragment in fragments:
        assert fragment in body["detail"]
    assert "Traceback" not in response.text
    return body


@pytest.fixture
def portfolio(client: TestClient) -> TestClient:
    """The app with a scored sample portfolio of 15 customers."""
    store = client.app.state.store  # type: ignore[attr-defined]
    data = sample.generate(15, seed=2, as_of=NOW)
    store.add_customers(data.customers)
    store.record_many(data.events)
    store.rescore_pending()
    return client


def test_liveness_and_readiness(client: TestClient) -> None:
    """/health answers; /health/ready reaches the database."""
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_listing_with_filters_and_pages(portfolio: TestClient) -> None:
    """Customers come with their latest score, filtered, sorted and paged by cursor."""
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 4, "order": "-score"}
        if cursor:
            params["cursor"] = cursor
        page = portfolio.get("/api/customers", params=params).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len({c["id"] for c in seen}) == 15
    scores = [c["score"] for c in seen]
    assert scores == sorted(scores, reverse=True)
    critical = portfolio.get("/api/customers", params={"status": "critical", "limit": 100})
    assert critical.json()["items"]
    assert all(c["status"] == "critical" for c in critical.json()["items"])
    smb = portfolio.get("/api/customers", params=[("segment", "smb"), ("segment", "startup")])
    assert {c["segment"] for c in smb.json()["items"]} <= {"smb", "startup"}


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 0}, "limit"), ({"order": "size"}, "order"), ({"status": "fine"}, "status")],
)
def test_bad_query_parameters_name_the_field(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    """An invalid query parameter is a 422 problem whose errors give its path."""
    body = assert_problem(client.get("/api/customers", params=params), 422, field)
    assert body["errors"][0]["loc"][:2] == ["query", field]


def test_a_bad_cursor_is_a_422(client: TestClient) -> None:
    """A cursor the store did not hand out is refused, naming it."""
    assert_problem(client.get("/api/customers", params={"cursor": "bogus"}), 422, "'bogus'")


def test_health_breakdown_now_and_in_the_past(portfolio: TestClient) -> None:
    """The health route gives the stored breakdown, or the score at ?as_of= from events."""
    cid = portfolio.get("/api/customers").json()["items"][0]["id"]
    health = portfolio.get(f"/api/customers/{cid}/health").json()
    assert {f["name"] for f in health["factors"]} >= {"api_usage", "support_tickets"}
    assert health["model_version"] == customer_health.MODEL_VERSION
    assert all(f["explanation"] for f in health["factors"])
    store = portfolio.app.state.store  # type: ignore[attr-defined]
    then = NOW - timedelta(days=20)
    past = portfolio.get(f"/api/customers/{cid}/health", params={"as_of": then.isoformat()})
    assert past.status_code == 200
    assert past.json() == store.health(cid, as_of=then).model_dump(mode="json")


def test_unknown_customers_are_404(client: TestClient) -> None:
    """Every customer route answers 404 for an id nobody stored."""
    for path in ("health", "history"):
        assert_problem(client.get(f"/api/customers/ghost/{path}"), 404, "'ghost'")
    event = {"kind": "login", "occurred_at": NOW.isoformat()}
    assert_problem(client.post("/api/customers/ghost/events", json=event), 404, "'ghost'")
    assert_problem(client.post("/api/customers/ghost/events", json=[]), 404, "'ghost'")
    assert_problem(client.put("/api/customers/ghost", json={"segment": "smb"}), 404, "'ghost'")


def test_creating_and_updating_customers(client: TestClient) -> None:
    """POST creates (201; 409 if the id exists), PUT replaces; bad fields are named."""
    created = client.post("/api/customers", json={"id": "acme", "segment": "smb", "name": "Acme"})
    assert created.status_code == 201
    assert created.json()["name"] == "Acme"
    exists = client.post("/api/customers", json={"id": "acme", "segment": "smb"})
    problem = assert_problem(exists, 409, "update them with PUT /api/customers/{id}")
    assert "update_customer" not in problem["detail"]
    body = assert_problem(client.post("/api/customers", json={"id": "x"}), 422, "segment")
    assert body["errors"][0]["loc"] == ["body", "segment"]
    assert_problem(
        client.post("/api/customers", json={"id": "y", "segment": "galactic"}), 422, "'galactic'"
    )
    updated = client.put("/api/customers/acme", json={"segment": "enterprise"})
    assert updated.json() == {
        "id": "acme",
        "segment": "enterprise",
        "name": None,
        "created_at": None,
        "attributes": {},
    }


def test_recording_events(client: TestClient) -> None:
    """Events are recorded (202) one or many at a time, idempotently, conflicts are 409."""
    client.post("/api/customers", json={"id": "acme", "segment": "smb"})
    one = {"kind": "login", "occurred_at": NOW.isoformat(), "event_id": "e1"}
    first = client.post("/api/customers/acme/events", json=one)
    assert first.status_code == 202
    assert first.json() == {"recorded": 1, "duplicates": 0}
    batch = [one, {"kind": "api_call", "quantity": 3, "occurred_at": NOW.isoformat()}]
    assert client.post("/api/customers/acme/events", json=batch).json() == {
        "recorded": 1,
        "duplicates": 1,
    }
    assert_problem(
        client.post("/api/customers/acme/events", json=one | {"user_id": "u2"}), 409, "'e1'"
    )
    other = one | {"customer_id": "globex"}
    assert_problem(client.post("/api/customers/acme/events", json=other), 422, "'globex'")


def test_invalid_events_name_the_field_path(client: TestClient) -> None:
    """A bad field of the third event of a batch is named as body.2.<field>."""
    client.post("/api/customers", json={"id": "acme", "segment": "smb"})
    good = {"kind": "login", "occurred_at": NOW.isoformat()}
    bad = {"kind": "payment", "occurred_at": NOW.isoformat()}
    body = assert_problem(
        client.post("/api/customers/acme/events", json=[good, good, bad]), 422, "due_at"
    )
    assert body["errors"][0]["loc"] == ["body", 2, "due_at"]
    assert client.app.state.store.count_events() == 0  # type: ignore[attr-defined]


def test_too_large_a_batch_is_413(make_client: Client) -> None:
    """More events than max_batch in one request: 413, nothing recorded."""
    client = make_client(max_batch=3)
    client.post("/api/customers", json={"id": "acme", "segment": "smb"})
    events = [{"kind": "login", "occurred_at": NOW.isoformat()}] * 4
    assert_problem(client.post("/api/customers/acme/events", json=events), 413, "at most 3")


def test_history_over_a_range(portfolio: TestClient) -> None:
    """History lists the stored scores with as_of in the range, oldest first."""
    store = portfolio.app.state.store  # type: ignore[attr-defined]
    cid = "c000003"
    for days in (30, 20, 10):
        store.recalculate([cid], as_of=NOW - timedelta(days=days))
    every = portfolio.get(f"/api/customers/{cid}/history").json()
    assert len(every) == 4
    ranged = portfolio.get(
        f"/api/customers/{cid}/history",
        params={"start": (NOW - timedelta(days=25)).isoformat(), "end": NOW.isoformat()},
    ).json()
    assert [h["as_of"] for h in ranged] == sorted(h["as_of"] for h in ranged)
    assert len(ranged) == 3


def test_dashboard_stats(portfolio: TestClient) -> None:
    """The dashboard has the portfolio statistics of the store."""
    stats = portfolio.get("/api/dashboard/stats").json()
    store = portfolio.app.state.store  # type: ignore[attr-defined]
    assert stats == store.stats(changes_days=7).model_dump(mode="json")
    assert stats["overall"]["customers"] == 15
    assert stats["changes_days"] == 7


def test_api_keys(make_client: Client) -> None:
    """With keys configured every /api route needs one; /health never does."""
    client = make_client(api_keys="k1, k2")
    assert_problem(client.get("/api/customers"), 401, "missing")
    assert_problem(client.get("/api/customers", headers={"X-API-Key": "k3"}), 401, "valid")
    assert client.get("/api/customers", headers={"X-API-Key": "k2"}).status_code == 200
    assert client.get("/health").status_code == 200


def test_request_ids(client: TestClient) -> None:
    """Every response has a request id; a sane one the client sent is kept."""
    assert len(client.get("/health").headers["x-request-id"]) == 32
    given = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    odd = client.get("/health", headers={"X-Request-ID": "a b\\c"})
    assert odd.headers["x-request-id"] != "a b\\c"


def test_unexpected_errors_say_nothing_of_the_inside(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error is a bare 500 problem: no traceback, no SQL."""
    store = client.app.state.store  # type: ignore[attr-defined]

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("SELECT secret FROM ch_customers")

    monkeypatch.setattr(store, "stats", broken)
    crashing = TestClient(client.app, raise_server_exceptions=False)
    body = assert_problem(crashing.get("/api/dashboard/stats"), 500)
    assert "SELECT" not in str(body)


def test_slow_requests_time_out(make_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request that takes longer than request_timeout is answered 504."""
    client = make_client(request_timeout=0.2)
    store = client.app.state.store  # type: ignore[attr-defined]

    def slow(**kwargs: Any) -> Any:
        time.sleep(1)

    monkeypatch.setattr(store, "stats", slow)
    assert_problem(client.get("/api/dashboard/stats"), 504, "0.2 s")


def test_recorded_events_are_rescored_within_seconds(make_client: Client) -> None:
    """With the worker running, a customer is rescored soon after its events arrive."""
    client = make_client(worker=True, worker_interval=0.05)
    client.post("/api/customers", json={"id": "acme", "segment": "smb"})
    store = client.app.state.store  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while store.latest_score("acme") is None and time.monotonic() < deadline:
        time.sleep(0.02)
    before = len(store.history("acme"))
    assert before >= 1
    start = time.monotonic()
    event = {"kind": "api_call", "quantity": 250, "occurred_at": store.now().isoformat()}
    client.post("/api/customers/acme/events", json=event)
    while time.monotonic() - start < 5:
        latest = store.latest_score("acme")
        if latest.factor("api_usage").value == 250:
            break
        time.sleep(0.02)
    assert latest.factor("api_usage").value == 250
    assert time.monotonic() - start < 5


def test_a_burst_causes_a_handful_of_recalculations(make_client: Client) -> None:
    """1,000 events in 10 requests for one customer cause a handful of recalculations."""
    client = make_client(worker=True, worker_interval=0.05)
    client.post("/api/customers", json={"id": "acme", "segment": "smb"})
    store = client.app.state.store  # type: ignore[attr-defined]
    now = store.now()
    for batch in range(10):
        events = [
            {"kind": "api_call", "occurred_at": (now - timedelta(seconds=i)).isoformat()}
            for i in range(batch * 100, batch * 100 + 100)
        ]
        assert client.post("/api/customers/acme/events", json=events).status_code == 202
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        latest = store.latest_score("acme")
        if latest is not None and latest.factor("api_usage").value == 1000:
            break
        time.sleep(0.02)
    assert latest.factor("api_usage").value == 1000
    assert len(store.history("acme")) <= 12


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("health", {"as_of": "0001-01-01T00:00:00+01:00"}),
        ("health", {"as_of": "9999-12-31T23:59:59-01:00"}),
        ("health", {"as_of": "0001-01-01T00:00:00Z"}),
        ("history", {"start": "0001-01-01T00:00:00+01:00"}),
        ("history", {"end": "9999-12-31T23:59:59-01:00"}),
    ],
)
def test_instants_out_of_range_are_422(
    portfolio: TestClient, path: str, params: dict[str, str]
) -> None:
    """An instant past year 1 or 9999 in UTC, or whose window is, is invalid, never a 500."""
    response = portfolio.get(f"/api/customers/c000003/{path}", params=params)
    assert_problem(response, 422)


@pytest.mark.parametrize(
    "body",
    [
        {"kind": ["login"], "occurred_at": NOW.isoformat()},
        {"kind": {"a": 1}, "occurred_at": NOW.isoformat()},
        {"kind": "api_call", "occurred_at": NOW.isoformat(), "quantity": 2**63},
        {"kind": "login", "occurred_at": "0001-01-01T00:00:00+05:00"},
    ],
)
def test_odd_events_are_422(client: TestClient, body: dict[str, Any]) -> None:
    """Odd kinds, huge quantities and unreachable instants are invalid, never a 500."""
    client.post("/api/customers", json={"id": "acme", "segment": "smb"})
    assert_problem(client.post("/api/customers/acme/events", json=body), 422)


@pytest.mark.parametrize(
    ("order", "key"), [("score", '["a", "b"]'), ("name", '[1, "b"]'), ("name", '["a", {}]')]
)
def test_cursors_of_the_wrong_shape_are_422(client: TestClient, order: str, key: str) -> None:
    """A well-encoded cursor with keys of the wrong types is refused like any bad cursor."""
    cursor = base64.urlsafe_b64encode(key.encode()).decode()
    response = client.get("/api/customers", params={"order": order, "cursor": cursor})
    assert_problem(response, 422, "cursor")


def test_405_lists_every_method_of_the_path(client: TestClient) -> None:
    """Allow names every method the path has, not only those of one of its routes."""
    response = assert_problem(client.delete("/api/customers"), 405)
    assert response["instance"] == "/api/customers"
    allowed = client.delete("/api/customers").headers["allow"]
    assert sorted(allowed.split(", ")) == ["GET", "POST"]


def test_readiness_is_503_when_the_database_does_not_answer(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that does not answer makes /health/ready a 503 problem."""
    store = client.app.state.store  # type: ignore[attr-defined]

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    with monkeypatch.context() as patched:  # undone before the backend's cleanup
        patched.setattr(store.engine, "connect", refuse)
        body = assert_problem(client.get("/health/ready"), 503, "database")
    assert "SELECT" not in str(body)


@pytest.mark.parametrize(
    ("route", "method", "body", "where"),
    [
        ("/api/customers", "post", '{"id": "acme" "segment": "smb"}', "line 1, column 15"),
        ("/api/customers/acme", "put", '{\n  "segment": smb\n}', "line 2, column 14"),
        (
            "/api/customers/acme/events",
            "post",
            '[\n  {"customer_id": "acme"},\n  {"kind": }\n]',
            "line 3, column 12",
        ),
        ("/api/customers/acme/events", "post", '[{"kind": "login"},', "line 1, column 20"),
    ],
)
def test_a_body_that_is_not_json_is_a_400_naming_line_and_column(
    client: TestClient, route: str, method: str, body: str, where: str
) -> None:
    """As the docs say: 400, a problem saying why and where, not a 422 at an offset."""
    response = client.request(
        method, route, content=body.encode(), headers={"content-type": "application/json"}
    )
    problem = assert_problem(response, 400, "not valid JSON", where)
    assert "errors" not in problem
