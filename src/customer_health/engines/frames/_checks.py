"""The customers and events frames checked and normalised as the object path
checks models: segments, creation, per-kind fields, defaults, ``event_id`` copies."""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from ..._format import plural, some
from ..._terms import SKIP_UNKNOWN_CUSTOMERS
from ...exceptions import (
    CustomersLeftOutWarning,
    EventConflictError,
    InvalidCustomerError,
    InvalidEventError,
    UnknownCustomerError,
    UnknownEventKindError,
    UnknownSegmentError,
)
from ...models import BUILTIN_KINDS

if TYPE_CHECKING:
    from ...model import EventKinds, ResolvedModel

from ._factors import _decoded
from ._read import (
    _any_of,
    _bad_ids,
    _Check,
    _either,
    _enforce,
    _has_nulls,
    _has_values,
    _missing,
    _rows,
    _rule,
    check_event_columns,
    id_column,
    instant_column,
)
from ._schema import (
    DEFAULTS,
    EVENT_COLUMNS,
    EVENT_RULES,
    FIELDS_OF_KIND,
    MAXIMA,
    SHOWN,
    Rule,
    columns_of,
)

# -- customers ---------------------------------------------------------------------------------


def _customers(frame: pl.DataFrame, model: ResolvedModel) -> pl.DataFrame:
    _missing(frame, ("id", "segment"), "customers")
    frame = id_column(frame, "id", "customers")
    bad_ids = _bad_ids(frame, "id", "customers", required=True)
    _enforce(frame, [] if bad_ids is None else [bad_ids])
    if frame.schema["segment"] != pl.String:
        raise InvalidCustomerError(
            f"column 'segment' of customers is {frame.schema['segment']}; expected text"
        )
    if "created_at" not in frame.columns:
        frame = frame.with_columns(created_at=pl.lit(None, dtype=pl.Datetime("us")))
    frame = instant_column(frame, "created_at", "customers")
    known = model.segments
    unknown = pl.col("segment").is_null() | ~pl.col("segment").is_in(list(known))
    _enforce(
        frame,
        [
            _rule(
                frame,
                InvalidCustomerError,
                pl.col("id").is_duplicated(),
                "column 'id' of customers has ids that appear twice",
                ["id"],
            ),
            _rule(
                frame,
                UnknownSegmentError,
                unknown,
                "column 'segment' of customers has unknown segments (known segments: "
                f"{', '.join(sorted(known))})",
                ["id", "segment"],
            ),
        ],
    )
    return frame


def _existing(
    people: pl.DataFrame, as_of: datetime, *, stacklevel: int
) -> tuple[pl.DataFrame, pl.Series]:
    """Leave out customers created after ``as_of``, with a warning (``stacklevel`` as
    :func:`warnings.warn` counts it, from this function); return their ids too."""
    later = pl.col("created_at") > as_of
    left_out = people.filter(later)
    ids = left_out.get_column("id")
    if left_out.height == 0:
        return people, ids
    warnings.warn(
        left_out_warning(left_out.height, ids.head(SHOWN).to_list(), as_of),
        stacklevel=stacklevel,
    )
    return people.filter(~later.fill_null(False)), ids  # no created_at: it existed


def left_out_warning(count: int, shown: list[str], as_of: datetime) -> CustomersLeftOutWarning:
    """The warning for ``count`` customers created after ``as_of``, ``shown`` the first."""
    return CustomersLeftOutWarning(
        f"{plural(count, 'customer')} created after as_of {as_of.isoformat()}Z "
        f"left out: {', '.join(repr(i) for i in shown[:SHOWN])}" + (" ..." if count > SHOWN else "")
    )


# -- events -----------------------------------------------------------------------------------


def _events(frame: pl.DataFrame, known: pl.Expr | None, kinds: EventKinds) -> pl.DataFrame:
    """The checked events frame; with ``known``, events of unknown customers are an error,
    and events of kinds ``kinds`` does not know are."""
    check_event_columns(frame)
    for name, role in EVENT_COLUMNS.items():
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=_DTYPES[role]).alias(name))
    for name, role in EVENT_COLUMNS.items():
        if role == "id":
            frame = id_column(frame, name, "events")
        elif role == "instant":
            frame = instant_column(frame, name, "events")
    frame = _typed(frame)
    _check_fields(frame, known, kinds)
    return _properties_key(frame)


