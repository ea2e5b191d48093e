"""``export_sql``: the warehouse query gives ``score()``'s numbers on every dialect.

The query runs on DuckDB and PostgreSQL (the ``CUSTOMER_HEALTH_TEST_POSTGRES_URL``
database, in a schema of its own) over sample portfolios, at several instants, and
its rows are compared with ``Scorer.score_many()`` to 1e-9, statuses exactly. The
Snowflake and BigQuery queries cannot run here: they are parsed by sqlglot in their
own dialect and their transpilation to DuckDB is run and compared the same way.
Spark SQL runs in ``tests/spark`` (the ``spark`` session).
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

duckdb = pytest.importorskip("duckdb")
sqlglot = pytest.importorskip("sqlglot")
sa = pytest.importorskip("sqlalchemy")

import customer_health  # noqa: E402
from customer_health import (  # noqa: E402
    ConfigurationError,
    Factor,
    FactorResult,
    InvalidInputError,
    Scorer,
    export_sql,
    hookimpl,
)
from customer_health.model import status_cutoff  # noqa: E402

from .warehouse import (  # noqa: E402
    INSTANTS,
    assert_matches,
    duckdb_tables,
    instants_of,
    portfolio,
    postgres_tables,
    postgres_warehouse,
    run_duckdb,
    run_postgres,
)

CUSTOMERS, EVENTS, MODELS, EVENT_MODELS, AS_OF = portfolio()


def scorer_plain() -> Scorer:
    return Scorer(entry_points=False)


@pytest.fixture(scope="module")
def duck() -> Iterator[Any]:
    """A DuckDB database with the portfolio, in a session time zone that is not UTC."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'Pacific/Chatham'")
    duckdb_tables(connection, CUSTOMERS, EVENTS)
    yield connection
    connection.close()


def expected(scorer: Scorer, as_of: datetime) -> Any:
    return scorer.score_many(MODELS, EVENT_MODELS, as_of=as_of)


# -- DuckDB --------------------------------------------------------------------------------


@pytest.mark.parametrize("when", range(3))
def test_duckdb_gives_the_scores_of_score_many(duck: Any, when: int) -> None:
    as_of = instants_of(AS_OF)[when]
    scorer = scorer_plain()
    rows = run_duckdb(duck, export_sql("duckdb", as_of=as_of, scorer=scorer))
    scores = expected(scorer, as_of)
    if as_of <= AS_OF:  # later, every customer exists
        assert scores.not_created, "the portfolio has customers created after as_of"
    if as_of == AS_OF:
        assert {h.status.value for h in scores} >= {"healthy", "at_risk", "critical"}
    assert_matches(rows, scorer, scores)


def test_the_default_scorer_and_table_names(duck: Any) -> None:
    duck.execute("CREATE SCHEMA IF NOT EXISTS raw")
    duck.execute("CREATE OR REPLACE TABLE raw.ev AS SELECT * FROM events")
    query = export_sql("duckdb", as_of=AS_OF, events="raw.ev", customers="main.customers")
    assert "FROM raw.ev" in query
    assert "FROM main.customers" in query
    rows = run_duckdb(duck, query)
    assert_matches(rows, customer_health.Scorer(), expected(customer_health.Scorer(), AS_OF))


def test_customers_without_events_and_strangers(duck: Any) -> None:
    rows = run_duckdb(duck, export_sql("duckdb", as_of=AS_OF, scorer=scorer_plain()))
    ids = {row["customer_id"] for row in rows}
    assert "no-events" in ids
    assert "not-a-customer" not in ids
    loner = next(row for row in rows if row["customer_id"] == "no-events")
    # the model's customer without events: (0.15 * 100) / 0.75, of v2's weights 1.30
    assert (loner["score"], loner["status"]) == (20.0, "critical")
    assert loner["coverage"] == pytest.approx(0.75 / 1.30, abs=1e-12)


