"""The data types: customers, events and the scores computed from them.

All models are immutable pydantic v2 models that round-trip through JSON and publish a
JSON schema (``Customer.model_json_schema()``, ``event_json_schema()``).

Time: every instant is UTC. A timezone-aware datetime is converted to UTC; a naive
datetime is read as UTC. Instants keep microsecond resolution (finer parts are
truncated when parsed from text).

Quantities: an API call's ``quantity`` is 1 to :data:`MAX_QUANTITY`.

Lengths: ids (a customer's, an event's ``customer_id``, ``event_id`` and ``user_id``),
segments and event kinds have 1 to :data:`MAX_ID_LENGTH` characters and no control
characters (Unicode category Cc: U+0000-U+001F, U+007F-U+009F); a customer's ``name``
and a feature have at most :data:`MAX_TEXT_LENGTH` characters and no NUL; a customer's
``attributes`` and an event's ``properties`` have at most :data:`MAX_JSON_LENGTH`
characters as canonical JSON (sorted keys, compact, not ASCII-escaped). Every store
and the service hold the same limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeAlias, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Tag,
    TypeAdapter,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import (
    CoreSchema,
    PydanticCustomError,
    PydanticSerializationError,
    core_schema,
    to_json,
)

from . import _event_schema as _schema
from ._json import canonical_json
from ._time import to_utc

__all__ = [
    "BUILTIN_KINDS",
    "MAX_ID_LENGTH",
    "MAX_JSON_LENGTH",
    "MAX_MODEL_NAME_LENGTH",
    "MAX_MODEL_VERSION_LENGTH",
    "MAX_QUANTITY",
    "MAX_TEXT_LENGTH",
    "MODEL_NAME",
    "MODEL_VERSION",
    "ApiCallEvent",
    "CustomEvent",
    "Customer",
    "Event",
    "FactorScore",
    "FeatureUsedEvent",
    "HealthScore",
    "HealthStatus",
    "LoginEvent",
    "PaymentEvent",
    "SupportTicketEvent",
    "event_json_schema",
    "to_utc",
]

_M = TypeVar("_M", bound=BaseModel)

MODEL_VERSION = "2"
"""The version of the default scoring model this release computes (``docs/model.md``):
model v2; ``Scorer(model="v1")`` keeps model v1 (``scoring-model.md``)."""
MODEL_NAME = "customer-health"
"""The name of the library's own model (a model file's ``[model] name``)."""
MAX_MODEL_NAME_LENGTH = 64
MAX_MODEL_VERSION_LENGTH = 16
"""The longest model name and version: what the store's columns hold."""


MAX_ID_LENGTH = 255
"""The most characters of an id (``Customer.id``, an event's ``customer_id``,
``event_id`` and ``user_id``), a segment or an event kind (at least 1 each)."""

MAX_TEXT_LENGTH = 1000
"""The most characters of a customer's ``name`` and of a ``feature``."""

MAX_JSON_LENGTH = 65_536
"""The most characters of a customer's ``attributes`` or an event's ``properties``
written as canonical JSON (sorted keys, compact, non-ASCII characters as they are)."""

MAX_QUANTITY = _schema.MAX_QUANTITY
"""The most API calls one event may stand for (an API call's ``quantity``:
2,147,483,647, 2**31 - 1). A customer's sum of quantities fits a signed 64-bit integer
for up to 2**32 events (over four billion), on every engine."""

_NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"
_NO_NUL = r"^[^\x00]*$"


