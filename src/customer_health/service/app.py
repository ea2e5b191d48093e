"""The reference app: the router at ``/api``, health checks, a worker, logs, errors."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import anyio
import sqlalchemy as sa
from fastapi import FastAPI, HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import sample
from .._version import installed_version
from ..scoring import scorer_with_kinds
from ..storage.sqlalchemy import SQLAlchemyStore, create_engine
from . import examples
from ._limits import DEADLINE_KEY, BodyLimit
from ._pages import install_pages
from .api import OPENAPI_TAGS, create_router
from .logs import request_id
from .problems import install_handlers, problem_response, problem_responses
from .schemas import Liveness, Readiness
from .settings import Settings
from .worker import Worker

__all__ = ["create_app", "make_store"]

logger = logging.getLogger("customer_health.service")
access = logging.getLogger("customer_health.access")
_ID_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")


def make_store(settings: Settings) -> SQLAlchemyStore:
    """The store the settings describe (its engine pooled as they say)."""
    url = sa.make_url(settings.database_url)
    options: dict[str, Any] = {"pool_pre_ping": True}
    if url.get_backend_name() != "sqlite":
        options |= {"pool_size": settings.pool_size, "max_overflow": settings.pool_size}
    return SQLAlchemyStore(
        create_engine(url, **options),
        scorer=scorer_with_kinds(settings.event_kinds, settings.unknown_kinds, settings.model),
        max_age=timedelta(hours=settings.max_age_hours),
        batch_size=settings.rescore_batch,
        retry_delay=timedelta(seconds=settings.retry_delay),
        retry_max_delay=timedelta(seconds=settings.retry_max_delay),
    )


class RequestContext:
    """Pure ASGI middleware: a request id on every response and log line, an access
    log line per request, and a time limit (504 when it is exceeded)."""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        if not (0 < len(given) <= 128 and set(given) <= _ID_CHARACTERS):
            # 128 random bits as uuid4().hex writes them, without a system call per
            # request (the module's generator is seeded from os.urandom, again after fork).
            given = f"{random.getrandbits(128):032x}"
        rid = given
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            # anyio.fail_after(self.timeout), without its layers (it costs per request).
            limit = anyio.CancelScope(deadline=anyio.current_time() + self.timeout)
            scope[DEADLINE_KEY] = limit  # a write lifts it when it begins (begin_write)
            with limit:
                await self.app(scope, receive, send_with_id)
            if limit.cancelled_caught:
                raise TimeoutError
        except TimeoutError:
            if response_started:
                raise
            from starlette.requests import Request

            response = problem_response(
                Request(scope), 504, f"the request took longer than {self.timeout:g} s"
            )
            await response(scope, receive, send_with_id)
        finally:
            ms = round((time.perf_counter() - started) * 1000, 2)
            method, path = scope["method"], scope["path"]
            access.info(  # the text says it all; JSON lines have the fields too
                "%s %s %d %.2f ms",
                method,
                path,
                status,
                ms,
                extra={"method": method, "path": path, "status": status, "ms": ms},
            )
            request_id.reset(token)


def _load_sample(store: SQLAlchemyStore, customers: int) -> None:
    if customers <= 0 or store.count_customers():
        return
    logger.warning(
        "loading a sample portfolio of invented customers into the empty database",
        extra={"customers": customers, "database": repr(store)},
    )
    data = sample.generate(customers, as_of=store.now())
    store.add_customers(data.customers)
    store.record_many(data.events)
    logger.info("loaded the sample portfolio", extra={"customers": customers})


def create_app(
    settings: Settings | None = None, *, store: SQLAlchemyStore | None = None
) -> FastAPI:
    """The reference service.

    :param settings: defaults to :class:`Settings` read from the environment.
    :param store: a store to serve (default: one on ``settings.database_url``).

    At startup the tables are migrated (``create_tables``), a sample portfolio is
    loaded into an empty database (``sample_customers``: by default only into the
    local demo database, never into one you named or a ``store`` you passed) and a
    rescoring worker starts (``worker``); at shutdown the worker finishes its batch and
    the engine closes. Without ``api_keys`` a warning says that every request is
    anonymous.
    """
    settings = settings or Settings()
    own_database = store is None or settings.sample_customers is not None
    sample = settings.sample_size() if own_database else 0
    store = store or make_store(settings)
    worker = (
        Worker(store, interval=settings.worker_interval, settle=settings.worker_settle)
        if settings.worker
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.create_tables:
            await anyio.to_thread.run_sync(store.upgrade)
        if not settings.api_keys:
            logger.warning(
                "no API keys are set: every request is anonymous, writes included; "
                "set CUSTOMER_HEALTH_API_KEYS to require an X-API-Key header"
            )
        await anyio.to_thread.run_sync(_load_sample, store, sample)
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                await anyio.to_thread.run_sync(worker.stop)
            store.close()

    app = FastAPI(
        title="customer-health",
        version=installed_version(),
        description="Customer health scores: customers, events, scores and statistics.",
        lifespan=lifespan,
        openapi_tags=OPENAPI_TAGS,
        docs_url=None,  # served from the package (install_pages), not from a CDN
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    install_pages(app, title=app.title)
    app.state.store = store
    app.state.worker = worker
    install_handlers(app, everywhere=(500, 504))
    app.include_router(
        create_router(
            store,
            api_keys=settings.api_keys,
            max_batch=settings.max_batch,
            idempotency_ttl=timedelta(hours=settings.idempotency_hours),
            on_recorded=None if worker is None else worker.wake,
        ),
        prefix="/api",
    )

    @app.get(
        "/health",
        operation_id="liveness",
        summary="The process answers",
        tags=["health"],
        responses={200: {"content": {"application/json": {"example": examples.LIVENESS}}}},
    )
    def liveness() -> Liveness:
        return Liveness()

    @app.get(
        "/health/ready",
        operation_id="readiness",
        summary="The database answers",
        tags=["health"],
        responses={
            **problem_responses(503),
            200: {"content": {"application/json": {"example": examples.READINESS}}},
        },
    )
    def readiness() -> Readiness:
        try:
            with store.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except sa.exc.SQLAlchemyError as error:
            logger.warning("the database does not answer", exc_info=error)
            raise HTTPException(503, "the database does not answer") from None
        return Readiness(database=store.engine.dialect.name)

    # Outermost last: the time limit and request id wrap the body limit's 413 too.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContext, timeout=settings.request_timeout)
    return app
