"""Every scoring engine behind one signature, and the comparison with the reference.

An engine takes a :class:`~tests.strategies.Portfolio` (customers and events as plain
dicts, as the strategies draw them, and ``as_of``), hands it to one scoring path the
way a user of that path would, and returns :class:`Results`: an :class:`Outcome` per
customer in the output (score, status, coverage and, per factor, score, value and
expected) and how many customers the path reports left out (created after ``as_of``).
:func:`assert_matches_reference` holds them to :func:`tests.reference.reference_score`,
which shares no code with the library: 1e-9 absolute, statuses exactly.

Every engine scores with the built-in model alone (:func:`builtin_scorer`: a plugin
installed in the environment would change the scores, not the reference), unless it is
given a scorer (of the built-in factors, other weights, as the reference takes). The
frames, warehouse SQL and Spark give no factor's ``expected``; their outcomes hold
``None`` there and are compared without it.

The paths document different answers to some inputs (``docs/scale.md``: the warehouse
query ignores events of customers not in the customers table, gives NULLs for a
segment it does not know and counts conflicting copies of an ``event_id`` once, where
the others raise errors). The portfolios that engines are given hold none of these:
every event is of a customer in the portfolio, every segment is built in, and copies
of an ``event_id`` (per customer) are identical.
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from customer_health import CustomerNotCreatedError, CustomersLeftOutWarning, HealthScore, Scorer

from .frames.conftest import BACKENDS as FRAME_BACKENDS
from .reference import WEIGHTS_V1, micros, reference_score
from .strategies import Portfolio

TOL = 1e-9
MAIN_ENGINES = (
    "score",
    "score_many",
    *(f"frame-{name}" for name in FRAME_BACKENDS),  # pandas, polars (lazy too), pyarrow, duckdb
    "store-sqlite",
    "store-postgresql",
    "sql-duckdb",
    "sql-postgresql",
)
"""The engines of the main suite (PostgreSQL from ``CUSTOMER_HEALTH_TEST_POSTGRES_URL``)."""
SPARK_ENGINES = ("spark-frame", "spark-sql")
"""The engines of the spark session: ``score_frame`` on PySpark, ``export_sql`` on Spark SQL."""

FRAME_CUSTOMERS = {"id": "str", "segment": "str", "created_at": "datetime[Asia/Kolkata]"}
FRAME_EVENTS = {
    "customer_id": "str",
    "kind": "str",
    "occurred_at": "datetime[UTC]",
    "event_id": "str",
    "quantity": "int",
    "feature": "str",
    "due_at": "datetime",
    "paid_at": "datetime[America/Los_Angeles]",
    "amount": "float",
    "priority": "str",
    "resolved_at": "datetime",
    "user_id": "str",
    "properties": "str",
}
"""The frames' column types (``tests/frames/conftest.py``): instants naive UTC or aware in
a zone, so that both kinds of column are read."""


class FactorOutcome(NamedTuple):
    """One factor's result on one engine."""

    score: float | None
    value: float | None
    expected: float | None
    """``None`` also where the engine does not report it."""


@dataclass(frozen=True)
class Outcome:
    """One customer's result on one engine."""

    score: float | None
    status: str | None
    coverage: float | None
    factors: Mapping[str, FactorOutcome]


@dataclass(frozen=True)
class Results:
    """An engine's results: outcomes by customer id, and how many customers it reports
    left out (``None`` where it reports nothing: the warehouse query)."""

    outcomes: Mapping[str, Outcome]
    left_out: int | None


@dataclass(frozen=True)
class Engine:
    """A scoring path, ready to score portfolios."""

    name: str
    run: Callable[[Portfolio, Scorer], Results]
    reports_expected: bool = False

    def __call__(self, portfolio: Portfolio, scorer: Scorer | None = None) -> Results:
        """The engine's results on ``portfolio`` with ``scorer`` (by default the built-in
        model)."""
        return self.run(portfolio, scorer or builtin_scorer())

    def __repr__(self) -> str:
        return self.name


