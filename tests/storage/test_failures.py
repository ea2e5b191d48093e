"""Scoring failures: one customer's error fails only that customer, which waits out a
backoff on the queue, visibly, while the others are scored; the database's errors are
nobody's."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from customer_health import (
    ConfigurationError,
    Event,
    Factor,
    FactorContext,
    FactorError,
    FactorResult,
    Scorer,
    UnknownCustomerError,
)
from customer_health.storage import Drained, ScoringState
from customer_health.storage import _queries as queries
from customer_health.storage._retry import MAX_ERROR, connection_lost, describe, retry_delay
from customer_health.storage.sqlalchemy import SQLAlchemyStore, SQLEvents

from ..backends import NOW, Backend, Clock
from .failing_worker import Fussy, Plugin, Poisoned
from .test_queue import ROOT, logins

US = timedelta(microseconds=1)
SECOND = timedelta(seconds=1)


def scorer(*factors: Factor) -> Scorer:
    """The default model plus ``factors``, and no installed plugins."""
    return Scorer(plugins=[Plugin(*factors)], entry_points=False)


def add(store: SQLAlchemyStore, count: int, events: int = 0) -> list[str]:
    """Add customers ``c0``, ``c1``, ... with ``events`` logins each; return their ids."""
    ids = [f"c{i}" for i in range(count)]
    store.add_customers([{"id": cid, "segment": "smb"} for cid in ids])
    if events:
        store.record_many([event for cid in ids for event in logins(cid, events)])
    return ids


NOT_PENDING = ScoringState(pending=False, attempts=0)


def test_a_customer_failing_in_scoring_fails_alone(
    make_store: Callable[..., SQLAlchemyStore], caplog: pytest.LogCaptureFixture
) -> None:
    """The others are scored and saved; the failing one stays queued with its error, logged."""
    store = make_store(scorer=scorer(Fussy(["c2"])))
    ids = add(store, 5)
    with caplog.at_level(logging.WARNING, logger="customer_health.storage"):
        assert store.rescore_pending() == 4
    assert [cid for cid in ids if store.latest_score(cid) is None] == ["c2"]
    state = store.scoring_state("c2")
    assert state.pending
    assert state.attempts == 1
    assert state.last_error is not None
    assert "cannot score c2" in state.last_error
    assert state.failed_at == NOW
    assert state.next_attempt_at == NOW + SECOND
    assert store.scoring_state("c1") == NOT_PENDING
    assert store.pending_count() == 1
    assert store.stats().failing == 1
    [record] = [r for r in caplog.records if r.name == "customer_health.storage"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "'c2'" in message
    assert "attempt 1" in message
    assert "cannot score c2" in message
    assert (NOW + SECOND).isoformat() in message
    assert record.exc_info is not None  # the traceback, the first time


def test_a_failing_customer_is_retried_with_backoff_until_it_succeeds(
    make_store: Callable[..., SQLAlchemyStore], clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """Not taken before its backoff ends, then again, counting up; a success dequeues it."""
    fussy = Fussy(["c1"])
    store = make_store(scorer=scorer(fussy), retry_delay=10 * SECOND, retry_max_delay=30 * SECOND)
    add(store, 3)
    assert store.rescore_pending() == 2
    for attempts, wait in [(1, 10), (2, 20), (3, 30), (4, 30)]:
        state = store.scoring_state("c1")
        assert (state.attempts, state.failed_at) == (attempts, clock.now)
        assert state.next_attempt_at == clock.now + wait * SECOND
        clock.advance(wait * SECOND - US)
        assert store.rescore_pending() == 0
        assert store.scoring_state("c1").attempts == attempts  # not taken before its time
        clock.advance(US)
        if attempts == 4:
            fussy.failing.clear()  # fixed
        assert store.rescore_pending() == (1 if attempts == 4 else 0)
    assert store.scoring_state("c1") == NOT_PENDING
    assert store.latest_score("c1") is not None
    assert store.pending_count() == 0
    assert store.stats().failing == 0
    warnings = [r for r in caplog.records if r.name == "customer_health.storage"]
    assert ["attempt 4" in r.getMessage() for r in warnings] == [False, False, False, True]
    assert [r.exc_info is not None for r in warnings] == [True, False, False, False]


def test_an_aggregation_failing_for_one_customer_is_bisected(
    make_store: Callable[..., SQLAlchemyStore],
) -> None:
    """A batch's shared aggregation fails: its halves are tried down to the one customer."""
    poisoned = Poisoned(["c5"])
    store = make_store(scorer=scorer(poisoned), batch_size=8)
    ids = add(store, 8, events=2)
    assert store.rescore_pending() == 7
    # the batch, its halves (the first scores), the second's halves, and so on
    assert poisoned.batches == [8, 4, 4, 2, 1, 1, 2]
    assert [cid for cid in ids if store.latest_score(cid) is None] == ["c5"]
    assert all(len(store.history(cid)) == 1 for cid in ids if cid != "c5")
    score = store.latest_score("c0")
    assert score is not None
    assert score.factor("poisoned").score == 20.0
    state = store.scoring_state("c5")
    assert state.attempts == 1
    assert state.last_error is not None
    assert "poisoned events of c5" in state.last_error


