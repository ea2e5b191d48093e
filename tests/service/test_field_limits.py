"""The API's field limits (422 naming the field) and ids with ``/`` or ``%`` in them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from fastapi import APIRouter, FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from customer_health import MAX_ID_LENGTH, MAX_JSON_LENGTH, MAX_TEXT_LENGTH
from customer_health.service.api import create_router
from customer_health.storage.sqlalchemy import SQLAlchemyStore

from ..backends import NOW

PROBLEM = "application/problem+json"
CONTROL_MESSAGE = "String should not contain control characters (U+0000-U+001F, U+007F-U+009F)"
ODD_IDS = [
    "a/b",
    "a%b",
    "a%2Fb",
    "x/health",
    "/lead",
    "trail/",
    "a b",
    "a?b#c",
    "\u00fcn\u00ef/c\u00f8de",
    "\U0001f600",
    ".",
    "..",
]
"""Ids the library accepts that a path must carry percent-encoded."""


def path_of(customer_id: str) -> str:
    """The API path of a customer: its id percent-encoded as one path segment (``.`` and
    ``..`` too, which clients would otherwise resolve away as dot segments)."""
    segment = quote(customer_id, safe="")
    return "/api/customers/" + (segment.replace(".", "%2E") if segment in (".", "..") else segment)


def big_json() -> dict[str, Any]:
    """A mapping one character of canonical JSON over the limit."""
    return {"k": "x" * (MAX_JSON_LENGTH - len('{"k":""}') + 1)}


def assert_invalid(response: Any, loc: list[str | int], msg: str) -> None:
    """The response is a 422 problem whose first error is at ``loc`` and says ``msg``."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["errors"][0] == {"loc": loc, "msg": msg}
    assert body["detail"] == ".".join(map(str, loc)) + ": " + msg


LONG_ID = f"String should have at most {MAX_ID_LENGTH} characters"
LONG_TEXT = f"String should have at most {MAX_TEXT_LENGTH} characters"
NUL = "String should not contain the NUL character (U+0000)"
BIG_JSON = (
    f"Mapping should have at most {MAX_JSON_LENGTH} characters as canonical JSON, "
    f"not {MAX_JSON_LENGTH + 1}"
)


@pytest.mark.parametrize(
    ("fields", "field", "msg"),
    [
        ({"id": "x" * (MAX_ID_LENGTH + 1)}, "id", LONG_ID),
        ({"id": "a\x00b"}, "id", CONTROL_MESSAGE),
        ({"segment": "smb\n"}, "segment", CONTROL_MESSAGE),
        ({"name": "n" * (MAX_TEXT_LENGTH + 1)}, "name", LONG_TEXT),
        ({"name": "Ac\x00me"}, "name", NUL),
        ({"attributes": big_json()}, "attributes", BIG_JSON),
    ],
)
def test_customers_over_a_limit_are_422_naming_the_field(
    client: TestClient, fields: dict[str, Any], field: str, msg: str
) -> None:
    """Creating or replacing a customer with a field over its limit is a 422 naming it."""
    store = client.app.state.store  # type: ignore[attr-defined]
    body = {"id": "acme", "segment": "smb"} | fields
    assert_invalid(client.post("/api/customers", json=body), ["body", field], msg)
    assert store.count_customers() == 0
    if field != "id":
        client.post("/api/customers", json={"id": "acme", "segment": "smb", "name": "Acme"})
        del body["id"]
        assert_invalid(client.put("/api/customers/acme", json=body), ["body", field], msg)
        assert store.get_customer("acme").name == "Acme"


@pytest.mark.parametrize(
    ("fields", "field", "msg"),
    [
        ({"customer_id": "acme\x7f"}, "customer_id", CONTROL_MESSAGE),
        ({"event_id": "e" * (MAX_ID_LENGTH + 1)}, "event_id", LONG_ID),
        ({"event_id": "e\x00"}, "event_id", CONTROL_MESSAGE),
        ({"user_id": "u\x1b"}, "user_id", CONTROL_MESSAGE),
        ({"kind": "feature_used", "feature": "f" * (MAX_TEXT_LENGTH + 1)}, "feature", LONG_TEXT),
        ({"kind": "feature_used", "feature": "f\x00"}, "feature", NUL),
        ({"kind": "k" * (MAX_ID_LENGTH + 1)}, "kind", LONG_ID),
        ({"kind": "nps", "properties": big_json()}, "properties", BIG_JSON),
    ],
)
def test_events_over_a_limit_are_422_naming_the_field(
    client: TestClient, fields: dict[str, Any], field: str, msg: str
) -> None:
    """An event with a field over its limit is a 422 naming it, alone or in a batch."""
    client.post("/api/customers", json={"id": "acme", "segment": "smb"})
    good = {"kind": "login", "occurred_at": NOW.isoformat()}
    bad = good | fields
    response = client.post("/api/customers/acme/events", json=bad)
    assert_invalid(response, ["body", field], msg)
    response = client.post("/api/customers/acme/events", json=[good, bad])
    assert_invalid(response, ["body", 1, field], msg)
    assert client.app.state.store.count_events() == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("encoded", "msg"),
    [
        ("a%00b", CONTROL_MESSAGE),
        ("a%0Ab", CONTROL_MESSAGE),
        ("a%C2%85b", CONTROL_MESSAGE),
        ("x" * (MAX_ID_LENGTH + 1), LONG_ID),
    ],
)
@pytest.mark.parametrize("route", ["health", "history", "events", ""])
def test_ids_in_the_path_are_held_to_the_limits(
    client: TestClient, encoded: str, msg: str, route: str
) -> None:
    """A path id with a control character or over the limit is a 422 naming the parameter."""
    path = f"/api/customers/{encoded}" + (f"/{route}" if route else "")
    if route == "events":
        response = client.post(path, json={"kind": "login", "occurred_at": NOW.isoformat()})
    elif route:
        response = client.get(path)
    else:
        response = client.put(path, json={"segment": "smb"})
    assert_invalid(response, ["path", "customer_id"], msg)