def _defaults() -> list[pl.Expr]:
    """The defaults of the event models (quantity 1 on API calls, priority normal)."""
    return [
        pl.when(pl.col("kind").is_in(list(kinds)))
        .then(pl.col(name).fill_null(value))
        .otherwise(pl.col(name))
        .alias(name)
        for name, kinds, value in DEFAULTS
    ]


def _normalised(rows: pl.LazyFrame, keep: tuple[str, ...] = ()) -> pl.LazyFrame:
    """The events with the models' defaults filled in, and only the event columns (and
    the columns of ``keep``)."""
    return rows.with_columns(_defaults()).select([*EVENT_COLUMNS, *keep])


def _properties_key(frame: pl.DataFrame) -> pl.DataFrame:
    """Check ``properties`` holds JSON objects; add the canonical form de-duplication
    compares (key order and a missing or empty mapping do not make two copies differ)."""
    texts = frame.get_column("properties").drop_nulls()
    if texts.len() == 0:
        return frame.with_columns(_properties_key=pl.lit(None, dtype=pl.String))
    try:
        decoded = _decoded(frame)
    except InvalidEventError:
        # no struct type fits every object (a key holds a number here, an object there):
        # each distinct text is read in Python, which says which are not objects
        return frame.with_columns(_properties_key=_canonical(frame))
    fields = decoded.schema["properties"]
    assert isinstance(fields, pl.Struct)
    names = sorted(field.name for field in fields.fields)
    if not names:  # every object is empty: as no properties at all
        return frame.with_columns(_properties_key=pl.lit(None, dtype=pl.String))
    ordered = pl.struct([pl.col("properties").struct.field(name) for name in names])
    empty = pl.all_horizontal([pl.col("properties").struct.field(n).is_null() for n in names])
    key = (
        pl.when(pl.col("properties").is_null() | empty)
        .then(None)
        .otherwise(ordered.struct.json_encode())
    )
    return frame.with_columns(_properties_key=decoded.select(key).to_series())


def _canonical(frame: pl.DataFrame) -> pl.Series:
    """:func:`_properties_key` read in Python: the canonical JSON of each object (null
    for an empty one), or an :class:`InvalidEventError` naming the rows that hold no
    JSON object."""
    column = frame.get_column("properties")
    keys: dict[str, str | None] = {}
    bad = []
    for text in column.drop_nulls().unique():
        try:
            found = json.loads(text)
        except ValueError:
            found = None
        if not isinstance(found, dict):
            bad.append(text)
            continue
        present = {k: v for k, v in found.items() if v is not None}
        keys[text] = json.dumps(present, sort_keys=True, separators=(",", ":")) if present else None
    if bad:
        mask = pl.col("properties").is_in(bad)
        raise InvalidEventError(
            "column 'properties' must hold JSON objects (or be a struct column): "
            f"{_rows(frame, mask, ['kind', 'properties'])}"
        )
    return column.replace_strict(keys, default=None, return_dtype=pl.String)


_DTYPES: Mapping[str, Any] = {
    "id": pl.String,
    "text": pl.String,
    "instant": pl.Datetime("us"),
    "integer": pl.Int64,
    "number": pl.Float64,
    "json": pl.String,
}


_WITHIN_INT64 = frozenset(
    (pl.Null, pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32)
)
"""The integer types whose values are all Int64's: cast first, checked with the rest."""


def _typed(frame: pl.DataFrame) -> pl.DataFrame:
    schema = frame.schema
    for name in columns_of("text"):
        if schema[name] == pl.Null:
            frame = frame.with_columns(pl.col(name).cast(pl.String))
        elif schema[name] != pl.String:
            raise InvalidEventError(f"column {name!r} of events is {schema[name]}; expected text")
    for name in columns_of("integer"):
        whole = schema[name]
        if whole.is_float():
            fractional = pl.col(name).is_not_null() & (pl.col(name) % 1 != 0)
            if frame.select(fractional.any()).item():
                raise InvalidEventError(
                    f"column {name!r} has numbers that are not whole: "
                    f"{_rows(frame, fractional, ['kind', name])}"
                )
        elif not (whole.is_integer() or whole == pl.Null):
            raise InvalidEventError(f"column {name!r} of events is {whole}; expected integers")
        if name in MAXIMA and whole not in _WITHIN_INT64 and _has_values(frame, name):
            # Before the cast, which would fail on a value beyond Int64 (a float, an
            # unsigned or a 128-bit integer); Int64 and narrower are checked with the rest.
            maximum = MAXIMA[name]
            _enforce(
                frame,
                [
                    _rule(
                        frame,
                        InvalidEventError,
                        pl.col(name) > maximum.bound,
                        maximum.message,
                        list(maximum.shown),
                    )
                ],
            )
    for name in columns_of("number"):
        number = schema[name]
        if not (number.is_numeric() or number == pl.Null):
            raise InvalidEventError(f"column {name!r} of events is {number}; expected numbers")
    for name in columns_of("json"):
        frame = _json_text(frame, name, schema[name])
    return frame.with_columns(
        *(pl.col(name).cast(pl.Int64) for name in columns_of("integer")),
        *(pl.col(name).cast(pl.Float64) for name in columns_of("number")),
        *(pl.col(name).cast(pl.String) for name in columns_of("json")),
    )


