"""The pydantic types: validation, immutability, JSON and schemas."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pydantic
import pytest

import customer_health
from customer_health import (
    ApiCallEvent,
    Customer,
    CustomEvent,
    HealthScore,
    HealthStatus,
    InvalidCustomerError,
    InvalidEventError,
    PaymentEvent,
    SupportTicketEvent,
)
from customer_health._inputs import validate_events

T = "2026-06-29T12:00:00Z"


def one(**fields: Any) -> Any:
    """Validate a single event given as a dict."""
    return validate_events([{"customer_id": "c1", "occurred_at": T, **fields}])[0]


def test_each_kind_becomes_its_own_model() -> None:
    """The kind selects the model; unknown kinds become custom events with properties."""
    assert isinstance(one(kind="api_call"), ApiCallEvent)
    assert isinstance(one(kind="payment", due_at=T), PaymentEvent)
    custom = one(kind="nps_response", properties={"score": 9})
    assert isinstance(custom, CustomEvent)
    assert custom.properties == {"score": 9}


def test_missing_or_null_defaults_follow_the_model() -> None:
    """quantity missing or null is 1; priority missing or null is normal; paid_at may be absent."""
    assert one(kind="api_call").quantity == 1
    assert one(kind="api_call", quantity=None).quantity == 1
    assert one(kind="support_ticket").priority == "normal"
    assert one(kind="support_ticket", priority=None).priority == "normal"
    assert one(kind="payment", due_at=T).paid_at is None


def test_times_are_utc() -> None:
    """Naive datetimes are read as UTC; aware ones are converted; finer than µs is truncated."""
    zone = timezone(timedelta(hours=2))
    assert one(kind="login", occurred_at=datetime(2026, 1, 1, 12)).occurred_at == datetime(
        2026, 1, 1, 12, tzinfo=UTC
    )
    converted = one(kind="login", occurred_at=datetime(2026, 1, 1, 12, tzinfo=zone)).occurred_at
    assert converted == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert converted.tzinfo is UTC
    fine = one(kind="login", occurred_at="2026-01-01T00:00:00.123456789Z").occurred_at
    assert fine.microsecond == 123456
    assert one(kind="login", occurred_at=date(2026, 1, 1)).occurred_at == datetime(
        2026, 1, 1, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "api_call", "quantity": 0}, "quantity"),
        ({"kind": "api_call", "quantity": -3}, "quantity"),
        ({"kind": "api_call", "quantity": 1.5}, "quantity"),
        ({"kind": "api_call", "quantity": True}, "quantity"),
        ({"kind": "api_call", "quantty": 3}, "quantty"),
        ({"kind": "feature_used"}, "feature"),
        ({"kind": "feature_used", "feature": ""}, "feature"),
        ({"kind": "payment"}, "due_at"),
        ({"kind": "payment", "due_at": T, "amount": float("nan")}, "amount"),
        ({"kind": "payment", "due_at": T, "amount": float("inf")}, "amount"),
        ({"kind": "payment", "due_at": T, "amount": -1}, "amount"),
        ({"kind": "payment", "due_at": "soon"}, "due_at"),
        ({"kind": "support_ticket", "priority": "critical"}, "priority"),
        ({"kind": "support_ticket", "priority": "High"}, "priority"),
        ({"kind": "login", "occurred_at": "yesterday"}, "occurred_at"),
        ({"kind": "nps", "score": 3}, "score"),
        ({"kind": ""}, "kind"),
    ],
)
def test_invalid_events_name_the_event_and_the_field(fields: dict[str, Any], field: str) -> None:
    """A missing, invalid or unexpected field is an error naming the event and the field."""
    events = [
        {"customer_id": "c1", "kind": "login", "occurred_at": T},
        {"customer_id": "c1", "occurred_at": T, "event_id": "bad-1", **fields},
    ]
    kind = re.escape(repr(fields["kind"]))
    pattern = rf"event #1 \({kind}, event_id 'bad-1'\): field '{field}'"
    with pytest.raises(InvalidEventError, match=pattern):
        customer_health.score({"id": "c1", "segment": "smb"}, events, as_of=T)


def test_event_errors_are_value_errors() -> None:
    """Validation errors are CustomerHealthError and ValueError at once."""
    with pytest.raises(ValueError, match="event #0"):
        validate_events([{"customer_id": "c1", "kind": "login"}])
    with pytest.raises(customer_health.CustomerHealthError):
        validate_events([{"customer_id": "c1", "kind": "login"}])


def test_many_errors_are_summarised() -> None:
    """Beyond five problems, the message says how many more there are."""
    bad = [{"customer_id": "c1", "kind": "api_call", "occurred_at": T, "quantity": 0}] * 8
    with pytest.raises(InvalidEventError, match="and 3 more errors"):
        validate_events(bad)


def test_non_events_are_rejected() -> None:
    """Something that is neither an event nor a mapping is named by position and type."""
    with pytest.raises(InvalidEventError, match="event #0 is a int"):
        validate_events([3])  # type: ignore[list-item]
    with pytest.raises(InvalidEventError, match="not a single dict"):
        validate_events({"customer_id": "c1"})  # type: ignore[arg-type]


def test_models_pass_through_and_subclasses_are_accepted() -> None:
    """Event models are used as they are, subclasses included."""

    class Tagged(ApiCallEvent):
        pass

    event = Tagged(customer_id="c1", occurred_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert validate_events([event]) == [event]


def test_builtin_kinds_cannot_be_custom_events() -> None:
    """CustomEvent refuses a built-in kind, so a built-in event cannot dodge validation."""
    with pytest.raises(pydantic.ValidationError, match="is built in"):
        CustomEvent(customer_id="c1", kind="login", occurred_at=datetime(2026, 1, 1))


def test_invalid_customers_name_the_customer_and_field() -> None:
    """A customer missing a segment, with an extra field, or not a mapping is named."""
    with pytest.raises(InvalidCustomerError, match=r"customer \(id 'c9'\): field 'segment'"):
        customer_health.score({"id": "c9"}, [])
    with pytest.raises(InvalidCustomerError, match="field 'tier'"):
        customer_health.score({"id": "c9", "segment": "smb", "tier": 1}, [])
    with pytest.raises(InvalidCustomerError, match="customer #1 is a str"):
        customer_health.Scorer().score_many([{"id": "a", "segment": "smb"}, "b"], [])  # type: ignore[list-item]
    with pytest.raises(InvalidCustomerError, match="not a single Customer"):
        customer_health.Scorer().score_many(Customer(id="a", segment="smb"), [])  # type: ignore[arg-type]


def test_models_are_immutable() -> None:
    """Customers, events and scores cannot be changed after creation."""
    customer = Customer(id="c1", segment="smb")
    with pytest.raises(pydantic.ValidationError):
        customer.segment = "enterprise"  # type: ignore[misc]
    ticket = SupportTicketEvent(customer_id="c1", occurred_at=datetime(2026, 1, 1))
    with pytest.raises(pydantic.ValidationError):
        ticket.priority = "high"  # type: ignore[misc]


def test_health_scores_round_trip_through_json(as_of: datetime) -> None:
    """A HealthScore survives JSON and back unchanged; its status is a str enum."""
    result = customer_health.score(
        {"id": "c1", "segment": "smb"},
        [{"customer_id": "c1", "kind": "api_call", "occurred_at": as_of, "quantity": 3}],
        as_of=as_of,
    )
    again = HealthScore.model_validate_json(result.model_dump_json())
    assert again == result
    # the engine builds scores without re-validating them: they must be what validation builds
    assert HealthScore.model_validate(result.model_dump()) == result
    assert result.model_dump(exclude_unset=True) == again.model_dump(exclude_unset=True)
    assert result.factors[0].model_fields_set == again.factors[0].model_fields_set
    assert isinstance(again.status, HealthStatus)
    assert again.status is result.status
    assert str(HealthStatus.AT_RISK) == "at_risk"


def test_events_and_customers_round_trip_through_json() -> None:
    """Every event kind and a customer survive JSON and back."""
    events = validate_events(
        [
            {"customer_id": "c1", "kind": "api_call", "occurred_at": T, "quantity": 4},
            {"customer_id": "c1", "kind": "login", "occurred_at": T, "user_id": 7},
            {"customer_id": "c1", "kind": "feature_used", "occurred_at": T, "feature": "x"},
            {"customer_id": "c1", "kind": "payment", "occurred_at": T, "due_at": T, "amount": 9.5},
            {"customer_id": "c1", "kind": "support_ticket", "occurred_at": T, "priority": "low"},
            {"customer_id": "c1", "kind": "nps", "occurred_at": T, "properties": {"a": [1]}},
        ]
    )
    adapter = pydantic.TypeAdapter(list[customer_health.Event])
    assert adapter.validate_json(adapter.dump_json(events)) == events
    customer = Customer(id=5, segment="smb", attributes={"plan": "pro"}, created_at="2026-01-01")  # type: ignore[arg-type]
    assert Customer.model_validate_json(customer.model_dump_json()) == customer
    assert customer.id == "5"


def test_json_schemas_are_available() -> None:
    """JSON schemas describe customers, events (every kind) and health scores."""
    event_schema = customer_health.event_json_schema()
    text = str(event_schema)
    for kind in ("api_call", "login", "feature_used", "payment", "support_ticket"):
        assert kind in text
    assert Customer.model_json_schema()["properties"]["attributes"]["type"] == "object"
    assert set(HealthScore.model_json_schema()["properties"]) >= {
        "customer_id",
        "as_of",
        "score",
        "status",
        "coverage",
        "factors",
        "model_version",
        "fingerprint",
    }
