"""What a factor's SQL form sees: :class:`SQLEvents`.

Part of the factor interface (:meth:`~customer_health.Factor.sql_inputs`), like
:class:`~customer_health.FactorContext`; it needs SQLAlchemy, so only the SQL engines
and SQL forms import it (``customer_health.storage.sqlalchemy.SQLEvents`` is its
public name).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement

from ._expr import NUMBER, PROPERTY_KEY
from ._time import DAY_US, micros

__all__ = ["NUMBER_PROPERTY", "NumberProperty", "SQLEvents"]


@dataclass(frozen=True)
class SQLEvents:
    """What a factor's SQL form sees: the event columns and its own events.

    Instants (``occurred_at``, ``due_at``, ``paid_at``, ``resolved_at``) are integer
    microseconds since 1970-01-01 UTC; compare them with :meth:`instant` and turn
    differences into days with :meth:`days`. The query covers every factor's events,
    so wrap each aggregate in a condition that starts with :attr:`mine` (or use
    :meth:`when`).
    """

    c: Mapping[str, sa.ColumnElement[Any]]
    """The columns of ``ch_events`` by name (``customer_id``, ``kind``,
    ``occurred_at``, ``quantity``, ``user_id``, ``feature``, ``due_at``, ``paid_at``,
    ``amount``, ``priority``, ``resolved_at``, ``properties`` as JSON text)."""
    mine: sa.ColumnElement[bool]
    """True for the factor's events: its kinds, in its window, up to ``as_of``
    (de-duplication is done: the table holds each ``event_id`` once)."""
    as_of: datetime
    """The instant of scoring (aware, UTC)."""
    portable: bool = False
    """Write :meth:`number` as the marker function ``ch_number_property(properties,
    'key')`` that the warehouse query rewrites in each dialect, not in the SQL of the
    database that runs it (SQLite, PostgreSQL)."""

    def instant(self, value: datetime | timedelta | None = None) -> sa.ColumnElement[int]:
        """An instant as a literal of the stored kind: ``as_of`` by default, ``as_of -
        value`` for a ``timedelta``, or the datetime given."""
        if value is None:
            value = self.as_of
        elif isinstance(value, timedelta):
            value = self.as_of - value
        return sa.literal(micros(value), sa.BigInteger())

    def days(self, duration: sa.ColumnElement[Any]) -> sa.ColumnElement[float]:
        """A duration in microseconds as fractional days, exactly as the model divides."""
        return sa.cast(duration, sa.Float()) / sa.cast(sa.literal(DAY_US), sa.Float())

    def day(self, value: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
        """The UTC calendar day of an instant, as a number (the day's first microsecond).

        Works before 1970 too: the remainder is made non-negative before subtracting.
        """
        day = sa.literal(DAY_US, sa.BigInteger())
        return value - ((value % day) + day) % day

    def when(
        self, condition: sa.ColumnElement[bool] | None, value: Any, otherwise: Any = 0
    ) -> sa.ColumnElement[Any]:
        """``CASE WHEN mine AND condition THEN value ELSE otherwise END``."""
        where = self.mine if condition is None else sa.and_(self.mine, condition)
        return sa.case((where, value), else_=otherwise)

    def number(self, key: str) -> sa.ColumnElement[float]:
        """``properties[key]`` as a double, or NULL, as
        :func:`~customer_health.declare.number_property` defines it (a JSON number, or a
        text holding one; null for anything else), in the database's own JSON functions."""
        if not isinstance(key, str) or not PROPERTY_KEY.fullmatch(key):
            raise ValueError(f"properties key {key!r} must be a name (letters, digits and _)")
        return NumberProperty(self.c["properties"], key, self.portable)


NUMBER_PROPERTY = "ch_number_property"
"""The marker function of :meth:`SQLEvents.number` in the warehouse query."""
_LARGEST = "1.7976931348623157e308"
"""The largest double: a number beyond it is null (it has no double)."""


class NumberProperty(ColumnElement[float]):
    """``properties[key]`` (JSON text) as a double, or NULL: :meth:`SQLEvents.number`."""

    inherit_cache = False  # compiled per dialect from its attributes
    type = sa.Double()

    def __init__(self, properties: ColumnElement[Any], key: str, portable: bool) -> None:
        self.properties = properties
        self.key = key
        self.portable = portable


def _pattern(end: str) -> str:
    """:data:`~customer_health._expr.NUMBER` as a whole text: ``end`` is the end of the
    text in the dialect's regular expressions (Python's ``$`` also matches before a
    final line break, ``\\Z`` does not)."""
    return f"^{NUMBER}{end}"


def _guarded(number: Any, exact: Any) -> Any:
    """``number`` where ``exact`` (the same value, never out of range) is within the
    range of doubles; NULL beyond it."""
    return sa.case((sa.func.abs(exact) <= sa.literal_column(_LARGEST), number))


@compiles(NumberProperty)
def _marker(element: NumberProperty, compiler: SQLCompiler, **kw: Any) -> str:
    if not element.portable:
        raise NotImplementedError(
            f"number_property() has no SQL form in {compiler.dialect.name}; the store runs "
            "on SQLite and PostgreSQL"
        )
    key = sa.literal(element.key, sa.String())
    return compiler.process(sa.func.ch_number_property(element.properties, key), **kw)


@compiles(NumberProperty, "sqlite")
def _sqlite(element: NumberProperty, compiler: SQLCompiler, **kw: Any) -> str:
    if element.portable:
        return _marker(element, compiler, **kw)
    path = sa.literal(f"$.{element.key}", sa.String())
    kind = sa.func.json_type(element.properties, path)
    found = sa.func.json_extract(element.properties, path)
    # a JSON number as SQLite reads it (text of a real would round it to 15 digits)
    number = sa.cast(found, sa.Float())
    text = sa.and_(kind == "text", found.regexp_match(_pattern("\\Z")))
    chosen = sa.case((sa.or_(kind.in_(["integer", "real"]), text), number))
    return compiler.process(_guarded(chosen, chosen), **kw)


@compiles(NumberProperty, "postgresql")
def _postgresql(element: NumberProperty, compiler: SQLCompiler, **kw: Any) -> str:
    if element.portable:
        return _marker(element, compiler, **kw)
    document = sa.cast(element.properties, JSONB())
    text = document.op("->>", return_type=sa.String())(sa.literal(element.key, sa.String()))
    matched = text.regexp_match(_pattern("$"))
    exact = sa.cast(text, sa.Numeric())
    number = sa.case((matched, _guarded(sa.cast(text, sa.Double()), exact)))
    return compiler.process(number, **kw)
