"""Errors as RFC 9457 problem details (``application/problem+json``), everywhere.

Every error the service answers - the library's, validation, HTTP, and anything
unexpected - becomes a :class:`Problem`. An unexpected error is logged with its
traceback and answered with a bare 500: no stack trace or SQL reaches a client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..exceptions import (
    ConfigurationError,
    CustomerExistsError,
    CustomerNotCreatedError,
    EventConflictError,
    InvalidInputError,
    UnknownCustomerError,
    UnknownSegmentError,
)

__all__ = ["PROBLEM_TYPE", "FieldError", "Problem", "install_handlers", "problem_response"]

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
        instance=request.url.path,
        errors=None if errors is None else [FieldError.model_validate(e) for e in errors],
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_TYPE,
        headers=headers,
    )


def _status_of(exc: Exception) -> int:
    if isinstance(exc, UnknownCustomerError):
        return 404
    if isinstance(exc, EventConflictError | CustomerExistsError):
        return 409
    if isinstance(
        exc, InvalidInputError | UnknownSegmentError | CustomerNotCreatedError | ConfigurationError
    ):
        return 422
    return 500


_BODY_TAGS = frozenset({"one", "many"})
_EVENT_TAGS = frozenset(
    {"api_call", "login", "feature_used", "payment", "support_ticket", "custom"}
)


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


def install_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem."""

    async def library_error(request: Request, exc: Exception) -> JSONResponse:
        status = _status_of(exc)
        if status == 500:
            return await unexpected(request, exc)
        return problem_response(request, status, str(exc))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(
            request, exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None)
        )

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [{"loc": _field_path(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return problem_response(request, 422, f"{where}: {first['msg']}", errors=errors)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unexpected error", exc_info=exc)
        return problem_response(request, 500, "an unexpected error occurred; it has been logged")

    from ..exceptions import CustomerHealthError

    app.add_exception_handler(CustomerHealthError, library_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)
