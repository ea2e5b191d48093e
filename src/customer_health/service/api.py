"""The API routes, as a router a host application mounts with its own prefix.

``create_router(store)`` returns an :class:`~fastapi.APIRouter` over a
:class:`~customer_health.storage.sqlalchemy.SQLAlchemyStore`; the reference app mounts
it at ``/api``. Routes are plain ``def`` functions: the store is synchronous, and
FastAPI runs them in its thread pool. The exception is the hot read, a customer's
stored health: an ``async`` route awaiting a :class:`~._reader.DocumentReader`, which
reads the stored JSON for many requests at once and returns it as is.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import (
    APIRouter,
    Body,
    Depends,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    Security,
)
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader
from pydantic import AfterValidator, BaseModel, Discriminator, SecretStr, Tag

from ..models import Customer, HealthScore, HealthStatus, Identifier, Label, UtcDatetime
from ..storage.models import IdempotentWrite, PortfolioStats, Recorded
from ..storage.sqlalchemy import SQLAlchemyStore
from . import examples
from ._limits import begin_write
from ._reader import DocumentReader
from ._routing import EncodedSlashRoute
from .problems import allowed_methods, problem_responses
from .schemas import CustomerPage, CustomerSummary, CustomerUpdate, EventIn, to_event

__all__ = [
    "API_KEY_HEADER",
    "IDEMPOTENCY_KEY_HEADER",
    "OPENAPI_TAGS",
    "REPLAYED_HEADER",
    "create_router",
]

OPENAPI_TAGS: list[dict[str, str]] = [
    {"name": "customers", "description": "The customers and their latest scores."},
    {"name": "scores", "description": "A customer's score with its breakdown, and its history."},
    {"name": "events", "description": "Recording what customers do; scores follow."},
    {"name": "dashboard", "description": "Statistics over the whole portfolio."},
    {"name": "health", "description": "Probes: the process, and its database."},
]
"""The groups of the routes, in the order the API's documentation shows them."""

API_KEY_HEADER = "X-API-Key"
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
"""A client's key for a write (IETF httpapi draft): the same key and request again get
the first answer, without writing twice."""
REPLAYED_HEADER = "Idempotent-Replayed"
"""Set to ``true`` on an answer replayed for an idempotency key."""
_VISIBLE_ASCII = re.compile(r"[\x20-\x7e]{1,255}")


def _idempotency_key(value: str | None) -> str | None:
    """The key of an ``Idempotency-Key`` header: a structured-field string (quoted,
    as the draft writes it) or a bare token; 1 to 255 visible ASCII characters."""
    if value is None:
        return None
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not _VISIBLE_ASCII.fullmatch(value):
        raise ValueError("must be 1 to 255 visible ASCII characters (optionally quoted)")
    return value


def _owner(api_key: str | None) -> str:
    """Whose idempotency keys these are: a hash of the API key (never the key)."""
    if api_key is None:
        return "anonymous"
    return hashlib.sha256(api_key.encode()).hexdigest()


