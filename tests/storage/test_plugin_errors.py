"""The SQL store names the plugin factor that raised, in Python or in the database."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from customer_health import (
    Factor,
    FactorContext,
    FactorError,
    FactorResult,
    Scorer,
    hookimpl,
)
from customer_health.model import guard
from customer_health.storage._compute import _sql_fault
from customer_health.storage.sqlalchemy import SQLAlchemyStore, SQLEvents

from ..backends import NOW, Backend


class Urgent(Factor):
    """Urgent tickets in 90 days, with an SQL form."""

    name = "urgent"
    kinds = frozenset({"support_ticket"})
    window_days = 90
    inputs = ("urgent",)

    def aggregate(self, events: Sequence[Any], as_of: datetime) -> dict[str, float]:
        return {"urgent": float(sum(e.priority == "urgent" for e in events))}

    def sql_inputs(self, events: SQLEvents) -> dict[str, Any]:
        return {"urgent": sa.func.sum(events.when(events.c["priority"] == "urgent", 1))}

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        n = inputs["urgent"]
        return FactorResult(score=100.0 / (1 + n), value=n, explanation=f"{n} urgent tickets")


class SqlInputsRaise(Urgent):
    """An SQL form that raises while it builds its expressions."""

    def sql_inputs(self, events: SQLEvents) -> dict[str, Any]:
        raise RuntimeError("no SQL today")


class EmptyRaises(Urgent):
    """An aggregate() that divides by the number of tickets: it raises for no events."""

    def aggregate(self, events: Sequence[Any], as_of: datetime) -> dict[str, float]:
        urgent = sum(e.priority == "urgent" for e in events)
        return {"urgent": float(urgent / len(events))}


class ComputeRaises(Urgent):
    """A compute() that divides by the number of urgent tickets: it raises for c2."""

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        score = 100.0 / inputs["urgent"]
        return FactorResult(score=score, value=inputs["urgent"], explanation="urgent")


class UnknownFunction(Urgent):
    """An SQL form calling a function no database has: it fails only when it runs."""

    name = "unknown_function"

    def sql_inputs(self, events: SQLEvents) -> dict[str, Any]:
        return {"urgent": sa.func.sum(events.when(None, sa.func.ch_no_such_function(1)))}


class DividesByZero(Urgent):
    """An SQL form dividing by zero on every ticket: PostgreSQL fails when it runs it."""

    name = "divides"

    def sql_inputs(self, events: SQLEvents) -> dict[str, Any]:
        return {"urgent": sa.func.sum(events.when(None, sa.literal(1) / sa.literal(0)))}


def _plugin(*factors: Factor) -> Any:
    class Plugin:
        @hookimpl
        def register_factors(self, register: Callable[[Any], None]) -> None:
            for factor in factors:
                register(factor)

    return Plugin()


def _store(make_store: Callable[..., SQLAlchemyStore], *factors: Factor) -> SQLAlchemyStore:
    """A store scoring with ``factors`` (plugin ``Plugin``) and the built-in ones, holding
    c1 (one urgent ticket) and c2 (none)."""
    store = make_store(scorer=Scorer(plugins=[_plugin(*factors)], entry_points=False))
    store.add_customers([{"id": "c1", "segment": "smb"}, {"id": "c2", "segment": "smb"}])
    store.record_many(
        [
            {
                "customer_id": "c1",
                "kind": "support_ticket",
                "occurred_at": NOW,
                "priority": "urgent",
            },
            {"customer_id": "c1", "kind": "login", "occurred_at": NOW, "user_id": "u1"},
        ]
    )
    return store


def _scores(store: SQLAlchemyStore, every: bool) -> Callable[[], object]:
    """Score every customer (one query over the whole table) or c2 alone, when called."""
    if every:
        return lambda: store.recalculate(as_of=NOW)
    return lambda: store.health("c2", as_of=NOW)


def _check(caught: pytest.ExceptionInfo[FactorError], start: str, end: str) -> None:
    message = str(caught.value)
    assert message.startswith(start), message
    assert message.endswith(end), message


@pytest.mark.parametrize(
    ("factor", "hook", "cause", "customer"),
    [
        pytest.param(SqlInputsRaise(), "sql_inputs", RuntimeError, None, id="sql_inputs"),
        pytest.param(EmptyRaises(), "aggregate", ZeroDivisionError, None, id="aggregate"),
        pytest.param(ComputeRaises(), "compute", ZeroDivisionError, "c2", id="compute"),
    ],
)
def test_a_plugin_raising_in_the_store_is_a_factor_error(
    make_store: Callable[..., SQLAlchemyStore],
    factor: Factor,
    hook: str,
    cause: type[Exception],
    customer: str | None,
) -> None:
    """What a plugin factor's method raises while the store computes scores is a
    FactorError naming the factor, its plugin, the method and the customer scored (if
    one), chained to the original exception."""
    store = _store(make_store, factor)
    with pytest.raises(FactorError) as caught:
        store.recalculate(as_of=NOW)
    during = "" if customer is None else f" while scoring customer {customer!r}"
    _check(
        caught,
        f"factor 'urgent' (plugin 'Plugin') raised {cause.__name__}(",
        f" in {hook}(){during}",
    )
    assert type(caught.value.__cause__) is cause


@pytest.mark.parametrize("every", [True, False], ids=["recalculate", "health"])
def test_a_database_error_in_a_plugins_sql_is_a_factor_error(
    make_store: Callable[..., SQLAlchemyStore], every: bool
) -> None:
    """A plugin's SQL that the database fails to run (an unknown function) is a
    FactorError naming the factor, its plugin and sql_inputs, chained to the database's
    error (on PostgreSQL too, whose aborted transaction must not hide it)."""
    store = _store(make_store, UnknownFunction())
    with pytest.raises(FactorError) as caught:
        _scores(store, every)()
    _check(
        caught,
        "factor 'unknown_function' (plugin 'Plugin') raised ",
        " in sql_inputs()",
    )
    assert "ch_no_such_function" in str(caught.value)
    assert isinstance(caught.value.__cause__, sa.exc.DBAPIError)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # SQLite gives NULL
def test_a_division_by_zero_in_a_plugins_sql_is_a_factor_error(
    backend: Backend, make_store: Callable[..., SQLAlchemyStore]
) -> None:
    """A plugin's SQL dividing by zero (an error on PostgreSQL) is a FactorError naming it."""
    store = _store(make_store, DividesByZero())
    with pytest.raises(FactorError) as caught:
        store.recalculate(as_of=NOW)
    _check(caught, "factor 'divides' (plugin 'Plugin') raised DataError(", " in sql_inputs()")
    assert "division by zero" in str(caught.value)
    assert isinstance(caught.value.__cause__, sa.exc.DataError)


