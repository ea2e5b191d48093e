"""Alembic's environment for the store's migrations (run by Alembic, not imported).

Online, the connection comes from ``config.attributes["connection"]`` (or an engine
from ``config.attributes["engine"]``, or the ``sqlalchemy.url`` option); offline
(``sql=True``), the SQL is rendered for ``config.attributes["dialect_name"]`` or the
``sqlalchemy.url`` option. Either way the version table is ``ch_alembic_version``
and autogenerate compares only the ``ch_`` tables, against the store's metadata.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext

from customer_health.storage._tables import metadata
from customer_health.storage.migrations import VERSION_TABLE, include_name

config = context.config


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render the store's own column types as the plain types they store.

    ``Instant`` is written as ``sa.BigInteger()``, ``CanonicalJSON`` as ``sa.Text()``:
    a revision must not import the package's Python types, which may change later.
    """
    if type_ == "type" and isinstance(obj, sa.types.TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False


OPTIONS: dict[str, Any] = {
    "target_metadata": metadata,
    "version_table": VERSION_TABLE,
    "include_name": include_name,
    "render_item": render_item,
    # Future revisions must work on SQLite too: ALTERs as batch operations.
    "render_as_batch": True,
}


def run_offline() -> None:
    """Render the migrations as SQL for a dialect, without a database."""
    url = config.get_main_option("sqlalchemy.url")
    dialect_name = config.attributes.get("dialect_name")
    if url is None and dialect_name is None:
        raise RuntimeError(
            "offline (SQL) mode needs a dialect: build the configuration with "
            "customer_health.storage.migrations.config(engine), or set sqlalchemy.url"
        )
    context.configure(url=url, dialect_name=dialect_name, literal_binds=True, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection: sa.Connection) -> None:
    """Run the migrations on ``connection`` (inside its transaction, if begun)."""
    context.configure(connection=connection, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run the migrations on the connection or engine the configuration carries."""
    connection: sa.Connection | None = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine: sa.Engine | None = config.attributes.get("engine")
    url = config.get_main_option("sqlalchemy.url")
    if engine is None and url is None:
        raise RuntimeError(
            "the customer-health migrations need a database: pass a connection as "
            'config.attributes["connection"] (see customer_health.storage.migrations'
            ".config), or set sqlalchemy.url"
        )
    owned = engine is None
    if engine is None:
        engine = sa.create_engine(url or "", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            run_on(connection)
            connection.commit()
    finally:
        if owned:
            engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
