"""Storage backends for the contract suites: SQLite in memory, a SQLite file, PostgreSQL.

The ``store`` fixture is parametrised over the three (the apscheduler habit): every
test that uses it runs on each. PostgreSQL tests read the server's URL from
``CUSTOMER_HEALTH_TEST_POSTGRES_URL`` and skip, saying how to run them, when it is not
set (with it set and no server answering, they fail); ``.ci/run`` sets it once the local
server answers, and otherwise leaves it unset, warning that they will be skipped. They
work in a schema of their own, dropped at the end, so the database they are given stays
as it was. After each test the fixture checks that every connection went back to the
pool.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

try:
    import sqlalchemy as sa

    from customer_health.storage.sqlalchemy import SQLAlchemyStore, create_engine, metadata
except ImportError:  # pragma: no cover - without the extra the suites skip themselves
    sa = None

from customer_health import Scorer

POSTGRES_ENV = "CUSTOMER_HEALTH_TEST_POSTGRES_URL"
BACKENDS = ["sqlite-memory", "sqlite-file", "postgresql"]
NOW = datetime(2026, 6, 30, tzinfo=UTC)


@dataclass
class Clock:
    """A clock the tests move by hand."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class Backend:
    """How to reach one backend: an engine factory and a cleanup between tests."""

    name: str
    url: str
    connect_args: dict[str, Any] = field(default_factory=dict)
    engines: list[Any] = field(default_factory=list)
    checked_out: int = 0
    """Connections taken from the engines' pools and not yet returned."""

    def engine(self) -> Any:
        engine = create_engine(self.url, connect_args=self.connect_args)
        self.engines.append(engine)
        sa.event.listen(engine.pool, "checkout", self._checkout)
        sa.event.listen(engine.pool, "checkin", self._checkin)
        return engine

    def _checkout(self, *args: Any) -> None:
        self.checked_out += 1

    def _checkin(self, *args: Any) -> None:
        self.checked_out -= 1


def postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(
            f"PostgreSQL tests need {POSTGRES_ENV} (e.g. "
            "postgresql+psycopg://postgres@127.0.0.1:5432/test); bash .ci/run sets it"
        )
    return url


@contextmanager
def schema_of_its_own(prefix: str = "ch_test") -> Iterator[tuple[str, str]]:
    """The PostgreSQL URL (skipping without one) and a new schema, dropped on leaving."""
    url = postgres_url()
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        try:
            yield url, schema
        finally:
            with admin.begin() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[tuple[str, str]]:
    """The URL and a PostgreSQL schema of this session's, dropped at the end."""
    with schema_of_its_own() as found:
        yield found


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A backend with empty ``ch_`` tables; no connection may be left checked out."""
    name = request.param
    if name == "sqlite-memory":
        backend = Backend(name, "sqlite://")
    elif name == "sqlite-file":
        backend = Backend(name, f"sqlite:///{tmp_path / 'store.db'}")
    else:
        url, schema = request.getfixturevalue("postgres_schema")
        backend = Backend(name, url, {"options": f"-csearch_path={schema}"})
    engine = backend.engine()
    metadata.drop_all(engine)
    metadata.create_all(engine)
    try:
        yield backend
    finally:
        leaked = backend.checked_out
        if backend.name == "postgresql":
            metadata.drop_all(engine)
        for each in backend.engines:
            each.dispose()
        assert leaked == 0, f"{leaked} connections not returned to the pool"


@pytest.fixture
def clock() -> Clock:
    """The stores' clock, at 2026-06-30T00:00:00Z until a test moves it."""
    return Clock()


@pytest.fixture
def make_store(backend: Backend, clock: Clock) -> Callable[..., SQLAlchemyStore]:
    """Make a store on the backend's database (each with its own engine if asked)."""

    def make(
        *, scorer: Scorer | None = None, new_engine: bool = False, **kwargs: Any
    ) -> SQLAlchemyStore:
        engine = backend.engine() if new_engine else backend.engines[0]
        return SQLAlchemyStore(engine, scorer=scorer, clock=clock, **kwargs)

    return make


@pytest.fixture
def store(make_store: Callable[..., SQLAlchemyStore]) -> SQLAlchemyStore:
    """A store with the default scorer on empty tables, on every backend."""
    return make_store()
