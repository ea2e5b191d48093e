"""The service's settings: environment variables ``CUSTOMER_HEALTH_*``, or arguments."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings"]


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
    """Keys accepted in the ``X-API-Key`` header; none means no authentication."""
    max_batch: int = Field(default=1000, ge=1, le=100_000)
    """The most events one request may record."""
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
    sample_customers: int = Field(default=200, ge=0)
    """Customers of the sample portfolio loaded into an empty database on first run (0:
    none)."""
    create_tables: bool = True
    """Bring the tables to the latest migration at startup."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(key.strip() for key in value.split(",") if key.strip())
        return value