def _json_text(frame: pl.DataFrame, name: str, dtype: Any) -> pl.DataFrame:
    """The JSON column ``name`` as JSON text (a struct column encoded)."""
    if isinstance(dtype, pl.Struct):
        encoded = pl.col(name).struct.json_encode()
        return frame.with_columns(
            pl.when(pl.col(name).is_null()).then(None).otherwise(encoded).alias(name)
        )
    if dtype not in (pl.String, pl.Null):
        raise InvalidEventError(
            f"column {name!r} of events is {dtype}; expected a struct or JSON text"
        )
    return frame


def _check_fields(frame: pl.DataFrame, known: pl.Expr | None, event_kinds: EventKinds) -> None:
    """Reject what the event models reject: null or empty ids, bad values, and fields a
    kind lacks; events of kinds ``event_kinds`` does not know (unless it keeps them); and,
    given ``known``, events of customers not in the customers frame.

    One scan for every check, reading only what can be bad. Nulls are counted, not
    looked for (polars keeps each column's count): a check on the values of a column
    that has none is left out, and so is a check for nulls where there are none. Each
    built-in kind is compared once, into a flag the checks share (comparing text is
    cheap; casting ``kind`` to a categorical first costs more than it saves).
    """
    flag = {name: pl.col(f"_is_{name}") for name in BUILTIN_KINDS}
    probe = frame.lazy().with_columns(
        (pl.col("kind") == name).alias(f"_is_{name}") for name in BUILTIN_KINDS
    )
    values = functools.partial(_has_values, frame)
    checks = [
        _bad_ids(frame, name, "events", required=name == "customer_id")
        for name, role in EVENT_COLUMNS.items()
        if role == "id"
    ]
    rules = [
        (_rule_mask(frame, rule, flag), rule.message, list(rule.shown)) for rule in EVENT_RULES
    ]
    for name, kinds in FIELDS_OF_KIND.items():
        rules.append(
            (
                pl.col(name).is_not_null() & ~_any_of(flag[k] for k in kinds)
                if values(name)
                else None,
                f"column {name!r} has values on events of kinds other than "
                f"{', '.join(sorted(kinds))}, which have no such field",
                ["kind", name],
            )
        )
    checks += [
        _rule(probe, InvalidEventError, mask, message, shown)
        for mask, message, shown in rules
        if mask is not None
    ]
    if not event_kinds.keep_unknown:
        strange = ~pl.col("kind").is_in(list(event_kinds.known))
        checks.append(_Check(strange, lambda: _unknown_kind(frame, strange, event_kinds)))
    if known is not None:
        checks.append(_Check(~known, lambda: _strangers(frame, known)))
    _enforce(probe, [check for check in checks if check is not None])


def _unknown_kind(
    frame: pl.DataFrame, strange: pl.Expr, kinds: EventKinds
) -> UnknownEventKindError:
    """The error for the first event of a kind ``kinds`` does not know (``strange``)."""
    first = frame.lazy().with_row_index("row").filter(strange).head(1)
    row = first.select("row", "kind", "event_id").collect().row(0, named=True)
    return kinds.error(row["kind"], f"events {row}")