def test_customers_failing_again_cost_the_others_nothing(
    make_store: Callable[..., SQLAlchemyStore], clock: Clock
) -> None:
    """A customer retried is scored apart from the others due with it, which are one part."""
    poisoned = Poisoned(["c1"])
    store = make_store(scorer=scorer(poisoned))
    add(store, 4, events=1)
    assert store.rescore_pending() == 3
    assert poisoned.batches == [4, 2, 1, 1, 2]
    poisoned.batches.clear()
    store.record_many([*logins("c0", 1), *logins("c2", 1)])
    clock.advance(SECOND)
    assert store.rescore_pending() == 2
    assert poisoned.batches == [2, 1]
    assert store.scoring_state("c1").attempts == 2


class Divisive(Factor):
    """API calls over 30 days, in SQL: ``1 / (quantity - 13)`` summed, which the database
    cannot compute for a call of quantity 13."""

    name = "divisive"
    kinds = frozenset({"api_call"})
    window_days = 30
    inputs = ("calls",)

    def aggregate(self, events: Sequence[Event], as_of: datetime) -> dict[str, float]:
        return {"calls": float(len(events))}

    def sql_inputs(self, events: SQLEvents) -> Mapping[str, Any]:
        quantity = events.c["quantity"]
        return {"calls": sa.func.sum(events.when(None, sa.literal(1) / (quantity - 13)))}

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        return FactorResult(50.0, "divided")


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_an_sql_error_for_one_customer_rolls_back_only_its_part(
    make_store: Callable[..., SQLAlchemyStore],
) -> None:
    """A statement failing for one customer (which aborts a PostgreSQL transaction) is
    bisected in savepoints: the others are scored."""
    store = make_store(scorer=scorer(Divisive()))
    ids = add(store, 6)
    calls = [
        {"customer_id": cid, "kind": "api_call", "quantity": 13 if cid == "c4" else 20}
        for cid in ids
    ]
    store.record_many([{**call, "occurred_at": NOW - SECOND} for call in calls])
    assert store.rescore_pending() == 5
    assert [cid for cid in ids if store.latest_score(cid) is None] == ["c4"]
    state = store.scoring_state("c4")
    assert state.attempts == 1
    assert state.last_error is not None
    assert "division by zero" in state.last_error


def test_new_events_and_stale_scores_keep_the_backoff(
    make_store: Callable[..., SQLAlchemyStore], clock: Clock
) -> None:
    """Events, updates and stale marking leave a failing customer's attempts and backoff."""
    days = timedelta(days=2)
    store = make_store(scorer=scorer(Fussy(["c0"])), retry_delay=days, retry_max_delay=days)
    add(store, 2)
    store.rescore_pending()
    failed = store.scoring_state("c0")
    assert failed.attempts == 1
    store.record_many(logins("c0", 3))
    store.update_customer({"id": "c0", "segment": "startup"})
    assert store.scoring_state("c0") == failed
    clock.advance(timedelta(hours=25))  # c1's score is stale
    assert store.rescore_pending() == 1
    assert store.scoring_state("c0") == failed
    assert len(store.history("c1")) == 2


def test_a_batch_where_everyone_fails_ends_the_drain(
    make_store: Callable[..., SQLAlchemyStore],
) -> None:
    """Every customer fails: the drain ends, each one queued with its backoff; a shared
    aggregation costs 2n - 1 attempts per batch of n."""
    poisoned = Poisoned([f"c{i}" for i in range(8)])
    store = make_store(scorer=scorer(poisoned), batch_size=4)
    ids = add(store, 8, events=1)
    drained = store.drain()
    assert drained == Drained(rescored=0, failed=8)
    assert poisoned.batches == [4, 2, 1, 1, 2, 1, 1] * 2
    assert all(store.scoring_state(cid).attempts == 1 for cid in ids)
    assert store.pending_count() == 8
    assert store.stats().failing == 8
    assert store.rescore_pending() == 0  # none due again yet
    assert store.scoring_state("c0").attempts == 1


