"""Safe defaults: no open public service, no invented customers in a named database,
routes revealed only to authenticated clients, request bodies bounded."""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from customer_health.cli import main
from customer_health.exceptions import ConfigurationError
from customer_health.service import Settings, create_app
from customer_health.service._limits import BodyLimit
from customer_health.service.settings import DEMO_SAMPLE_CUSTOMERS, is_loopback

from .conftest import Client
from .test_api import assert_problem
from .test_process import free_port

ROOT = Path(__file__).resolve().parents[2]
ENV_PREFIX = "CUSTOMER_HEALTH_"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CUSTOMER_HEALTH_* variable of the developer's leaks into the settings."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """uvicorn.run replaced by a recorder: what ``serve`` would have served, and where."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        uvicorn, "run", lambda app, **options: calls.append({"app": app, **options})
    )
    monkeypatch.setattr("gc.freeze", lambda: None)  # the recorder keeps the test's heap
    return calls


# -- exposure ----------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_addresses_are_recognised(host: str) -> None:
    """127.0.0.0/8, ::1 and localhost are loopback."""
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "192.168.1.2", "example.com"])
def test_other_addresses_are_not_loopback(host: str) -> None:
    """Any other address, or a host name (which may resolve anywhere), is not."""
    assert not is_loopback(host)


def test_without_keys_only_loopback_is_served(clean_env: None) -> None:
    """Without API keys a public address is refused, saying how to allow it."""
    Settings().check_exposure("127.0.0.1")
    with pytest.raises(ConfigurationError, match=r"'0\.0\.0\.0'.*API_KEYS.*--allow-open"):
        Settings().check_exposure("0.0.0.0")
    Settings(api_keys="k1").check_exposure("0.0.0.0")
    Settings(allow_open=True).check_exposure("0.0.0.0")


