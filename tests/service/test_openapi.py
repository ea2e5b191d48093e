"""The OpenAPI schema is complete: ids, response models, examples, problems documented."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import TypeAdapter
from starlette.testclient import TestClient

from customer_health.models import Customer, HealthScore
from customer_health.service import Settings, create_app
from customer_health.service.api import EventsBody
from customer_health.service.schemas import (
    CustomerPage,
    CustomerSummary,
    CustomerUpdate,
    Liveness,
    Readiness,
)
from customer_health.storage.models import PortfolioStats, Recorded

from .conftest import Client

PROBLEM = "application/problem+json"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}

RESPONSES: dict[str, Any] = {
    "list_customers": CustomerPage,
    "get_customer": CustomerSummary,
    "create_customer": Customer,
    "update_customer": Customer,
    "get_customer_health": HealthScore,
    "get_customer_history": list[HealthScore],
    "record_events": Recorded,
    "get_dashboard_stats": PortfolioStats,
    "liveness": Liveness,
    "readiness": Readiness,
}
"""The model of each operation's success, to check its example against."""
REQUESTS: dict[str, Any] = {
    "create_customer": Customer,
    "update_customer": CustomerUpdate,
    "record_events": EventsBody,
}
"""The model of each operation's request body."""


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def expected_problems(path: str, method: str, operation: dict[str, Any], keys: bool) -> set[int]:
    """The problem statuses an operation can answer, so must document."""
    statuses = {500, 504}
    if path.startswith("/api/"):
        if keys:
            statuses.add(401)
        if "{customer_id}" in path:
            statuses.add(404)
        if operation.get("parameters") or "requestBody" in operation:
            statuses.add(422)
        if "requestBody" in operation:
            statuses.add(400)
    if operation["operationId"] == "create_customer":
        statuses.add(409)
    if operation["operationId"] == "record_events":
        statuses |= {409, 413}
    if operation["operationId"] == "readiness":
        statuses.add(503)
    return statuses


def has_example(media: dict[str, Any]) -> bool:
    return "example" in media or bool(media.get("examples"))


def examples_of(media: dict[str, Any]) -> list[Any]:
    if "example" in media:
        return [media["example"]]
    return [example["value"] for example in media.get("examples", {}).values()]


def incompleteness(schema: dict[str, Any], *, keys: bool) -> list[str]:
    """What the schema lacks, one line each (none: it is complete)."""
    found: list[str] = []
    ids: list[str] = []
    components = schema.get("components", {}).get("schemas", {})
    if "Problem" not in components:
        found.append("no Problem schema in the components")
    for path, method, operation in operations(schema):
        where = f"{method.upper()} {path}"
        op_id = operation.get("operationId")
        if not op_id:
            found.append(f"{where}: no operation id")
            continue
        ids.append(op_id)
        responses = operation.get("responses", {})
        successes = [status for status in responses if status.startswith("2")]
        if not successes:
            found.append(f"{where}: no 2xx response")
        for status in successes:
            media = responses[status].get("content", {}).get("application/json", {})
            if "schema" not in media:
                found.append(f"{where}: {status} has no JSON schema")
            if not has_example(media):
                found.append(f"{where}: {status} has no example")
        if "requestBody" in operation:
            media = operation["requestBody"].get("content", {}).get("application/json", {})
            if not has_example(media):
                found.append(f"{where}: the request body has no example")
        for status in sorted(expected_problems(path, method, operation, keys)):
            if str(status) not in responses:
                found.append(f"{where}: {status} is not documented")
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                content = response.get("content", {})
                if set(content) != {PROBLEM}:
                    found.append(f"{where}: {status} is {sorted(content)}, not only {PROBLEM}")
                    continue
                media = content[PROBLEM]
                if media.get("schema") != {"$ref": "#/components/schemas/Problem"}:
                    found.append(f"{where}: {status} is not a Problem")
                if not has_example(media):
                    found.append(f"{where}: {status} has no example")
    declared = [tag.get("name") for tag in schema.get("tags", [])]
    used = {tag for _, _, operation in operations(schema) for tag in operation.get("tags", [])}
    for path, method, operation in operations(schema):
        tags = operation.get("tags", [])
        if len(tags) != 1 or tags[0] not in declared:
            found.append(f"{method.upper()} {path}: tags {tags}, not one of {declared}")
    for tag in declared:
        if tag not in used:
            found.append(f"tag {tag!r} is declared but no operation has it")
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        found.append(f"operation ids used more than once: {duplicated}")
    return found


