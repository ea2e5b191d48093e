"""The service's settings: environment variables ``CUSTOMER_HEALTH_*``, or arguments."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ..exceptions import ConfigurationError

__all__ = ["DEMO_SAMPLE_CUSTOMERS", "Settings"]

DEMO_SAMPLE_CUSTOMERS = 200
"""Customers of the sample portfolio loaded into the default demo database."""


class Settings(BaseSettings):
    """How the reference service runs.

    Every field can be set by an environment variable named after it with the prefix
    ``CUSTOMER_HEALTH_`` (``CUSTOMER_HEALTH_DATABASE_URL``, ``CUSTOMER_HEALTH_API_KEYS``
    as a comma-separated list, ...), or passed as an argument, which wins.
    """

    model_config = SettingsConfigDict(env_prefix="CUSTOMER_HEALTH_", extra="forbid")

    database_url: str = "sqlite:///customer-health.db"
    """Where customers, events and scores live (SQLite file by default)."""
    api_keys: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    """Keys accepted in the ``X-API-Key`` header; none means no authentication (a
    warning is logged at startup, and ``serve`` refuses a non-loopback address)."""
    allow_open: bool = False
    """Let ``customer-health serve`` listen on an address other than loopback without
    API keys: anyone who reaches it may then read and write."""
    event_kinds: Annotated[tuple[str, ...], NoDecode] = ()
    """Event kinds to accept besides the known ones (the built-in kinds, those the
    factors in use read and those plugins declare), as a comma-separated list."""
    model: str | None = None
    """A built-in model's name (``v1``; default ``v2``) or a model file (TOML,
    ``docs/model.md``): the scorer's whole configuration, for the service and its
    worker; the installed plugins' factors take part."""
    unknown_kinds: Literal["error", "keep"] = "error"
    """What becomes of an event of a kind that is not known: ``error`` answers 422
    naming it (and the closest known kind); ``keep`` stores it like any custom kind."""
    max_batch: int = Field(default=1000, ge=1, le=100_000)
    """The most events one request may record."""
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=1024**3)
    """The largest request body accepted (bytes); a larger one is answered 413 as soon
    as its ``Content-Length`` says so, or once that many bytes have been read."""
    idempotency_hours: float = Field(default=24.0, gt=0)
    """How long a write's ``Idempotency-Key`` is remembered (its answer replayed)."""
    pool_size: int = Field(default=10, ge=1, le=1000)
    """Database connections kept open (PostgreSQL), plus as many again on demand."""
    request_timeout: float = Field(default=30.0, gt=0)
    """Seconds a request may take before it is answered 504."""
    worker: bool = True
    """Run a rescoring worker inside the app (else run ``customer-health worker``)."""
    worker_interval: float = Field(default=1.0, gt=0)
    """Seconds between the worker's looks at the queue (events recorded through this
    process wake it at once)."""
    rescore_batch: int = Field(default=2000, ge=1, le=100_000)
    """Customers the worker rescores per transaction."""
    worker_settle: float = Field(default=1.0, ge=0)
    """Seconds the worker lets recorded events gather after being woken, so that a
    stream of requests for the same customers is one recalculation per customer, not
    one per request (rescoring then lags by about this much)."""
    max_age_hours: float = Field(default=24.0, gt=0)
    """A score older than this is recalculated even without new events."""
    retry_delay: float = Field(default=1.0, gt=0)
    """Seconds before a customer whose scoring failed is tried again; doubled after
    each further failure in a row, up to ``retry_max_delay``."""
    retry_max_delay: float = Field(default=3600.0, gt=0)
    """The longest wait between two attempts to score a failing customer (seconds; at
    least ``retry_delay``)."""
    sample_customers: int | None = Field(default=None, ge=0)
    """Customers of the sample portfolio loaded into an empty database at startup.
    Unset: 200 into the default local demo database (``database_url`` not given),
    none into a database you named; 0: none."""
    create_tables: bool = True
    """Bring the tables to the latest migration at startup."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"

    @field_validator("api_keys", "event_kinds", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(key.strip() for key in value.split(",") if key.strip())
        return value

    def sample_size(self) -> int:
        """Customers of the sample portfolio to load into an empty database: as set,
        else :data:`DEMO_SAMPLE_CUSTOMERS` for the default local demo database and none
        for a database named by argument or environment."""
        if self.sample_customers is not None:
            return self.sample_customers
        return 0 if "database_url" in self.model_fields_set else DEMO_SAMPLE_CUSTOMERS

    def check_exposure(self, host: str) -> None:
        """Refuse to serve on ``host`` without API keys unless it is a loopback address
        or :attr:`allow_open` says so (:class:`ConfigurationError` saying how)."""
        if self.api_keys or self.allow_open or is_loopback(host):
            return
        raise ConfigurationError(
            f"refusing to serve on {host!r} without API keys: anyone who can reach it "
            "could read and write every customer. Set CUSTOMER_HEALTH_API_KEYS (a "
            "comma-separated list), or serve open on purpose with --allow-open "
            "(CUSTOMER_HEALTH_ALLOW_OPEN=true)"
        )


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False
