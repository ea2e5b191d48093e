"""What the stores return: plain pydantic models, free of any database library."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ..models import Customer, HealthScore

__all__ = [
    "Bin",
    "GroupStats",
    "Page",
    "PortfolioStats",
    "Recorded",
    "ScoredCustomer",
    "StatusChange",
    "StatusCount",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Recorded(BaseModel):
    """What recording events did: how many were stored, how many were already there."""

    model_config = _FROZEN

    recorded: int
    """Events stored by this call."""
    duplicates: int
    """Events not stored because an identical copy (same ``event_id``) already was
    (stored earlier, or earlier in the same batch)."""


class ScoredCustomer(BaseModel):
    """A customer with its latest stored score (``None`` if never scored)."""

    model_config = _FROZEN

    customer: Customer
    health: HealthScore | None


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
    histogram: tuple[Bin, ...]
    changes_days: int
    changes: tuple[StatusChange, ...]
    """For each from -> to pair: customers whose latest status differs from their
    latest status ``changes_days`` days ago (those with a score then)."""
