"""Turning what callers pass (models, dicts, dates) into validated models.

Errors name the offending item (its position, and its ``event_id`` or ``id`` when it
has one) and the field, so a caller can find it in their own data; values are shown
cut at 80 characters (an id over the length limit may be a million).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Final, Union, cast

from pydantic import Field, TypeAdapter, ValidationError

from .exceptions import (
    InvalidCustomerError,
    InvalidEventError,
    InvalidInputError,
)
from .models import (
    EVENT_LIST_ADAPTER,
    EVENT_TYPES,
    Customer,
    CustomEvent,
    Event,
    to_utc,
)

__all__ = [
    "event_list",
    "resolve_as_of",
    "validate_customer",
    "validate_events",
]

_MAX_SHOWN = 5
_MODEL_TYPES = frozenset(EVENT_TYPES)
DATETIME_ADAPTER = TypeAdapter(datetime)
"""Parses text (or anything pydantic reads as a datetime) as the event models do."""


def resolve_as_of(as_of: datetime | date | str | None) -> datetime:
    """Return ``as_of`` as an aware UTC datetime; ``None`` means now (read once)."""
    if as_of is None:
        return to_utc(datetime.now().astimezone())
    if isinstance(as_of, str):
        try:
            value: datetime | date = DATETIME_ADAPTER.validate_python(as_of)
        except ValidationError:
            raise InvalidInputError(
                f"as_of {as_of!r} is not an ISO 8601 date or datetime"
            ) from None
    elif isinstance(as_of, date):
        value = as_of
    else:
        raise InvalidInputError(f"as_of {as_of!r} is not a datetime, a date or an ISO 8601 string")
    try:
        return to_utc(value)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0 in UTC
        raise InvalidInputError(f"as_of {as_of!r} is out of range once converted to UTC") from None


def _describe_errors(
    error: ValidationError, label: Callable[[tuple[Any, ...]], str], skip: int
) -> str:
    """One line per error (a few at most): who, which field, what is wrong, what was given.

    ``skip`` leading parts of each error location are the item's own position (and the
    union tag), which ``label`` turns into a name.
    """
    lines = []
    for item in error.errors(include_url=False)[:_MAX_SHOWN]:
        where = ".".join(str(part) for part in item["loc"][skip:]) or "(the item itself)"
        got = "" if item["type"] == "missing" else f" (got {item.get('input')!r:.80})"
        lines.append(f"{label(item['loc'])}: field {where!r}: {item['msg']}{got}")
    more = error.error_count() - _MAX_SHOWN
    if more > 0:
        lines.append(f"... and {more} more errors")
    return "; ".join(lines)


def validate_customer(customer: Customer | Mapping[str, Any], index: int | None = None) -> Customer:
    """Return ``customer`` as a :class:`Customer`, validating a mapping."""
    if isinstance(customer, Customer):
        return customer
    label = "customer" if index is None else f"customer #{index}"
    if not isinstance(customer, Mapping):
        raise InvalidCustomerError(
            f"{label} is a {type(customer).__name__}; expected a Customer or a mapping"
        )
    try:
        return Customer.model_validate(customer)
    except ValidationError as exc:
        if "id" in customer:
            label += f" (id {customer['id']!r:.80})"
        raise InvalidCustomerError(_describe_errors(exc, lambda loc: label, 0)) from None


def event_list(events: Iterable[Any]) -> list[Any]:
    """``events`` as a list (a list is taken as it is), or an :class:`InvalidEventError`
    if it is a single event (a mapping), text, or no iterable at all (``None``)."""
    if isinstance(events, list):
        return events
    if isinstance(events, (Mapping, str | bytes)):
        raise InvalidEventError(
            f"events must be an iterable of events, not a single {type(events).__name__}"
        )
    try:
        iterator = iter(events)
    except TypeError:  # None, a number: not events at all
        given = "None" if events is None else f"a {type(events).__name__} ({events!r:.80})"
        raise InvalidEventError(
            f"events must be an iterable of events (a list, say), not {given}"
        ) from None
    return list(iterator)


def validate_events(events: Iterable[Event | Mapping[str, Any]]) -> list[Event]:
    """Return the events as models; mappings are validated in one pass.

    Models are taken as they are; the order of the result is not the input order.
    """
    items = event_list(events)
    types_given = set(map(type, items))
    if types_given <= _MODEL_TYPES:
        return items  # all built models: nothing to do
    models: list[Event] = []
    raw: list[Any] = items
    positions: Sequence[int] = range(len(items))
    if types_given != {dict}:  # all dicts (JSON, a driver's rows) need no look at each
        raw, positions = [], []
        types = EVENT_TYPES
        for index, event in enumerate(items):
            if isinstance(event, types):
                models.append(cast("Event", event))
            elif isinstance(event, Mapping):
                raw.append(event)
                positions.append(index)
            else:
                raise InvalidEventError(
                    f"event #{index} is a {type(event).__name__}; "
                    "expected an event model or a mapping"
                )
    if raw:
        try:
            models.extend(_FIRST_PASS.validate_python(raw))
        except ValidationError:
            # The errors as the union reports them, in the order given (a failure is
            # rare: validating the mappings again for its message costs nothing that
            # matters).
            try:
                EVENT_LIST_ADAPTER.validate_python(raw)
            except ValidationError as exc:
                label = _event_label(raw, positions)
                raise InvalidEventError(_describe_errors(exc, label, 2)) from None
            raise  # pragma: no cover - the union accepts no less than its members
    return models


_BUILT_IN_TYPES: Final = tuple(cls for cls in EVENT_TYPES if cls is not CustomEvent)
_FIRST_PASS: Final = TypeAdapter(
    list[
        Annotated[
            Union[  # noqa: UP007 - the members are a tuple
                Annotated[
                    Union[_BUILT_IN_TYPES],  # type: ignore[valid-type]  # noqa: UP007
                    Field(discriminator="kind"),
                ],
                CustomEvent,
            ],
            Field(union_mode="left_to_right"),
        ]
    ]
)
"""The :data:`Event` union with its tag read by pydantic-core, not by a Python call per
event: a built-in ``kind`` picks its type by the key's value; any other mapping is tried
as a :class:`CustomEvent`, which refuses the built-in kinds. It accepts exactly what the
union accepts, as the same models (tested), but its errors read otherwise: a failure is
validated again by the union for its message."""


def _event_label(raw: list[Any], positions: Sequence[int]) -> Callable[[tuple[Any, ...]], str]:
    def label(loc: tuple[Any, ...]) -> str:
        position = loc[0]
        event = raw[position]
        about = [f"{event['kind']!r:.80}"] if isinstance(event.get("kind"), str) else []
        if event.get("event_id") is not None:
            about.append(f"event_id {event['event_id']!r:.80}")
        return f"event #{positions[position]}" + (f" ({', '.join(about)})" if about else "")

    return label
