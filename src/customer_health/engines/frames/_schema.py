"""The event and customer columns of a frame, and the fields each kind carries: the
frame form of the event schema (:mod:`customer_health._event_schema`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ..._event_schema import CUSTOM, EVENT_FIELDS, REQUIRED_FIELDS, EventField, FieldType
from ..._event_schema import DEFAULTS as DEFAULTS
from ..._event_schema import PRIORITIES as PRIORITIES

SHOWN = 5

_ROLES: Mapping[FieldType, str] = {
    "id": "id",
    "label": "text",
    "text": "text",
    "instant": "instant",
    "integer": "integer",
    "number": "number",
    "priority": "text",
    "json": "json",
}
"""The column a field becomes: ids, text, instants, integers, numbers or JSON."""

EVENT_COLUMNS: Mapping[str, str] = {f.name: _ROLES[f.type] for f in EVENT_FIELDS}
"""The event columns and what each holds; all but the first three are optional."""
REQUIRED_EVENT_COLUMNS = REQUIRED_FIELDS
FIELDS_OF_KIND: Mapping[str, frozenset[str]] = {
    f.name: f.kinds - {CUSTOM} for f in EVENT_FIELDS if f.kinds is not None and f.kinds - {CUSTOM}
}
"""The built-in kinds that have each optional field; ``properties`` is for custom kinds."""
CUSTOMER_COLUMNS = ("id", "segment", "name", "created_at")


RuleCheck = Literal[
    "null_or_empty", "null", "below", "above", "not_finite", "choices", "builtin_kinds"
]
"""What a rule finds: a null or empty value, a null, a number below the field's minimum,
a number above its maximum, a number that is NaN, infinite or below its minimum, a value
not among the choices, a value on an event of a built-in kind (a custom kinds' field)."""


@dataclass(frozen=True)
class Rule:
    """A rule of the event schema on an event column: the rows that break it are an
    :class:`~customer_health.InvalidEventError` (``message``, then a few rows, with the
    columns ``shown``). Each frame engine expresses every ``check`` in its own terms."""

    check: RuleCheck
    column: str
    kinds: tuple[str, ...] | None
    """The kinds of event the rule applies to (``None``: every event)."""
    message: str
    shown: tuple[str, ...]
    bound: float | None = None
    choices: tuple[str, ...] = ()


def _plural(f: EventField) -> str:
    if f.type == "instant":
        return "instants"
    return f.name[:-1] + "ies" if f.name.endswith("y") else f.name + "s"


def _rules(f: EventField) -> list[Rule]:
    """The rules of the field ``f`` beyond its type (ids have theirs)."""
    name, plural = f.name, _plural(f)
    kinds = None if f.kinds is None else tuple(sorted(f.kinds - {CUSTOM}))
    on = "" if not kinds else " on " + ", ".join(kinds) + " events"
    found: list[Rule] = []
    if f.type == "label" and f.required:
        found.append(
            Rule(
                "null_or_empty", name, kinds, f"column {name!r} has null or empty {plural}", (name,)
            )
        )
    elif f.type == "instant" and f.required and kinds is None:
        shown = ("customer_id", "kind", name)
        found.append(Rule("null", name, None, f"column {name!r} has null {plural}", shown))
    elif f.type == "instant" and f.required:
        found.append(Rule("null", name, kinds, f"column {name!r} is null{on}", ("kind", name)))
    elif f.type == "text" and f.required:
        message = f"column {name!r} is null or empty{on}"
        found.append(Rule("null_or_empty", name, kinds, message, ("kind", name)))
    if f.type == "integer" and f.minimum is not None:
        message = f"column {name!r} has {', '.join(kinds or ())} {plural} below {f.minimum:g}"
        found.append(Rule("below", name, kinds, message, ("kind", name), bound=f.minimum))
    if f.type == "integer" and f.maximum is not None:
        # On every kind: a value that large is wrong on any event, and it is checked
        # before a wider column (floats, unsigned or 128-bit integers) is cast to Int64.
        message = f"column {name!r} has {plural} above {f.maximum}"
        found.append(Rule("above", name, None, message, ("kind", name), bound=f.maximum))
    if f.type == "number" and f.minimum is not None:
        below = "negative" if f.minimum == 0 else f"below {f.minimum:g}"
        message = f"column {name!r} has {below}, NaN or infinite {plural}"
        found.append(Rule("not_finite", name, None, message, ("kind", name), bound=f.minimum))
    if f.type == "priority":
        message = f"column {name!r} has {plural} other than {', '.join(PRIORITIES)}"
        found.append(Rule("choices", name, kinds, message, ("kind", name), choices=PRIORITIES))
    if f.kinds is not None and f.kinds == {CUSTOM}:
        message = (
            f"column {name!r} has values on events of built-in kinds, which carry their "
            "data in their own columns"
        )
        found.append(Rule("builtin_kinds", name, None, message, ("kind", name)))
    return found


EVENT_RULES: tuple[Rule, ...] = tuple(rule for f in EVENT_FIELDS for rule in _rules(f))
"""What the event models reject beyond the columns' types, in the event schema's order:
required fields, minima, choices, and the custom kinds' field on built-in kinds. The
fields a kind lacks are :data:`FIELDS_OF_KIND`'s rules."""


MAXIMA: Mapping[str, Rule] = {rule.column: rule for rule in EVENT_RULES if rule.check == "above"}
"""The rule of each integer column that has a maximum (``quantity``:
:data:`~customer_health.MAX_QUANTITY`), by column. A frame engine checks it before it
casts a wider column to 64-bit integers (where a value over it would fail, saturate or
wrap), and with the other rules otherwise."""


def columns_of(role: str) -> tuple[str, ...]:
    """The event columns of ``role`` (``"text"``, ``"integer"``, ...), in order."""
    return tuple(name for name, kind in EVENT_COLUMNS.items() if kind == role)