def _fingerprint(request: Request, body: bytes) -> str:
    """A hash of what a write asks: method, raw path and body."""
    digest = hashlib.sha256(request.method.encode())
    digest.update(b"\0" + (request.scope.get("raw_path") or request.url.path.encode()))
    digest.update(b"\0" + body)
    return digest.hexdigest()


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
IdempotencyKey = Annotated[
    str | None,
    AfterValidator(_idempotency_key),
    Header(
        alias=IDEMPOTENCY_KEY_HEADER,
        description="Makes the write safe to retry: the same key with the same request "
        "gets the first answer again (header `Idempotent-Replayed: true`) and writes "
        "nothing; with another request it is 422; while the first still runs, 409. "
        "Keys are kept per API key and route for `idempotency_hours`.",
        examples=["3f0c9a4e-6b1d-4c56-9a8e-2f1b7c0d5e21"],
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
    idempotency_ttl: timedelta = timedelta(hours=24),
    on_recorded: Callable[[], None] | None = None,
) -> APIRouter:
    """The API's routes over ``store``.

    :param api_keys: keys accepted in the ``X-API-Key`` header; none means every
        request is let through (the host may add its own dependencies instead).
    :param max_batch: the most events one request may record (more: 413).
    :param idempotency_ttl: how long a write's ``Idempotency-Key`` is remembered.
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

    async def write(
        request: Request,
        key: str | None,
        status: int,
        run: Callable[..., BaseModel],
    ) -> Response:
        """Run the write ``run`` (in the thread pool) and answer its result as JSON.

        From here on the request's time limit is lifted (:func:`begin_write`): a write
        that has begun finishes and is answered. Under an idempotency ``key`` the key
        is claimed first and completed in the write's transaction; a key answered
        before gets that answer again (``Idempotent-Replayed: true``).
        """
        await begin_write(request)
        idempotent = None
        if key is not None:
            idempotent = IdempotentWrite(
                owner=_owner(request.headers.get(API_KEY_HEADER) if keys else None),
                route=f"{request.method} {request.scope['route'].path}"[:255],
                key=key,
                fingerprint=_fingerprint(request, await request.body()),
                status=status,
                ttl=idempotency_ttl,
            )
            replay = await run_in_threadpool(store.claim_idempotency_key, idempotent)
            if replay is not None:
                return Response(
                    replay.body,
                    status_code=replay.status,
                    media_type="application/json",
                    headers={REPLAYED_HEADER: "true"},
                )
        try:
            result = await run_in_threadpool(run, idempotency=idempotent)
        except Exception:
            if idempotent is not None:  # nothing was written: the key may be used again
                await run_in_threadpool(store.release_idempotency_key, idempotent)
            raise
        return Response(result.model_dump_json(), status_code=status, media_type="application/json")

    @router.get(
        "/customers",
        operation_id="list_customers",
        tags=["customers"],
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
        tags=["customers"],
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
        tags=["customers"],
        summary="Add a customer",
        status_code=201,
        response_model=Customer,
        responses=_answers(201, examples.CUSTOMER, 400, 409, 413, 422),
    )
    async def create_customer(
        request: Request, customer: CustomerBody, key: IdempotencyKey = None
    ) -> Response:
        return await write(request, key, 201, partial(store.add_customer, customer))

    @router.put(
        "/customers/{customer_id}",
        operation_id="update_customer",
        tags=["customers"],
        summary="Replace a customer's fields",
        response_model=Customer,
        responses=_answers(200, examples.CUSTOMER, 400, 404, 409, 413, 422),
    )
    async def update_customer(
        request: Request,
        customer_id: CustomerId,
        update: CustomerUpdateBody,
        key: IdempotencyKey = None,
    ) -> Response:
        customer = Customer(id=customer_id, **update.model_dump())
        return await write(request, key, 200, partial(store.update_customer, customer))

    @router.get(
        "/customers/{customer_id}/health",
        operation_id="get_customer_health",
        tags=["scores"],
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
        tags=["scores"],
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
        tags=["events"],
        summary="Record one event or a batch",
        status_code=202,
        response_model=Recorded,
        responses=_answers(202, examples.RECORDED, 400, 404, 409, 413, 422),
    )
    async def record_events(
        request: Request,
        customer_id: CustomerId,
        events: EventsBody,
        key: IdempotencyKey = None,
    ) -> Response:
        batch = events if isinstance(events, list) else [events]
        if not batch:  # 404 for an unknown customer all the same
            await run_in_threadpool(store.get_customer, customer_id)
        if len(batch) > max_batch:
            raise HTTPException(413, f"{len(batch)} events in one request; at most {max_batch}")
        for index, event in enumerate(batch):
            if event.customer_id not in (None, customer_id):
                raise HTTPException(
                    422,
                    f"event #{index} is for customer {event.customer_id!r}, not {customer_id!r}",
                )
        models = [to_event(event, customer_id) for event in batch]
        response = await write(request, key, 202, partial(store.record_many, models))
        if on_recorded is not None and response.status_code == 202:
            on_recorded()
        return response

    @router.get(
        "/dashboard/stats",
        operation_id="get_dashboard_stats",
        tags=["dashboard"],
        summary="Portfolio statistics over the latest scores",
        response_model=PortfolioStats,
        responses=_answers(200, examples.PORTFOLIO_STATS),
    )
    def dashboard_stats() -> PortfolioStats:
        return store.stats(changes_days=7)

    if keys:
        # Last, so that it matches only what no route does: a request to an unknown
        # path or with a method no route takes is authenticated (the router's
        # dependency) before it is answered 404 or 405, which would reveal the routes.
        @router.api_route("/{path:path}", methods=_METHODS, include_in_schema=False)
        async def unmatched(request: Request, path: str) -> None:
            if allowed_methods(request.app, request.url.path):
                raise HTTPException(405)  # the app's handler lists them in Allow
            raise HTTPException(404)

    return router