@cache
def builtin_scorer() -> Scorer:
    """The engines' scorer unless they are given one: the default model (v2), no
    installed plugin."""
    return Scorer(entry_points=False)


@cache
def v1_scorer() -> Scorer:
    """Model v1, no installed plugin: the scorer of the fixed portfolios, whose cases
    (scores a microsecond from a threshold) are worked out in v1's weights."""
    return Scorer(entry_points=False, model="v1")


# -- the common shape ---------------------------------------------------------------------


def _from_models(scores: Iterable[HealthScore], left_out: int | None) -> Results:
    outcomes: dict[str, Outcome] = {}
    for health in scores:
        assert health.customer_id not in outcomes, f"{health.customer_id!r} scored twice"
        outcomes[health.customer_id] = Outcome(
            health.score,
            health.status.value,
            health.coverage,
            {f.name: FactorOutcome(f.score, f.value, f.expected) for f in health.factors},
        )
    return Results(outcomes, left_out)


def _from_rows(rows: Iterable[Mapping[str, Any]], left_out: int | None) -> Results:
    """Results of ``score_frame``'s or the warehouse query's rows (no ``expected``)."""
    outcomes: dict[str, Outcome] = {}
    for row in rows:
        cid = row["customer_id"]
        assert cid not in outcomes, f"{cid!r} has more than one row"
        outcomes[cid] = Outcome(
            _number(row["score"]),
            row["status"],
            _number(row["coverage"]),
            {
                name: FactorOutcome(_number(row[name]), _number(row[f"{name}_value"]), None)
                for name in row
                if f"{name}_value" in row  # every factor's score and value
            },
        )
    return Results(outcomes, left_out)


def _number(value: Any) -> float | None:
    """A database's number (a Decimal, say) as a float; NULL stays None."""
    return None if value is None else float(value)


def _utc(value: Any) -> Any:
    """A datetime as an aware UTC datetime (a naive one is UTC); anything else as it is."""
    if not isinstance(value, datetime):
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _left_out_count(caught: list[warnings.WarningMessage]) -> int:
    """How many customers the ``CustomersLeftOutWarning`` (at most one) reports."""
    found = [w for w in caught if issubclass(w.category, CustomersLeftOutWarning)]
    assert len(found) <= 1, [str(w.message) for w in found]
    return int(str(found[0].message).split()[0]) if found else 0


# -- the engines ------------------------------------------------------------------------------


def by_score(portfolio: Portfolio, scorer: Scorer) -> Results:
    """``Scorer.score`` customer by customer; one created after as_of is an error, and
    counts as left out."""
    scores = []
    left_out = 0
    for customer in portfolio.customers:
        try:
            scores.append(scorer.score(customer, portfolio.events, as_of=portfolio.as_of))
        except CustomerNotCreatedError:
            left_out += 1
    return _from_models(scores, left_out)


def by_score_many(portfolio: Portfolio, scorer: Scorer) -> Results:
    """``Scorer.score_many`` over the portfolio."""
    scores = scorer.score_many(portfolio.customers, portfolio.events, as_of=portfolio.as_of)
    return _from_models(scores, len(scores.not_created))


