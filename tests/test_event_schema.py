"""The event schema (customer_health._event_schema) is the one definition of the event
fields: the models follow it field by field, and every other form is made from it."""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from customer_health import _event_schema as schema
from customer_health.models import (
    BUILTIN_KINDS,
    EVENT_ADAPTER,
    EVENT_TYPES,
    MAX_ID_LENGTH,
    MAX_TEXT_LENGTH,
    Priority,
)

NOW = datetime(2026, 6, 30, tzinfo=UTC)


def kind_of(model: type[Any]) -> str:
    """The kind of a model's events (a custom kind for the custom model)."""
    default = model.model_fields["kind"].default
    return default if isinstance(default, str) else "nps_response"


def minimal(kind: str) -> dict[str, Any]:
    """The smallest valid event of ``kind``: its required fields."""
    values = {"id": "x", "label": kind, "text": "x", "instant": NOW}
    return {
        f.name: values[f.type] if f.name != "kind" else kind
        for f in schema.fields_of_kind(kind)
        if f.required
    }


def test_the_kinds_are_the_schemas() -> None:
    """The built-in kinds and the priorities are the schema's."""
    assert {kind_of(model) for model in EVENT_TYPES} - {"nps_response"} == BUILTIN_KINDS
    assert schema.BUILTIN_KINDS == BUILTIN_KINDS
    assert typing.get_args(Priority) == schema.PRIORITIES


@pytest.mark.parametrize("model", EVENT_TYPES, ids=lambda model: model.__name__)
def test_each_model_has_the_fields_of_its_kind(model: type[Any]) -> None:
    """A model has exactly the fields the schema gives its kind, required and defaulted
    as the schema says."""
    kind = kind_of(model)
    fields = {f.name: f for f in schema.fields_of_kind(kind)}
    assert set(model.model_fields) == set(fields)
    event = EVENT_ADAPTER.validate_python(minimal(kind))
    assert type(event) is model
    for name, spec in fields.items():
        info = model.model_fields[name]
        if name == "kind":
            continue
        assert info.is_required() == (spec.required and spec.default is None), name
        if not spec.required:
            assert getattr(event, name) == spec.default, name


# A value of each field type the type accepts (and what it becomes) and one it refuses.
ACCEPTED: dict[str, list[tuple[Any, Any]]] = {
    "id": [(42, "42"), ("a" * MAX_ID_LENGTH, "a" * MAX_ID_LENGTH)],
    "text": [("é" * MAX_TEXT_LENGTH, "é" * MAX_TEXT_LENGTH)],
    "instant": [("2026-06-29T10:00:00", datetime(2026, 6, 29, 10, tzinfo=UTC))],
    "integer": [(3, 3)],
    "number": [(2.5, 2.5)],
    "priority": [(p, p) for p in schema.PRIORITIES],
    "json": [({"a": [1]}, {"a": [1]})],
}
REFUSED: dict[str, list[Any]] = {
    "id": ["", "a\x00b", "a" * (MAX_ID_LENGTH + 1), True],
    "text": ["a\x00b", "a" * (MAX_TEXT_LENGTH + 1)],
    "instant": ["yesterday"],
    "integer": [True, 2.5],
    "number": [True, float("nan")],
    "priority": ["critical"],
    "json": [[1, 2]],
}


@pytest.mark.parametrize(
    "spec",
    [f for f in schema.EVENT_FIELDS if f.name not in ("kind", "customer_id")],
    ids=lambda f: f.name,
)
def test_each_field_holds_what_its_type_says(spec: schema.EventField) -> None:
    """Every field of every kind that carries it accepts and refuses by its type, and
    holds to its minimum."""
    kinds = sorted(spec.kinds - {schema.CUSTOM} if spec.kinds else BUILTIN_KINDS)
    kinds = kinds or ["nps_response"]
    for kind in kinds:
        for given, found in ACCEPTED[spec.type]:
            event = EVENT_ADAPTER.validate_python({**minimal(kind), spec.name: given})
            assert getattr(event, spec.name) == found, (kind, spec.name, given)
        for given in REFUSED[spec.type]:
            with pytest.raises(ValidationError):
                EVENT_ADAPTER.validate_python({**minimal(kind), spec.name: given})
        if spec.minimum is not None:
            below = spec.minimum - 1
            with pytest.raises(ValidationError):
                EVENT_ADAPTER.validate_python({**minimal(kind), spec.name: below})


def test_a_field_of_other_kinds_is_refused() -> None:
    """An event may not carry a field its kind lacks."""
    for spec in schema.EVENT_FIELDS:
        if spec.kinds is None:
            continue
        for kind in sorted(BUILTIN_KINDS | {"nps_response"}):
            key = kind if kind in BUILTIN_KINDS else schema.CUSTOM
            if key in spec.kinds:
                continue
            value = {"id": "x", "text": "x", "instant": NOW, "integer": 1, "number": 1.0}.get(
                spec.type, "normal" if spec.type == "priority" else {"a": 1}
            )
            with pytest.raises(ValidationError):
                EVENT_ADAPTER.validate_python({**minimal(kind), spec.name: value})


