"""The API routes, as a router a host application mounts with its own prefix.

``create_router(store)`` returns an :class:`~fastapi.APIRouter` over a
:class:`~customer_health.storage.sqlalchemy.SQLAlchemyStore`; the reference app mounts
it at ``/api``. Routes are plain ``def`` functions: the store is synchronous, and
FastAPI runs them in its thread pool. The exception is the hot read, a customer's
stored health: an ``async`` route awaiting a :class:`~._reader.DocumentReader`, which
reads the stored JSON for many requests at once and returns it as is.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import (
    APIRouter,
    Body,
    Depends,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    Security,
)
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader
from pydantic import Discriminator, SecretStr, Tag

from ..models import Customer, HealthScore, HealthStatus, Identifier, Label, UtcDatetime
from ..storage.models import PortfolioStats, Recorded
from ..storage.sqlalchemy import SQLAlchemyStore
from . import examples
from ._reader import DocumentReader
from ._routing import EncodedSlashRoute
from .problems import problem_responses
from .schemas import CustomerPage, CustomerSummary, CustomerUpdate, EventIn, to_event

__all__ = ["API_KEY_HEADER", "create_router"]

API_KEY_HEADER = "X-API-Key"


def _answers(status: int, example: Any, *problems: int) -> dict[int | str, dict[str, Any]]:
    """The documented responses of a route: its success with an example, its problems."""
    success = {status: {"content": {"application/json": {"example": example}}}}
    return success | problem_responses(*problems)


def _body_examples(**named: tuple[str, Any]) -> dict[str, Any]:
    return {name: {"summary": summary, "value": value} for name, (summary, value) in named.items()}


CustomerId = Annotated[
    Identifier,
    Path(description="The customer's id; percent-encode a `/` or `%` in it (`a%2Fb`)."),
]
# Module-level (not in create_router) so that FastAPI can resolve the annotations.
ApiKey = Annotated[
    str | None,
    Security(APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="An API key.")),
]
EventsBody = Annotated[
    Annotated[EventIn, Tag("one")] | Annotated[list[EventIn], Tag("many")],
    Discriminator(lambda value: "many" if isinstance(value, list) else "one"),
    Body(
        description="An event, or a list of events (at most the configured batch size).",
        openapi_examples=examples.EVENTS,
    ),
]
CustomerBody = Annotated[
    Customer,
    Body(openapi_examples=_body_examples(customer=("A customer", examples.CUSTOMER))),
]
CustomerUpdateBody = Annotated[
    CustomerUpdate,
    Body(openapi_examples=_body_examples(update=("New fields", examples.CUSTOMER_UPDATE))),
]


def create_router(
    store: SQLAlchemyStore,
    *,
    api_keys: Sequence[str | SecretStr] = (),
    max_batch: int = 1000,
    on_recorded: Callable[[], None] | None = None,
) -> APIRouter:
    """The API's routes over ``store``.

    :param api_keys: keys accepted in the ``X-API-Key`` header; none means every
        request is let through (the host may add its own dependencies instead).
    :param max_batch: the most events one request may record (more: 413).
    :param on_recorded: called after events are recorded (the reference app wakes its
        rescoring worker with it).
    """
    keys = [k.get_secret_value() if isinstance(k, SecretStr) else k for k in api_keys]
    reader = DocumentReader(store)

    async def authenticate(key: ApiKey) -> None:  # async: no thread-pool call for it
        if not keys:
            return
        # Compare with every key, in constant time, so timing tells nothing.
        given = (key or "").encode()
        matched = False
        for candidate in keys:
            matched |= hmac.compare_digest(given, candidate.encode())
        if not matched:
            detail = "a valid X-API-Key header is required" if key else "X-API-Key header missing"
            raise HTTPException(401, detail, headers={"WWW-Authenticate": API_KEY_HEADER})

    router = APIRouter(
        route_class=EncodedSlashRoute,  # ids with a "/", sent as %2F, reach their routes
        dependencies=[Depends(authenticate)] if keys else [],
        responses=problem_responses(401) if keys else {},
    )

    @router.get(
        "/customers",
        operation_id="list_customers",
        summary="List customers with their latest score",
        response_model=CustomerPage,
        responses=_answers(200, examples.CUSTOMER_PAGE, 422),
    )
    def list_customers(
        status: Annotated[
            list[HealthStatus] | None, Query(description="Only these statuses.")
        ] = None,
        segment: Annotated[list[Label] | None, Query(description="Only these segments.")] = None,
        search: Annotated[
            str | None, Query(max_length=200, description="A part of the name, any case.")
        ] = None,
        order: Annotated[
            Literal["score", "-score", "name", "-name"],
            Query(description="Sort key; `score` lists the lowest (and the unscored) first."),
        ] = "score",
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        cursor: Annotated[
            str | None, Query(max_length=2000, description="`next_cursor` of the previous page.")
        ] = None,
    ) -> CustomerPage:
        page = store.latest(
            status=None if status is None else [s.value for s in status],
            segment=segment,
            search=search,
            order=order,
            limit=limit,
            cursor=cursor,
        )
        return CustomerPage(
            items=[CustomerSummary.of(i.customer, i.health, i.scoring) for i in page.items],
            next_cursor=page.next_cursor,
        )

    @router.get(
        "/customers/{customer_id}",
        operation_id="get_customer",
        summary="A customer with its latest score and scoring state",
        description="The customer as listed: its latest score and status, and in `scoring` "
        "whether it waits to be rescored and, if its scoring failed, how many times in a "
        "row, the last error, and when it is tried again.",
        response_model=CustomerSummary,
        responses=_answers(200, examples.CUSTOMER_SUMMARY, 404, 422),
    )
    def get_customer(customer_id: CustomerId) -> CustomerSummary:
        found = store.scored_customer(customer_id)
        return CustomerSummary.of(found.customer, found.health, found.scoring)

    @router.post(
        "/customers",
        operation_id="create_customer",
        summary="Add a customer",
        status_code=201,
        response_model=Customer,
        responses=_answers(201, examples.CUSTOMER, 400, 409, 422),
    )
    def create_customer(customer: CustomerBody) -> Customer:
        return store.add_customer(customer)

    @router.put(
        "/customers/{customer_id}",
        operation_id="update_customer",
        summary="Replace a customer's fields",
        response_model=Customer,
        responses=_answers(200, examples.CUSTOMER, 400, 404, 422),
    )
    def update_customer(customer_id: CustomerId, update: CustomerUpdateBody) -> Customer:
        return store.update_customer(Customer(id=customer_id, **update.model_dump()))

    @router.get(
        "/customers/{customer_id}/health",
        operation_id="get_customer_health",
        summary="A customer's score with its full breakdown",
        response_model=HealthScore,
        responses=_answers(200, examples.HEALTH_SCORE, 404, 422),
    )
    async def customer_health(
        customer_id: CustomerId,
        as_of: Annotated[
            UtcDatetime | None,
            Query(description="Score at this instant from the stored events (not stored)."),
        ] = None,
    ) -> HealthScore | Response:
        if as_of is None:
            # The stored score's JSON as saved (HealthScore.model_dump_json()), sent as
            # is: no decoding, validation or encoding; read in batches (see _reader).
            document = await reader.get(customer_id)
            if document is not None:
                return Response(document, media_type="application/json")
        return await run_in_threadpool(partial(store.health, customer_id, as_of=as_of))

    @router.get(
        "/customers/{customer_id}/history",
        operation_id="get_customer_history",
        summary="A customer's stored scores over a time range",
        response_model=list[HealthScore],
        responses=_answers(200, [examples.HEALTH_SCORE], 404, 422),
    )
    def customer_history(
        customer_id: CustomerId,
        start: Annotated[UtcDatetime | None, Query(description="From this as_of on.")] = None,
        end: Annotated[UtcDatetime | None, Query(description="Up to this as_of.")] = None,
    ) -> list[HealthScore]:
        return store.history(customer_id, start=start, end=end)

    @router.post(
        "/customers/{customer_id}/events",
        operation_id="record_events",
        summary="Record one event or a batch",
        status_code=202,
        response_model=Recorded,
        responses=_answers(202, examples.RECORDED, 400, 404, 409, 413, 422),
    )
    def record_events(
        request: Request,
        customer_id: CustomerId,
        events: EventsBody,
    ) -> Recorded:
        batch = events if isinstance(events, list) else [events]
        if not batch:
            store.get_customer(customer_id)  # 404 for an unknown customer all the same
        if len(batch) > max_batch:
            raise HTTPException(413, f"{len(batch)} events in one request; at most {max_batch}")
        for index, event in enumerate(batch):
            if event.customer_id not in (None, customer_id):
                raise HTTPException(
                    422,
                    f"event #{index} is for customer {event.customer_id!r}, not {customer_id!r}",
                )
        recorded = store.record_many([to_event(event, customer_id) for event in batch])
        if on_recorded is not None and recorded.recorded:
            on_recorded()
        return recorded

    @router.get(
        "/dashboard/stats",
        operation_id="get_dashboard_stats",
        summary="Portfolio statistics over the latest scores",
        response_model=PortfolioStats,
        responses=_answers(200, examples.PORTFOLIO_STATS),
    )
    def dashboard_stats() -> PortfolioStats:
        return store.stats(changes_days=7)

    return router