@pytest.mark.parametrize("customer_id", ODD_IDS)
def test_ids_with_slashes_and_percents_are_reachable(client: TestClient, customer_id: str) -> None:
    """Any id the library accepts is created, replaced, fed, scored and listed through its
    percent-encoded path."""
    path = path_of(customer_id)
    created = client.post("/api/customers", json={"id": customer_id, "segment": "smb"})
    assert created.status_code == 201, created.text
    updated = client.put(path, json={"segment": "enterprise", "name": "Odd"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["id"] == customer_id
    event = {"kind": "api_call", "occurred_at": NOW.isoformat(), "quantity": 42}
    recorded = client.post(f"{path}/events", json=event)
    assert recorded.status_code == 202, recorded.text
    assert recorded.json()["recorded"] == 1
    health = client.get(f"{path}/health")
    assert health.status_code == 200, health.text
    assert health.json()["customer_id"] == customer_id
    assert health.json()["factors"][0]["value"] == 42
    client.app.state.store.rescore_pending()  # type: ignore[attr-defined]
    history = client.get(f"{path}/history")
    assert history.status_code == 200, history.text
    assert [h["customer_id"] for h in history.json()] == [customer_id]
    assert client.get(f"{path}/health").json()["customer_id"] == customer_id  # stored score


def test_an_encoded_slash_is_never_a_separator(client: TestClient) -> None:
    """``a%2Fhealth`` is the customer ``a/health``, never the health of the customer ``a``."""
    client.post("/api/customers", json={"id": "a", "segment": "smb"})
    client.post("/api/customers", json={"id": "a/health", "segment": "enterprise"})
    response = client.put("/api/customers/a%2Fhealth", json={"segment": "startup"})
    assert response.json()["id"] == "a/health"
    assert client.get("/api/customers/a/health").json()["customer_id"] == "a"
    assert client.get("/api/customers/a%2Fhealth/health").json()["customer_id"] == "a/health"
    assert client.get("/api/customers/a%2fhealth/health").json()["customer_id"] == "a/health"
    # Unencoded, the slash separates: /api/customers/a/health/health is no route.
    assert client.get("/api/customers/a/health/health").status_code == 404


def test_host_apps_that_include_or_mount_the_router_reach_such_ids(
    store: SQLAlchemyStore,
) -> None:
    """Included under prefixes, behind a root path or in a mount, the router keeps it."""
    store.add_customer({"id": "a/b", "segment": "smb"})
    host = FastAPI()
    outer = APIRouter()
    outer.include_router(create_router(store), prefix="/inner")
    host.include_router(outer, prefix="/v2")
    shell = Starlette(routes=[Mount("/mounted", app=host)])
    for app, root, prefix in [
        (host, "", "/v2/inner"),
        (host, "/proxy", "/proxy/v2/inner"),
        (shell, "", "/mounted/v2/inner"),
    ]:
        with TestClient(app, root_path=root) as client:
            response = client.get(f"{prefix}/customers/a%2Fb/health")
            assert response.status_code == 200, (root, prefix, response.text)
            assert response.json()["customer_id"] == "a/b"


@pytest.mark.parametrize(
    ("segment", "msg"), [("smb\x00", CONTROL_MESSAGE), ("s" * (MAX_ID_LENGTH + 1), LONG_ID)]
)
def test_segment_filters_are_held_to_the_limits(client: TestClient, segment: str, msg: str) -> None:
    """A segment filter no segment can match is a 422 naming it, on every backend alike."""
    response = client.get("/api/customers", params=[("segment", "smb"), ("segment", segment)])
    assert_invalid(response, ["query", "segment", 1], msg)


def test_a_problem_names_the_path_as_the_client_sent_it(client: TestClient) -> None:
    """The problem's ``instance`` of an id with an encoded slash keeps the encoding:
    decoded, ``/api/customers/a/b/health`` would name another resource."""
    response = client.get("/api/customers/a%2Fb/health")
    assert response.status_code == 404
    assert response.json()["instance"] == "/api/customers/a%2Fb/health"
    response = client.get("/api/customers/ghost/health?as_of=2026-01-01")
    assert response.json()["instance"] == "/api/customers/ghost/health"