def frame_rows(portfolio: Portfolio) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The customers and events as frame rows of the types of :data:`FRAME_CUSTOMERS`
    and :data:`FRAME_EVENTS` (properties as JSON text)."""
    people = [
        {"id": c["id"], "segment": c["segment"], "created_at": _utc(c.get("created_at"))}
        for c in portfolio.customers
    ]
    events = []
    for event in portfolio.events:
        row: dict[str, Any] = {}
        for name, kind in FRAME_EVENTS.items():
            value = _utc(event.get(name))
            if isinstance(value, datetime) and kind == "datetime":
                value = value.replace(tzinfo=None)  # a naive column: UTC
            elif name == "properties" and value is not None:
                value = json.dumps(value, sort_keys=True)
            row[name] = value
        events.append(row)
    return people, events


def by_score_frame(backend_name: str, portfolio: Portfolio, scorer: Scorer) -> Results:
    """``score_frame`` on one DataFrame backend (DuckDB in a session zone that is not UTC)."""
    from .frames.conftest import duckdb_connection, make_backend

    people, events = frame_rows(portfolio)
    with ExitStack() as stack:
        connection = None
        if backend_name == "duckdb":
            connection = duckdb_connection()
            stack.callback(connection.close)
        backend = make_backend(backend_name, connection)
        customer_frame = backend.to_frame(people, FRAME_CUSTOMERS)
        event_frame = backend.to_frame(events, FRAME_EVENTS)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CustomersLeftOutWarning)
            out = scorer.score_frame(customer_frame, event_frame, as_of=portfolio.as_of)
            rows = backend.to_rows(out)  # a lazy frame is computed here
        assert isinstance(out, backend.frame_type), type(out)
        return _from_rows(rows, _left_out_count(caught))


def by_store(engine: Any, portfolio: Portfolio, scorer: Scorer) -> Results:
    """``SQLAlchemyStore.recalculate`` after storing the portfolio in the emptied tables of
    the database of ``engine`` (a SQLAlchemy engine)."""
    from customer_health.storage.sqlalchemy import SQLAlchemyStore, metadata

    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
    store = SQLAlchemyStore(engine, scorer=scorer)
    store.add_customers(portfolio.customers)
    store.record_many(portfolio.events)
    scores = store.recalculate(as_of=portfolio.as_of, save=False)
    return _from_models(scores, len(scores.not_created))


def warehouse_rows(portfolio: Portfolio) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The customers and events as rows of the warehouse tables (``tests/warehouse.py``),
    instants as aware UTC datetimes."""
    from .warehouse import CUSTOMER_COLUMNS, EVENT_COLUMNS, INSTANTS, json_text

    def row(item: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
        found = {n: _utc(item.get(n)) if n in INSTANTS else item.get(n) for n in names}
        if "properties" in found:
            found["properties"] = json_text(found["properties"])
        return found

    return (
        [row(c, CUSTOMER_COLUMNS) for c in portfolio.customers],
        [row(e, EVENT_COLUMNS) for e in portfolio.events],
    )


def by_duckdb_sql(portfolio: Portfolio, scorer: Scorer) -> Results:
    """``export_sql("duckdb")`` run on tables of a new DuckDB database (session zone not UTC)."""
    from customer_health import export_sql

    from .frames.conftest import duckdb_connection
    from .warehouse import duckdb_tables, run_duckdb

    connection = duckdb_connection("Pacific/Chatham")
    try:
        duckdb_tables(connection, *warehouse_rows(portfolio))
        query = export_sql("duckdb", as_of=portfolio.as_of, scorer=scorer)
        return _from_rows(run_duckdb(connection, query), None)
    finally:
        connection.close()


def by_postgres_sql(engine: Any, portfolio: Portfolio, scorer: Scorer) -> Results:
    """``export_sql("postgres")`` run on tables created again in the engine's schema."""
    from customer_health import export_sql

    from .warehouse import postgres_tables, run_postgres

    postgres_tables(engine, *warehouse_rows(portfolio))
    query = export_sql("postgres", as_of=portfolio.as_of, scorer=scorer)
    return _from_rows(run_postgres(engine, query), None)


def by_spark_frame(spark: Any, portfolio: Portfolio, scorer: Scorer, style: str) -> Results:
    """``score_frame`` on PySpark frames, instants in ``style`` (``tests/spark/conftest.py``)."""
    from .spark.conftest import spark_frames

    customer_frame, event_frame = spark_frames(spark, portfolio.customers, portfolio.events, style)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CustomersLeftOutWarning)
        out = scorer.score_frame(customer_frame, event_frame, as_of=portfolio.as_of)
    return _from_rows([row.asDict() for row in out.collect()], _left_out_count(caught))