def test_a_configured_scorer_is_written_into_the_query(duck: Any) -> None:
    class Nonprofit:
        @hookimpl
        def register_segments(self, register: Any) -> None:
            register(
                "nonprofit",
                {"api_calls_30d": 7, "login_days_30d": 3, "features_30d": 2, "tickets_90d": 1},
            )

    scorer = Scorer(
        weights={"payment_timeliness": 0.6, "api_usage": 0.05},
        thresholds={"healthy": 55.5, "at_risk": 31.25},
        plugins=[Nonprofit()],
        entry_points=False,
    )
    duck.execute("CREATE OR REPLACE TABLE customers_np AS SELECT * FROM customers")
    duck.execute("UPDATE customers_np SET segment = 'nonprofit' WHERE id LIKE '%1'")
    models = [
        m.model_copy(update={"segment": "nonprofit"}) if m.id.endswith("1") else m for m in MODELS
    ]
    query = export_sql("duckdb", as_of=AS_OF, customers="customers_np", scorer=scorer)
    assert "'nonprofit'" in query
    scores = scorer.score_many(models, EVENT_MODELS, as_of=AS_OF)
    assert any(m.segment == "nonprofit" for m in models)
    assert_matches(run_duckdb(duck, query), scorer, scores)


def test_a_customer_of_an_unknown_segment_gets_nulls(duck: Any) -> None:
    duck.execute("CREATE OR REPLACE TABLE customers_bad AS SELECT * FROM customers")
    duck.execute("UPDATE customers_bad SET segment = 'smbb' WHERE id = 'no-events'")
    query = export_sql("duckdb", as_of=AS_OF, customers="customers_bad", scorer=scorer_plain())
    row = next(r for r in run_duckdb(duck, query) if r["customer_id"] == "no-events")
    assert set(row.values()) == {"no-events", None}


def test_a_factor_selection_scores_with_those_factors_alone(duck: Any) -> None:
    scorer = Scorer(factors=["support_tickets", "login_frequency"], entry_points=False)
    rows = run_duckdb(duck, export_sql("duckdb", as_of=AS_OF, scorer=scorer))
    assert list(rows[0]) == [
        "customer_id",
        "score",
        "status",
        "coverage",
        "support_tickets",
        "support_tickets_value",
        "login_frequency",
        "login_frequency_value",
    ]
    assert_matches(rows, scorer, expected(scorer, AS_OF))


# -- plugins ------------------------------------------------------------------------------


class UrgentTickets(Factor):
    """Urgent tickets in the last 90 days, with an SQL form."""

    name = "urgent_tickets"
    kinds = frozenset({"support_ticket"})
    window_days = 90
    expectation = "tickets_90d"
    inputs = ("urgent",)

    def aggregate(self, events: Any, as_of: datetime) -> dict[str, float]:
        return {"urgent": float(sum(e.priority == "urgent" for e in events))}

    def sql_inputs(self, events: Any) -> dict[str, Any]:
        return {"urgent": sa.func.sum(events.when(events.c["priority"] == "urgent", 1))}

    def compute(self, inputs: Any, ctx: Any) -> FactorResult:
        n = inputs["urgent"]
        score = None if n == 0 else 100.0 * ctx.expected / (ctx.expected + n)
        return FactorResult(score=score, value=n, explanation=f"urgent tickets: {n:g}")

    def sql_score(self, inputs: Any, expected: Any) -> tuple[Any, Any]:
        n = inputs["urgent"]
        score = sa.case((n == 0, sa.null()), else_=(100.0 * expected) / (expected + n))
        return score, n


class NoSql(UrgentTickets):
    """The same factor without an SQL form."""

    name = "no_sql"

    def sql_inputs(self, events: Any) -> None:
        return None


class NoSqlScore(UrgentTickets):
    """SQL inputs but no SQL score (the base class's)."""

    name = "no_sql_score"
    sql_score = Factor.sql_score


class MissingInput(UrgentTickets):
    """An SQL form that forgets an input."""

    name = "missing_input"

    def sql_inputs(self, events: Any) -> dict[str, Any]:
        return {}


def plugin_scorer(*factors: Factor, block: list[str] | None = None) -> Scorer:
    @hookimpl
    def register_factors(register: Any) -> None:
        for factor in factors:
            register(factor)

    plugin = types.SimpleNamespace(register_factors=register_factors)
    return Scorer(plugins=[plugin], block_plugins=block, entry_points=False)


