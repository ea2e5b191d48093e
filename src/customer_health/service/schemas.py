"""Request and response bodies of the API that the library's models do not cover."""

from __future__ import annotations

import functools
import operator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    create_model,
)

from ..models import (
    EVENT_TYPES,
    Customer,
    Event,
    HealthStatus,
    Identifier,
    JsonObject,
    Label,
    Text,
    UtcDatetime,
    event_tag,
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


def _tag(event: type[BaseModel]) -> str:
    """The discriminator tag of an event model (that of :data:`~customer_health.Event`)."""
    kind = event.model_fields["kind"].default
    return kind if isinstance(kind, str) else "custom"


def _request_model(event: type[BaseModel]) -> type[BaseModel]:
    """The request form of an event model: its ``customer_id`` optional (the path's); every
    other field as the model has it, limits included (``MAX_QUANTITY`` among them)."""
    fields: dict[str, Any] = {"customer_id": (Identifier | None, _NO_CUSTOMER)}
    return create_model(f"{event.__name__}In", __base__=event, __module__=__name__, **fields)


_EVENT_OF: dict[type[BaseModel], type[BaseModel]] = {
    _request_model(event): event for event in EVENT_TYPES
}
"""Each request model and the event model it builds."""


def to_event(event: BaseModel, customer_id: str) -> Event:
    """The library's event for a validated request event of ``customer_id``.

    Every field was validated when the body was read (the request models are the event
    models with an optional ``customer_id``), so the event is built without validating
    again; ``customer_id`` is the path's, which the route checked.
    """
    values = dict(event.__dict__)
    values["customer_id"] = customer_id
    return trusted(_EVENT_OF[type(event)], values)  # type: ignore[return-value]


if TYPE_CHECKING:

    class EventIn(BaseModel):
        """What the routes read of a request event (its model is one of several)."""

        customer_id: str | None

else:
    EventIn = Annotated[
        functools.reduce(
            operator.or_,
            (Annotated[model, Tag(_tag(event))] for model, event in _EVENT_OF.items()),
        ),
        Discriminator(event_tag),
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


def __getattr__(name: str) -> Any:
    """``MAX_QUANTITY``, deprecated here: it is ``customer_health.MAX_QUANTITY`` now, the
    limit of every path (it was the service's alone). It goes in 2.0."""
    if name == "MAX_QUANTITY":
        import warnings

        from .._event_schema import MAX_QUANTITY

        warnings.warn(
            "customer_health.service.schemas.MAX_QUANTITY is deprecated; use "
            "customer_health.MAX_QUANTITY (the same value, now the limit of every path)",
            DeprecationWarning,
            stacklevel=2,
        )
        return MAX_QUANTITY
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
