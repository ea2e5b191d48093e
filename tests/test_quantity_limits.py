"""An API call's ``quantity`` is 1 to ``MAX_QUANTITY`` on every path, and events that are
no iterable are refused: the library's own error naming the field and the value, never
an ``OverflowError``, a polars error, a wrapped sum or a ``TypeError``.

Every path meets the same values: the engines of ``tests/engines.py`` (objects, each
DataFrame backend, the store on SQLite and PostgreSQL), frames whose ``quantity`` column
is wider than Int64 (floats, unsigned and 128-bit integers, Python integers in pandas),
the service and the command line. Spark's are in ``tests/spark/test_quantity_limits.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from customer_health import (
    MAX_QUANTITY,
    InvalidEventError,
    Scorer,
    score,
)

from ._ids import stable_repr
from .engines import MAIN_ENGINES, Engine, builtin_scorer, open_engine
from .frames.conftest import BACKENDS, duckdb_connection, make_backend
from .strategies import Portfolio

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)
AT = AS_OF - timedelta(days=1)
OVER = [MAX_QUANTITY + 1, 2**32, 2**62, 2**63 - 1]
"""Integers over the maximum that a signed 64-bit column holds."""
BEYOND_INT64 = [2**63, 2**64 - 1, 2**64, 2**100]
"""Integers over the maximum that no signed 64-bit column holds."""
FLOATS = [MAX_QUANTITY + 1.0, 2.0**62, 2.0**63, 2.0**64, 1e30]
"""Whole floats over the maximum (a float column, JSON's ``1e30``)."""
NOT_EVENTS = [None, 5, 2.5, object()]
"""Values that are no iterable of events."""

CUSTOMERS = [{"id": "c1", "segment": "smb"}]
ENGINES = tuple(name for name in MAIN_ENGINES if not name.startswith("sql-"))
"""The engines that check events (the warehouse query cannot raise: ``docs/scale.md``)."""


def call(quantity: Any) -> dict[str, Any]:
    """An API call of customer ``c1`` the day before as_of."""
    return {"customer_id": "c1", "kind": "api_call", "occurred_at": AT, "quantity": quantity}


def portfolio(*quantities: Any) -> Portfolio:
    return Portfolio(CUSTOMERS, [call(q) for q in quantities], AS_OF)


def assert_names(error: BaseException, value: Any) -> None:
    """The error names the field (or column) ``quantity`` and shows ``value``."""
    message = str(error)
    assert "'quantity'" in message, message
    assert repr(value) in message, message


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """Each engine that checks events, its resources kept for the module."""
    with open_engine(request.param) as engine:
        yield engine


def test_the_maximum_counts_in_full_on_every_engine(engine: Engine) -> None:
    """Events of MAX_QUANTITY each are kept and summed exactly, without overflow."""
    results = engine(portfolio(MAX_QUANTITY, MAX_QUANTITY, MAX_QUANTITY))
    assert results.outcomes["c1"].factors["api_usage"].value == 3 * MAX_QUANTITY


@pytest.mark.parametrize("quantity", OVER)
def test_a_quantity_over_the_maximum_is_refused_on_every_engine(
    engine: Engine, quantity: int
) -> None:
    """One above the maximum, up to Int64's largest, is an InvalidEventError naming the
    field and the value: no wrapped sum in frames, no OverflowError in the store."""
    with pytest.raises(InvalidEventError) as caught:
        engine(portfolio(1, quantity))
    assert_names(caught.value, quantity)


@pytest.mark.parametrize("quantity", [*BEYOND_INT64, *FLOATS])
@pytest.mark.parametrize("path", ["score", "score_many", "store-sqlite"])
def test_quantities_beyond_64_bits_or_floats_are_refused_by_the_object_paths(
    path: str, quantity: float
) -> None:
    """Integers no database column holds and huge floats, as JSON decodes them, are an
    InvalidEventError naming the field and the value."""
    with open_engine(path) as engine, pytest.raises(InvalidEventError) as caught:
        engine(portfolio(quantity))
    assert_names(caught.value, quantity)


def _arrow_events(quantities: list[Any], arrow_type: Any) -> Any:
    import pyarrow as pa

    n = len(quantities)
    return pa.table(
        {
            "customer_id": pa.array(["c1"] * n),
            "kind": pa.array(["api_call"] * n),
            "occurred_at": pa.array([AT] * n, pa.timestamp("us", tz="UTC")),
            "quantity": pa.array(quantities, arrow_type),
        }
    )


COLUMNS = [
    *(("uint64", q) for q in [MAX_QUANTITY + 1, 2**63, 2**64 - 1]),
    *(("float64", q) for q in FLOATS),
    *(("int64", q) for q in [MAX_QUANTITY + 1, 2**63 - 1]),
]
"""A ``quantity`` column's Arrow type and a value over the maximum in it."""


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize(("arrow_type", "quantity"), COLUMNS)
def test_a_quantity_column_of_any_type_is_held_to_the_maximum(
    backend_name: str, arrow_type: str, quantity: Any
) -> None:
    """Unsigned and float columns are checked before they are cast to Int64 (which would
    fail or saturate): an InvalidEventError naming the column and the value; the
    maximum itself is read in every type."""
    import pyarrow as pa

    scorer = builtin_scorer()
    with ExitStack() as stack:
        connection = None
        if backend_name == "duckdb":
            connection = duckdb_connection()
            stack.callback(connection.close)
        backend = make_backend(backend_name, connection)
        people = backend.from_arrow(pa.Table.from_pylist(CUSTOMERS))
        typed = getattr(pa, arrow_type)()
        good = backend.from_arrow(_arrow_events([MAX_QUANTITY, MAX_QUANTITY], typed))
        rows = backend.to_rows(scorer.score_frame(people, good, as_of=AS_OF))
        assert rows[0]["api_usage_value"] == 2 * MAX_QUANTITY
        bad = backend.from_arrow(_arrow_events([1, quantity], typed))
        with pytest.raises(InvalidEventError) as caught:
            backend.to_rows(scorer.score_frame(people, bad, as_of=AS_OF))
    assert_names(caught.value, quantity)


@pytest.mark.parametrize("quantity", [2**64, 2**100])
def test_python_integers_beyond_64_bits_in_frames_are_refused(quantity: int) -> None:
    """A pandas object column or a polars Int128 column holding integers no 64-bit type
    holds: an InvalidEventError naming the column and the value."""
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pytest.importorskip("pyarrow")
    scorer = builtin_scorer()
    events = [call(1), call(quantity)]
    frames = [
        (pd.DataFrame(CUSTOMERS), pd.DataFrame(events)),
        (pl.DataFrame(CUSTOMERS), pl.DataFrame(events, schema_overrides={"quantity": pl.Int128})),
    ]
    for people, frame in frames:
        with pytest.raises(InvalidEventError) as caught:
            scorer.score_frame(people, frame, as_of=AS_OF)
        assert_names(caught.value, quantity)


@pytest.mark.parametrize("events", NOT_EVENTS, ids=stable_repr)
def test_events_that_are_no_iterable_are_refused_on_every_entry_point(events: Any) -> None:
    """``events=None`` (or a number) is an InvalidEventError saying what events must be,
    from score, score_many, score_frame and the store, never a TypeError."""
    scorer = Scorer(entry_points=False)
    calls = [
        lambda: score(CUSTOMERS[0], events, as_of=AS_OF),
        lambda: scorer.score(CUSTOMERS[0], events, as_of=AS_OF),
        lambda: scorer.score_many(CUSTOMERS, events, as_of=AS_OF),
    ]
    for scoring in calls:
        with pytest.raises(InvalidEventError, match="events must be an iterable of events"):
            scoring()
    pl = pytest.importorskip("polars")
    with pytest.raises(InvalidEventError, match="events is a"):
        scorer.score_frame(pl.DataFrame(CUSTOMERS), events, as_of=AS_OF)


@pytest.mark.parametrize("events", NOT_EVENTS, ids=stable_repr)
def test_the_store_refuses_events_that_are_no_iterable(events: Any) -> None:
    """``record_many(None)`` is an InvalidEventError, and nothing is stored."""
    pytest.importorskip("sqlalchemy")
    from customer_health.storage.sqlalchemy import SQLAlchemyStore, create_engine, metadata

    engine = create_engine("sqlite://")
    try:
        metadata.create_all(engine)
        store = SQLAlchemyStore(engine, scorer=builtin_scorer())
        store.add_customers(CUSTOMERS)
        with pytest.raises(InvalidEventError, match="events must be an iterable of events"):
            store.record_many(events)
        assert store.count_events() == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("quantity", [MAX_QUANTITY + 1, 2**63, 2**64, 1e30])
def test_the_service_answers_422_naming_the_field(quantity: Any) -> None:
    """A quantity over the maximum is a 422 problem whose error is at the quantity."""
    pytest.importorskip("fastapi")
    from starlette.testclient import TestClient

    from customer_health.service import Settings, create_app
    from customer_health.storage.sqlalchemy import SQLAlchemyStore, create_engine, metadata

    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    store = SQLAlchemyStore(engine, scorer=builtin_scorer())
    settings = Settings(sample_customers=0, worker=False, create_tables=False)
    try:
        with TestClient(create_app(settings, store=store)) as client:
            client.post("/api/customers", json={"id": "c1", "segment": "smb"})
            body = {"kind": "api_call", "occurred_at": AT.isoformat(), "quantity": quantity}
            response = client.post("/api/customers/c1/events", json=body)
        assert response.status_code == 422, response.text
        errors = response.json()["errors"]
        assert [error["loc"][-1] for error in errors] == ["quantity"], errors
        assert store.count_events() == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "quantity", ["2147483648", "9223372036854775808", "18446744073709551616", "1e30"]
)
@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_the_command_line_names_the_column_and_the_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], quantity: str, suffix: str
) -> None:
    """A quantity over the maximum in an events file is an error line naming the file,
    the column and the value, with no traceback."""
    pytest.importorskip("polars")
    from customer_health.cli import main

    customers = tmp_path / "customers.jsonl"
    customers.write_text(json.dumps(CUSTOMERS[0]) + "\n")
    events = tmp_path / f"events{suffix}"
    if suffix == ".jsonl":
        line = '{"customer_id": "c1", "kind": "api_call", "occurred_at": "2026-06-29", '
        events.write_text(line + '"quantity": 1}\n' + line + f'"quantity": {quantity}}}\n')
    else:
        header = "customer_id,kind,occurred_at,quantity\n"
        events.write_text(header + f"c1,api_call,2026-06-29,1\nc1,api_call,2026-06-29,{quantity}\n")
    argv = [
        "score",
        "--customers",
        str(customers),
        "--events",
        str(events),
        "--as-of",
        "2026-06-30",
    ]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"events file {events}: column 'quantity' has quantities above {MAX_QUANTITY}" in err
    shown = float(quantity) if suffix == ".csv" or "e" in quantity else int(quantity)
    assert repr(shown) in err, err


def test_the_service_s_old_name_for_the_limit_still_works_with_a_warning() -> None:
    """``customer_health.service.schemas.MAX_QUANTITY`` is deprecated, not gone."""
    pytest.importorskip("fastapi")
    import customer_health
    from customer_health.service import schemas

    with pytest.warns(DeprecationWarning, match=r"customer_health\.MAX_QUANTITY"):
        assert schemas.MAX_QUANTITY == customer_health.MAX_QUANTITY == 2**31 - 1
    with pytest.raises(AttributeError, match="NOPE"):
        schemas.NOPE  # noqa: B018
