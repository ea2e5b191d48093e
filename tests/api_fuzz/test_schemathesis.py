"""Schemathesis over the whole API: no server error, every response as documented.

Not part of the normal test run (``norecursedirs`` in pyproject.toml): the nox session
``api_fuzz`` runs it, as does ``python -m pytest tests/api_fuzz``. The app runs on a
fresh SQLite file with a small sample portfolio, once without and once with API keys;
schemathesis drives it in process through ASGI (its lifespan included) and checks each
response: not a 5xx, a documented status code, content type, headers and body, a 405
with the right ``Allow``, and (with keys) no access without a key.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("schemathesis", reason="the API fuzz tests need schemathesis")
pytest.importorskip("fastapi", reason="the API fuzz tests need the service extra")

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from customer_health.service import Settings, create_app
from customer_health.service.api import API_KEY_HEADER

API_KEY = "fuzz-key"
MAX_EXAMPLES = 100
"""Examples per operation (hypothesis's default); the whole run takes about 40 s."""

EXCLUDED = [positive_data_acceptance, negative_data_rejection]
"""Every built-in check but these two, which hold the API to a stricter reading of its
schema than the library's models make: a cursor the store never handed out, or a
segment the scorer does not know, is valid for the schema yet refused with a 422 (as
documented); and the models read input leniently, as pydantic does (an integer id as
its decimal string, a number as a Unix time), which the schema's types do not say."""

_DATABASES = tempfile.TemporaryDirectory(prefix="customer-health-fuzz-")


def _schema(name: str, **options: Any) -> Any:
    """The OpenAPI schema of an app on a fresh SQLite file (the app started by loading it)."""
    url = f"sqlite:///{Path(_DATABASES.name) / name}.db"
    app = create_app(Settings(database_url=url, sample_customers=20, worker=False, **options))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


open_schema = _schema("open")
keyed_schema = _schema("keyed", api_keys=API_KEY)

_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@open_schema.parametrize()
@_SETTINGS
def test_api(case: Any) -> None:
    """Whatever schemathesis sends, the answer is as the schema documents it."""
    case.call_and_validate(excluded_checks=EXCLUDED)


@keyed_schema.parametrize()
@_SETTINGS
def test_api_with_keys(case: Any) -> None:
    """With keys configured: the same, with a key, and a 401 without one."""
    case.call_and_validate(headers={API_KEY_HEADER: API_KEY}, excluded_checks=EXCLUDED)
