"""Opening the SQL store for a command, with its errors as one line naming the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..exceptions import MissingExtraError
from ._common import CommandError, UsageError, require_extra

if TYPE_CHECKING:
    import sqlalchemy as sa

    from ..scoring import Scorer
    from ..storage.sqlalchemy import SQLAlchemyStore

__all__ = ["open_store"]


@contextmanager
def open_store(
    url: str, feature: str, *, must_exist: bool = True, scorer: Scorer | None = None
) -> Iterator[SQLAlchemyStore]:
    """The store at ``url`` (scoring with ``scorer``, default the store's), closed at the
    end; a database error inside the block becomes a :class:`CommandError` naming the
    database (password hidden).

    With ``must_exist``, a SQLite file that does not exist is an error rather than a
    new, empty database (SQLite would create it).
    """
    require_extra("sqlalchemy", "sqlalchemy", feature)
    import sqlalchemy as sa

    from ..storage.sqlalchemy import SQLAlchemyStore

    parsed = _parse(url)
    shown = parsed.render_as_string(hide_password=True)
    from ..storage._upsert import SUPPORTED_DIALECTS

    if parsed.get_backend_name() not in SUPPORTED_DIALECTS:
        raise CommandError(
            f"database {shown}: {parsed.get_backend_name()!r} is not supported; use "
            f"{' or '.join(SUPPORTED_DIALECTS)}"
        )
    database = parsed.database
    if (
        must_exist
        and parsed.get_backend_name() == "sqlite"
        and database not in (None, "", ":memory:")
        and not database.startswith("file:")
        and not Path(database).is_file()
    ):
        raise CommandError(f"database {shown}: no such file {database!r}")
    try:
        store = SQLAlchemyStore(parsed, scorer=scorer)
    except ImportError as exc:  # the database's driver
        extra = "postgres" if parsed.get_backend_name() == "postgresql" else "sqlalchemy"
        raise MissingExtraError(exc.name or str(exc), extra, feature) from exc
    try:
        yield store
    except sa.exc.SQLAlchemyError as exc:
        raise CommandError(f"database {shown}: {_describe(exc)}") from exc
    finally:
        store.close()


def _parse(url: str) -> sa.URL:
    import sqlalchemy as sa

    try:
        return sa.make_url(url)
    except sa.exc.ArgumentError:
        raise UsageError(
            f"--database-url {url!r} is not a database URL (such as sqlite:///scores.db or "
            "postgresql+psycopg://user@host/db)"
        ) from None


def _describe(exc: Exception) -> str:
    """The first line of the database's own message, with a hint for missing tables."""
    import sqlalchemy as sa

    cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines() or [type(cause).__name__]
    message = lines[0]
    lowered = message.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        message += "; create the tables with 'customer-health db upgrade'"
    return message
