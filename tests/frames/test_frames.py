"""score_frame on each backend: types, column mapping, time columns, and bad input."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

import customer_health
from customer_health import (
    ConfigurationError,
    EventConflictError,
    InvalidCustomerError,
    InvalidEventError,
    InvalidInputError,
    Scorer,
    UnknownCustomerError,
    UnknownSegmentError,
)

from ..test_worked_example import worked_example
from .conftest import Backend, Rows, arrow_table, duckdb_connection, make_backend

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)
DAY = timedelta(days=1)
US = timedelta(microseconds=1)
TOL = 1e-9
FACTORS = (
    "api_usage",
    "login_frequency",
    "payment_timeliness",
    "feature_adoption",
    "support_tickets",
)
V2_FACTORS = (*FACTORS, "last_seen", "activity_trend")
"""The default model's factors: v1's and model v2's own."""
OUTPUT_COLUMNS = {
    "customer_id",
    "score",
    "status",
    "coverage",
    *V2_FACTORS,
    *(f"{name}_value" for name in V2_FACTORS),
}
EVENT_SCHEMA = {
    "customer_id": "str",
    "kind": "str",
    "occurred_at": "datetime[UTC]",
    "event_id": "str",
    "quantity": "int",
    "feature": "str",
    "due_at": "datetime[UTC]",
    "paid_at": "datetime[UTC]",
    "amount": "float",
    "priority": "str",
    "resolved_at": "datetime[UTC]",
    "user_id": "str",
    "properties": "str",
}
EVENT_TIMES = ("occurred_at", "due_at", "paid_at", "resolved_at")
CUSTOMER_SCHEMA = {"id": "str", "segment": "str", "name": "str", "created_at": "datetime[UTC]"}

PEOPLE: Rows = [
    {
        "id": "acme",
        "segment": "smb",
        "name": "Acme",
        "created_at": datetime(2020, 1, 1, tzinfo=UTC),
    },
    {"id": "zed", "segment": "startup", "name": None, "created_at": None},
    {"id": "beta", "segment": "enterprise", "name": "Beta", "created_at": AS_OF - 10 * DAY},
]


def beta_events() -> Rows:
    """A few events of a young customer, at window edges and around UTC midnight."""
    return [
        # Logins at 23:30 and 00:30 UTC: two UTC dates (one date in Asia/Kolkata).
        {"customer_id": "beta", "kind": "login", "occurred_at": datetime(2026, 6, 28, 23, 30)},
        {"customer_id": "beta", "kind": "login", "occurred_at": datetime(2026, 6, 29, 0, 30)},
        {"customer_id": "beta", "kind": "login", "occurred_at": AS_OF - 30 * DAY},  # out
        {"customer_id": "beta", "kind": "login", "occurred_at": AS_OF - 30 * DAY + US},  # in
        {"customer_id": "beta", "kind": "api_call", "occurred_at": AS_OF, "quantity": 40},
        {"customer_id": "beta", "kind": "api_call", "occurred_at": AS_OF + US, "quantity": 9},
        {
            "customer_id": "beta",
            "kind": "support_ticket",
            "occurred_at": AS_OF - 5 * DAY,
            "priority": "urgent",
            "resolved_at": AS_OF + DAY,
        },
        {
            "customer_id": "beta",
            "kind": "payment",
            "occurred_at": AS_OF - 20 * DAY,
            "due_at": AS_OF - 10 * DAY,
            "paid_at": None,
            "amount": 99.5,
        },
        {
            "customer_id": "beta",
            "kind": "nps_response",
            "occurred_at": AS_OF - DAY,
            "properties": {"score": 9},
        },
        {"customer_id": "beta", "kind": "feature_used", "occurred_at": AS_OF, "feature": "sso"},
    ]


def all_events() -> Rows:
    """The worked example's events and beta's, each with every column (null where absent)."""
    return [full_event(event) for event in worked_example(AS_OF) + beta_events()]


