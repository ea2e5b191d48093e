"""The event schema: one table of the event fields and the kinds that carry them.

Every form of an event derives from :data:`EVENT_FIELDS`: the frame columns and their
checks (:mod:`customer_health.engines.frames`, Spark included), the store's
``ch_events`` table and its row encoding, the warehouse query's columns, the service's
request bodies and the sample generators' columns. The pydantic event models
(:mod:`customer_health.models`) are written out, so that type checkers and editors see
their fields, and held to this table field by field by the tests
(``tests/test_event_schema.py``): adding a field or a kind starts here, and a test names
every form that does not follow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = [
    "BUILTIN_KINDS",
    "CUSTOM",
    "DEFAULTS",
    "EVENT_FIELDS",
    "INSTANT_FIELDS",
    "MAX_QUANTITY",
    "PRIORITIES",
    "REQUIRED_FIELDS",
    "EventField",
    "FieldType",
    "field",
    "fields_of_kind",
    "kinds_of_field",
]

FieldType = Literal["id", "label", "text", "instant", "integer", "number", "priority", "json"]
"""What a field holds:

- ``id``: a case-sensitive string id (:data:`~customer_health.MAX_ID_LENGTH`, no control
  characters; an integer is read as its decimal string);
- ``label``: the same, but only a string (an event's ``kind``);
- ``text``: free text (:data:`~customer_health.MAX_TEXT_LENGTH`, no NUL);
- ``instant``: a point in time, read as UTC when naive;
- ``integer``, ``number``: a whole number, a finite number (never a boolean);
- ``priority``: one of :data:`PRIORITIES`;
- ``json``: a JSON object (:data:`~customer_health.MAX_JSON_LENGTH` as canonical JSON).
"""

CUSTOM: Final = "*"
"""In :attr:`EventField.kinds`: the kinds the built-in model does not define
(:class:`~customer_health.CustomEvent`)."""

PRIORITIES: Final = ("low", "normal", "high", "urgent")
"""A support ticket's priorities, lowest first."""

MAX_QUANTITY: Final = 2**31 - 1
"""The most API calls one event may stand for. A customer's sum of quantities then fits
a signed 64-bit integer (a database's ``BIGINT``, a frame's ``Int64``, Spark's ``long``)
for up to 2**32 events: no engine can overflow (SQLite raises, Spark without ANSI mode
wraps)."""


@dataclass(frozen=True)
class EventField:
    """One field of the events."""

    name: str
    type: FieldType
    kinds: frozenset[str] | None
    """The kinds whose events carry the field (:data:`CUSTOM` for the custom kinds);
    ``None`` for a field of every event."""
    required: bool = False
    """Whether an event that carries the field must give it."""
    default: Any = None
    """The value of a field that is absent or null (``None``: none)."""
    minimum: float | None = None
    """The least value of a number."""
    maximum: int | None = None
    """The greatest value of an integer, on every path (the sum of a customer's values
    must fit a signed 64-bit integer on every engine)."""
    description: str = ""


def _kinds(*names: str) -> frozenset[str]:
    return frozenset(names)


EVENT_FIELDS: Final[tuple[EventField, ...]] = (
    EventField("customer_id", "id", None, True, description="The customer's id."),
    EventField("kind", "label", None, True, description="What happened."),
    EventField("occurred_at", "instant", None, True, description="When it happened."),
    EventField(
        "event_id",
        "id",
        None,
        description="An id for de-duplication: copies of an id count once per customer.",
    ),
    EventField(
        "quantity",
        "integer",
        _kinds("api_call"),
        default=1,
        minimum=1,
        maximum=MAX_QUANTITY,
        description="How many API calls the event stands for.",
    ),
    EventField("user_id", "id", _kinds("login"), description="Who logged in."),
    EventField("feature", "text", _kinds("feature_used"), True, description="Which feature."),
    EventField("due_at", "instant", _kinds("payment"), True, description="When it was due."),
    EventField("paid_at", "instant", _kinds("payment"), description="When it was paid."),
    EventField("amount", "number", _kinds("payment"), minimum=0, description="How much."),
    EventField(
        "priority",
        "priority",
        _kinds("support_ticket"),
        default="normal",
        description="The ticket's priority.",
    ),
    EventField(
        "resolved_at", "instant", _kinds("support_ticket"), description="When it was resolved."
    ),
    EventField(
        "properties", "json", _kinds(CUSTOM), default={}, description="Free-form properties."
    ),
)
"""Every field of the events, the fields of every event first."""

_BY_NAME: Final[Mapping[str, EventField]] = {f.name: f for f in EVENT_FIELDS}

BUILTIN_KINDS: Final[frozenset[str]] = frozenset(
    kind for f in EVENT_FIELDS if f.kinds is not None for kind in f.kinds if kind != CUSTOM
)
"""The event kinds the default model defines; any other kind is a custom kind."""

REQUIRED_FIELDS: Final[tuple[str, ...]] = tuple(
    f.name for f in EVENT_FIELDS if f.kinds is None and f.required
)
"""The fields every event must give."""

DEFAULTS: Final[tuple[tuple[str, tuple[str, ...], Any], ...]] = tuple(
    (f.name, tuple(sorted(f.kinds)), f.default)
    for f in EVENT_FIELDS
    if f.kinds is not None and f.type != "json" and f.default is not None
)
"""The defaults a column of events fills in: the field, the kinds it has a default on,
the value when null (quantity 1 on API calls, priority normal on tickets). The custom
kinds' ``properties`` is not among them: as a column it is JSON text, null when
absent."""

INSTANT_FIELDS: Final[tuple[str, ...]] = tuple(f.name for f in EVENT_FIELDS if f.type == "instant")
"""The fields that hold instants."""


def field(name: str) -> EventField:
    """The field called ``name`` (a ``KeyError`` for another name)."""
    return _BY_NAME[name]


def fields_of_kind(kind: str) -> tuple[EventField, ...]:
    """The fields an event of ``kind`` carries, in table order (a kind the default model
    does not define is a custom kind)."""
    key = kind if kind in BUILTIN_KINDS else CUSTOM
    return tuple(f for f in EVENT_FIELDS if f.kinds is None or key in f.kinds)


def kinds_of_field(name: str) -> frozenset[str] | None:
    """The built-in kinds that carry the field ``name`` (``None``: every event; the
    empty set: custom kinds only)."""
    kinds = _BY_NAME[name].kinds
    return None if kinds is None else frozenset(kinds - {CUSTOM})