def by_spark_sql(spark: Any, portfolio: Portfolio, scorer: Scorer) -> Results:
    """``export_sql("spark")`` run by Spark SQL on temporary views (``timestamp`` columns)."""
    from customer_health import export_sql

    from .spark.conftest import warehouse_views

    warehouse_views(spark, *warehouse_rows(portfolio), "timestamp")
    query = export_sql("spark", as_of=portfolio.as_of, scorer=scorer)
    return _from_rows([row.asDict() for row in spark.sql(query).collect()], None)


@contextmanager
def open_engine(name: str, spark: Any = None) -> Iterator[Engine]:
    """The engine called ``name`` (one of :data:`MAIN_ENGINES` or :data:`SPARK_ENGINES`,
    the latter on the session ``spark``), with its resources, released on leaving.

    The PostgreSQL engines work in a schema of their own and skip, saying how to run
    them, without ``CUSTOMER_HEALTH_TEST_POSTGRES_URL``.
    """
    if name == "score":
        yield Engine(name, by_score, reports_expected=True)
    elif name == "score_many":
        yield Engine(name, by_score_many, reports_expected=True)
    elif name.startswith("frame-"):
        backend = name.removeprefix("frame-")
        yield Engine(name, lambda portfolio, scorer: by_score_frame(backend, portfolio, scorer))
    elif name.startswith("store-"):
        with _store_engine(name) as engine:
            yield Engine(name, lambda portfolio, scorer: by_store(engine, portfolio, scorer), True)
    elif name == "sql-duckdb":
        yield Engine(name, by_duckdb_sql)
    elif name == "sql-postgresql":
        from .warehouse import postgres_warehouse

        with postgres_warehouse("ch_engines") as engine:
            yield Engine(name, lambda portfolio, scorer: by_postgres_sql(engine, portfolio, scorer))
    elif name == "spark-frame":
        from .spark.conftest import STYLES

        styles = itertools.cycle(STYLES)  # each call its own style of instants
        yield Engine(
            name, lambda portfolio, scorer: by_spark_frame(spark, portfolio, scorer, next(styles))
        )
    elif name == "spark-sql":
        yield Engine(name, lambda portfolio, scorer: by_spark_sql(spark, portfolio, scorer))
    else:
        raise ValueError(f"no engine {name!r}")


@contextmanager
def _store_engine(name: str) -> Iterator[Any]:
    """A SQLAlchemy engine with the store's tables, on SQLite in memory or in a PostgreSQL
    schema of its own."""
    from customer_health.storage.sqlalchemy import create_engine, metadata

    from .backends import schema_of_its_own

    with ExitStack() as stack:
        if name == "store-sqlite":
            engine = create_engine("sqlite://")
        else:
            url, schema = stack.enter_context(schema_of_its_own("ch_engines"))
            engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        stack.callback(engine.dispose)
        metadata.create_all(engine)
        yield engine


# -- the comparison ---------------------------------------------------------------------------


def _close(got: float | None, want: float | None, where: str) -> None:
    if want is None:
        assert got is None, f"{where}: {got!r}, the reference None"
        return
    assert got is not None, f"{where}: None, the reference {want!r}"
    assert abs(got - want) <= TOL, f"{where}: {got!r}, the reference {want!r}"


