"""Structured logs: JSON lines carrying the request id, access lines included."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from customer_health.service.logs import configure_logging

LOGGERS = ("customer_health", "uvicorn", "uvicorn.error", "uvicorn.access")
# Logging does not depend on the database: one backend is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite-memory"], indirect=True)


@pytest.fixture
def restored_loggers() -> Iterator[None]:
    """Put the loggers back as they were after configure_logging changed them."""
    saved = {name: logging.getLogger(name) for name in LOGGERS}
    state = {name: (lg.handlers[:], lg.level, lg.propagate) for name, lg in saved.items()}
    yield
    for name, (handlers, level, propagate) in state.items():
        saved[name].handlers = handlers
        saved[name].setLevel(level)
        saved[name].propagate = propagate


@pytest.mark.usefixtures("restored_loggers")
def test_every_line_is_json_with_the_request_id(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """A request's access line is one JSON object with its id, method, path and status."""
    configure_logging("INFO", "json")
    client.get("/api/customers/ghost/health", headers={"X-Request-ID": "rid-42"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    access = [line for line in lines if line["logger"] == "customer_health.access"]
    assert access == [
        {
            "time": access[0]["time"],
            "level": "INFO",
            "logger": "customer_health.access",
            "message": f"GET /api/customers/ghost/health 404 {access[0]['ms']:.2f} ms",
            "request_id": "rid-42",
            "method": "GET",
            "path": "/api/customers/ghost/health",
            "status": 404,
            "ms": access[0]["ms"],
        }
    ]


@pytest.mark.usefixtures("restored_loggers")
def test_text_logs(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    """The text format shows the request id in brackets, and an access line shows the
    method, path, status and duration."""
    configure_logging("INFO", "text")
    client.get("/health", headers={"X-Request-ID": "rid-7"})
    client.get("/api/customers/ghost", headers={"X-Request-ID": "rid-8"})
    err = capsys.readouterr().err
    assert re.search(r"customer_health.access \[rid-7\] GET /health 200 \d+\.\d\d ms$", err, re.M)
    assert re.search(
        r"customer_health.access \[rid-8\] GET /api/customers/ghost 404 \d+\.\d\d ms$", err, re.M
    ), err