def full_event(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` as a frame row: every column, times in UTC, properties as JSON text."""
    row = {name: event.get(name) for name in EVENT_SCHEMA}
    for name in EVENT_TIMES:
        if row[name] is not None:
            row[name] = as_utc(row[name])
    if row["properties"] is not None:
        row["properties"] = json_text(row["properties"])
    return row


def json_text(value: Any) -> str:
    """``value`` as JSON text."""
    return json.dumps(value, sort_keys=True)


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (naive values are UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def as_dicts(events: Rows) -> Rows:
    """Frame rows as score_many events: null fields left out, properties parsed."""
    out = []
    for row in events:
        event = {k: v for k, v in row.items() if v is not None}
        if "properties" in event:
            event["properties"] = json.loads(event["properties"])
        out.append(event)
    return out


def reference(people: Rows, events: Rows, scorer: Scorer | None = None) -> Rows:
    """What score_many gives, as the rows score_frame should give."""
    scores = (scorer or Scorer()).score_many(
        [{k: v for k, v in p.items() if v is not None} for p in people],
        as_dicts(events),
        as_of=AS_OF,
    )
    rows = []
    for health in scores:
        row: dict[str, Any] = {
            "customer_id": health.customer_id,
            "score": health.score,
            "status": health.status.value,
            "coverage": health.coverage,
        }
        for part in health.factors:
            row[part.name] = part.score
            row[f"{part.name}_value"] = part.value
        rows.append(row)
    return rows


def assert_rows_equal(got: Rows, want: Rows) -> None:
    """Same customers in the same order; numbers to 1e-9, statuses exactly."""
    assert [r["customer_id"] for r in got] == [r["customer_id"] for r in want]
    for g, w in zip(got, want, strict=True):
        for name, expected in w.items():
            actual = g[name]
            if isinstance(expected, float | int) and not isinstance(expected, bool):
                ok = actual is not None and abs(actual - expected) <= TOL
            else:
                ok = actual == expected
            assert ok, (w["customer_id"], name, "got", actual, "expected", expected)


def frames(
    backend: Backend,
    people: Rows,
    events: Rows,
    customer_schema: dict[str, str] | None = None,
    event_schema: dict[str, str] | None = None,
) -> tuple[Any, Any]:
    """The customers and events frames of ``backend``."""
    return (
        backend.to_frame(people, CUSTOMER_SCHEMA if customer_schema is None else customer_schema),
        backend.to_frame(events, EVENT_SCHEMA if event_schema is None else event_schema),
    )


def scored(backend: Backend, customer_frame: Any, event_frame: Any, **kwargs: Any) -> Rows:
    """score_frame's output rows (a lazy output collected: errors may surface either way)."""
    kwargs.setdefault("as_of", AS_OF)
    return backend.to_rows(customer_health.score_frame(customer_frame, event_frame, **kwargs))


def without(rows: Rows, schema: dict[str, str], *names: str) -> tuple[Rows, dict[str, str]]:
    """The rows and schema with the columns ``names`` left out."""
    return (
        [{k: v for k, v in row.items() if k not in names} for row in rows],
        {k: v for k, v in schema.items() if k not in names},
    )


# -- the output --------------------------------------------------------------------


def test_output_is_the_type_of_the_customers_frame(backend: Backend) -> None:
    """score_frame returns the type of the customers frame (lazy stays lazy)."""
    customer_frame, event_frame = frames(backend, PEOPLE, all_events())
    out = customer_health.score_frame(customer_frame, event_frame, as_of=AS_OF)
    assert isinstance(out, backend.frame_type), (backend.name, type(out))


def test_polars_lazy_in_gives_lazy_out() -> None:
    """A polars LazyFrame in gives a LazyFrame out, which collects to the scores."""
    pl = pytest.importorskip("polars")
    lazy = make_backend("polars-lazy")
    customer_frame, event_frame = frames(lazy, PEOPLE, all_events())
    out = customer_health.score_frame(customer_frame, event_frame, as_of=AS_OF)
    assert isinstance(out, pl.LazyFrame)
    assert_rows_equal(lazy.to_rows(out), reference(PEOPLE, all_events()))


def test_output_columns_and_value_types(backend: Backend) -> None:
    """The output has customer_id, score, status, coverage and each factor with its value."""
    rows = scored(backend, *frames(backend, PEOPLE, all_events()))
    assert set(rows[0]) == OUTPUT_COLUMNS
    for row in rows:
        assert isinstance(row["customer_id"], str)
        assert isinstance(row["score"], float)
        assert row["status"] in {"healthy", "at_risk", "critical", "unknown"}
        assert isinstance(row["coverage"], float)
    assert rows[1]["payment_timeliness"] is None  # zed has no invoices: no data
    assert rows[1]["payment_timeliness_value"] is None


def test_worked_example_in_a_frame(backend: Backend) -> None:
    """Model v1's worked example gives 78.75 healthy; a customer with no events 20 critical."""
    rows = scored(backend, *frames(backend, PEOPLE, all_events()), scorer=Scorer(model="v1"))
    acme, zed, _ = rows
    assert acme["score"] == pytest.approx(78.75, abs=TOL)
    assert acme["status"] == "healthy"
    assert acme["coverage"] == pytest.approx(1.0, abs=TOL)
    assert [acme[f] for f in FACTORS] == pytest.approx([80.0, 80.0, 75.0, 60.0, 100.0], abs=TOL)
    assert [acme[f"{f}_value"] for f in FACTORS] == pytest.approx([400, 12, 7.5, 3, 3.5], abs=TOL)
    # No events: usage 0, no invoices, no tickets (100): 0.15 * 100 / 0.75 = 20.
    assert zed["score"] == pytest.approx(20.0, abs=TOL)
    assert zed["status"] == "critical"
    assert zed["coverage"] == pytest.approx(0.75, abs=TOL)


def test_matches_score_many_at_edges(backend: Backend) -> None:
    """Window edges, UTC dates, proration, open tickets and custom kinds match score_many."""
    rows = scored(backend, *frames(backend, PEOPLE, all_events()))
    assert_rows_equal(rows, reference(PEOPLE, all_events()))


def test_rows_follow_the_customers_order(backend: Backend) -> None:
    """Output rows come in the order of the customers frame, not sorted nor joined order."""
    ids = [f"k{(i * 7919) % 600:03d}" for i in range(600)]
    people = [{"id": cid, "segment": "smb", "name": None, "created_at": None} for cid in ids]
    events = [
        full_event({"customer_id": cid, "kind": "login", "occurred_at": AS_OF - (i % 40) * DAY})
        for i, cid in enumerate(ids)
        if i % 3
    ]
    rows = scored(backend, *frames(backend, people, events))
    assert [row["customer_id"] for row in rows] == ids
    assert_rows_equal(rows, reference(people, events))


def test_scorer_configuration_is_used(backend: Backend) -> None:
    """A scorer with two factors and other weights gives only those columns, as score_many."""
    scorer = Scorer(factors=["api_usage", "support_tickets"], weights={"api_usage": 3.0})
    customer_frame, event_frame = frames(backend, PEOPLE, all_events())
    by_method = backend.to_rows(scorer.score_frame(customer_frame, event_frame, as_of=AS_OF))
    by_function = scored(backend, customer_frame, event_frame, scorer=scorer)
    want = reference(PEOPLE, all_events(), scorer)
    for rows in (by_method, by_function):
        assert set(rows[0]) == {
            "customer_id",
            "score",
            "status",
            "coverage",
            "api_usage",
            "api_usage_value",
            "support_tickets",
            "support_tickets_value",
        }
        assert_rows_equal(rows, want)


def test_no_events_and_no_customers(backend: Backend) -> None:
    """An empty events frame scores every customer as having no events; no customers, no rows."""
    rows = scored(backend, *frames(backend, PEOPLE, []))
    assert_rows_equal(rows, reference(PEOPLE, []))
    assert scored(backend, *frames(backend, [], [])) == []


@pytest.mark.parametrize("as_of", ["2026-06-30", date(2026, 6, 30), datetime(2026, 6, 30)])
def test_as_of_forms(backend: Backend, as_of: Any) -> None:
    """as_of as an ISO date string, a date or a naive datetime means 2026-06-30T00:00Z."""
    rows = scored(backend, *frames(backend, PEOPLE, all_events()), as_of=as_of)
    assert_rows_equal(rows, reference(PEOPLE, all_events()))


# -- columns -----------------------------------------------------------------------


def test_events_column_mapping(backend: Backend) -> None:
    """columns= maps the user's event column names onto customer_id, occurred_at and kind."""
    names = {"customer_id": "cust", "occurred_at": "ts", "kind": "what", "quantity": "n"}
    events = [{names.get(k, k): v for k, v in row.items()} for row in all_events()]
    schema = {names.get(k, k): v for k, v in EVENT_SCHEMA.items()}
    rows = scored(
        backend,
        *frames(backend, PEOPLE, events, event_schema=schema),
        columns={user: ours for ours, user in names.items()},
    )
    assert_rows_equal(rows, reference(PEOPLE, all_events()))


def test_customers_column_mapping(backend: Backend) -> None:
    """columns= maps the user's customer column names onto id, segment and created_at."""
    names = {"id": "account", "segment": "tier", "created_at": "since"}
    people = [{names.get(k, k): v for k, v in row.items()} for row in PEOPLE]
    schema = {names.get(k, k): v for k, v in CUSTOMER_SCHEMA.items()}
    rows = scored(
        backend,
        *frames(backend, people, all_events(), customer_schema=schema),
        columns={user: ours for ours, user in names.items()},
    )
    assert_rows_equal(rows, reference(PEOPLE, all_events()))


def test_absent_optional_columns_count_as_null(backend: Backend) -> None:
    """Leaving out optional columns that are all null changes nothing, on both frames."""
    events = [
        full_event({"customer_id": "acme", "kind": "api_call", "occurred_at": AS_OF - DAY}),
        full_event({"customer_id": "acme", "kind": "login", "occurred_at": AS_OF - DAY}),
        full_event({"customer_id": "zed", "kind": "support_ticket", "occurred_at": AS_OF}),
    ]
    full = scored(backend, *frames(backend, PEOPLE, events))
    optional = [n for n in EVENT_SCHEMA if n not in ("customer_id", "kind", "occurred_at")]
    few_events, few_schema = without(events, EVENT_SCHEMA, *optional)
    people = [{"id": p["id"], "segment": p["segment"]} for p in PEOPLE]
    bare = scored(
        backend,
        *frames(backend, people, few_events, {"id": "str", "segment": "str"}, few_schema),
    )
    people_no_created = [{**p, "created_at": None} for p in PEOPLE]
    assert_rows_equal(full, reference(PEOPLE, events))
    assert_rows_equal(bare, reference(people_no_created, events))
    # A missing quantity is 1 call; a missing priority is normal and unresolved: 1.5.
    assert bare[0]["api_usage_value"] == pytest.approx(1)
    assert bare[1]["support_tickets_value"] == pytest.approx(1.5)


def test_properties_column_may_be_left_out(backend: Backend) -> None:
    """Custom-kind events score the same with their properties as JSON text or no such column."""
    events = all_events()
    with_properties = scored(backend, *frames(backend, PEOPLE, events))
    rows, schema = without(events, EVENT_SCHEMA, "properties")
    assert_rows_equal(
        scored(backend, *frames(backend, PEOPLE, rows, event_schema=schema)), with_properties
    )


def test_attribute_columns_are_ignored(backend: Backend) -> None:
    """Extra customer columns (attributes) do not change any built-in factor."""
    people = [{**p, "plan": "pro", "seats": 10 + i, "mrr": 99.5} for i, p in enumerate(PEOPLE)]
    schema = {**CUSTOMER_SCHEMA, "plan": "str", "seats": "int", "mrr": "float"}
    rows = scored(backend, *frames(backend, people, all_events(), customer_schema=schema))
    assert_rows_equal(rows, reference(PEOPLE, all_events()))


def test_duplicate_event_ids_count_once(backend: Backend) -> None:
    """Identical rows sharing an event_id count once; rows without an event_id all count."""
    base = full_event(
        {"customer_id": "acme", "kind": "api_call", "occurred_at": AS_OF, "quantity": 7}
    )
    events = [{**base, "event_id": "e1"}, {**base, "event_id": "e1"}, base, base]
    # The same id for another customer, with other content, is another event.
    events.append({**base, "customer_id": "zed", "event_id": "e1", "quantity": 3})
    rows = scored(backend, *frames(backend, PEOPLE, events))
    assert [r["api_usage_value"] for r in rows] == pytest.approx([21, 3, 0])
    assert_rows_equal(rows, reference(PEOPLE, events))


def test_integer_ids_are_read_as_strings(backend: Backend) -> None:
    """Integer customer ids (model: read as the decimal string) join and score like strings."""
    people = [{"id": 7, "segment": "smb"}, {"id": 12, "segment": "startup"}]
    events = [
        {"customer_id": 12, "kind": "api_call", "occurred_at": AS_OF, "quantity": 100},
        {"customer_id": 7, "kind": "login", "occurred_at": AS_OF},
    ]
    rows = scored(
        backend,
        backend.to_frame(people, {"id": "int", "segment": "str"}),
        backend.to_frame(events, {"customer_id": "int", "occurred_at": "datetime[UTC]"}),
    )
    assert [str(r["customer_id"]) for r in rows] == ["7", "12"]
    assert [r["api_usage_value"] for r in rows] == pytest.approx([0, 100])
    assert [r["login_frequency_value"] for r in rows] == pytest.approx([1, 0])


# -- time columns ------------------------------------------------------------------

TIME_STYLES = [
    "datetime",
    "datetime[UTC]",
    "datetime[Asia/Kolkata]",
    "datetime[America/Los_Angeles]",
    "datetime[Pacific/Chatham]",
    "iso-offset",
    "iso-Z",
    "iso-naive",
]


def restyled(rows: Rows, schema: dict[str, str], names: tuple[str, ...], style: str) -> Any:
    """Rows and schema with the time columns ``names`` in ``style`` (typed, or ISO strings)."""
    out = []
    for row in rows:
        new = dict(row)
        for name in names:
            value = new.get(name)
            if value is None or style.startswith("datetime["):
                continue
            value = as_utc(value)
            if style == "datetime":
                new[name] = value.replace(tzinfo=None)
            elif style == "iso-offset":
                zone = [timezone_of(h) for h in (5.5, -8, 12.75)][value.microsecond % 3]
                new[name] = value.astimezone(zone).isoformat()
            elif style == "iso-Z":
                new[name] = value.isoformat().replace("+00:00", "Z")
            else:
                new[name] = value.replace(tzinfo=None).isoformat()
        out.append(new)
    kind = style if style.startswith("datetime") else "str"
    return out, {k: kind if k in names else v for k, v in schema.items()}


def timezone_of(hours: float) -> Any:
    """A fixed-offset zone."""
    from datetime import timezone

    return timezone(timedelta(hours=hours))


@pytest.mark.parametrize("style", TIME_STYLES)
def test_time_column_styles_give_the_same_scores(backend: Backend, style: str) -> None:
    """Naive (UTC), aware in any zone, and ISO 8601 string time columns all score the same."""
    events, event_schema = restyled(all_events(), EVENT_SCHEMA, EVENT_TIMES, style)
    people, customer_schema = restyled(PEOPLE, CUSTOMER_SCHEMA, ("created_at",), style)
    rows = scored(backend, *frames(backend, people, events, customer_schema, event_schema))
    assert_rows_equal(rows, reference(PEOPLE, all_events()))


def test_iso_strings_may_mix_naive_and_offsets(backend: Backend) -> None:
    """One ISO 8601 string column may mix Z, offsets, naive (UTC) and fractions."""
    texts = [
        "2026-06-29T09:00:00Z",
        "2026-06-28T23:30:00.000001+00:00",
        "2026-06-27T05:30:00+05:30",  # 2026-06-27T00:00Z
        "2026-06-26T12:00:00",
        "2026-06-25T16:00:00.5-08:00",  # 2026-06-26T00:00:00.5Z
        "2026-05-31T00:00:00+00:00",  # exactly 30 days before: out of the window
    ]
    events = [{"customer_id": "zed", "kind": "login", "occurred_at": text} for text in texts]
    rows = scored(
        backend,
        *frames(
            backend,
            PEOPLE,
            events,
            event_schema={"customer_id": "str", "kind": "str", "occurred_at": "str"},
        ),
    )
    assert rows[1]["login_frequency_value"] == pytest.approx(4)  # 29, 28, 27, 26 June (UTC)
    assert_rows_equal(rows, reference(PEOPLE, events))


def test_iso_date_strings_are_midnight_utc(backend: Backend) -> None:
    """A date-only ISO string means 00:00 UTC that day (a created_at 10 days ago prorates)."""
    people = [{"id": "new", "segment": "smb", "created_at": "2026-06-20"}]
    events = [
        {"customer_id": "new", "kind": "api_call", "occurred_at": "2026-06-29", "quantity": 50}
    ]
    rows = scored(
        backend,
        backend.to_frame(people),
        backend.to_frame(events),
    )
    # Expected calls prorated to 500 * 10 / 30; 50 calls are 30 %.
    assert rows[0]["api_usage"] == pytest.approx(30.0, abs=TOL)


@pytest.mark.parametrize("unit", ["s", "ms", "ns"])
def test_other_timestamp_units(backend: Backend, unit: str) -> None:
    """Second, millisecond and nanosecond columns score like microsecond ones."""
    pa = pytest.importorskip("pyarrow")
    events = all_events()
    columns = {}
    for name, kind in EVENT_SCHEMA.items():
        values = [row[name] for row in events]
        if kind.startswith("datetime"):
            # Whole seconds (or the unit's resolution) so that nothing is lost.
            values = [None if v is None else v.replace(microsecond=0) for v in values]
            columns[name] = pa.array(values, type=pa.timestamp(unit, tz="UTC"))
        else:
            columns[name] = pa.array(
                values, type={"str": pa.string(), "int": pa.int64(), "float": pa.float64()}[kind]
            )
    table = pa.table(columns)
    truncated = [
        {**row, **{n: table.column(n)[i].as_py() for n in EVENT_TIMES}}
        for i, row in enumerate(events)
    ]
    customer_frame = backend.to_frame(PEOPLE, CUSTOMER_SCHEMA)
    rows = scored(backend, customer_frame, backend.from_arrow(table))
    assert_rows_equal(rows, reference(PEOPLE, truncated))


def test_nanoseconds_are_truncated(backend: Backend) -> None:
    """Finer than microsecond parts are truncated: as_of + 999 ns in, as_of - 30 d + 999 ns out."""
    pa = pytest.importorskip("pyarrow")
    as_of_ns = int(AS_OF.timestamp()) * 1_000_000_000
    thirty_days_ns = 30 * 86_400 * 1_000_000_000
    table = pa.table(
        {
            "customer_id": pa.array(["zed", "zed", "zed"]),
            "kind": pa.array(["api_call", "login", "login"]),
            "occurred_at": pa.array(
                [as_of_ns + 999, as_of_ns - thirty_days_ns + 999, as_of_ns - 1],
                type=pa.timestamp("ns", tz="UTC"),
            ),
        }
    )
    customer_frame = backend.to_frame(PEOPLE, CUSTOMER_SCHEMA)
    rows = scored(backend, customer_frame, backend.from_arrow(table))
    assert rows[1]["api_usage_value"] == pytest.approx(1)
    assert rows[1]["login_frequency_value"] == pytest.approx(1)  # only the one at as_of - 1 ns


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/Los_Angeles", "Pacific/Chatham"])
def test_duckdb_session_time_zone_changes_nothing(zone: str) -> None:
    """A DuckDB relation scores the same whatever the session's TimeZone setting."""
    connection = duckdb_connection(zone)
    try:
        duck = make_backend("duckdb", connection)
        rows = scored(duck, *frames(duck, PEOPLE, all_events()))
        assert_rows_equal(rows, reference(PEOPLE, all_events()))
    finally:
        connection.close()


# -- bad input ---------------------------------------------------------------------


def raises_naming(
    backend: Backend,
    error: type[Exception],
    words: list[str],
    people: Rows,
    events: Rows,
    customer_schema: dict[str, str] | None = None,
    event_schema: dict[str, str] | None = None,
    **kwargs: Any,
) -> str:
    """score_frame raises ``error`` (at the call or on collecting) whose message has ``words``."""
    customer_frame, event_frame = frames(backend, people, events, customer_schema, event_schema)
    with pytest.raises(error) as caught:
        scored(backend, customer_frame, event_frame, **kwargs)
    message = str(caught.value)
    for word in words:
        assert word in message, (word, message)
    return message


@pytest.mark.parametrize(
    ("frame", "column"),
    [
        ("customers", "id"),
        ("customers", "segment"),
        ("events", "customer_id"),
        ("events", "kind"),
        ("events", "occurred_at"),
    ],
)
def test_missing_required_column(backend: Backend, frame: str, column: str) -> None:
    """A frame without a required column is an InvalidInputError naming the column."""
    people, customer_schema = PEOPLE, CUSTOMER_SCHEMA
    events, event_schema = all_events(), EVENT_SCHEMA
    if frame == "customers":
        people, customer_schema = without(people, customer_schema, column)
    else:
        events, event_schema = without(events, event_schema, column)
    raises_naming(
        backend, InvalidInputError, [column], people, events, customer_schema, event_schema
    )


def test_null_customer_id(backend: Backend) -> None:
    """A null customer id is an InvalidCustomerError naming the column."""
    people = [*PEOPLE, {"id": None, "segment": "smb"}]
    raises_naming(backend, InvalidCustomerError, ["id"], people, all_events())


def test_null_event_customer_id(backend: Backend) -> None:
    """An event with a null customer_id is an InvalidEventError naming the column."""
    events = [
        *all_events(),
        full_event({"customer_id": None, "kind": "login", "occurred_at": AS_OF}),
    ]
    raises_naming(backend, InvalidEventError, ["customer_id"], PEOPLE, events)


def test_duplicate_customer_ids(backend: Backend) -> None:
    """A customer id appearing twice is an InvalidCustomerError naming it (as score_many)."""
    people = [*PEOPLE, {"id": "zed", "segment": "smb"}]
    raises_naming(backend, InvalidCustomerError, ["zed"], people, all_events())


def test_unknown_segment(backend: Backend) -> None:
    """An unknown segment is an UnknownSegmentError naming it and listing the known ones."""
    people = [*PEOPLE, {"id": "mid", "segment": "mid-market"}]
    raises_naming(backend, UnknownSegmentError, ["mid-market", "smb"], people, all_events())


@pytest.mark.parametrize("column", ["occurred_at", "due_at", "paid_at", "resolved_at"])
def test_unparseable_event_timestamp(backend: Backend, column: str) -> None:
    """An unparseable ISO string in an event time column is an error naming column and value."""
    events, schema = restyled(all_events(), EVENT_SCHEMA, (column,), "iso-Z")
    kind = {"due_at": "payment", "paid_at": "payment", "resolved_at": "support_ticket"}
    for row in events:
        if row["kind"] == kind.get(column, "login"):
            row[column] = "yesterday"
            break
    raises_naming(
        backend, InvalidInputError, [column, "yesterday"], PEOPLE, events, event_schema=schema
    )


def test_unparseable_created_at(backend: Backend) -> None:
    """An unparseable created_at string is an InvalidInputError naming the column."""
    people, schema = restyled(PEOPLE, CUSTOMER_SCHEMA, ("created_at",), "iso-Z")
    people[1]["created_at"] = "31/12/2025"
    raises_naming(
        backend, InvalidInputError, ["created_at", "31/12/2025"], people, all_events(), schema
    )


@pytest.mark.parametrize(
    ("event", "column", "shown"),
    [
        ({"kind": "api_call", "quantity": 0}, "quantity", "0"),
        ({"kind": "api_call", "quantity": -7}, "quantity", "-7"),
        ({"kind": "feature_used", "feature": ""}, "feature", "feature_used"),
        ({"kind": "feature_used", "feature": None}, "feature", "feature_used"),
        ({"kind": "support_ticket", "priority": "critical"}, "priority", "critical"),
        ({"kind": "support_ticket", "priority": "High"}, "priority", "High"),
        ({"kind": "payment", "due_at": None}, "due_at", "payment"),
        ({"kind": "payment", "due_at": AS_OF, "amount": -1.0}, "amount", "-1"),
        ({"kind": "login", "quantity": 5}, "quantity", "login"),
        ({"kind": "api_call", "user_id": "u1"}, "user_id", "api_call"),
        ({"kind": "login", "properties": '{"a": 1}'}, "properties", "login"),
    ],
)
def test_invalid_builtin_field(
    backend: Backend, event: dict[str, Any], column: str, shown: str
) -> None:
    """An invalid built-in field is an InvalidEventError naming the column and showing the row."""
    bad = full_event({"customer_id": "acme", "occurred_at": AS_OF - DAY, **event})
    raises_naming(backend, InvalidEventError, [column, shown], PEOPLE, [*all_events(), bad])


def test_payment_without_a_due_at_column(backend: Backend) -> None:
    """Payments in a frame with no due_at column at all are an error naming due_at."""
    events, schema = without(all_events(), EVENT_SCHEMA, "due_at")
    raises_naming(backend, InvalidEventError, ["due_at"], PEOPLE, events, event_schema=schema)


def test_error_shows_only_a_few_rows(backend: Backend) -> None:
    """Many bad rows give a short message that still shows offending values."""
    bad = [
        full_event(
            {"customer_id": "acme", "kind": "api_call", "occurred_at": AS_OF, "quantity": -i}
        )
        for i in range(1, 500)
    ]
    message = raises_naming(backend, InvalidEventError, ["quantity", "-1"], PEOPLE, bad)
    assert len(message) < 3000, len(message)


def test_event_id_conflict(backend: Backend) -> None:
    """One event_id with two contents for one customer is an EventConflictError naming the id."""
    first = full_event(
        {"customer_id": "acme", "kind": "api_call", "occurred_at": AS_OF, "event_id": "inv-42"}
    )
    second = {**first, "quantity": 2}
    raises_naming(backend, EventConflictError, ["inv-42"], PEOPLE, [*all_events(), first, second])


def test_event_id_conflict_outside_the_window(backend: Backend) -> None:
    """A conflict is an error even when both copies lie outside every window (dedupe first)."""
    first = full_event(
        {
            "customer_id": "acme",
            "kind": "login",
            "occurred_at": AS_OF - 400 * DAY,
            "event_id": "old",
        }
    )
    second = {**first, "occurred_at": AS_OF + 3 * DAY}
    raises_naming(backend, EventConflictError, ["old"], PEOPLE, [*all_events(), first, second])


# -- customers left out and unknown customers --------------------------------------


def ghost_events() -> Rows:
    """Events of two customers who are not in the customers frame."""
    return [
        full_event({"customer_id": cid, "kind": "login", "occurred_at": AS_OF - DAY})
        for cid in ("ghost", "ghost", "phantom")
    ]


def test_unknown_customers_are_an_error(backend: Backend) -> None:
    """Events of customers not in the customers frame are an UnknownCustomerError naming them."""
    raises_naming(
        backend,
        UnknownCustomerError,
        ["ghost", "phantom"],
        PEOPLE,
        [*all_events(), *ghost_events()],
    )


def test_unknown_customers_skipped(backend: Backend) -> None:
    """With unknown_customers="skip" their events are skipped and the rest scored as usual."""
    rows = scored(
        backend,
        *frames(backend, PEOPLE, [*all_events(), *ghost_events()]),
        unknown_customers="skip",
    )
    assert_rows_equal(rows, reference(PEOPLE, all_events()))


def test_unknown_customers_bad_option(backend: Backend) -> None:
    """unknown_customers other than "error" or "skip" is a ConfigurationError."""
    customer_frame, event_frame = frames(backend, PEOPLE, all_events())
    with pytest.raises(ConfigurationError, match="unknown_customers"):
        scored(backend, customer_frame, event_frame, unknown_customers="ignore")


def test_customers_created_after_as_of_are_left_out(backend: Backend) -> None:
    """Customers created after as_of are left out with a CustomersLeftOutWarning saying how many."""
    assert issubclass(customer_health.CustomersLeftOutWarning, UserWarning)
    later = [
        {"id": "future1", "segment": "smb", "created_at": AS_OF + US},
        {"id": "future2", "segment": "startup", "created_at": AS_OF + 9 * DAY},
    ]
    people = [PEOPLE[0], later[0], *PEOPLE[1:], later[1]]
    # Their events are not events of unknown customers: no UnknownCustomerError.
    events = [
        *all_events(),
        full_event({"customer_id": "future1", "kind": "login", "occurred_at": AS_OF}),
    ]
    customer_frame, event_frame = frames(backend, people, events)
    with pytest.warns(customer_health.CustomersLeftOutWarning, match="2") as caught:
        rows = scored(backend, customer_frame, event_frame)
    assert len(caught) == 1
    assert_rows_equal(rows, reference(PEOPLE, all_events()))


def test_no_warning_when_nobody_is_left_out(backend: Backend) -> None:
    """A customer created exactly at as_of is scored, and no warning is given."""
    people = [{"id": "born", "segment": "smb", "created_at": AS_OF}]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = scored(backend, *frames(backend, people, []))
    assert_rows_equal(rows, reference(people, []))


@pytest.mark.parametrize("via", ["function", "method"])
def test_left_out_warning_points_at_the_caller(backend: Backend, via: str) -> None:
    """The CustomersLeftOutWarning points at the caller's line, via the function or the method."""
    people = [*PEOPLE, {"id": "future", "segment": "smb", "created_at": AS_OF + DAY}]
    customer_frame, event_frame = frames(backend, people, all_events())
    call = customer_health.score_frame if via == "function" else Scorer().score_frame
    with pytest.warns(customer_health.CustomersLeftOutWarning) as caught:
        backend.to_rows(call(customer_frame, event_frame, as_of=AS_OF))
    assert [w.filename for w in caught] == [__file__]


# -- beyond the first slice's list: what users will pass and expect ----------------


def test_duckdb_output_is_on_the_callers_connection() -> None:
    """The output relation lives on the input's connection, so it joins with the user's tables."""
    connection = duckdb_connection("UTC")
    try:
        duck = make_backend("duckdb", connection)
        customer_frame, event_frame = frames(duck, PEOPLE, all_events())
        out = customer_health.score_frame(customer_frame, event_frame, as_of=AS_OF)
        joined = customer_frame.join(out, "id = customer_id").select("id, status")
        want = reference(PEOPLE, all_events())
        assert sorted(joined.fetchall()) == sorted((r["customer_id"], r["status"]) for r in want)
    finally:
        connection.close()


def test_categorical_text_columns(backend: Backend) -> None:
    """Dictionary-encoded text (pandas category, polars Categorical, DuckDB ENUM) is text."""
    pa = pytest.importorskip("pyarrow")
    events, event_schema = all_events(), EVENT_SCHEMA
    event_table = backend_table(events, event_schema, ("kind", "priority", "feature"))
    customer_table = backend_table(PEOPLE, CUSTOMER_SCHEMA, ("segment",))
    assert pa.types.is_dictionary(customer_table.schema.field("segment").type)
    rows = scored(backend, backend.from_arrow(customer_table), backend.from_arrow(event_table))
    assert_rows_equal(rows, reference(PEOPLE, events))


def backend_table(rows: Rows, schema: dict[str, str], encoded: tuple[str, ...]) -> Any:
    """A pyarrow Table of ``rows`` with the columns ``encoded`` dictionary-encoded."""
    table = arrow_table(rows, schema)
    for name in encoded:
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table.column(name).dictionary_encode())
    return table


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "7"], ids=["bad", "list", "number"])
def test_properties_must_be_json_objects(backend: Backend, text: str) -> None:
    """properties text that is not a JSON object is an InvalidEventError (score_many rejects it)."""
    bad = full_event({"customer_id": "zed", "kind": "nps_response", "occurred_at": AS_OF - DAY})
    bad["properties"] = text
    raises_naming(backend, InvalidEventError, ["properties"], PEOPLE, [*all_events(), bad])


@pytest.mark.parametrize(
    ("first", "second"),
    [('{"score": 9, "a": 1}', '{"a":1,"score":9}'), (None, "{}")],
    ids=["spacing-and-key-order", "null-vs-empty"],
)
def test_json_equal_properties_are_one_event(
    backend: Backend, first: str | None, second: str
) -> None:
    """Copies whose properties are equal as JSON (spacing, key order, null vs {}) are one."""
    base = full_event(
        {"customer_id": "zed", "kind": "nps_response", "occurred_at": AS_OF - DAY, "event_id": "n1"}
    )
    events = [*all_events(), {**base, "properties": first}, {**base, "properties": second}]
    rows = scored(backend, *frames(backend, PEOPLE, events))
    assert_rows_equal(rows, reference(PEOPLE, events))


def test_customers_keyed_by_customer_id(backend: Backend) -> None:
    """columns={"customer_id": "id"} names the customers' key without breaking the events' one."""
    people = [{("customer_id" if k == "id" else k): v for k, v in p.items()} for p in PEOPLE]
    schema = {("customer_id" if k == "id" else k): v for k, v in CUSTOMER_SCHEMA.items()}
    rows = scored(
        backend,
        *frames(backend, people, all_events(), customer_schema=schema),
        columns={"customer_id": "id"},
    )
    assert_rows_equal(rows, reference(PEOPLE, all_events()))


def test_mapping_onto_an_existing_column(backend: Backend) -> None:
    """Mapping a column onto a name the frame already has is an InvalidInputError naming it."""
    events = [{**row, "ts": row["occurred_at"]} for row in all_events()]
    schema = {**EVENT_SCHEMA, "ts": "datetime[UTC]"}
    raises_naming(
        backend,
        InvalidInputError,
        ["occurred_at"],
        PEOPLE,
        events,
        event_schema=schema,
        columns={"ts": "occurred_at"},
    )
