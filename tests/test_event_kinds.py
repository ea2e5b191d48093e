"""Event kinds: a typo (``"logon"``) is an error on every path that takes events, named
with the closest known kind, unless the kind is declared (by a plugin or the user) or
unknown kinds are kept; events already stored stay readable."""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import customer_health
from customer_health import (
    ConfigurationError,
    Factor,
    FactorResult,
    InvalidEventError,
    Scorer,
    UnknownEventKindError,
    testing,
)
from customer_health.cli import main

from .engines import MAIN_ENGINES, Engine, Results, open_engine
from .strategies import Portfolio

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)
DAY = timedelta(days=1)
TYPO_AT = 3
"""The position of the typo among the portfolio's events."""


def typo_portfolio(kind: str = "logon") -> Portfolio:
    """One smb customer with three logins and, fourth, an event of ``kind``."""
    customers = [{"id": "c1", "segment": "smb"}]
    logins = [
        {"customer_id": "c1", "kind": "login", "occurred_at": AS_OF - n * DAY} for n in range(3)
    ]
    typo = {"customer_id": "c1", "kind": kind, "occurred_at": AS_OF - DAY, "event_id": "e7"}
    return Portfolio(customers, [*logins, typo], AS_OF)


def without_typo() -> Portfolio:
    """The portfolio of :func:`typo_portfolio` without its last event."""
    portfolio = typo_portfolio()
    return portfolio._replace(events=portfolio.events[:TYPO_AT])


@pytest.fixture(params=MAIN_ENGINES, scope="module")
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """Every scoring path of the main suite (PostgreSQL ones skip without a server)."""
    with open_engine(request.param) as engine:
        yield engine


def is_warehouse(engine: Engine) -> bool:
    """Whether ``engine`` is the warehouse query (``export_sql``), which reads the user's
    table and cannot raise per row."""
    return engine.name.startswith("sql-") or engine.name == "spark-sql"


def scores(results: Results) -> dict[str, Any]:
    """What the results say of each customer (score, status, coverage and factors)."""
    return {
        cid: (o.score, o.status, o.coverage, dict(o.factors)) for cid, o in results.outcomes.items()
    }


def test_a_typo_is_an_error_naming_it_and_the_closest_kind(engine: Engine) -> None:
    """Every path that takes events rejects the typo, naming the kind, where it is and
    the closest known kind; the warehouse query ignores it, as documented."""
    if is_warehouse(engine):
        assert scores(engine(typo_portfolio())) == scores(engine(without_typo()))
        return
    with pytest.raises(UnknownEventKindError) as caught:
        engine(typo_portfolio())
    error = caught.value
    assert (error.kind, error.suggestion) == ("logon", "login")
    assert isinstance(error, InvalidEventError)
    message = str(error)
    assert "unknown event kind 'logon' (did you mean 'login'?)" in message
    assert "Scorer(event_kinds=[...])" in message
    assert "Scorer(unknown_kinds='keep')" in message
    if engine.name.startswith(("score", "store")):
        assert error.where == f"event #{TYPO_AT} (event_id 'e7')"
    else:  # a frame's row, by its number where the frame has one (Spark's have none)
        assert "'e7'" in error.where
        if engine.name.startswith("frame-"):
            assert f"'row': {TYPO_AT}" in error.where


def test_keeping_unknown_kinds_scores_as_before(engine: Engine) -> None:
    """With unknown_kinds='keep' the typo is stored and scored like any custom kind:
    the built-in factors ignore it, so the scores are those without it."""
    keep = Scorer(entry_points=False, unknown_kinds="keep")
    assert scores(engine(typo_portfolio(), keep)) == scores(engine(without_typo(), keep))


def test_a_declared_kind_is_accepted(engine: Engine) -> None:
    """A kind the user declares (event_kinds=) is accepted on every path."""
    declared = Scorer(entry_points=False, event_kinds=["logon"])
    assert scores(engine(typo_portfolio(), declared)) == scores(engine(without_typo(), declared))