def assert_matches_reference(
    portfolio: Portfolio,
    results: Results,
    engine: Engine,
    only: Collection[str] | None = None,
    weights: dict[str, float] | None = None,
) -> None:
    """The engine scored exactly the customers that exist at as_of (and reports the others
    left out, if it reports them), each as the reference does: numbers to 1e-9, statuses
    exactly. With ``only``, just those customers are compared; ``weights`` are the
    scorer's, if not the default ones (its factors: those weighted)."""
    customers, events, as_of = portfolio
    now = micros(as_of)
    existing = [
        c for c in customers if c.get("created_at") is None or micros(c["created_at"]) <= now
    ]
    if only is None:
        assert sorted(results.outcomes) == sorted(str(c["id"]) for c in existing), engine
        if results.left_out is not None:
            assert results.left_out == len(customers) - len(existing), engine
    else:
        assert set(only) <= set(results.outcomes), (engine, sorted(results.outcomes))
    for customer in existing:
        if only is not None and customer["id"] not in only:
            continue
        want = reference_score(customer, events, as_of, weights=weights)
        got = results.outcomes[str(customer["id"])]
        where = f"{engine}, customer {customer['id']!r}"
        assert got.status == want["status"], f"{where}: {got.status!r}, the reference's {want}"
        _close(got.score, want["score"], f"{where}: score")
        _close(got.coverage, want["coverage"], f"{where}: coverage")
        assert sorted(got.factors) == sorted(want["factors"]), where
        for name, (score, value, expected) in want["factors"].items():
            part = got.factors[name]
            _close(part.score, score, f"{where}: {name}")
            _close(part.value, value, f"{where}: {name}'s value")
            if engine.reports_expected:
                _close(part.expected, expected, f"{where}: {name}'s expected")


# -- the deterministic cases ------------------------------------------------------------------

CASES_AS_OF = datetime(2026, 6, 30, tzinfo=UTC)
_DAY = timedelta(days=1)
_US = timedelta(microseconds=1)


def shared_event_id_portfolio() -> Portfolio:
    """Event ids that several customers use, each for an event of its own, some recorded
    twice, in every order: first holder, then another holder twice (c1:x, c2:x, c2:x);
    another holder's copies before and after the first's; three holders, copies last.
    Every customer has 5 API calls and one login in the window."""
    day = CASES_AS_OF - 10 * _DAY

    def call(cid: str, eid: str) -> dict[str, Any]:
        return {
            "customer_id": cid,
            "kind": "api_call",
            "occurred_at": day,
            "quantity": 5,
            "event_id": eid,
        }

    def login(cid: str, eid: str) -> dict[str, Any]:
        return {"customer_id": cid, "kind": "login", "occurred_at": day, "event_id": eid}

    order = [
        # the case: c2's copy of x counts once, as c1's x does
        call("c1", "x"),
        call("c2", "x"),
        call("c2", "x"),
        # c4 holds y first, twice; c3's y (a login: other content) comes between
        call("c4", "y"),
        login("c3", "y"),
        call("c4", "y"),
        call("c3", "y3"),
        login("c4", "y4"),
        # three customers share z; the later holders' copies come last
        call("c5", "z"),
        call("c6", "z"),
        call("c7", "z"),
        call("c7", "z"),
        call("c6", "z"),
        call("c5", "z"),
        *(login(cid, f"{cid}-login") for cid in ("c1", "c2", "c5", "c6", "c7")),
    ]
    people = [{"id": cid, "segment": "smb"} for cid in SHARING]
    return Portfolio(people, order, CASES_AS_OF)


SHARING = [f"c{i}" for i in range(1, 8)]
"""The customers of :func:`shared_event_id_portfolio`."""


def assert_shared_event_ids(results: Results, engine: Engine) -> None:
    """Every customer of :func:`shared_event_id_portfolio` is scored as the reference
    does and counts 5 API calls and one login day: no copy counted twice, no other
    customer's event counted."""
    assert_matches_reference(fixed_portfolio(), results, engine, only=SHARING, weights=WEIGHTS_V1)
    for cid in SHARING:
        outcome = results.outcomes[cid]
        assert outcome.factors["api_usage"].value == 5, (engine, cid, outcome)
        assert outcome.factors["login_frequency"].value == 1, (engine, cid, outcome)


THRESHOLD_LATENESS = {70.0: 6, 40.0: 18}
"""Days late of the one invoice that puts the score exactly at each threshold."""
THRESHOLD_STATUSES = {70.0: ("healthy", "at_risk"), 40.0: ("at_risk", "critical")}
THRESHOLD_MICROS = {-10: 0, 0: 0, 10: 0, 51: 0, 52: 1, 60: 1}
"""Microseconds more late than that, and the status they give (0: the threshold's, 1:
the one below): 1 µs late lowers the score by 100 · 0.25 / (30 · 86,400,000,000)
≈ 9.645e-12, so 10 µs gives 70 − 9.645e-11 (69.9999999999, to 4e-12), healthy once
rounded to 9 places; 51 µs 70 − 4.92e-10 (rounds up, healthy), 52 µs 70 − 5.02e-10
(rounds down, at_risk)."""