@dataclass(frozen=True)
class _Text:
    """A string of ``min_length`` to ``max_length`` characters matching ``pattern``.

    Checked by pydantic-core alone (no Python call per value: events are validated by
    the million): the type, then the length, then the characters, each with its own
    message. With ``integers``, an integer is read as its decimal string.
    """

    min_length: int
    max_length: int
    pattern: str
    error: str
    message: str
    integers: bool = False

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        sized = core_schema.str_schema(min_length=self.min_length, max_length=self.max_length)
        steps: list[CoreSchema] = [sized]
        if self.integers:
            # A union, not a before-validator: a string (the usual id) calls no Python;
            # bools are not integers here (a strict int refuses them).
            number = core_schema.no_info_after_validator_function(
                str, core_schema.int_schema(strict=True)
            )
            text = core_schema.union_schema(
                [core_schema.str_schema(), number], custom_error_type="string_type"
            )
            steps.insert(0, text)
        checked = core_schema.str_schema(pattern=self.pattern)
        steps.append(
            core_schema.custom_error_schema(
                checked, custom_error_type=self.error, custom_error_message=self.message
            )
        )
        return core_schema.chain_schema(steps)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # What a client must send (a string; integers are a leniency, not documented).
        described: JsonSchemaValue = {"type": "string", "maxLength": self.max_length}
        if self.min_length:
            described["minLength"] = self.min_length
        described["pattern"] = self.pattern
        return described


_SURELY_WITHIN = MAX_JSON_LENGTH // 2
"""A bound under which pydantic-core's JSON of a mapping (UTF-8 bytes) proves its
canonical JSON within the limit: the canonical text has no more characters than those
bytes, but for exponents (``1e-07`` for ``1e-7``), at most 5/4 of them."""


def _within_json_limit(value: dict[str, Any]) -> dict[str, Any]:
    if not value:
        return value
    try:  # the fast check: pydantic-core's JSON costs a fraction of the canonical one
        if len(to_json(value)) <= _SURELY_WITHIN:
            return value
    except PydanticSerializationError:
        pass
    try:
        length = len(canonical_json(value))
    except (TypeError, ValueError, RecursionError):
        # Not JSON (a datetime, a set, a cycle): no store could write it, and there is
        # no canonical text to measure; the library keeps it for plugin factors.
        return value
    if length > MAX_JSON_LENGTH:
        raise PydanticCustomError(
            "json_too_long",
            "Mapping should have at most {max_length} characters as canonical JSON, not {length}",
            {"max_length": MAX_JSON_LENGTH, "length": length},
        )
    return value


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number here")
    return value


def _quantity(value: Any) -> Any:
    """A missing quantity (``None``) is 1; a boolean is no number: one Python call.

    The range (``Field``) comes before this validator in ``Annotated``: after it,
    pydantic would check it with a Python call per bound; before it, pydantic-core
    checks it, with the same errors. (Not so for ``amount``: there pydantic-core would
    say "finite" before "greater than or equal to 0" for NaN, not as it says today.)
    """
    return 1 if value is None else _not_bool(value)


def _in_utc(value: datetime) -> datetime:
    try:
        return to_utc(value)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0 in UTC
        raise ValueError("the instant is out of range once converted to UTC") from None


UtcDatetime: TypeAlias = Annotated[datetime, AfterValidator(_in_utc)]
"""A datetime read as UTC (naive) or converted to UTC (aware)."""

_CONTROL_MESSAGE = "String should not contain control characters (U+0000-U+001F, U+007F-U+009F)"
_NUL_MESSAGE = "String should not contain the NUL character (U+0000)"

Identifier: TypeAlias = Annotated[
    str,
    _Text(1, MAX_ID_LENGTH, _NO_CONTROL, "string_control_character", _CONTROL_MESSAGE, True),
]
"""A case-sensitive, untrimmed string id of 1 to :data:`MAX_ID_LENGTH` characters and no
control characters; an integer is read as its decimal string."""

Label: TypeAlias = Annotated[
    str, _Text(1, MAX_ID_LENGTH, _NO_CONTROL, "string_control_character", _CONTROL_MESSAGE)
]
"""A segment or an event kind: like an :data:`Identifier`, but only a string."""

Text: TypeAlias = Annotated[
    str, _Text(0, MAX_TEXT_LENGTH, _NO_NUL, "string_nul_character", _NUL_MESSAGE)
]
"""A customer's name: at most :data:`MAX_TEXT_LENGTH` characters, no NUL."""

NonEmptyText: TypeAlias = Annotated[
    str, _Text(1, MAX_TEXT_LENGTH, _NO_NUL, "string_nul_character", _NUL_MESSAGE)
]
"""A feature's name: 1 to :data:`MAX_TEXT_LENGTH` characters, no NUL."""

