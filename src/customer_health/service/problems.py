"""Errors as RFC 9457 problem details (``application/problem+json``), everywhere.

Every error the service answers - the library's, validation, HTTP, and anything
unexpected - becomes a :class:`Problem`. An unexpected error is logged with its
traceback and answered with a bare 500: no stack trace or SQL reaches a client.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .._event_schema import BUILTIN_KINDS
from .._terms import in_terms_of
from ..exceptions import (
    ConfigurationError,
    CustomerExistsError,
    CustomerNotCreatedError,
    EventConflictError,
    IdempotencyKeyInUseError,
    InvalidInputError,
    UnknownCustomerError,
    UnknownSegmentError,
)

__all__ = [
    "PROBLEM_TYPE",
    "FieldError",
    "Problem",
    "allowed_methods",
    "install_handlers",
    "problem_response",
    "problem_responses",
]

PROBLEM_TYPE = "application/problem+json"
_BASE = "https://customer-health.dev/problems/"
logger = logging.getLogger("customer_health.service")


class FieldError(BaseModel):
    """One invalid field of a request."""

    loc: list[str | int] = Field(description="Where: the path to the field.")
    msg: str = Field(description="What is wrong.")


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong, for people and for programs."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "type": _BASE + "not-found",
                "title": "Not Found",
                "status": 404,
                "detail": "unknown customer 'acme'",
                "instance": "/api/customers/acme/health",
            }
        }
    )

    type: str = Field(description="A URI naming the kind of problem.")
    title: str = Field(description="A short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong this time.")
    instance: str = Field(description="The path of the request.")
    errors: list[FieldError] | None = Field(
        default=None, description="For validation problems: each invalid field."
    )


_TITLES = {
    400: ("bad-request", "Bad Request"),
    401: ("unauthorized", "Unauthorized"),
    404: ("not-found", "Not Found"),
    405: ("method-not-allowed", "Method Not Allowed"),
    409: ("conflict", "Conflict"),
    413: ("too-large", "Content Too Large"),
    422: ("invalid", "Unprocessable Content"),
    500: ("internal", "Internal Server Error"),
    503: ("unavailable", "Service Unavailable"),
    504: ("timeout", "Gateway Timeout"),
}


_DESCRIBED = {
    400: "The body could not be read as JSON.",
    401: "A missing or wrong API key.",
    404: "No such customer.",
    409: "A conflict with what is stored, or a request with the same Idempotency-Key "
    "still running.",
    413: "The body is larger than the configured limit, or has too many events.",
    422: "The request is invalid; the problem names each invalid field.",
    500: "An unexpected error; the details are in the service's log, not here.",
    503: "The database does not answer.",
    504: "The request took longer than the configured time limit.",
}
_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {
        "detail": "the body is not valid JSON: Expecting ',' delimiter at line 1, column 27",
        "instance": "/api/customers",
    },
    401: {"detail": "X-API-Key header missing", "instance": "/api/customers"},
    404: {"detail": "unknown customer 'acme'", "instance": "/api/customers/acme/health"},
    409: {
        "detail": "event_id 'e1' of customer 'acme' was recorded with other content",
        "instance": "/api/customers/acme/events",
    },
    413: {
        "detail": "1500 events in one request; at most 1000",
        "instance": "/api/customers/acme/events",
    },
    422: {
        "detail": "body.2.due_at: Field required",
        "instance": "/api/customers/acme/events",
        "errors": [{"loc": ["body", 2, "due_at"], "msg": "Field required"}],
    },
    500: {
        "detail": "an unexpected error occurred; it has been logged",
        "instance": "/api/dashboard/stats",
    },
    503: {"detail": "the database does not answer", "instance": "/health/ready"},
    504: {"detail": "the request took longer than 30 s", "instance": "/api/dashboard/stats"},
}
_REF = "#/components/schemas/Problem"


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route for these problem statuses.

    Each is documented as ``application/problem+json`` with the :class:`Problem`
    schema and an example. (``model`` puts the schema in the components; FastAPI also
    lists it as ``application/json``, which :func:`install_handlers` removes.)
    """
    return {status: _documented(status, model=True) for status in statuses}


def _documented(status: int, *, model: bool) -> dict[str, Any]:
    slug, title = _TITLES[status]
    example = {"type": _BASE + slug, "title": title, "status": status} | _EXAMPLES[status]
    response: dict[str, Any] = {
        "description": _DESCRIBED[status],
        "content": {PROBLEM_TYPE: {"schema": {"$ref": _REF}, "example": example}},
    }
    return response | {"model": Problem} if model else response


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem-details response for ``request``."""
    slug, title = _TITLES.get(status, ("error", "Error"))
    body = Problem(
        type=_BASE + slug,
        title=title,
        status=status,
        detail=detail,
        instance=_instance(request),
        errors=None if errors is None else [FieldError.model_validate(e) for e in errors],
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_TYPE,
        headers=headers,
    )


def _instance(request: Request) -> str:
    """The path of ``request`` as the client sent it: an id with a ``/``, sent as
    ``a%2Fb``, stays ``a%2Fb`` (the decoded path would name another resource)."""
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes):
        return raw.decode("ascii", "replace")
    return request.url.path


def _out_of_range_errors() -> tuple[type[Exception], ...]:
    """Errors of input the database cannot hold or the dates cannot reach.

    A NUL character or a too-long id (PostgreSQL), an integer past 64 bits, an instant
    whose window reaches before year 1: the request is at fault (422), not the service.
    """
    errors: list[type[Exception]] = [OverflowError, sa.exc.DataError, sqlite3.DataError]
    try:
        import psycopg
    except ImportError:  # pragma: no cover - without the postgres extra
        pass
    else:
        errors.append(psycopg.DataError)
    return tuple(errors)


def _status_of(exc: Exception) -> int:
    if isinstance(exc, UnknownCustomerError):
        return 404
    if isinstance(exc, EventConflictError | CustomerExistsError | IdempotencyKeyInUseError):
        return 409
    if isinstance(
        exc, InvalidInputError | UnknownSegmentError | CustomerNotCreatedError | ConfigurationError
    ):
        return 422
    return 500


_BODY_TAGS = frozenset({"one", "many"})
_EVENT_TAGS = BUILTIN_KINDS | {"custom"}
"""The tags of the events' union: the built-in kinds, and ``custom`` for the others."""


