"""Time as the model counts it: one definition of the day, the epoch and instants.

Every engine measures durations in exact microseconds and divides by
:data:`DAY_US` (the model's ``days()``); every store and query keeps instants as
integer microseconds since :data:`EPOCH` (:func:`micros`, :func:`instant`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

__all__ = ["DAY_US", "EPOCH", "MICROSECOND", "days", "instant", "micros", "to_utc"]

DAY_US = 86_400_000_000
"""Microseconds in a day."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The instant integer microseconds count from."""

MICROSECOND = timedelta(microseconds=1)

_NAIVE_EPOCH = datetime(1970, 1, 1)


def to_utc(value: datetime | date) -> datetime:
    """Return ``value`` as an aware UTC datetime.

    A naive datetime is read as UTC, an aware one is converted, and a ``date`` means
    00:00 UTC that day.
    """
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    zone = value.tzinfo
    if zone is UTC:
        return value
    if zone is None:
        if value.__class__ is datetime and not value.fold:
            # The same datetime as replace(tzinfo=UTC), which costs ten times as much
            # on Python 3.11 (events are read by the million).
            return EPOCH + (value - _NAIVE_EPOCH)
        return value.replace(tzinfo=UTC)  # a subclass (pandas' Timestamp), a fold: kept
    return value.astimezone(UTC)


def days(delta: timedelta) -> float:
    """A duration in days: its exact number of microseconds divided by 86,400,000,000."""
    return (delta // MICROSECOND) / DAY_US


def micros(value: datetime) -> int:
    """An instant as integer microseconds since the epoch (naive is read as UTC)."""
    return (to_utc(value) - EPOCH) // MICROSECOND


def instant(value: int) -> datetime:
    """The aware UTC datetime of ``value`` microseconds since the epoch."""
    return EPOCH + timedelta(microseconds=value)
