"""What the sample generators share: segments, profiles, features, kinds, shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

from .._event_schema import EVENT_FIELDS
from .._event_schema import PRIORITIES as _PRIORITIES
from ..builtin import SAMPLE_KINDS

DEFAULT_AS_OF: Final = datetime(2026, 6, 30, tzinfo=UTC)
"""The instant samples are generated for unless told otherwise (never the clock)."""
SEGMENTS: Final = ("enterprise", "smb", "startup")
"""The built-in segments, all of which samples use."""
PROFILES: Final = ("healthy", "at_risk", "critical")
"""What the generator means a customer to be; it drives the customer's activity."""
FEATURES: Final = (
    "dashboards",
    "reports",
    "alerts",
    "exports",
    "sso",
    "webhooks",
    "api_keys",
    "audit_log",
    "integrations",
    "workflows",
    "forecasts",
    "sandboxes",
)
"""The product features ``feature_used`` events name (at most 12 characters each)."""
CUSTOM_KINDS: Final = SAMPLE_KINDS
"""Event kinds outside the default model; they carry ``properties`` (the built-in plugin
declares them, so that they are known event kinds)."""
NOT_GENERATED: Final = ("user_id", "properties")
"""The event fields the columnar generators leave out: logins by no known user, custom
events without properties."""
EVENT_COLUMNS: Final = tuple(f.name for f in EVENT_FIELDS if f.name not in NOT_GENERATED)
"""The columns of :func:`generate_columns`' events, in order (the event schema's)."""

SEGMENT_SHARES: Final = (0.15, 0.45, 0.40)
PROFILE_SHARES: Final = (0.55, 0.28, 0.17)
PRIORITIES: Final = _PRIORITIES
PRIORITY_SHARES: Final = (0.25, 0.45, 0.20, 0.10)
MEAN_PRIORITY_WEIGHT: Final = 0.25 * 0.5 + 0.45 * 1.0 + 0.20 * 2.0 + 0.10 * 3.0
AMOUNTS: Final = {
    "enterprise": (5_000.0, 20_000.0),
    "smb": (500.0, 3_000.0),
    "startup": (50.0, 500.0),
}
ZONES: Final = (
    timezone(timedelta(hours=2), "CEST"),
    timezone(timedelta(hours=-5), "EST"),
    timezone(timedelta(hours=5, minutes=30), "IST"),
    timezone(timedelta(hours=9), "JST"),
)
DAY: Final = timedelta(days=1)

INVOICE_LEAD: Final = timedelta(days=14)
NAMES: Final = (
    ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell"),
    ("Analytics", "Logistics", "Labs", "Health", "Retail", "Systems", "Foods", "Media"),
)


@dataclass(frozen=True, slots=True)
class Profile:
    usage: tuple[float, float]
    """Share of the segment's usage expectations the customer reaches."""
    late_days: tuple[float, float]
    """Days after ``due_at`` invoices are paid (negative: early)."""
    unpaid: float
    """Chance that an invoice is never paid."""
    tickets: tuple[float, float]
    """Ticket load as a share of the segment's expectation."""
    open_share: float
    """Chance that a ticket is never resolved."""
    nps: tuple[int, int]


PROFILE_PARAMS: Final = {
    "healthy": Profile((0.85, 1.4), (-10.0, 2.0), 0.0, (0.1, 0.7), 0.1, (8, 10)),
    "at_risk": Profile((0.3, 0.7), (4.0, 24.0), 0.08, (0.8, 1.8), 0.3, (5, 8)),
    "critical": Profile((0.0, 0.3), (15.0, 60.0), 0.35, (1.5, 3.5), 0.5, (0, 5)),
}
