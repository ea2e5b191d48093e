"""The SQLAlchemy store: SQLite by default, PostgreSQL through a URL.

Needs the ``sqlalchemy`` extra (``pip install 'customer-health[sqlalchemy]'``;
``postgres`` adds psycopg 3)::

    from customer_health.storage.sqlalchemy import SQLAlchemyStore

    store = SQLAlchemyStore("sqlite:///health.db")
    store.create_all()

Its tables (all prefixed ``ch_``) are in :data:`metadata`, for hosts that run Alembic
themselves; :meth:`SQLAlchemyStore.upgrade` runs the migrations shipped with the
package (version table ``ch_alembic_version``). See ``docs/storage.md``.
"""

from __future__ import annotations

from ..exceptions import MissingExtraError

try:
    import sqlalchemy as _sqlalchemy  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise MissingExtraError(
        exc.name or "sqlalchemy", "sqlalchemy", "customer_health.storage.sqlalchemy"
    ) from exc

from .._sql_events import SQLEvents
from ._store import DEFAULT_URL, SQLAlchemyStore, create_engine
from ._tables import metadata

__all__ = ["DEFAULT_URL", "SQLAlchemyStore", "SQLEvents", "create_engine", "metadata"]
