"""Canonical JSON: the one text of a JSON value, shared by the types and the store.

The types bound ``attributes`` and ``properties`` by the length of this text, and the
store writes exactly this text (``storage._tables.CanonicalJSON``), so a mapping the
types accept always fits what the store writes.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["canonical_json"]

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""What ``json.dumps`` with these options builds on every call, built once."""


def canonical_json(value: Any) -> str:
    """``value`` as compact JSON with sorted keys: equal contents, equal text."""
    return _ENCODER.encode(value)