def threshold_id(threshold: float, late: int) -> str:
    return f"t{threshold:g}{late:+d}us"


def threshold_portfolio() -> Portfolio:
    """smb customers whose exact scores lie at and just around 70 and 40.

    Each has 5 features (100) and no ticket (100), 15 login days (100) for the 70 ones
    (none, 0, for the 40 ones), no API call (0), and one invoice due 30 days before
    as_of and paid 6 (resp. 18) days late plus a few microseconds: score = 50 (30) +
    0.25 · payment_timeliness, where payment_timeliness = 100 · (1 − late / 30) is 80
    (40) less a multiple of 3.858e-11.
    """
    as_of = CASES_AS_OF
    due = as_of - 30 * _DAY
    people: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for threshold, days in THRESHOLD_LATENESS.items():
        for late in THRESHOLD_MICROS:
            cid = threshold_id(threshold, late)
            people.append({"id": cid, "segment": "smb"})
            events.append(
                {
                    "customer_id": cid,
                    "kind": "payment",
                    "occurred_at": due - _DAY,
                    "due_at": due,
                    "paid_at": due + days * _DAY + late * _US,
                }
            )
            for feature in "abcde":
                events.append(
                    {
                        "customer_id": cid,
                        "kind": "feature_used",
                        "occurred_at": as_of - _DAY,
                        "feature": feature,
                    }
                )
            if threshold == 70.0:
                events += [
                    {"customer_id": cid, "kind": "login", "occurred_at": as_of - d * _DAY}
                    for d in range(15)
                ]
    return Portfolio(people, events, as_of)


def assert_thresholds(results: Results, engine: Engine) -> None:
    """Each customer of :func:`threshold_portfolio` is scored as the reference does: the
    status of its score rounded to 9 places, and its score unrounded (below the threshold
    when the exact score is)."""
    ids = [threshold_id(t, late) for t in THRESHOLD_LATENESS for late in THRESHOLD_MICROS]
    assert_matches_reference(fixed_portfolio(), results, engine, only=ids, weights=WEIGHTS_V1)
    for threshold in THRESHOLD_LATENESS:
        for late, below in THRESHOLD_MICROS.items():
            cid = threshold_id(threshold, late)
            outcome = results.outcomes[cid]
            status = THRESHOLD_STATUSES[threshold][below]
            assert outcome.status == status, (engine, cid, outcome.score, outcome.status)
            assert outcome.score is not None, (engine, cid)
            if late:
                exact = threshold - late * 100 * 0.25 / (30 * 86_400_000_000)
                assert abs(outcome.score - exact) < 1e-11, (engine, cid, outcome.score, exact)
                assert (outcome.score < threshold) == (late > 0), (engine, cid, outcome.score)


YOUNG_HOURS = (0, 6, 23, 24, 36, 30 * 24 - 1)
"""The ages at ``as_of`` of :func:`young_portfolio`'s customers, in hours."""


def young_id(hours: int) -> str:
    return f"young{hours}h"


def young_portfolio() -> Portfolio:
    """smb customers created 0 to 719 hours before ``as_of``, each with the same events
    at ``as_of`` (8 API calls, a login, a feature): expectations are prorated by age,
    counted as at least one day. 8 calls are about half of the 500 in 30 days an smb
    customer is expected, prorated to one day (api_usage about 48)."""
    as_of = CASES_AS_OF
    people: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for hours in YOUNG_HOURS:
        cid = young_id(hours)
        people.append({"id": cid, "segment": "smb", "created_at": as_of - timedelta(hours=hours)})
        events += [
            {"customer_id": cid, "kind": "api_call", "occurred_at": as_of, "quantity": 8},
            {"customer_id": cid, "kind": "login", "occurred_at": as_of},
            {"customer_id": cid, "kind": "feature_used", "occurred_at": as_of, "feature": "a"},
        ]
    return Portfolio(people, events, as_of)


