"""The service over every storage backend, through Starlette's test client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the service tests need the service extra")

from starlette.testclient import TestClient

from customer_health.service import Settings, create_app
from customer_health.storage.sqlalchemy import SQLAlchemyStore

Client = Callable[..., TestClient]


@pytest.fixture
def make_client(
    make_store: Callable[..., SQLAlchemyStore],
) -> Iterator[Callable[..., TestClient]]:
    """Start the app on the backend's store with the settings given (no sample, no
    worker unless asked); the clients are closed (lifespan ended) after the test."""
    clients: list[TestClient] = []

    def make(**settings: Any) -> TestClient:
        options: dict[str, Any] = {
            "sample_customers": 0,
            "worker": False,
            "create_tables": False,  # the backend fixture made them
        } | settings
        store = make_store(**options.pop("store_options", {}))
        client = TestClient(create_app(Settings(**options), store=store))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Client) -> TestClient:
    """The app with no API keys and no worker, on an empty store."""
    return make_client()