def test_a_plugin_factor_with_an_sql_form_is_included(duck: Any) -> None:
    scorer = plugin_scorer(UrgentTickets())
    rows = run_duckdb(duck, export_sql("duckdb", as_of=AS_OF, scorer=scorer))
    scores = expected(scorer, AS_OF)
    assert {h.factor("urgent_tickets").score is None for h in scores} == {True, False}
    assert_matches(rows, scorer, scores)


@pytest.mark.parametrize(
    ("factor", "method"), [(NoSql(), "sql_inputs"), (NoSqlScore(), "sql_score")]
)
def test_a_plugin_factor_without_an_sql_form_is_refused_by_name(
    factor: Factor, method: str
) -> None:
    scorer = plugin_scorer(factor)
    with pytest.raises(ConfigurationError) as caught:
        export_sql("duckdb", as_of=AS_OF, scorer=scorer)
    message = str(caught.value)
    assert f"factor {factor.name!r}" in message
    assert f"{method}() gives None" in message
    assert "sql_inputs() and sql_score()" in message


def test_an_sql_form_must_give_every_input() -> None:
    with pytest.raises(ConfigurationError) as caught:
        export_sql("duckdb", as_of=AS_OF, scorer=plugin_scorer(MissingInput()))
    assert str(caught.value) == (
        "factor 'missing_input' (plugin 'SimpleNamespace'): sql_inputs() gives no expression for "
        "inputs ['urgent']"
    )


class SqlInputsRaise(UrgentTickets):
    """An SQL form that raises while it builds its aggregates."""

    def sql_inputs(self, events: Any) -> dict[str, Any]:
        raise RuntimeError("no SQL today")


class SqlScoreRaises(UrgentTickets):
    """An SQL score that raises while it builds its expressions."""

    def sql_score(self, inputs: Any, expected: Any) -> tuple[Any, Any]:
        raise ZeroDivisionError("division by zero")


class EmptyRaises(UrgentTickets):
    """An aggregate() that divides by the number of tickets: it raises for no events."""

    def aggregate(self, events: Any, as_of: datetime) -> dict[str, float]:
        return {"urgent": sum(e.priority == "urgent" for e in events) / len(events)}


@pytest.mark.parametrize(
    ("factor", "hook", "cause"),
    [
        pytest.param(SqlInputsRaise(), "sql_inputs", RuntimeError, id="sql_inputs"),
        pytest.param(SqlScoreRaises(), "sql_score", ZeroDivisionError, id="sql_score"),
        pytest.param(EmptyRaises(), "aggregate", ZeroDivisionError, id="aggregate"),
    ],
)
def test_a_plugin_raising_in_export_sql_is_a_factor_error(
    factor: Factor, hook: str, cause: type[Exception]
) -> None:
    """What a plugin factor's method raises while export_sql builds the query is a
    FactorError naming the factor, its plugin and the method, chained to the original."""
    with pytest.raises(customer_health.FactorError) as caught:
        export_sql("duckdb", as_of=AS_OF, scorer=plugin_scorer(factor))
    message = str(caught.value)
    assert message.startswith(
        f"factor 'urgent_tickets' (plugin 'SimpleNamespace') raised {cause.__name__}("
    )
    assert message.endswith(f" in {hook}()")
    assert type(caught.value.__cause__) is cause


def test_a_scorer_without_segments_scores_nobody(duck: Any) -> None:
    """Without the built-in plugin no segment is known: every row is NULL but its id."""
    scorer = plugin_scorer(UrgentTickets(), block=["builtin"])
    assert not scorer.segments
    rows = run_duckdb(duck, export_sql("duckdb", as_of=AS_OF, scorer=scorer))
    assert len(rows) == len([m for m in MODELS if m.created_at is None or m.created_at <= AS_OF])
    assert {row["status"] for row in rows} == {None}


def test_a_factor_sees_the_event_columns_of_score_frame() -> None:
    from customer_health.engines.frames import EVENT_COLUMNS as FRAME_COLUMNS
    from customer_health.engines.sql._warehouse import _Columns

    columns = _Columns()
    assert sorted(columns) == sorted(FRAME_COLUMNS)
    assert len(columns) == len(FRAME_COLUMNS)
    assert columns.used == set()  # listing them reads none