def _field_path(loc: Any) -> list[str | int]:
    """The path to the field, without the union tags pydantic puts in it.

    An events body is one event or a list (tags ``one``/``many``), and each event a
    union on ``kind`` (tagged with the kind): ``body.many.3.payment.due_at`` says
    which branch was tried; ``body.3.due_at`` says where the field is.
    """
    path: list[str | int] = [part if isinstance(part, int) else str(part) for part in loc]
    if path[:1] == ["body"] and path[1:2] and path[1] in _BODY_TAGS:
        del path[1]
        at = 2 if path[1:2] and isinstance(path[1], int) else 1
        if path[at : at + 1] and path[at] in _EVENT_TAGS:
            del path[at]
    return path


def _json_decode_error(exc: RequestValidationError) -> str | None:
    """What is wrong with a body that is not JSON, and where (line and column, counted
    from 1 as JSON parsers do), or ``None`` for a body that was read.

    FastAPI reports such a body as a validation error of type ``json_invalid`` located
    at the character offset; the document it could not read is the error's ``body``.
    """
    for error in exc.errors():
        if error.get("type") != "json_invalid":
            continue
        loc = error.get("loc", ())
        reason = str(error.get("ctx", {}).get("error", "not JSON"))
        document = exc.body
        if len(loc) == 2 and isinstance(loc[1], int) and isinstance(document, str | bytes):
            text = document.decode("utf-8", "replace") if isinstance(document, bytes) else document
            offset = loc[1]
            line = text.count("\n", 0, offset) + 1
            column = offset - (text.rfind("\n", 0, offset) + 1) + 1
            return f"the body is not valid JSON: {reason} at line {line}, column {column}"
        return f"the body is not valid JSON: {reason}"
    return None


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI schema of ``app`` documents for ``path``."""
    for template, item in app.openapi().get("paths", {}).items():
        pattern = "/".join(
            "[^/]+" if part.startswith("{") and part.endswith("}") else re.escape(part)
            for part in template.split("/")
        )
        if re.fullmatch(pattern, path):
            return sorted(method.upper() for method in item)
    return []


def _document_problems(app: FastAPI, everywhere: Iterable[int]) -> None:
    """Have the OpenAPI schema of ``app`` document its problems, and only as problems.

    Every operation gets the ``everywhere`` statuses; a problem response loses the
    ``application/json`` copy FastAPI adds, since problems are never sent as that.
    """
    generate = app.openapi
    statuses = [str(status) for status in everywhere]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                for status in statuses:
                    responses.setdefault(status, _documented(int(status), model=False))
                for response in responses.values():
                    content = response.get("content", {})
                    if PROBLEM_TYPE in content:
                        content.pop("application/json", None)
                operation["responses"] = dict(sorted(responses.items()))
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        if statuses and "Problem" not in components:
            definitions = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(definitions.pop("$defs", {}))
            components["Problem"] = definitions
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_handlers(app: FastAPI, *, everywhere: Iterable[int] = (500,)) -> None:
    """Answer every error of ``app`` as a problem, and document them so in its OpenAPI.

    :param everywhere: the problem statuses any operation may answer, documented on
        each (500: an unexpected error; the reference app adds 504, its time limit).
    """

    async def library_error(request: Request, exc: Exception) -> JSONResponse:
        status = _status_of(exc)
        if status == 500:
            return await unexpected(request, exc)
        return problem_response(request, status, in_terms_of(str(exc), "http"))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # Starlette lists the methods of the first route matching the path only.
            allowed = allowed_methods(app, request.url.path)
            if allowed:
                headers = (headers or {}) | {"Allow": ", ".join(allowed)}
        return problem_response(request, exc.status_code, str(exc.detail), headers=headers)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        undecodable = _json_decode_error(exc)
        if undecodable is not None:
            return problem_response(request, 400, undecodable)
        errors = [{"loc": _field_path(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return problem_response(request, 422, f"{where}: {first['msg']}", errors=errors)

    async def out_of_range(request: Request, exc: Exception) -> JSONResponse:
        logger.warning("a request with values out of range", exc_info=exc)
        detail = "a value of the request is out of the range that can be stored or computed"
        return problem_response(request, 422, detail)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unexpected error", exc_info=exc)
        return problem_response(request, 500, "an unexpected error occurred; it has been logged")

    from ..exceptions import CustomerHealthError

    app.add_exception_handler(CustomerHealthError, library_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for error in _out_of_range_errors():
        app.add_exception_handler(error, out_of_range)
    app.add_exception_handler(Exception, unexpected)
    _document_problems(app, everywhere)
