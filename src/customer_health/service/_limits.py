"""Bounds on a request: its body's size, and a time limit that never hides a write.

:class:`BodyLimit` answers 413 before a body is parsed: at once when its
``Content-Length`` is over the limit, else as soon as the bytes read pass it (a chunked
body without a length included), so an oversized body is never held in memory whole.

The app's time limit (``request_timeout``, a cancel scope around each request) applies
until a write begins. A write route calls :func:`begin_write` first: past the limit it
is answered 504 with nothing written; otherwise the limit is lifted, so that the
write, once started, finishes and its answer says what happened (a 504 after a commit
would make a client that retries write twice).
"""

from __future__ import annotations

import math

import anyio
import anyio.lowlevel
from fastapi import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import problem_response

__all__ = ["DEADLINE_KEY", "BodyLimit", "begin_write"]

DEADLINE_KEY = "customer_health.deadline"
"""Where the app's time-limit middleware leaves its cancel scope in the ASGI scope."""


def _too_large(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


class BodyLimit:
    """Pure ASGI middleware: bodies over ``max_bytes`` are answered 413 (a problem)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > limit:
                    response = problem_response(Request(scope), 413, _too_large(limit))
                    await response(scope, receive, send)
                    return
                break
        read = 0

        async def limited() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > limit:
                    # FastAPI re-raises an HTTPException met while reading the body;
                    # the app's handler makes it a problem.
                    raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, limited, send)


async def begin_write(request: Request) -> None:
    """Mark the start of a write: from here on the request's time limit is lifted.

    If the limit has passed already, the pending cancellation is delivered here, before
    anything is written (the middleware answers 504). Without the app's middleware (a
    host app mounting the router) this does nothing.
    """
    scope = request.scope.get(DEADLINE_KEY)
    if not isinstance(scope, anyio.CancelScope):
        return
    if scope.cancel_called or anyio.current_time() >= scope.deadline:
        scope.cancel()  # due, though its timer may not have fired yet
        await anyio.lowlevel.checkpoint()  # raises the cancellation
    scope.deadline = math.inf  # no await since the check: nothing can come between
