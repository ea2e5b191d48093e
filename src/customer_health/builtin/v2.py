"""Model v2's own factors (``docs/model.md``, "Model v2"): made from factor types, so that
they are exact on every engine with no code of their own.

- ``last_seen``: days since the customer last used the product (a login, a feature
  used or an API call: :data:`USAGE_KINDS`), against the segment's ``last_seen``
  expectation (:data:`LAST_SEEN_EXPECTED` days where a segment has none): 100 within
  it, falling in a straight line to 0 at :data:`LAST_SEEN_ZERO_AT` times it;
- ``activity_trend``: the customer's usage events in the last 30 days against the 30
  days before.

Invoices and support tickets are not use: an invoice is the vendor's doing, and a ticket
often a sign of trouble, so neither makes a customer look active.

:mod:`customer_health.model` assembles model v2 from them; they are not registered by
the built-in plugin, so that model v1 stays as it was.
"""

from __future__ import annotations

from typing import Final

from ..declare import DeclaredFactor
from .types import recency, trend

__all__ = [
    "ACTIVITY_TREND",
    "LAST_SEEN",
    "LAST_SEEN_EXPECTED",
    "LAST_SEEN_ZERO_AT",
    "USAGE_KINDS",
    "V2_FACTORS",
]

USAGE_KINDS: Final = ("login", "feature_used", "api_call")
"""The event kinds that are use of the product."""
LAST_SEEN_EXPECTED: Final = 7.0
"""``last_seen``'s expectation where a segment has none (days): an event in the last week
earns full marks."""
LAST_SEEN_ZERO_AT: Final = 52.0
"""``last_seen`` is 0 from 52 times its expectation: a year (52 weeks) without use. The
score keeps falling over the months a customer of a product used seldom (a purchase a
quarter) may go without use, instead of being 0 for all of them alike."""

LAST_SEEN: Final[DeclaredFactor] = recency(
    "last_seen",
    kinds=USAGE_KINDS,
    expected=LAST_SEEN_EXPECTED,
    zero_at=LAST_SEEN_ZERO_AT,
    label="usage",
    weight=0.20,
)
ACTIVITY_TREND: Final[DeclaredFactor] = trend(
    "activity_trend", kinds=USAGE_KINDS, window_days=30, label="usage", weight=0.10
)
V2_FACTORS: Final = (LAST_SEEN, ACTIVITY_TREND)
"""Model v2's own factors, in scoring order (after the built-in plugin's five)."""