# -- what is known -----------------------------------------------------------------------


class Seats(Factor):
    """A plugin factor reading a custom kind."""

    name = "seats"
    kinds = frozenset({"seats_used"})
    default_weight = 0.1

    def evaluate(self, events: Any, ctx: Any) -> FactorResult:
        return FactorResult(100.0 if events else None, f"{len(events)} seat events")


class EveryKind(Factor):
    """A plugin factor reading every kind (kinds=None)."""

    name = "every_kind"
    default_weight = 0.1

    def evaluate(self, events: Any, ctx: Any) -> FactorResult:
        return FactorResult(None, f"{len(events)} events")


def seats_event() -> dict[str, Any]:
    return {"customer_id": "c1", "kind": "seats_used", "occurred_at": AS_OF - DAY}


def declaring(name: str, *kinds: str) -> object:
    """A plugin called ``name`` that declares ``kinds`` and nothing else."""

    @customer_health.hookimpl
    def register_event_kinds(register: Any) -> None:
        for kind in kinds:
            register(kind)

    return types.SimpleNamespace(__name__=name, register_event_kinds=register_event_kinds)


def test_known_kinds_are_built_in_factor_plugin_and_user_kinds() -> None:
    """The known kinds: built-in, those of the factors in use, plugin- and user-declared."""
    scorer = testing.make_scorer(
        testing.make_plugin(Seats),
        declaring("webinars", "webinar"),
        event_kinds=["survey", "survey"],
    )
    assert scorer.model.kinds.known == customer_health.BUILTIN_KINDS | {
        "seats_used",
        "webinar",
        "survey",
        "nps_response",  # the sample portfolios' kinds, which the built-in plugin declares
        "seats_changed",
    }
    assert scorer.event_kinds == ("survey",)
    events = [
        seats_event(),
        {**seats_event(), "kind": "webinar"},
        {**seats_event(), "kind": "survey"},
    ]
    assert (
        scorer.score({"id": "c1", "segment": "smb"}, events, as_of=AS_OF).factor("seats").score
        == 100
    )


def test_a_factor_left_out_makes_its_kinds_unknown() -> None:
    """Only the factors in use name known kinds; kinds=None names none."""
    plugins = (testing.make_plugin(Seats, EveryKind),)
    in_use = testing.make_scorer(*plugins)
    assert "seats_used" in in_use.model.kinds.known
    left_out = testing.make_scorer(*plugins, factors=["api_usage", "every_kind"])
    assert left_out.model.kinds.known == in_use.model.kinds.known - {"seats_used"}
    with pytest.raises(UnknownEventKindError, match="'seats_used'"):
        left_out.score({"id": "c1", "segment": "smb"}, [seats_event()], as_of=AS_OF)


def test_reconfigured_scorers_keep_the_kinds_settings() -> None:
    """A scorer with other weights accepts and keeps what the first one did."""
    first = Scorer(entry_points=False, event_kinds=["webinar"], unknown_kinds="keep")
    again = first.reconfigured(weights={"api_usage": 1.0})
    assert (again.event_kinds, again.unknown_kinds) == (("webinar",), "keep")
    assert again.model.kinds == first.model.kinds


def test_the_suggestion_is_left_out_when_nothing_is_close() -> None:
    """A kind like no known one gets no 'did you mean'."""
    with pytest.raises(UnknownEventKindError) as caught:
        Scorer(entry_points=False).score_many(
            typo_portfolio("zzz").customers, typo_portfolio("zzz").events, as_of=AS_OF
        )
    assert caught.value.suggestion is None
    assert "did you mean" not in str(caught.value)