def test_a_database_error_names_every_plugin_factor_in_the_query(
    make_store: Callable[..., SQLAlchemyStore],
) -> None:
    """The one query holds every SQL factor's aggregates, so which plugin's SQL failed
    cannot be told: the error names each plugin factor in it (not the built-in ones)."""
    store = _store(make_store, Urgent(), UnknownFunction())
    with pytest.raises(FactorError) as caught:
        store.recalculate(as_of=NOW)
    _check(
        caught,
        "factor 'urgent' (plugin 'Plugin') or factor 'unknown_function' (plugin 'Plugin') raised ",
        " in sql_inputs()",
    )
    assert "builtin" not in str(caught.value)


def _dbapi_error(error: type[sa.exc.DBAPIError], orig: Exception, **kwargs: Any) -> Exception:
    return error("SELECT 1", {}, orig, **kwargs)


@pytest.mark.parametrize(
    ("exc", "blamed"),
    [
        pytest.param(_dbapi_error(sa.exc.DataError, ValueError("x")), True, id="data"),
        pytest.param(_dbapi_error(sa.exc.ProgrammingError, ValueError("x")), True, id="sql"),
        pytest.param(sa.exc.CompileError("cannot render"), True, id="compile"),
        pytest.param(
            _dbapi_error(sa.exc.ProgrammingError, ValueError("x"), connection_invalidated=True),
            False,
            id="disconnect",
        ),
        pytest.param(
            _dbapi_error(sa.exc.OperationalError, ValueError("timeout")), False, id="operation"
        ),
        pytest.param(
            _dbapi_error(sa.exc.OperationalError, sqlite3.OperationalError("locked")),
            False,
            id="sqlite-locked",
        ),
        pytest.param(sa.exc.InterfaceError("x", {}, ValueError("x")), False, id="interface"),
    ],
)
def test_only_errors_the_sql_or_the_data_can_cause_are_blamed_on_plugins(
    exc: Exception, blamed: bool
) -> None:
    """Database errors of the SQL or the data are a plugin's; those of the database's
    operation (a lost connection, a timeout, a lock) are nobody's and pass as they are."""
    assert _sql_fault(exc) is blamed


def test_an_error_with_no_factor_to_blame_passes_as_it_is() -> None:
    """A query holding no plugin's SQL has nobody to blame: its error passes as it is."""

    def fails() -> None:
        raise ZeroDivisionError("division by zero")

    with pytest.raises(ZeroDivisionError):
        guard([], "sql_inputs", fails)