def assert_young(results: Results, engine: Engine) -> None:
    """Each customer of :func:`young_portfolio` is scored as the reference does, and the
    ones younger than a day exactly as the one a day old: proration counts at least one
    day."""
    ids = [young_id(hours) for hours in YOUNG_HOURS]
    assert_matches_reference(fixed_portfolio(), results, engine, only=ids, weights=WEIGHTS_V1)
    day_old = results.outcomes[young_id(24)]
    for hours in YOUNG_HOURS:
        outcome = results.outcomes[young_id(hours)]
        for name in ("api_usage", "login_frequency", "feature_adoption"):
            got, want = outcome.factors[name].score, day_old.factors[name].score
            assert got is not None, (engine, hours, name)
            assert want is not None, (engine, hours, name)
            if hours <= 24:
                assert got == want, (engine, hours, name, got, want)
            elif name == "api_usage":  # the others are 100 at any age here
                assert got < want, (engine, hours, name, got, want)


def fixed_portfolio() -> Portfolio:
    """The fixed portfolios in one, for one engine call (a Spark job takes seconds), to
    score with :func:`v1_scorer`."""
    parts = [shared_event_id_portfolio(), threshold_portfolio(), young_portfolio()]
    assert len({part.as_of for part in parts}) == 1
    return Portfolio(
        [c for part in parts for c in part.customers],
        [e for part in parts for e in part.events],
        parts[0].as_of,
    )


HALF_WAY_WEIGHT = 0.39999999999499997
"""api_usage's weight (login_frequency's: 1 minus it, so they sum to exactly 1) that makes
100 · weight the double 39.9999999995: just below the half-way point 39.9999999995 (its
exact value is 39.99999999949999...), so rounded to 9 places it is 39.999999999 and the
status critical, where rounding after scaling by 10**9 (polars, Spark) gives 40."""


def half_way_scorer() -> Scorer:
    """The built-in api_usage and login_frequency factors, weighted :data:`HALF_WAY_WEIGHT`
    and the rest."""
    weights = {"api_usage": HALF_WAY_WEIGHT, "login_frequency": 1.0 - HALF_WAY_WEIGHT}
    assert sum(weights.values()) == 1.0
    return Scorer(factors=list(weights), weights=weights, entry_points=False)


def half_way_portfolio() -> Portfolio:
    """``calls``, an smb customer with 500 API calls and no login (score 100 · weight, the
    double 39.9999999995, critical), and ``logins``, one with 15 login days and no call
    (score 60.0000000005, at_risk)."""
    as_of = CASES_AS_OF
    people = [{"id": "calls", "segment": "smb"}, {"id": "logins", "segment": "smb"}]
    events = [{"customer_id": "calls", "kind": "api_call", "occurred_at": as_of, "quantity": 500}]
    events += [
        {"customer_id": "logins", "kind": "login", "occurred_at": as_of - d * _DAY}
        for d in range(15)
    ]
    return Portfolio(people, events, as_of)


def assert_half_way(results: Results, engine: Engine) -> None:
    """The customers of :func:`half_way_portfolio` are scored as the reference scores them
    (with :func:`half_way_scorer`'s weights): ``calls`` 39.9999999995 exactly, critical."""
    scorer = half_way_scorer()
    assert 100.0 * HALF_WAY_WEIGHT == 39.9999999995
    assert round(39.9999999995, 9) < 40.0 <= round(math.nextafter(39.9999999995, 41), 9)
    assert_matches_reference(half_way_portfolio(), results, engine, weights=scorer.weights)
    calls = results.outcomes["calls"]
    assert (calls.score, calls.status) == (39.9999999995, "critical"), (engine, calls)
    assert results.outcomes["logins"].status == "at_risk", engine