JsonObject: TypeAlias = Annotated[
    dict[str, Any],
    AfterValidator(_within_json_limit),
    Field(
        description=f"Free-form; at most {MAX_JSON_LENGTH:,} characters as canonical JSON "
        "(sorted keys, no spaces, non-ASCII characters as they are)."
    ),
]
"""Free-form ``attributes`` or ``properties``: at most :data:`MAX_JSON_LENGTH` characters
as canonical JSON (a mapping that is not JSON is not measured)."""

_FROZEN = ConfigDict(frozen=True, extra="forbid", strict=False)


class Customer(BaseModel):
    """A customer of the SaaS product being scored.

    ``attributes`` is a free-form mapping that plugin factors may read.
    """

    model_config = _FROZEN

    id: Identifier
    segment: Label
    name: Text | None = None
    created_at: UtcDatetime | None = None
    attributes: JsonObject = Field(default_factory=dict)


class _EventBase(BaseModel):
    model_config = _FROZEN

    customer_id: Identifier
    occurred_at: UtcDatetime
    event_id: Identifier | None = None


class ApiCallEvent(_EventBase):
    """API usage; one event may stand for many calls (``quantity``, default 1)."""

    kind: Literal["api_call"] = "api_call"
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY), BeforeValidator(_quantity)] = 1


class LoginEvent(_EventBase):
    """A login, optionally by a known user."""

    kind: Literal["login"] = "login"
    user_id: Identifier | None = None


class FeatureUsedEvent(_EventBase):
    """Use of a named product feature."""

    kind: Literal["feature_used"] = "feature_used"
    feature: NonEmptyText


class PaymentEvent(_EventBase):
    """An invoice: when it was due, when (if yet) it was paid, and its amount."""

    kind: Literal["payment"] = "payment"
    due_at: UtcDatetime
    paid_at: UtcDatetime | None = None
    amount: (
        Annotated[float, BeforeValidator(_not_bool), Field(ge=0, allow_inf_nan=False)] | None
    ) = None


Priority: TypeAlias = Literal["low", "normal", "high", "urgent"]


class SupportTicketEvent(_EventBase):
    """A support ticket with its priority (default ``normal``) and resolution time."""

    kind: Literal["support_ticket"] = "support_ticket"
    priority: Priority = "normal"
    resolved_at: UtcDatetime | None = None

    @field_validator("priority", mode="before")
    @classmethod
    def _missing_priority_is_normal(cls, value: Any) -> Any:
        return "normal" if value is None else value


BUILTIN_KINDS: frozenset[str] = _schema.BUILTIN_KINDS
"""The event kinds the default model defines; any other kind is a :class:`CustomEvent`."""


class CustomEvent(_EventBase):
    """An event of a kind the built-in factors do not know; plugins may score it."""

    kind: Label
    properties: JsonObject = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _not_builtin(cls, value: str) -> str:
        if value in BUILTIN_KINDS:
            raise ValueError(f"kind {value!r} is built in; use its own event type")
        return value


def event_tag(value: Any) -> str:
    """The tag of ``value`` in the :data:`Event` union: its kind if built in, else
    ``"custom"`` (a mapping's ``kind`` key; a model's ``kind`` attribute)."""
    kind = value.get("kind") if isinstance(value, Mapping) else getattr(value, "kind", None)
    # Not a string (a list, an object): "custom", whose validation then says what is wrong.
    return kind if isinstance(kind, str) and kind in BUILTIN_KINDS else "custom"


Event: TypeAlias = Annotated[
    Annotated[ApiCallEvent, Tag("api_call")]
    | Annotated[LoginEvent, Tag("login")]
    | Annotated[FeatureUsedEvent, Tag("feature_used")]
    | Annotated[PaymentEvent, Tag("payment")]
    | Annotated[SupportTicketEvent, Tag("support_ticket")]
    | Annotated[CustomEvent, Tag("custom")],
    Discriminator(event_tag),
]
"""Any event: a discriminated union on ``kind``; unknown kinds become :class:`CustomEvent`."""

