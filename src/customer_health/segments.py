"""Segment expectations: what a healthy customer of a given size does.

A segment maps expectation keys (``api_calls_30d``, ``login_days_30d``, ...) to
positive numbers. The three built-in segments register through the
``register_segments`` hook like any plugin's; plugins may add segments, and add
expectations for their own factors to existing segments through
``register_expectations``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from ._format import is_number
from .exceptions import ConfigurationError

__all__ = [
    "BUILTIN_SEGMENTS",
    "SegmentExpectations",
    "check_expectations",
    "checked_expectations",
]


class SegmentExpectations(BaseModel):
    """A segment and what a healthy customer of that size does (every value > 0)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    segment: Annotated[str, Field(min_length=1)]
    expectations: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]]
    """Expectation key (``api_calls_30d``, ...) to value."""


BUILTIN_SEGMENTS: Mapping[str, Mapping[str, float]] = {
    "enterprise": {
        "api_calls_30d": 1000,
        "login_days_30d": 20,
        "features_30d": 8,
        "tickets_90d": 6,
    },
    "smb": {"api_calls_30d": 500, "login_days_30d": 15, "features_30d": 5, "tickets_90d": 4},
    "startup": {"api_calls_30d": 200, "login_days_30d": 10, "features_30d": 3, "tickets_90d": 3},
}
"""The default model's segments (``scoring-model.md``, model version 1)."""


def check_expectations(segment: Any, expectations: Any, plugin: str) -> dict[str, float]:
    """Return ``expectations`` as a plain dict of floats, or raise naming what is wrong.

    Every expectation must be a finite number > 0.
    """
    return checked_expectations(segment, expectations, f"plugin {plugin!r}")


def checked_expectations(segment: Any, expectations: Any, who: str) -> dict[str, float]:
    """:func:`check_expectations` of expectations ``who`` gave (``"plugin 'x'"``,
    ``"expectations="``), as the messages name it."""
    if not isinstance(segment, str) or not segment:
        raise ConfigurationError(
            f"{who} registered segment {segment!r}; a segment is a non-empty string"
        )
    if not isinstance(expectations, Mapping):
        raise ConfigurationError(
            f"{who} gave segment {segment!r} expectations {expectations!r}; "
            "expected a mapping of names to numbers"
        )
    checked: dict[str, float] = {}
    for key, value in expectations.items():
        if not isinstance(key, str) or not key:
            raise ConfigurationError(
                f"{who} gave segment {segment!r} an expectation named {key!r}; "
                "names are non-empty strings"
            )
        if not is_number(value) or not math.isfinite(value) or value <= 0:
            raise ConfigurationError(
                f"{who} set expectation {key!r} of segment {segment!r} to "
                f"{value!r}; every expectation must be a number > 0"
            )
        checked[key] = float(value)
    return checked