def test_the_frame_columns_are_made_from_it() -> None:
    """The frame engine's columns, required columns, fields of each kind, defaults and
    rules follow the schema."""
    pytest.importorskip("polars")
    from customer_health.engines.frames import _schema as frames

    assert list(frames.EVENT_COLUMNS) == [f.name for f in schema.EVENT_FIELDS]
    assert frames.REQUIRED_EVENT_COLUMNS == ("customer_id", "kind", "occurred_at")
    for f in schema.EVENT_FIELDS:
        if f.kinds is not None and f.kinds != {schema.CUSTOM}:
            assert frames.FIELDS_OF_KIND[f.name] == f.kinds
    assert {name: value for name, _, value in frames.DEFAULTS} == {
        "quantity": 1,
        "priority": "normal",
    }
    checked = {(rule.column, rule.check) for rule in frames.EVENT_RULES}
    assert checked == {
        ("kind", "null_or_empty"),
        ("occurred_at", "null"),
        ("quantity", "below"),
        ("quantity", "above"),
        ("feature", "null_or_empty"),
        ("due_at", "null"),
        ("amount", "not_finite"),
        ("priority", "choices"),
        ("properties", "builtin_kinds"),
    }


def test_the_store_table_is_made_from_it() -> None:
    """``ch_events`` has a column per field, typed and nullable as the schema says."""
    pytest.importorskip("sqlalchemy")
    import sqlalchemy as sa

    from customer_health.storage._tables import EVENT_FIELDS, CanonicalJSON, Instant, events

    names = [f.name for f in schema.EVENT_FIELDS]
    assert sorted(EVENT_FIELDS) == sorted(names)
    assert [c.name for c in events.c] == ["seq", *EVENT_FIELDS, "recorded_at"]
    python_types = {
        "id": str,
        "label": str,
        "text": str,
        "priority": str,
        "integer": int,
        "number": float,
    }
    for f in schema.EVENT_FIELDS:
        column = events.c[f.name]
        assert column.nullable == (not (f.kinds is None and f.required)), f.name
        if f.type in python_types:
            assert column.type.python_type is python_types[f.type], f.name
        if f.type == "instant":
            assert isinstance(column.type, Instant), f.name
        if f.type == "json":
            assert isinstance(column.type, CanonicalJSON), f.name
        if f.type in ("id", "label"):
            assert isinstance(column.type, sa.String)
            assert column.type.length == MAX_ID_LENGTH
        if f.type == "text":
            assert column.type.length == MAX_TEXT_LENGTH


def test_the_store_rows_follow_the_table() -> None:
    """Each compiled row builder gives what the generic one gives, in the table's order."""
    pytest.importorskip("sqlalchemy")
    from customer_health import sample
    from customer_health.storage import _ingest

    data = sample.generate(40, seed=5)
    kinds = set()
    for event in data.events:
        row = _ingest._ROWS.get(type(event), _ingest._row)(event)
        assert row == _ingest._row(event)
        assert row[_ingest.EVENT_FIELDS.index("kind")] == event.kind
        kinds.add(event.kind)
    assert kinds >= BUILTIN_KINDS


def test_the_warehouse_and_sample_columns_are_made_from_it() -> None:
    """The warehouse query's event columns and the sample columns are the schema's."""
    pytest.importorskip("sqlglot")
    from customer_health import sample
    from customer_health.engines.sql._warehouse import _DEFAULTS, _Columns

    assert list(_Columns()) == [f.name for f in schema.EVENT_FIELDS]
    assert _DEFAULTS == {
        "quantity": (("api_call",), 1),
        "priority": (("support_ticket",), "normal"),
    }
    assert (
        tuple(f.name for f in schema.EVENT_FIELDS if f.name not in ("user_id", "properties"))
        == sample.EVENT_COLUMNS
    )


def test_the_request_bodies_are_made_from_the_models() -> None:
    """Each event model has a request form: the same fields, ``customer_id`` optional,
    and the schema's maxima, as the model has them."""
    pytest.importorskip("fastapi")
    from customer_health.service.schemas import _EVENT_OF

    assert set(_EVENT_OF.values()) == set(EVENT_TYPES)
    for request, model in _EVENT_OF.items():
        assert request.__name__ == model.__name__ + "In"
        assert set(request.model_fields) == set(model.model_fields)
        assert not request.model_fields["customer_id"].is_required()
    for f in schema.EVENT_FIELDS:
        if f.maximum is None:
            continue
        for request, model in _EVENT_OF.items():
            if f.name not in model.model_fields:
                continue
            event = minimal(kind_of(model))
            for form in (request, model):
                form.model_validate({**event, f.name: f.maximum})
                with pytest.raises(ValidationError):
                    form.model_validate({**event, f.name: f.maximum + 1})