EVENT_TYPES: tuple[type[_EventBase], ...] = (
    ApiCallEvent,
    LoginEvent,
    FeatureUsedEvent,
    PaymentEvent,
    SupportTicketEvent,
    CustomEvent,
)

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_LIST_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


def event_json_schema() -> dict[str, Any]:
    """Return the JSON schema of one event (any kind)."""
    return EVENT_ADAPTER.json_schema()


class HealthStatus(StrEnum):
    """Where a score falls: ``healthy``, ``at_risk``, ``critical``, or ``unknown`` (no data)."""

    HEALTHY = "healthy"
    AT_RISK = "at_risk"
    CRITICAL = "critical"
    UNKNOWN = "unknown"


_OptionalFinite: TypeAlias = Annotated[float, Field(allow_inf_nan=False)] | None


_set_attribute = object.__setattr__


def trusted(cls: type[_M], values: dict[str, Any]) -> _M:
    """Build ``cls`` from ``values`` without validation, for the engine's own output.

    The engine builds tens of thousands of scores per batch from values it has
    already checked; validating them again would cost about twice as much. This sets
    what ``BaseModel.model_construct`` sets (every field given), only faster. The
    test suite checks the result equals a validated model.
    """
    model = cls.__new__(cls)
    _set_attribute(model, "__dict__", values)
    _set_attribute(model, "__pydantic_fields_set__", set(values))
    _set_attribute(model, "__pydantic_extra__", None)
    _set_attribute(model, "__pydantic_private__", None)
    return model


class FactorScore(BaseModel):
    """One factor's part of a health score, with what it measured and why."""

    model_config = _FROZEN

    name: str
    score: Annotated[float, Field(ge=0, le=100)] | None
    """0-100, or ``None`` when the factor has no data."""
    weight: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    contribution: Annotated[float, Field(allow_inf_nan=False)]
    """``weight * score / sum of weights with data``; the contributions add up to the score."""
    value: _OptionalFinite = None
    """The raw value the factor measured (calls, days, mean late days, load, ...)."""
    expected: _OptionalFinite = None
    """The expectation the value was compared with (prorated for young customers)."""
    explanation: str
    """One line a person can read."""


class HealthScore(BaseModel):
    """A customer's health at an instant: the score, its status and every factor's part."""

    model_config = _FROZEN

    customer_id: str
    as_of: UtcDatetime
    score: Annotated[float, Field(ge=0, le=100)] | None
    """The weighted mean of the factors with data, unrounded; ``None`` when none has data."""
    status: HealthStatus
    coverage: Annotated[float, Field(ge=0, le=1)]
    """The share of the configured weight carried by factors with data."""
    factors: tuple[FactorScore, ...]
    model_name: str = MODEL_NAME
    """The name of the model that computed the score (``Scorer(model_name=...)``, a
    model file's ``[model] name``)."""
    model_version: str = MODEL_VERSION
    fingerprint: str
    """A stable hash of the configuration (weights, thresholds, expectations, factors)."""

    def factor(self, name: str) -> FactorScore:
        """Return the part of the factor called ``name``."""
        for factor in self.factors:
            if factor.name == name:
                return factor
        known = ", ".join(f.name for f in self.factors)
        raise KeyError(f"no factor {name!r} in this score; it has: {known}")

    def explain(self) -> str:
        """Return a few lines a person can read: the score, then one line per factor."""
        head = (
            f"{self.customer_id}: {self.status.value}"
            if self.score is None
            else f"{self.customer_id}: {self.score:.2f} ({self.status.value})"
        )
        lines = [f"{head}, coverage {self.coverage:.0%}, as of {self.as_of.isoformat()}"]
        for f in self.factors:
            shown = "no data" if f.score is None else f"{f.score:5.1f}"
            lines.append(f"  {f.name:<20} {shown:>7}  {f.explanation}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The score as self-contained HTML, which Jupyter shows: the score, a status
        badge, coverage, as_of and model version, and one row per factor with a bar."""
        from ._render import health_html

        return health_html(self)

    def __rich__(self) -> Any:
        """The score as a rich table with bars, for ``rich.print(health)`` in a terminal
        (rich comes with the ``cli`` extra and is imported only here)."""
        from ._render import health_rich

        return health_rich(self)
