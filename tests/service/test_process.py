"""The service as a real process: killed between recording and rescoring, it catches up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

httpx = pytest.importorskip("httpx2", reason="the process tests need httpx2 (service tests)")

from customer_health.storage.sqlalchemy import SQLAlchemyStore, metadata  # noqa: E402

from ..backends import Backend  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(environment: dict[str, str], directory: Path) -> Iterator[httpx.Client]:
    """``customer-health serve`` in a child process, killed (SIGKILL) on exit."""
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "customer_health", "serve", "--port", str(port)],
        cwd=directory,
        env={**os.environ, **environment},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if child.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server did not start: {child.communicate()[1]}")
            time.sleep(0.1)
        yield client
    finally:
        client.close()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        if child.stderr is not None:
            child.stderr.close()


def environment_of(backend: Backend) -> dict[str, str]:
    """The settings that point a server at the backend's database."""
    settings = {
        "CUSTOMER_HEALTH_DATABASE_URL": backend.url,
        "CUSTOMER_HEALTH_SAMPLE_CUSTOMERS": "3",
    }
    options = backend.connect_args.get("options")
    if options:  # PostgreSQL: the test schema, through libpq's environment
        settings["PGOPTIONS"] = options
    return settings


def api_usage(server: httpx.Client, cid: str) -> float | None:
    """The api_usage value of the customer's latest stored score (None if none)."""
    history = server.get(f"/api/customers/{cid}/history").json()
    if not history:
        return None
    return next(f["value"] for f in history[-1]["factors"] if f["name"] == "api_usage")


def wait_for(condition: Any, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite-file", "postgresql"], indirect=True)
def test_a_killed_server_loses_no_rescoring(backend: Backend, tmp_path: Path) -> None:
    """Events recorded by a server killed before rescoring are scored after a restart."""
    settings = environment_of(backend)
    engine = backend.engine()
    metadata.drop_all(engine)  # the server migrates an empty database itself
    with serving(settings, tmp_path) as server:  # first run: sample loaded and scored
        cid = server.get("/api/customers").json()["items"][0]["id"]
        wait_for(lambda: api_usage(server, cid) is not None)
        before = api_usage(server, cid)
        assert before is not None
    event = {"kind": "api_call", "quantity": 777, "occurred_at": datetime.now(UTC).isoformat()}
    with serving(settings | {"CUSTOMER_HEALTH_WORKER": "false"}, tmp_path) as server:
        assert server.post(f"/api/customers/{cid}/events", json=event).status_code == 202
        assert api_usage(server, cid) == before  # recorded, not rescored; then killed
    with serving(settings, tmp_path) as server:  # the fresh score is due only as pending
        wait_for(lambda: api_usage(server, cid) == before + 777)
    metadata.drop_all(engine)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite-file"], indirect=True)
def test_the_worker_command_drains_and_stops_on_sigterm(backend: Backend, tmp_path: Path) -> None:
    """`customer-health worker` scores pending customers and exits cleanly on SIGTERM."""
    engine = backend.engine()
    metadata.drop_all(engine)
    store = SQLAlchemyStore(engine)
    store.upgrade()
    store.add_customers([{"id": f"c{i}", "segment": "smb"} for i in range(3)])
    child = subprocess.Popen(
        [sys.executable, "-m", "customer_health", "worker", "--interval", "0.1"],
        cwd=tmp_path,
        env={**os.environ, **environment_of(backend)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: store.pending_count() == 0 and store.latest_score("c2") is not None)
        child.send_signal(signal.SIGTERM)
        _, log = child.communicate(timeout=30)
    finally:
        if child.poll() is None:  # pragma: no cover - only if the test failed
            child.kill()
            child.communicate()
    assert child.returncode == 0, log
    assert '"message": "worker stopped"' in log


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite-file"], indirect=True)
def test_ids_with_slashes_round_trip_through_a_real_server(
    backend: Backend, tmp_path: Path
) -> None:
    """Under uvicorn, ids with `/`, `%`, spaces or non-ASCII letters work percent-encoded."""
    metadata.drop_all(backend.engine())
    ids = ["a/b", "a%b", "a%2Fb", "x/health", "trail/", "a b", "\u00fcn\u00ef/c\u00f8de", ".."]
    event = {"kind": "api_call", "quantity": 7, "occurred_at": datetime.now(UTC).isoformat()}
    with serving(environment_of(backend), tmp_path) as server:
        for cid in ids:
            path = "/api/customers/" + (quote(cid, safe="") if cid != ".." else "%2E%2E")
            created = server.post("/api/customers", json={"id": cid, "segment": "smb"})
            assert created.status_code == 201, created.text
            updated = server.put(path, json={"segment": "startup", "name": cid})
            assert updated.status_code == 200, updated.text
            assert updated.json()["id"] == cid
            assert server.post(f"{path}/events", json=event).status_code == 202
            health = server.get(f"{path}/health", params={"as_of": event["occurred_at"]})
            assert health.json()["customer_id"] == cid, health.text
            assert health.json()["factors"][0]["value"] == 7
            wait_for(lambda path=path: server.get(f"{path}/history").json() != [])
            assert server.get(f"{path}/health").json()["customer_id"] == cid
        nul = server.get("/api/customers/a%00b/health")
        assert nul.status_code == 422
        assert nul.json()["errors"][0]["loc"] == ["path", "customer_id"]