def _rule_mask(frame: pl.DataFrame, rule: Rule, flag: Mapping[str, pl.Expr]) -> pl.Expr | None:
    """The rows that break ``rule``, as a polars mask; ``None`` when the column's counts
    show that none can (no nulls to find, no values to check)."""
    column = pl.col(rule.column)
    nulls, values = _has_nulls(frame, rule.column), _has_values(frame, rule.column)
    mask: pl.Expr | None
    if rule.check == "null_or_empty":
        empty = column == ""
        if rule.kinds is None:  # a field of every event: always looked at
            mask = _either(column.is_null() if nulls else None, empty)
        else:
            mask = _either(column.is_null() if nulls else None, empty if values else None)
    elif rule.check == "null":
        mask = column.is_null() if nulls else None
    elif rule.check == "below":
        mask = column < rule.bound if values else None
    elif rule.check == "above":
        mask = column > rule.bound if values else None
    elif rule.check == "not_finite":
        mask = column.is_nan() | column.is_infinite() | (column < rule.bound) if values else None
    elif rule.check == "choices":
        wrong = column.is_not_null() & ~column.is_in(list(rule.choices))
        mask = wrong if _foreign_values(frame, rule.column, rule.choices) else None
    else:  # builtin_kinds
        mask = _any_of(flag.values()) & column.is_not_null() if values else None
    if mask is None or rule.kinds is None:
        return mask
    return _any_of(flag[kind] for kind in rule.kinds) & mask


def _foreign_values(frame: pl.DataFrame, name: str, choices: tuple[str, ...]) -> bool:
    """Whether a value other than the ``choices`` is given in column ``name``, on any kind
    of event.

    Such values are few (priorities: tickets are), so looking at the non-null ones alone
    costs far less than a look at every row; only then is it worth asking which kinds
    of event they are on.
    """
    given = frame.get_column(name).drop_nulls()
    return not given.is_in(list(choices)).all()


def _strangers(frame: pl.DataFrame, known: pl.Expr) -> UnknownCustomerError:
    """The error for events of customers not in the customers frame, naming a few."""
    strangers = frame.filter(~known)
    ids = strangers.get_column("customer_id").unique(maintain_order=True)
    return strangers_error(strangers.height, ids.len(), ids.head(SHOWN).to_list())


def strangers_error(events: int, customers: int, shown: list[str]) -> UnknownCustomerError:
    """The error for ``events`` events of ``customers`` customers not in the customers
    frame, ``shown`` a few of them."""
    return UnknownCustomerError(
        f"{plural(events, 'event')} of {plural(customers, 'customer')} not in "
        f"the customers frame: {some(shown[:SHOWN], customers, SHOWN)}; pass "
        f"{SKIP_UNKNOWN_CUSTOMERS} to skip them"
    )


def _first_copies(frame: pl.DataFrame, relevant: pl.Expr) -> pl.Series | None:
    """Which rows to keep so that each (customer_id, event_id) counts once, or None.

    Only rows whose key repeats (among the relevant customers' events) are looked at:
    their contents must agree, else :class:`EventConflictError` names the id.

    Finding the keys that repeat is the costly part, so it takes two steps: first the
    rows whose key has a 64-bit hash that repeats (sorting hashes and comparing
    neighbours costs far less than finding duplicates among text keys), then, among
    those few, the rows whose key itself repeats. Copies share their customer, so
    ``relevant`` is asked of those few rows alone. Without event ids nothing is read.
    """
    if not _has_values(frame, "event_id"):
        return None
    key = pl.struct("customer_id", "event_id")
    hashed = (
        frame.lazy()
        .with_row_index("row")
        .filter(pl.col("event_id").is_not_null())
        .select("row", hash=key.hash())
        .collect()
    )
    ordered = hashed.get_column("hash").sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    if repeated.len() == 0:
        return None
    rows = hashed.filter(pl.col("hash").is_in(repeated.implode())).get_column("row")
    content = [name for name in frame.columns if name != "properties"]
    # compared as the models compare them: with their defaults filled in
    shared = (
        frame.select(content)[rows]
        .with_columns(_defaults())
        .with_columns(row=rows)
        .filter(relevant, key.is_duplicated())
    )
    if shared.height == 0:
        return None
    distinct = shared.drop("row").unique(maintain_order=True)
    clash = key.is_duplicated()
    if distinct.select(clash.any()).item():
        first = distinct.filter(clash).row(0, named=True)
        raise EventConflictError(
            f"event_id {first['event_id']!r} of customer {first['customer_id']!r} is used by "
            f"different events: {_rows(distinct, clash, ['customer_id', 'event_id', 'kind'])}"
        )
    later = shared.filter(~key.is_first_distinct())
    return pl.repeat(True, frame.height, eager=True).scatter(later.get_column("row"), False)