def test_a_generator_of_events_is_named_by_position() -> None:
    """Events given as a generator are read once and the typo still named by position."""
    events = typo_portfolio().events
    with pytest.raises(UnknownEventKindError, match=rf"^event #{TYPO_AT} "):
        Scorer(entry_points=False).score({"id": "c1", "segment": "smb"}, iter(events), as_of=AS_OF)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"event_kinds": "webinar"}, "event_kinds='webinar' is a string"),
        ({"event_kinds": [""]}, "event_kinds has event kind ''"),
        ({"event_kinds": ["a\x00b"]}, "control characters"),
        ({"event_kinds": [3]}, "an event kind is a string"),
        ({"unknown_kinds": "skip"}, "unknown_kinds='skip'; use 'error' or 'keep'"),
    ],
)
def test_bad_settings_are_configuration_errors(options: dict[str, Any], message: str) -> None:
    """Settings that cannot be kinds, or another unknown_kinds, are configuration errors."""
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(")):
        Scorer(entry_points=False, **options)


def test_a_plugin_declaring_a_bad_kind_is_named() -> None:
    """A kind a plugin declares is checked, and the error names the plugin."""
    with pytest.raises(ConfigurationError, match="plugin 'bad_kinds' declared event kind ''"):
        testing.make_scorer(declaring("bad_kinds", "fine", ""))


def test_a_plugin_without_the_hook_keeps_working() -> None:
    """A plugin written before register_event_kinds: its factor's kinds are known."""
    smb = {"smb": {"api_calls_30d": 1, "login_days_30d": 1, "features_30d": 1, "tickets_90d": 1}}
    scorer = testing.make_scorer(testing.make_plugin(Seats, segments=smb), builtin=False)
    assert not scorer.registry.event_kinds  # no plugin implements the hook
    health = scorer.score({"id": "c1", "segment": "smb"}, [seats_event()], as_of=AS_OF)
    assert health.factor("seats").score == 100


# -- the store, the service and the command line ------------------------------------------


def test_the_store_rejects_a_typo_and_keeps_stored_rows_readable(
    make_store: Callable[..., Any],
) -> None:
    """Recording a typo is an error naming it and stores nothing; a row stored earlier
    with a kind now unknown (written straight into ch_events) is read and scored."""
    import sqlalchemy as sa

    from customer_health.storage._tables import events

    store = make_store()
    store.add_customer({"id": "c1", "segment": "smb"})
    with pytest.raises(UnknownEventKindError, match=rf"event #{TYPO_AT} \(event_id 'e7'\)"):
        store.record_many(typo_portfolio().events)
    assert store.count_events() == 0
    store.record_many(without_typo().events)
    with store.engine.begin() as connection:
        connection.execute(
            sa.insert(events).values(
                customer_id="c1",
                kind="legacy_kind",
                occurred_at=AS_OF - DAY,
                properties={"a": 1},
                recorded_at=AS_OF,
            )
        )
    assert [e.kind for e in store.events("c1")].count("legacy_kind") == 1
    health = store.health("c1", as_of=AS_OF)
    assert health == Scorer(entry_points=False).score(
        {"id": "c1", "segment": "smb"}, without_typo().events, as_of=AS_OF
    )
    assert store.recalculate(as_of=AS_OF, save=False)[0] == health


def test_a_store_that_keeps_unknown_kinds_stores_them(make_store: Callable[..., Any]) -> None:
    """A store whose scorer keeps unknown kinds stores the typo and reads it back."""
    store = make_store(scorer=Scorer(entry_points=False, unknown_kinds="keep"))
    store.add_customer({"id": "c1", "segment": "smb"})
    assert store.record_many(typo_portfolio().events).recorded == TYPO_AT + 1
    assert "logon" in {e.kind for e in store.events("c1")}


def test_the_service_answers_422_naming_the_event_and_the_settings(
    make_store: Callable[..., Any],
) -> None:
    """POSTing a typo is a 422 problem naming the event's position, the kind, the closest
    kind and the service's settings; a store whose scorer declares it takes it."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from customer_health.service import Settings, create_app

    settings = Settings(sample_customers=0, worker=False, create_tables=False)
    for scorer, status in ((None, 422), (Scorer(event_kinds=["logon"]), 202)):
        store = make_store(scorer=scorer)
        if status == 422:
            store.add_customer({"id": "c1", "segment": "smb"})
        with TestClient(create_app(settings, store=store)) as client:
            body = [
                {k: v for k, v in e.items() if k != "customer_id"} for e in typo_portfolio().events
            ]
            response = client.post(
                "/api/customers/c1/events",
                content=json.dumps(body, default=datetime.isoformat),
                headers={"content-type": "application/json"},
            )
        assert response.status_code == status, response.text
        if status == 422:
            detail = response.json()["detail"]
            assert f"event #{TYPO_AT} (event_id 'e7')" in detail
            assert "unknown event kind 'logon' (did you mean 'login'?)" in detail
            assert "CUSTOMER_HEALTH_EVENT_KINDS" in detail
            assert "CUSTOMER_HEALTH_UNKNOWN_KINDS=keep" in detail


def test_the_service_settings_make_the_store_scorer(monkeypatch: pytest.MonkeyPatch) -> None:
    """CUSTOMER_HEALTH_EVENT_KINDS (comma-separated) and CUSTOMER_HEALTH_UNKNOWN_KINDS set
    the scorer of the store the service makes."""
    pytest.importorskip("fastapi")
    from customer_health.service import Settings
    from customer_health.service.app import make_store

    monkeypatch.setenv("CUSTOMER_HEALTH_EVENT_KINDS", "webinar, survey")
    monkeypatch.setenv("CUSTOMER_HEALTH_UNKNOWN_KINDS", "keep")
    settings = Settings(database_url="sqlite://")
    assert (settings.event_kinds, settings.unknown_kinds) == (("webinar", "survey"), "keep")
    store = make_store(settings)
    try:
        assert {"webinar", "survey"} <= store.scorer.model.kinds.known
        assert store.scorer.model.kinds.keep_unknown
    finally:
        store.close()


@pytest.fixture
def typo_files(tmp_path: Path) -> tuple[str, str]:
    """The typo portfolio as CSV files."""
    pytest.importorskip("polars")
    import polars as pl

    customers, events = tmp_path / "customers.csv", tmp_path / "events.csv"
    pl.DataFrame(typo_portfolio().customers).write_csv(customers)
    rows = [
        {"event_id": None, **e, "occurred_at": e["occurred_at"].isoformat()}
        for e in typo_portfolio().events
    ]
    pl.DataFrame(rows).write_csv(events)
    return str(customers), str(events)


@pytest.mark.parametrize("command", ["score", "explain"])
def test_the_command_line_names_the_line_and_its_flags(
    typo_files: tuple[str, str], capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """score and explain reject the typo with an error naming the file's line, the kind,
    the closest kind and the flags; --event-kind and --keep-unknown-kinds accept it."""
    customers, events = typo_files
    argv = [command, *(["c1"] if command == "explain" else []), "--customers", customers]
    argv += ["--events", events, "--as-of", AS_OF.isoformat()]
    assert main(argv) != 0
    error = capsys.readouterr().err
    assert "line 5" in error  # the header is line 1, the typo's row 3 is line 5
    assert "unknown event kind 'logon' (did you mean 'login'?)" in error
    assert "--event-kind NAME" in error
    assert "--keep-unknown-kinds" in error
    assert main([*argv, "--event-kind", "webinar,logon"]) == 0
    assert main([*argv, "--keep-unknown-kinds"]) == 0


def test_the_kinds_flags_are_for_files(capsys: pytest.CaptureFixture[str]) -> None:
    """With a database, whose stored events are read whatever their kind, the flags are
    an error rather than ignored."""
    assert main(["score", "--database-url", "sqlite://", "--event-kind", "webinar"]) != 0
    assert "--event-kind is for files" in capsys.readouterr().err
