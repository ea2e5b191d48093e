"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from customer_health.plugins.manager import ALLOW_ENV, BLOCK_ENV
from customer_health.scoring import _default_scorer

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)

# The storage backends (store, backend, clock, ...) for the storage and service suites.
pytest_plugins = ["tests.backends"]


@pytest.fixture(autouse=True)
def _plugin_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep the developer's plugin variables and the default-scorer cache out of tests."""
    monkeypatch.delenv(BLOCK_ENV, raising=False)
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    _default_scorer.cache_clear()
    yield
    _default_scorer.cache_clear()


@pytest.fixture
def as_of() -> datetime:
    """The instant of the worked example in the model: 2026-06-30T00:00:00Z."""
    return AS_OF