def test_an_evaluate_only_factor_is_refused() -> None:
    class Looker(Factor):
        name = "looker"

        def evaluate(self, events: Any, ctx: Any) -> FactorResult:
            return FactorResult(score=1.0, explanation="looked")

    with pytest.raises(ConfigurationError, match=r"factor 'looker'.*no SQL form"):
        export_sql("postgres", as_of=AS_OF, scorer=plugin_scorer(Looker()))


# -- arguments ----------------------------------------------------------------------------


def test_an_unknown_dialect_is_named_with_the_known_ones() -> None:
    with pytest.raises(InvalidInputError) as caught:
        export_sql("oracle", as_of=AS_OF)
    assert str(caught.value) == (
        "unknown SQL dialect 'oracle'; export_sql writes bigquery, duckdb, postgres, "
        "snowflake, spark"
    )


@pytest.mark.parametrize("table", ["", "  ", "events; DROP TABLE x"])
def test_a_bad_table_is_named(table: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        export_sql("duckdb", as_of=AS_OF, events=table)
    assert str(caught.value).startswith(f"events table {table!r} is no table name: ")


def test_a_bad_as_of_is_named() -> None:
    with pytest.raises(InvalidInputError, match="as_of 'yesterday'"):
        export_sql("duckdb", as_of="yesterday")


def test_a_dbt_ref_goes_into_the_query_as_written() -> None:
    query = export_sql(
        "snowflake",
        as_of="2026-06-30",
        events="{{ ref('stg_events') }}",
        customers="{{ ref('stg_customers') }}",
    )
    assert "FROM {{ ref('stg_events') }}" in query
    assert "FROM {{ ref('stg_customers') }}" in query
    assert query.startswith("-- customer-health ")
    assert customer_health.Scorer().fingerprint in query.splitlines()[0]


def test_the_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import customer_health.engines.sql

    monkeypatch.delitem(sys.modules, "customer_health.engines.sql._warehouse", raising=False)
    monkeypatch.delattr(customer_health.engines.sql, "_warehouse", raising=False)
    monkeypatch.setitem(sys.modules, "sqlglot", None)
    with pytest.raises(customer_health.MissingExtraError, match=r"customer-health\[sql\]"):
        export_sql("duckdb", as_of=AS_OF)


def test_statuses_compare_the_score_rounded_to_9_places(duck: Any) -> None:
    """A threshold just above a score (by less than rounding to 9 places removes) is
    reached: a plain ``score >= threshold`` in SQL would say otherwise."""
    plain = expected(scorer_plain(), AS_OF)
    score = next(
        h.score
        for h in plain
        if h.score is not None and round(h.score, 9) > h.score and 1 < h.score < 99
    )
    scorer = Scorer(thresholds={"healthy": round(score, 9), "at_risk": 0.5}, entry_points=False)
    scores = expected(scorer, AS_OF)
    assert any(h.score == score and h.status.value == "healthy" for h in scores)
    assert_matches(
        run_duckdb(duck, export_sql("duckdb", as_of=AS_OF, scorer=scorer)), scorer, scores
    )


@pytest.mark.parametrize("threshold", [0.0, 39.9999999994, 40.0, 55.5, 70.0, 99.99, 100.0])
def test_the_status_cutoff_is_where_rounding_to_9_places_reaches_the_threshold(
    threshold: float,
) -> None:
    import math

    cutoff = status_cutoff(threshold)
    assert round(cutoff, 9) >= threshold
    assert round(math.nextafter(cutoff, -math.inf), 9) < threshold


# -- Snowflake and BigQuery: parsed, and run as their transpilation to DuckDB --------------


@pytest.mark.parametrize("dialect", ["snowflake", "bigquery", "spark", "postgres"])
def test_other_dialects_parse_and_their_duckdb_transpilation_scores_alike(
    duck: Any, dialect: str
) -> None:
    scorer = scorer_plain()
    query = export_sql(dialect, as_of=AS_OF, scorer=scorer)
    tree = sqlglot.parse_one(query, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
    assert tree.find(sqlglot.exp.With) is not None
    # BigQuery's CAST(DATETIME AS TIMESTAMP) reads the wall time as UTC; its DuckDB
    # transpilation (a cast to TIMESTAMPTZ) reads it in the session's zone
    zone = "UTC" if dialect == "bigquery" else "Pacific/Chatham"
    duck.execute(f"SET TimeZone = '{zone}'")
    try:
        rows = run_duckdb(duck, tree.sql(dialect="duckdb"))
    finally:
        duck.execute("SET TimeZone = 'Pacific/Chatham'")
    assert_matches(rows, scorer, expected(scorer, AS_OF))


def test_each_dialect_reads_instants_with_its_own_function() -> None:
    texts = {d: export_sql(d, as_of=AS_OF) for d in customer_health.SQL_DIALECTS}
    assert "EPOCH_US(occurred_at)" in texts["duckdb"]
    assert "EXTRACT(EPOCH FROM occurred_at) * 1000000" in texts["postgres"]
    assert "UNIX_MICROS(occurred_at)" in texts["spark"]
    assert "DATE_PART(EPOCH_MICROSECOND, occurred_at)" in texts["snowflake"]
    assert "UNIX_MICROS(CAST(occurred_at AS TIMESTAMP))" in texts["bigquery"]
    for dialect, text in texts.items():
        assert "ch_epoch_us" not in text.lower(), dialect
        assert " AS FLOAT)" not in text, dialect  # Spark's FLOAT is single precision


# -- PostgreSQL -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres() -> Iterator[Any]:
    """An engine on a schema of the test's own holding the portfolio, in a session time
    zone that is not UTC; the schema is dropped at the end."""
    with postgres_warehouse() as engine:
        postgres_tables(engine, CUSTOMERS, EVENTS)
        yield engine


@pytest.mark.parametrize("aware", [frozenset(), INSTANTS], ids=["naive", "aware"])
def test_postgres_reads_naive_and_aware_instants_alike(aware: frozenset[str]) -> None:
    """Every instant column naive (UTC wall times), then every one with a time zone, in
    a session time zone that is not UTC: the same scores, at every window's edge."""
    scorer = scorer_plain()
    with postgres_warehouse() as engine:
        postgres_tables(engine, CUSTOMERS, EVENTS, aware=aware)
        for as_of in instants_of(AS_OF):
            rows = run_postgres(engine, export_sql("postgres", as_of=as_of, scorer=scorer))
            assert_matches(rows, scorer, expected(scorer, as_of))


@pytest.mark.parametrize("when", range(3))
def test_postgres_gives_the_scores_of_score_many(postgres: Any, when: int) -> None:
    as_of = instants_of(AS_OF)[when]
    scorer = scorer_plain()
    with postgres.connect() as connection:
        assert connection.exec_driver_sql("SHOW timezone").scalar() == "Asia/Kathmandu"
    rows = run_postgres(postgres, export_sql("postgres", as_of=as_of, scorer=scorer))
    assert_matches(rows, scorer, expected(scorer, as_of))


def test_each_factor_groups_its_own_events_and_postgres_stores_each_stage_once() -> None:
    """The plan of a hand-written query: each factor's inputs in a GROUP BY of its own
    events, joined once. PostgreSQL computes each per-customer stage once (it would
    inline a CTE read once and compute its expressions wherever they are read) and
    stores only the events some factor reads; no other dialect is given MATERIALIZED,
    which some cannot parse."""
    texts = {d: export_sql(d, as_of=AS_OF) for d in customer_health.SQL_DIALECTS}
    for dialect, text in texts.items():
        factors = text.splitlines()[1].split("factors: ")[1].split(", ")
        grouped = re.findall(r"\bch_inputs_(\d+) AS \(", text)
        assert grouped == [str(n) for n in range(1, len(factors) + 1)], dialect
        assert text.count("GROUP BY") == len(factors), dialect
    materialized = re.findall(r"\b(\w+) AS MATERIALIZED \(", texts["postgres"])
    assert materialized == ["ch_prepared", "ch_factors", "ch_combined", "ch_mean", "ch_scored"]
    assert "ch_read AS (" in texts["postgres"]  # read by every factor: PostgreSQL stores it
    for dialect in set(texts) - {"postgres"}:
        assert "MATERIALIZED" not in texts[dialect], dialect
        assert "ch_read" not in texts[dialect], dialect