@pytest.fixture(params=[False, True], ids=["open", "keys"])
def schema(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The reference app's OpenAPI schema, without and with API keys."""
    options: dict[str, Any] = {"api_keys": "k1"} if request.param else {}
    settings = Settings(database_url="sqlite://", worker=False, sample_customers=0, **options)
    return create_app(settings).openapi()


def test_the_schema_is_complete(schema: dict[str, Any]) -> None:
    """Every operation has an id, a 2xx schema with an example, and its problems."""
    keys = any("security" in operation for _, _, operation in operations(schema))
    assert incompleteness(schema, keys=keys) == []


def test_the_check_finds_what_is_missing(schema: dict[str, Any]) -> None:
    """The check above fails on a schema that lacks any one of those."""
    health = schema["paths"]["/api/customers/{customer_id}/health"]["get"]
    del health["responses"]["200"]["content"]["application/json"]["example"]
    del health["responses"]["404"]
    events = schema["paths"]["/api/customers/{customer_id}/events"]["post"]
    events["requestBody"]["content"]["application/json"].pop("examples")
    events["responses"]["413"]["content"]["application/json"] = {}
    del schema["paths"]["/health"]["get"]["operationId"]
    schema["paths"]["/api/dashboard/stats"]["get"]["tags"] = ["stats"]
    assert incompleteness(schema, keys=False) == [
        "GET /api/customers/{customer_id}/health: 200 has no example",
        "GET /api/customers/{customer_id}/health: 404 is not documented",
        "POST /api/customers/{customer_id}/events: the request body has no example",
        "POST /api/customers/{customer_id}/events: 413 is "
        "['application/json', 'application/problem+json'], not only application/problem+json",
        "GET /health: no operation id",
        "GET /api/dashboard/stats: tags ['stats'], not one of "
        "['customers', 'scores', 'events', 'dashboard', 'health']",
        "tag 'dashboard' is declared but no operation has it",
    ]


def test_the_examples_are_valid(schema: dict[str, Any]) -> None:
    """Each example validates against its model, and each problem example is a Problem."""
    seen = set()
    for _, _, operation in operations(schema):
        op_id = operation["operationId"]
        seen.add(op_id)
        for status, response in operation["responses"].items():
            for media_type, media in response.get("content", {}).items():
                model = RESPONSES[op_id] if status.startswith("2") else None
                for example in examples_of(media):
                    if model is not None:
                        TypeAdapter(model).validate_python(example)
                    else:
                        assert media_type == PROBLEM
                        assert example["status"] == int(status)
        if "requestBody" in operation:
            media = operation["requestBody"]["content"]["application/json"]
            for example in examples_of(media):
                TypeAdapter(REQUESTS[op_id]).validate_python(example)
    assert seen == set(RESPONSES)


def test_the_examples_are_accepted(make_client: Client) -> None:
    """The request examples work as documented against the app."""
    client: TestClient = make_client()
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]

    def example(path: str, method: str, name: str) -> Any:
        body = paths[path][method]["requestBody"]["content"]["application/json"]
        return body["examples"][name]["value"]

    customer = example("/api/customers", "post", "customer")
    assert client.post("/api/customers", json=customer).status_code == 201
    update = example("/api/customers/{customer_id}", "put", "update")
    assert client.put(f"/api/customers/{customer['id']}", json=update).status_code == 200
    for name in ("one", "batch"):
        events = example("/api/customers/{customer_id}/events", "post", name)
        recorded = client.post(f"/api/customers/{customer['id']}/events", json=events)
        assert recorded.status_code == 202, recorded.text


def test_the_score_example_is_a_score_of_the_default_model() -> None:
    """The documented score (``GET /api/customers/{id}/score``) is what the default
    scorer gives for a customer with these events, factor by factor: it cannot go stale
    when the default model changes (it once showed a model v1 score after v2 became the
    default)."""
    from datetime import UTC, datetime, timedelta

    from customer_health import Scorer
    from customer_health.service import examples

    as_of = datetime(2026, 6, 30, tzinfo=UTC)
    customer = Customer.model_validate(examples.CUSTOMER)

    def ago(**delta: float) -> datetime:
        return as_of - timedelta(**delta)

    events: list[dict[str, Any]] = [
        {"kind": "api_call", "occurred_at": ago(days=2), "quantity": 420},
        *(
            {"kind": "login", "occurred_at": ago(days=day, hours=3)}
            for day in [*range(1, 25, 2), *range(31, 60, 2)]
        ),
        *(
            {"kind": "feature_used", "occurred_at": ago(days=3), "feature": feature}
            for feature in ("reports", "exports", "alerts", "api_keys")
        ),
        *(
            {"kind": "payment", "occurred_at": ago(days=d), "due_at": ago(days=d),
             "paid_at": ago(days=d + 1), "amount": 2490.0}
            for d in (20, 50, 80)
        ),
    ]  # fmt: skip
    score = Scorer().score(
        customer, [{**event, "customer_id": customer.id} for event in events], as_of=as_of
    )
    assert score.model_dump(mode="json") == examples.HEALTH_SCORE
    summary = {"score": score.score, "status": score.status}
    for listed in (examples.CUSTOMER_PAGE["items"][0], examples.CUSTOMER_SUMMARY):
        assert listed["id"] == customer.id
        assert {name: listed[name] for name in summary} == summary