LOST = [
    sa.exc.OperationalError("INSERT", {}, ConnectionResetError("server closed the connection")),
    sa.exc.InterfaceError("INSERT", {}, ConnectionResetError("connection already closed")),
    sa.exc.DBAPIError("INSERT", {}, RuntimeError("gone"), connection_invalidated=True),
]


@pytest.mark.parametrize("error", LOST, ids=["operational", "interface", "invalidated"])
def test_connection_errors_are_not_put_down_to_customers(
    make_store: Callable[..., SQLAlchemyStore],
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
) -> None:
    """The database's errors fail the batch, which stays queued as it was, failing nobody."""
    store = make_store()
    ids = add(store, 3)

    def lost(*args: Any) -> None:
        raise error

    with monkeypatch.context() as patch:
        patch.setattr(queries, "save_scores", lost)
        with pytest.raises(type(error)):
            store.rescore_pending()
    assert all(store.scoring_state(cid).attempts == 0 for cid in ids)
    assert store.pending_count() == 3
    assert store.rescore_pending() == 3


def test_a_connection_error_while_scoring_a_customer_fails_the_batch(
    make_store: Callable[..., SQLAlchemyStore],
) -> None:
    """An invalidated connection seen while scoring one customer is nobody's fault either."""
    fussy = Fussy()
    fussy.error = LOST[2]
    store = make_store(scorer=scorer(fussy))
    add(store, 2)
    with pytest.raises((FactorError, sa.exc.DBAPIError)):
        store.rescore_pending()
    assert store.scoring_state("c0") == store.scoring_state("c1")
    assert store.scoring_state("c0").attempts == 0
    fussy.error = None
    assert store.rescore_pending() == 2


class Killer(Factor):
    """Scores 50, but first terminates the store's connection while scoring ``victim``."""

    name = "killer"

    def __init__(self, admin: sa.Engine, pids: list[int], victim: str) -> None:
        self.admin = admin
        self.pids = pids
        self.victim = victim

    def evaluate(self, events: Any, ctx: FactorContext) -> FactorResult:
        if ctx.customer.id == self.victim:
            self.victim = ""
            with self.admin.connect() as connection:
                connection.execute(sa.select(sa.func.pg_terminate_backend(self.pids[-1])))
        return FactorResult(50.0, "survived")


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_lost_connection_fails_the_batch_and_nobody(
    backend: Backend, make_store: Callable[..., SQLAlchemyStore]
) -> None:
    """PostgreSQL: the store's connection terminated mid-batch; the batch stays queued as
    it was, and the next drain scores it."""
    pids: list[int] = []
    store = make_store(scorer=scorer(Killer(backend.engine(), pids, "c1")), new_engine=True)

    @sa.event.listens_for(store.engine, "checkout")
    def remember(dbapi_connection: Any, *args: Any) -> None:
        pids.append(dbapi_connection.info.backend_pid)

    ids = add(store, 3)
    with pytest.raises(sa.exc.OperationalError):
        store.rescore_pending()
    assert [store.scoring_state(cid).attempts for cid in ids] == [0, 0, 0]
    assert store.rescore_pending() == 3


def test_the_state_is_listed_and_counted(make_store: Callable[..., SQLAlchemyStore]) -> None:
    """Listings and scored_customer carry each customer's scoring state; stats count failures."""
    store = make_store(scorer=scorer(Fussy(["c1"])))
    add(store, 3)
    store.add_customer({"id": "later", "segment": "smb", "created_at": NOW + SECOND})
    assert store.rescore_pending() == 2
    store.record_many(logins("c2", 1))
    page = store.latest(order="name")
    scoring = {item.customer.id: item.scoring for item in page.items}
    assert scoring["c0"] == NOT_PENDING
    assert scoring["c1"] == store.scoring_state("c1")
    assert scoring["c1"].attempts == 1
    assert scoring["c2"] == ScoringState(pending=True, attempts=0, next_attempt_at=NOW)
    assert scoring["later"] == NOT_PENDING  # created in the future: queued once it exists
    assert store.scored_customer("c1") == page.items[1]
    stats = store.stats()
    assert (stats.failing, stats.unscored) == (1, 2)
    with pytest.raises(UnknownCustomerError):
        store.scoring_state("nobody")
    with pytest.raises(UnknownCustomerError):
        store.scored_customer("nobody")


@pytest.mark.parametrize(
    "options",
    [
        {"retry_delay": timedelta(0)},
        {"retry_delay": 1},
        {"retry_max_delay": timedelta(milliseconds=999)},
        {"retry_max_delay": 3600},
    ],
)
def test_the_backoff_is_checked(backend: Backend, options: dict[str, Any]) -> None:
    """A backoff that is not a positive timedelta, or a cap below it, is refused."""
    with pytest.raises(ConfigurationError, match="retry_"):
        SQLAlchemyStore(backend.engines[0], **options)