def test_serve_refuses_a_public_address_without_keys(
    clean_env: None, served: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """`serve --host 0.0.0.0` without keys exits 2 with one line and serves nothing."""
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    error = capsys.readouterr().err
    assert "refusing to serve on '0.0.0.0' without API keys" in error
    assert "Traceback" not in error
    assert served == []


def test_serve_opens_up_when_told(
    clean_env: None, served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--allow-open, CUSTOMER_HEALTH_ALLOW_OPEN or API keys let it serve on 0.0.0.0."""
    assert main(["serve", "--host", "0.0.0.0", "--allow-open"]) == 0
    monkeypatch.setenv("CUSTOMER_HEALTH_ALLOW_OPEN", "true")
    assert main(["serve", "--host", "0.0.0.0"]) == 0
    monkeypatch.delenv("CUSTOMER_HEALTH_ALLOW_OPEN")
    monkeypatch.setenv("CUSTOMER_HEALTH_API_KEYS", "k1")
    assert main(["serve", "--host", "0.0.0.0"]) == 0
    assert [call["host"] for call in served] == ["0.0.0.0"] * 3


def test_no_keys_is_a_warning_at_startup(
    make_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """An app without API keys says at startup that every request is anonymous."""
    with caplog.at_level(logging.WARNING, logger="customer_health.service"):
        make_client()
    assert any("no API keys are set" in record.getMessage() for record in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="customer_health.service"):
        make_client(api_keys="k1")
    assert not any("no API keys" in record.getMessage() for record in caplog.records)


def _dockerfile() -> tuple[dict[str, str], list[str]]:
    """The Dockerfile's ENV settings and the command of its CMD."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    env: dict[str, str] = {}
    command: list[str] = []
    for line in text.replace("\\\n", " ").splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(rest))  # type: ignore[misc]
        elif word == "CMD":
            command = [str(part) for part in json.loads(rest)]
    return env, command


def test_the_dockerfile_ships_no_open_service(
    clean_env: None,
    served: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The image serves on 0.0.0.0 only with keys or the opt-out from the environment,
    and loads no sample customers into its database."""
    env, command = _dockerfile()
    assert command[:2] == ["customer-health", "serve"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert "--allow-open" not in command
    assert not {"CUSTOMER_HEALTH_API_KEYS", "CUSTOMER_HEALTH_ALLOW_OPEN"} & set(env)
    assert env.get("CUSTOMER_HEALTH_SAMPLE_CUSTOMERS") == "0"
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(command[1:]) == 2  # as `docker run` without -e: refused
    assert "without API keys" in capsys.readouterr().err
    monkeypatch.setenv("CUSTOMER_HEALTH_API_KEYS", "a-long-secret")
    assert main(command[1:]) == 0
    monkeypatch.delenv("CUSTOMER_HEALTH_API_KEYS")
    monkeypatch.setenv("CUSTOMER_HEALTH_ALLOW_OPEN", "true")
    assert main(command[1:]) == 0
    assert len(served) == 2
    assert Settings().sample_size() == 0


# -- the sample portfolio --------------------------------------------------------------


def test_sample_goes_only_into_the_demo_database(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 sample customers for the default demo database; none for a named one."""
    assert Settings().sample_size() == DEMO_SAMPLE_CUSTOMERS
    assert Settings(database_url="sqlite:///mine.db").sample_size() == 0
    assert Settings(database_url="sqlite:///mine.db", sample_customers=7).sample_size() == 7
    assert Settings(sample_customers=0).sample_size() == 0
    monkeypatch.setenv("CUSTOMER_HEALTH_DATABASE_URL", "postgresql+psycopg://db/prod")
    assert Settings().sample_size() == 0


def _customers_after_startup(settings: Settings) -> int:
    app = create_app(settings)
    with TestClient(app):
        count: int = app.state.store.count_customers()
    return count


def test_a_named_database_gets_no_invented_customers(clean_env: None, tmp_path: Path) -> None:
    """The service started on a database the user named leaves it empty, unless asked."""
    named = f"sqlite:///{tmp_path / 'named.db'}"
    assert _customers_after_startup(Settings(database_url=named, worker=False)) == 0
    other = f"sqlite:///{tmp_path / 'asked.db'}"
    asked = Settings(database_url=other, worker=False, sample_customers=4)
    assert _customers_after_startup(asked) == 4


def test_the_default_demo_database_gets_the_sample(
    clean_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Started with no database named, the local demo database gets the sample."""
    monkeypatch.chdir(tmp_path)
    assert _customers_after_startup(Settings(worker=False)) == DEMO_SAMPLE_CUSTOMERS


def test_a_store_passed_in_gets_no_sample(make_client: Client) -> None:
    """create_app(store=...) loads nothing into that store unless sample_customers says."""
    client = make_client(sample_customers=None)
    assert client.app.state.store.count_customers() == 0  # type: ignore[attr-defined]


def test_serve_sample_option(clean_env: None, served: list[dict[str, Any]], tmp_path: Path) -> None:
    """`serve --sample N` loads N customers into the named database."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["serve", "--database-url", url, "--sample", "3", "--no-worker"]) == 0
    (call,) = served
    with TestClient(call["app"]):
        assert call["app"].state.store.count_customers() == 3


# -- routes revealed only after authentication ------------------------------------------


def test_unknown_methods_and_paths_are_authenticated_first(make_client: Client) -> None:
    """With API keys, a wrong method or an unknown path is 401 without a key, then
    405 (with Allow) or 404 with one."""
    client = make_client(api_keys="k1")
    key = {"X-API-Key": "k1"}
    for method, path in [("DELETE", "/api/customers"), ("PATCH", "/api/customers/acme")]:
        assert_problem(client.request(method, path), 401)
        refused = assert_problem(client.request(method, path, headers=key), 405)
        assert refused["detail"] == "Method Not Allowed"
    allowed = client.request("DELETE", "/api/customers", headers=key).headers["allow"]
    assert allowed == "GET, POST"
    assert_problem(client.get("/api/nothing-here"), 401)
    assert_problem(client.get("/api/nothing-here", headers=key), 404)
    assert client.get("/api/customers", headers=key).status_code == 200


def test_the_catch_all_is_not_in_the_openapi(make_client: Client) -> None:
    """The route that answers unmatched requests is not documented."""
    client = make_client(api_keys="k1")
    assert not any("{path}" in path for path in client.get("/openapi.json").json()["paths"])


# -- bounded request bodies ----------------------------------------------------------------


def test_a_declared_oversized_body_is_refused_unread(make_client: Client) -> None:
    """A Content-Length over max_body_bytes is 413 before the body is read."""
    client = make_client(max_body_bytes=2048)
    client.post("/api/customers", json={"id": "acme", "segment": "smb"})
    events = [{"kind": "login", "occurred_at": "2026-06-01"}] * 100
    body = assert_problem(client.post("/api/customers/acme/events", json=events), 413)
    assert "larger than 2048 bytes" in body["detail"]
    small = client.post("/api/customers/acme/events", json=events[:10])
    assert small.status_code == 202


async def _drive(app: Any, chunks: int, chunk: bytes, headers: list[tuple[bytes, bytes]]) -> Any:
    """Send a body of ``chunks`` chunks to ``app``; count the chunks it pulled."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": pulled < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/customers/acme/events",
        "raw_path": b"/api/customers/acme/events",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), *headers],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1),
    }
    await app(scope, receive, send)
    return pulled, sent


@pytest.mark.anyio
async def test_a_streamed_body_is_cut_off_at_the_limit(make_client: Client) -> None:
    """A chunked body without Content-Length is read only up to the limit, then 413."""
    client = make_client(max_body_bytes=64 * 1024)
    chunk = b" " * 16 * 1024
    pulled, sent = await _drive(client.app, 1000, chunk, [])
    assert pulled == 5  # 80 KiB read: over 64 KiB, and not one chunk more
    assert sent[0]["status"] == 413
    pulled, sent = await _drive(client.app, 1000, chunk, [(b"content-length", b"16384000")])
    assert pulled == 0
    assert sent[0]["status"] == 413


@pytest.mark.anyio
async def test_the_body_limit_passes_other_traffic() -> None:
    """BodyLimit leaves lifespan and small bodies alone."""
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])
        if scope["type"] == "http":
            message = await receive()
            assert message["body"] == b"{}"

    limited = BodyLimit(app, max_bytes=1024)
    await limited({"type": "lifespan"}, None, None)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    await limited({"type": "http", "headers": [(b"content-length", b"2")]}, receive, None)
    assert seen == ["lifespan", "http"]


@pytest.mark.slow
def test_a_real_server_cuts_off_a_chunked_body(tmp_path: Path) -> None:
    """Through uvicorn, a chunked body that never ends is answered 413 and the server's
    memory stays small."""
    port = free_port()
    env = {
        **os.environ,
        "CUSTOMER_HEALTH_DATABASE_URL": f"sqlite:///{tmp_path / 'limits.db'}",
        "CUSTOMER_HEALTH_MAX_BODY_BYTES": "1048576",
        "CUSTOMER_HEALTH_WORKER": "false",
    }
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", "customer_health", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                running = time.monotonic() < deadline and child.poll() is None
                assert running, log.read_text(errors="replace")[-3000:]
                time.sleep(0.1)
        rss_before = _rss_kib(child.pid)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(
                b"POST /api/customers/acme/events HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            piece = b" " * 65536
            chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
            sent = 0
            try:
                while sent < 64 * 1024 * 1024:  # 64 MiB at most, then stop
                    connection.sendall(chunk)
                    sent += len(piece)
            except OSError:
                pass  # the server answered and closed the connection
            answer = connection.recv(65536).decode("latin-1")
        assert re.match(r"HTTP/1\.1 413 ", answer), answer[:200]
        assert "larger than 1048576 bytes" in answer
        assert _rss_kib(child.pid) - rss_before < 64 * 1024  # far less than 64 MiB
    finally:
        child.kill()
        child.wait(timeout=30)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")  # pragma: no cover
