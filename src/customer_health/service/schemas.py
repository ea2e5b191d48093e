"""Request and response bodies of the API that the library's models do not cover."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeAlias

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag

from ..models import (
    ApiCallEvent,
    Customer,
    CustomEvent,
    Event,
    FeatureUsedEvent,
    HealthStatus,
    Identifier,
    JsonObject,
    Label,
    LoginEvent,
    PaymentEvent,
    SupportTicketEvent,
    Text,
    UtcDatetime,
    _event_tag,
    _not_bool,
    trusted,
)
from ..storage.models import ScoringState

__all__ = [
    "CustomerPage",
    "CustomerSummary",
    "CustomerUpdate",
    "EventIn",
    "Liveness",
    "Readiness",
    "to_event",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_NO_CUSTOMER = Field(
    default=None, description="The customer of the path; may be left out, must match if given."
)


MAX_QUANTITY = 2**31 - 1
"""The most API calls one event may stand for (their sum must fit the database's integers)."""


class ApiCallEventIn(ApiCallEvent):
    customer_id: Identifier | None = _NO_CUSTOMER  # type: ignore[assignment]
    quantity: Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=MAX_QUANTITY)] = 1


class LoginEventIn(LoginEvent):
    customer_id: Identifier | None = _NO_CUSTOMER  # type: ignore[assignment]


class FeatureUsedEventIn(FeatureUsedEvent):
    customer_id: Identifier | None = _NO_CUSTOMER  # type: ignore[assignment]


class PaymentEventIn(PaymentEvent):
    customer_id: Identifier | None = _NO_CUSTOMER  # type: ignore[assignment]


class SupportTicketEventIn(SupportTicketEvent):
    customer_id: Identifier | None = _NO_CUSTOMER  # type: ignore[assignment]


class CustomEventIn(CustomEvent):
    customer_id: Identifier | None = _NO_CUSTOMER  # type: ignore[assignment]


_EVENT_OF: dict[type[BaseModel], type[BaseModel]] = {
    ApiCallEventIn: ApiCallEvent,
    LoginEventIn: LoginEvent,
    FeatureUsedEventIn: FeatureUsedEvent,
    PaymentEventIn: PaymentEvent,
    SupportTicketEventIn: SupportTicketEvent,
    CustomEventIn: CustomEvent,
}


def to_event(event: BaseModel, customer_id: str) -> Event:
    """The library's event for a validated request event of ``customer_id``.

    Every field was validated when the body was read (the request models are the event
    models with an optional ``customer_id``), so the event is built without validating
    again; ``customer_id`` is the path's, which the route checked.
    """
    values = dict(event.__dict__)
    values["customer_id"] = customer_id
    return trusted(_EVENT_OF[type(event)], values)  # type: ignore[return-value]


EventIn: TypeAlias = Annotated[
    Annotated[ApiCallEventIn, Tag("api_call")]
    | Annotated[LoginEventIn, Tag("login")]
    | Annotated[FeatureUsedEventIn, Tag("feature_used")]
    | Annotated[PaymentEventIn, Tag("payment")]
    | Annotated[SupportTicketEventIn, Tag("support_ticket")]
    | Annotated[CustomEventIn, Tag("custom")],
    Discriminator(_event_tag),
]
"""An event in a request body: any event, its ``customer_id`` taken from the path."""


class CustomerUpdate(BaseModel):
    """A customer's new fields (``PUT`` replaces them all; the id is the path's)."""

    model_config = _FROZEN

    segment: Label
    name: Text | None = None
    created_at: UtcDatetime | None = None
    attributes: JsonObject = Field(default_factory=dict)


class CustomerSummary(BaseModel):
    """A customer with its latest score and its scoring state, as listed."""

    model_config = _FROZEN

    id: str
    name: str | None
    segment: str
    created_at: datetime | None
    score: float | None = Field(description="The latest score; null if never scored or no data.")
    status: HealthStatus | None = Field(description="The latest status; null if never scored.")
    as_of: datetime | None = Field(description="When the latest score was for.")
    scoring: ScoringState = Field(
        description="Whether it waits to be rescored, and its failed attempts in a row "
        "(with the last error, and when it is tried again)."
    )

    @classmethod
    def of(cls, customer: Customer, score: Any, scoring: ScoringState) -> CustomerSummary:
        return cls(
            id=customer.id,
            name=customer.name,
            segment=customer.segment,
            created_at=customer.created_at,
            score=None if score is None else score.score,
            status=None if score is None else score.status,
            as_of=None if score is None else score.as_of,
            scoring=scoring,
        )


class CustomerPage(BaseModel):
    """A page of customers; pass ``next_cursor`` as ``cursor`` for the next one."""

    model_config = _FROZEN

    items: list[CustomerSummary]
    next_cursor: str | None


class Liveness(BaseModel):
    """The process answers."""

    status: str = "ok"


class Readiness(BaseModel):
    """The database answers."""

    status: str = "ready"
    database: str = Field(description="The database's dialect name.")
