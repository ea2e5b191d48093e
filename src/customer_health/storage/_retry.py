"""Scoring failures: which errors are a customer's, what is kept of them, and when the
customer is tried again.

A customer whose scoring raises stays on the queue with a backoff (see
:meth:`SQLAlchemyStore.rescore_pending`); an error that is the database's - its
connection lost - is no customer's, and fails the whole batch instead.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from ..exceptions import FactorError

__all__ = ["MAX_ERROR", "connection_lost", "describe", "retry_delay"]

MAX_ERROR = 2000
"""Characters of an error kept on the queue (the message of a factor's error names the
factor, the hook and the customer well within this)."""

_DRIVER_ERRORS = frozenset({"OperationalError", "InterfaceError"})
"""The DB-API 2 exceptions (PEP 249) of the database's state, not of a statement's data:
the connection lost or unusable, the server shutting down, a lock not had in time."""


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` - or an exception it was raised from or while handling - is the
    database's rather than the customer's: an ``OperationalError`` or ``InterfaceError``
    (SQLAlchemy's, or a driver's own, as raised through a raw ``COPY``), or an error
    that invalidated the connection.

    Not so SQLite's error about a statement (``SQLITE_ERROR``: no such function, ...),
    which its driver reports as an ``OperationalError`` too, nor anything the engine
    put down to a factor (a :class:`~customer_health.FactorError` and what it was
    raised from), short of an invalidated connection.
    """
    chain = _chain(exc)
    if any(isinstance(e, sa.exc.DBAPIError) and e.connection_invalidated for e in chain):
        return True
    for current in chain:
        if isinstance(current, FactorError):
            return False
        if isinstance(current, sa.exc.OperationalError | sa.exc.InterfaceError):
            return not _sqlite_error(current.orig)
        if not isinstance(current, sa.exc.SQLAlchemyError) and any(
            kind.__name__ in _DRIVER_ERRORS for kind in type(current).__mro__
        ):
            return not _sqlite_error(current)
    return False


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling, in turn."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _sqlite_error(exc: BaseException | None) -> bool:
    """Whether ``exc`` is SQLite's error about a statement rather than the database."""
    return getattr(exc, "sqlite_errorname", None) == "SQLITE_ERROR"


def describe(exc: BaseException) -> str:
    """What is kept of a customer's error: its type and message, at most
    :data:`MAX_ERROR` characters."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 3] + "..."


def retry_delay(attempts: int, first: timedelta, most: timedelta) -> timedelta:
    """How long a customer that failed ``attempts`` times in a row waits: ``first``,
    doubled for each further failure, at most ``most``."""
    seconds = first.total_seconds() * 2.0 ** min(max(attempts - 1, 0), 1000)
    return most if seconds >= most.total_seconds() else timedelta(seconds=seconds)