def test_retry_delays_double_up_to_the_cap() -> None:
    """The backoff doubles from its first delay to its cap, and stays there, however long."""
    first, most = SECOND, timedelta(hours=1)
    delays = [retry_delay(n, first, most) for n in (1, 2, 3, 12, 13, 10**6)]
    assert delays == [SECOND, 2 * SECOND, 4 * SECOND, 2048 * SECOND, most, most]
    assert retry_delay(5, timedelta(days=10**5), timedelta(days=10**6)) == timedelta(days=10**6)


def test_errors_are_kept_short() -> None:
    """An error is kept as its type and message, cut to MAX_ERROR characters."""
    assert describe(ValueError("bad")) == "ValueError: bad"
    long = describe(ValueError("x" * 5000))
    assert len(long) == MAX_ERROR
    assert long.endswith("xx...")


def _raised(error: BaseException, cause: BaseException) -> BaseException:
    try:
        raise error from cause
    except BaseException as caught:
        return caught


def _sqlite_error() -> sqlite3.OperationalError:
    # closing(): sqlite3's own context manager ends the transaction, not the connection
    # (an unclosed one is a ResourceWarning on Python 3.13).
    with closing(sqlite3.connect(":memory:")) as connection:
        try:
            connection.execute("SELECT no_such_function()")
        except sqlite3.OperationalError as error:
            return error
    raise AssertionError("unreachable")


def test_which_errors_are_the_connections() -> None:
    """Operational and interface errors (SQLAlchemy's or a driver's), and invalidated
    connections, are the database's; SQLite's statement errors and factors' are not."""
    psycopg = pytest.importorskip("psycopg")
    statement_error = _sqlite_error()
    wrapped = sa.exc.OperationalError("SELECT", {}, statement_error)
    invalidated = LOST[2]
    assert connection_lost(LOST[0])
    assert connection_lost(LOST[1])
    assert connection_lost(invalidated)
    assert connection_lost(psycopg.OperationalError("consuming input failed"))
    assert connection_lost(sqlite3.OperationalError("database is locked"))
    assert connection_lost(_raised(RuntimeError("while saving"), LOST[0]))
    assert connection_lost(_raised(FactorError("in a factor"), invalidated))
    assert not connection_lost(statement_error)
    assert not connection_lost(wrapped)
    assert not connection_lost(_raised(FactorError("its SQL"), LOST[0]))
    assert not connection_lost(sa.exc.DataError("SELECT", {}, ValueError("division by zero")))
    assert not connection_lost(ValueError("a plugin's"))


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.parametrize("backend", ["sqlite-file", "postgresql"], indirect=True)
def test_a_worker_process_scores_everyone_but_the_failing_customer(backend: Backend) -> None:
    """A real worker process: 999 of 1,000 customers scored within seconds, the one whose
    aggregation fails kept on the queue with its attempts, visible and logged."""
    store = SQLAlchemyStore(backend.engines[0])  # on the clock of the wall, as the worker
    ids = [f"c{i:04d}" for i in range(1000)]
    store.add_customers([{"id": cid, "segment": "smb"} for cid in ids])
    now = store.now()
    store.record_many(
        {"customer_id": cid, "kind": "login", "occurred_at": now - SECOND} for cid in ids[::10]
    )
    search_path = backend.connect_args.get("options", "").removeprefix("-csearch_path=")
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.storage.failing_worker", backend.url, search_path, "c0500"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        started = time.monotonic()
        scored = _wait_for(lambda: store.stats().unscored == 1, 30)
        seconds = time.monotonic() - started
        failing = _wait_for(lambda: store.scoring_state("c0500").attempts >= 2, 30)
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            out, err = child.communicate(timeout=60)
        finally:
            if child.poll() is None:  # pragma: no cover - only if the test failed
                child.kill()
                child.communicate()
    assert scored, err
    assert seconds < 30
    assert failing, err
    assert child.returncode == 0, err  # stopped cleanly: the worker kept going
    assert out == "started\n"
    assert store.latest_score("c0500") is None
    assert sum(store.latest_score(cid) is not None for cid in ids) == 999
    state = store.scoring_state("c0500")
    assert state.pending
    assert state.last_error is not None
    assert "poisoned events of c0500" in state.last_error
    assert store.stats().failing == 1
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    warnings = [line for line in lines if line["level"] == "WARNING"]
    assert warnings
    assert all(line["customer_id"] == "c0500" for line in warnings)
    assert [line["attempts"] for line in warnings] == list(range(1, len(warnings) + 1))
    assert "exception" in warnings[0]
    assert sum(line.get("customers", 0) for line in lines if line["message"] == "rescored") == 999
