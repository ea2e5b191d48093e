"""score_frame gives what score_many gives, on generated data, on every backend."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import customer_health
from customer_health import CustomersLeftOutWarning, HealthScores, Scorer
from customer_health.engines.frames import _polars

from ..strategies import US, as_ofs, customers, histories
from .conftest import Backend, Rows, make_backend

TOL = 1e-9
FACTORS = (
    "api_usage",
    "login_frequency",
    "payment_timeliness",
    "feature_adoption",
    "support_tickets",
)
TIME_STYLES = [
    "datetime",
    "datetime[UTC]",
    "datetime[Asia/Kolkata]",
    "datetime[America/Los_Angeles]",
]
ISO_STYLES = ["offsets", "Z", "naive"]
EVENT_TIMES = ("occurred_at", "due_at", "paid_at", "resolved_at")
EVENT_TYPES = {
    "customer_id": "str",
    "kind": "str",
    "occurred_at": "time",
    "event_id": "str",
    "quantity": "int",
    "feature": "str",
    "due_at": "time",
    "paid_at": "time",
    "amount": "float",
    "priority": "str",
    "resolved_at": "time",
    "user_id": "str",
    "properties": "str",
}
OPTIONAL_EVENT_COLUMNS = [n for n in EVENT_TYPES if n not in ("customer_id", "kind", "occurred_at")]

PROFILE = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ISO_PROFILE = settings(PROFILE, max_examples=25)

Case = tuple[datetime, list[dict[str, Any]], list[dict[str, Any]], str]


@cache
def reference_scorer() -> Scorer:
    """The scorer whose score_many is the reference (built inside a test, plugins cleared)."""
    return Scorer()


@st.composite
def batches(draw: st.DrawFn) -> Case:
    """An as_of, a few customers (some with no events, some created after as_of) and all
    their events, shuffled; sometimes with events of an unknown customer, to skip."""
    as_of = draw(as_ofs)
    people = []
    for i in range(draw(st.integers(1, 5))):
        person = draw(customers(as_of, f"c{i}"))
        if draw(st.booleans()):
            person["name"] = f"Customer {i}"
        people.append(person)
    for i in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        later = draw(st.integers(1, 10 * 86_400_000_000)) * US
        people.append({"id": f"later{i}", "segment": "smb", "created_at": as_of + later})
    people = list(draw(st.permutations(people)))
    owners = [p["id"] for p in people]
    unknown = draw(st.sampled_from(["error", "error", "skip"]))
    if unknown == "skip":
        owners.append("ghost")
    events: list[dict[str, Any]] = []
    for owner in owners:
        if draw(st.integers(0, 3)):
            events += draw(histories(as_of, owner, max_size=12))
    return as_of, people, list(draw(st.permutations(events))), unknown


@st.composite
def layouts(draw: st.DrawFn, styles: list[str]) -> dict[str, Any]:
    """How the frames look: a style per time column, which optional columns to leave out."""
    return {
        "times": {name: draw(st.sampled_from(styles)) for name in (*EVENT_TIMES, "created_at")},
        "drop_when_null": draw(st.booleans()),
        "properties": draw(st.booleans()),
        "attributes": draw(st.booleans()),
        "via": draw(st.sampled_from(["function", "function+scorer", "method"])),
    }


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (naive values are UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def shown(value: datetime | None, style: str) -> Any:
    """A time as a frame column of ``style`` holds it (a datetime, or an ISO 8601 string)."""
    if value is None:
        return None
    if style == "datetime":
        return as_utc(value).replace(tzinfo=None)
    if style.startswith("datetime["):
        return as_utc(value)  # moved to the column's zone when the frame is built
    if style == "offsets":
        return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).isoformat()
    if style == "Z":
        return as_utc(value).isoformat().replace("+00:00", "Z")
    return as_utc(value).replace(tzinfo=None).isoformat()


def time_type(style: str) -> str:
    """The conftest column type of a time column of ``style``."""
    return style if style.startswith("datetime") else "str"


def event_frame_rows(
    events: list[dict[str, Any]], layout: dict[str, Any]
) -> tuple[Rows, dict[str, str]]:
    """The events as frame rows and their schema, laid out as ``layout`` says."""
    times = layout["times"]
    schema = {
        name: time_type(times[name]) if kind == "time" else kind
        for name, kind in EVENT_TYPES.items()
    }
    rows = []
    for event in events:
        row: dict[str, Any] = {}
        for name in EVENT_TYPES:
            value = event.get(name)
            if name in times:
                value = shown(value, times[name])
            elif name == "properties" and value is not None:
                value = json.dumps(value, sort_keys=True)
            row[name] = value
        rows.append(row)
    drop = set()
    if not layout["properties"]:
        drop.add("properties")
    if layout["drop_when_null"]:
        drop |= {name for name in OPTIONAL_EVENT_COLUMNS if all(row[name] is None for row in rows)}
    rows = [{k: v for k, v in row.items() if k not in drop} for row in rows]
    return rows, {k: v for k, v in schema.items() if k not in drop}


def customer_frame_rows(
    people: list[dict[str, Any]], layout: dict[str, Any]
) -> tuple[Rows, dict[str, str]]:
    """The customers as frame rows and their schema, with attribute columns if asked."""
    style = layout["times"]["created_at"]
    schema = {"id": "str", "segment": "str", "name": "str", "created_at": time_type(style)}
    rows = []
    for index, person in enumerate(people):
        row = {
            "id": person["id"],
            "segment": person["segment"],
            "name": person.get("name"),
            "created_at": shown(person.get("created_at"), style),
        }
        if layout["attributes"]:
            row["plan"] = ["basic", "pro", None][index % 3]
            row["seats"] = index * 7
        rows.append(row)
    if layout["attributes"]:
        schema |= {"plan": "str", "seats": "int"}
    if layout["drop_when_null"]:
        for name in ("name", "created_at"):
            if all(row[name] is None for row in rows):
                del schema[name]
                for row in rows:
                    del row[name]
    return rows, schema


def close(got: Any, want: float | None) -> bool:
    """Equal to within 1e-9, or both null."""
    if got is None or want is None:
        return got is None and want is None
    return abs(got - want) <= TOL


def assert_same_scores(rows: Rows, want: HealthScores) -> None:
    """Each output row carries what score_many gives the same customer, in the same order."""
    assert [row["customer_id"] for row in rows] == [s.customer_id for s in want]
    for row, health in zip(rows, want, strict=True):
        who = row["customer_id"]
        assert close(row["score"], health.score), (who, "score", row["score"], health.score)
        assert row["status"] == health.status.value, (who, row["status"], health.status)
        assert close(row["coverage"], health.coverage), (who, row["coverage"], health.coverage)
        for part in health.factors:
            got, value = row[part.name], row[f"{part.name}_value"]
            assert close(got, part.score), (who, part.name, got, part.score)
            assert close(value, part.value), (who, f"{part.name}_value", value, part.value)


def run(backend: Backend, case: Case, layout: dict[str, Any]) -> None:
    """Score the case both ways and compare (with the warning if customers are left out)."""
    as_of, people, events, unknown = case
    scorer = reference_scorer()
    want = scorer.score_many(people, events, as_of=as_of, unknown_customers=unknown)
    customer_rows, customer_schema = customer_frame_rows(people, layout)
    event_rows, event_schema = event_frame_rows(events, layout)
    customer_frame = backend.to_frame(customer_rows, customer_schema)
    event_frame = backend.to_frame(event_rows, event_schema)

    def scored() -> Rows:
        options: dict[str, Any] = {"as_of": as_of, "unknown_customers": unknown}
        if layout["via"] == "method":
            out = scorer.score_frame(customer_frame, event_frame, **options)
        elif layout["via"] == "function+scorer":
            out = customer_health.score_frame(customer_frame, event_frame, scorer=scorer, **options)
        else:
            out = customer_health.score_frame(customer_frame, event_frame, **options)
        assert isinstance(out, backend.frame_type), type(out)
        return backend.to_rows(out)

    left_out = len(want.not_created)
    if left_out:
        with pytest.warns(CustomersLeftOutWarning, match=rf"\b{left_out}\b"):
            rows = scored()
    else:
        rows = scored()  # and no warning: pytest runs with warnings as errors
    assert_same_scores(rows, want)


@PROFILE
@given(case=batches(), layout=layouts(TIME_STYLES))
def test_score_frame_equals_score_many(backend: Backend, case: Case, layout: Any) -> None:
    """With datetime columns (naive, UTC or other zones) score_frame equals score_many."""
    run(backend, case, layout)


@ISO_PROFILE
@given(case=batches(), layout=layouts(ISO_STYLES))
def test_iso_string_columns_equal_score_many(backend: Backend, case: Case, layout: Any) -> None:
    """With ISO 8601 string time columns (mixed offsets, Z, naive) score_frame equals score_many."""
    run(backend, case, layout)


@settings(PROFILE, max_examples=25)
@given(case=batches(), layout=layouts(TIME_STYLES))
def test_ids_as_text_when_hashes_collide(
    monkeypatch: pytest.MonkeyPatch, case: Case, layout: Any
) -> None:
    """Built-in factors group events by a hash of the customer id only while no two ids
    share one; else by the ids themselves (a collision only a test can arrange), which
    gives the same scores."""
    monkeypatch.setattr(_polars, "_distinct_hashes", lambda ids: False)
    run(make_backend("polars"), case, layout)
