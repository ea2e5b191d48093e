"""What the stores return: plain pydantic models, free of any database library."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from ..models import Customer, HealthScore

__all__ = [
    "Bin",
    "GroupStats",
    "IdempotentWrite",
    "Page",
    "PortfolioStats",
    "Recorded",
    "Replay",
    "ScoredCustomer",
    "ScoringState",
    "StatusChange",
    "StatusCount",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Drained(NamedTuple):
    """What a drain of the rescoring queue did
    (:meth:`~customer_health.storage.sqlalchemy.SQLAlchemyStore.drain`)."""

    rescored: int
    """Customers scored and saved."""
    failed: int
    """Customers whose scoring failed, left pending with a backoff."""


class Recorded(BaseModel):
    """What recording events did: how many were stored, how many were already there."""

    model_config = _FROZEN

    recorded: int
    """Events stored by this call."""
    duplicates: int
    """Events not stored because an identical copy (same ``event_id``) already was
    (stored earlier, or earlier in the same batch)."""


class IdempotentWrite(BaseModel):
    """A write made under an idempotency key, and the status of its answer.

    Claim it with ``claim_idempotency_key`` before the write, then pass it to the write
    (``add_customer``, ``update_customer``, ``record_many``), which stores the key with
    its answer in its own transaction.
    """

    model_config = _FROZEN

    owner: str = Field(max_length=64)
    """Who writes (the service: a hash of the API key), so that clients' keys never meet."""
    route: str = Field(max_length=255)
    """What is called (the service: the method and route template)."""
    key: str = Field(min_length=1, max_length=255)
    """The client's key."""
    fingerprint: str = Field(max_length=64)
    """A hash of the request; the same key with another is an ``IdempotencyKeyReusedError``."""
    status: int
    """The status of the answer when the write succeeds."""
    ttl: timedelta
    """How long the key and its answer are kept after its first use."""


class Replay(BaseModel):
    """The answer an idempotency key got the first time: its status and JSON body."""

    model_config = _FROZEN

    status: int
    body: str


class ScoringState(BaseModel):
    """Where a customer stands in the rescoring queue, and how its last attempts went.

    A customer whose scoring raised (a plugin factor failing on its events, say) stays
    pending, tried again after a backoff that doubles with each failure in a row; its
    other fields say how often and why it failed. A success takes it off the queue.
    """

    model_config = _FROZEN

    pending: bool
    """Waiting to be rescored: new events, a change, a stale or missing score, or a
    failed attempt to try again."""
    attempts: int
    """Attempts to score it that failed in a row (0: none since its last success)."""
    last_error: str | None = None
    """The last failed attempt's error: its type and message."""
    failed_at: datetime | None = None
    """When the last attempt failed."""
    next_attempt_at: datetime | None = None
    """When it is due: a worker takes it from then on (after a failure, when its
    backoff ends); ``None`` when not pending."""


class ScoredCustomer(BaseModel):
    """A customer with its latest stored score (``None`` if never scored) and its place
    in the rescoring queue."""

    model_config = _FROZEN

    customer: Customer
    health: HealthScore | None
    scoring: ScoringState


class Page(BaseModel):
    """One page of a keyset-paginated listing; pass :attr:`next_cursor` for the next."""

    model_config = _FROZEN

    items: tuple[ScoredCustomer, ...]
    next_cursor: str | None
    """Opaque; ``None`` on the last page."""


class StatusCount(BaseModel):
    """How many customers have a status, and their share of those scored."""

    model_config = _FROZEN

    count: int
    share: float


class GroupStats(BaseModel):
    """Statistics of the latest scores of a group of customers."""

    model_config = _FROZEN

    customers: int
    """Customers in the group with a stored score."""
    statuses: dict[str, StatusCount]
    """Every status (``healthy``, ``at_risk``, ``critical``, ``unknown``), zeros included."""
    mean: float | None
    """Mean score over the customers with a score (``unknown`` ones have none)."""
    median: float | None


class Bin(BaseModel):
    """A histogram bin: scores with ``low <= score < high`` (the last bin includes 100)."""

    model_config = _FROZEN

    low: float
    high: float
    count: int


class StatusChange(BaseModel):
    """Customers whose latest status went from one status to another."""

    model_config = _FROZEN

    from_status: str
    to_status: str
    count: int


class PortfolioStats(BaseModel):
    """Portfolio statistics over every customer's latest score."""

    model_config = _FROZEN

    overall: GroupStats
    segments: dict[str, GroupStats]
    unscored: int
    """Customers without any stored score."""
    failing: int
    """Customers whose last scoring attempt failed: pending again, after a backoff (see
    :class:`ScoringState`)."""
    histogram: tuple[Bin, ...]
    changes_days: int
    changes: tuple[StatusChange, ...]
    """For each from -> to pair: customers whose latest status differs from their
    latest status ``changes_days`` days ago (those with a score then)."""
