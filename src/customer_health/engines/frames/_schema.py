"""The event and customer columns of a frame, and the fields each kind carries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


SHOWN = 5

PRIORITIES = ("low", "normal", "high", "urgent")

EVENT_COLUMNS: Mapping[str, str] = {
    "customer_id": "id",
    "kind": "text",
    "occurred_at": "instant",
    "event_id": "id",
    "quantity": "integer",
    "feature": "text",
    "due_at": "instant",
    "paid_at": "instant",
    "amount": "number",
    "priority": "text",
    "resolved_at": "instant",
    "user_id": "id",
    "properties": "json",
}
"""The event columns and what each holds; all but the first three are optional."""
REQUIRED_EVENT_COLUMNS = ("customer_id", "kind", "occurred_at")
FIELDS_OF_KIND: Mapping[str, frozenset[str]] = {
    "quantity": frozenset({"api_call"}),
    "user_id": frozenset({"login"}),
    "feature": frozenset({"feature_used"}),
    "due_at": frozenset({"payment"}),
    "paid_at": frozenset({"payment"}),
    "amount": frozenset({"payment"}),
    "priority": frozenset({"support_ticket"}),
    "resolved_at": frozenset({"support_ticket"}),
}
"""The built-in kinds that have each optional field; ``properties`` is for custom kinds."""
CUSTOMER_COLUMNS = ("id", "segment", "name", "created_at")
