"""The store's Alembic migrations, shipped with the package.

They keep to themselves, so that a host application's own Alembic setup never sees
them: their revisions carry the branch label ``customer_health`` and their version
table is ``ch_alembic_version`` (not ``alembic_version``). They need no
``alembic.ini``: :func:`config` builds the configuration in code, and
:func:`upgrade` / :func:`downgrade` run on the engine (or connection) they are
given::

    from customer_health.storage.migrations import upgrade

    upgrade(engine)  # to the latest revision

A host that wants the SQL instead (offline mode) can run
``alembic.command.upgrade(config(engine), "heads", sql=True)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

__all__ = [
    "BRANCH_LABEL",
    "VERSION_TABLE",
    "config",
    "downgrade",
    "include_name",
    "upgrade",
]

BRANCH_LABEL = "customer_health"
"""The branch label of every revision here (``customer_health@head`` is the latest)."""

VERSION_TABLE = "ch_alembic_version"
"""The table in which Alembic records the store's revision (apart from the host's)."""

SCRIPT_LOCATION = Path(__file__).resolve().parent
"""This directory: ``env.py``, ``script.py.mako`` and ``versions/``."""

TABLE_PREFIX = "ch_"


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Whether autogenerate looks at ``name``: only the store's ``ch_`` tables.

    Everything else in the database (the host's tables, its ``alembic_version``) is
    none of these migrations' business.
    """
    if type_ == "table":
        return name is not None and name.startswith(TABLE_PREFIX) and name != VERSION_TABLE
    return True


def config(bind: sa.Engine | sa.Connection | None = None) -> Config:
    """An Alembic configuration for the shipped migrations, without an ini file.

    :param bind: the engine or connection to migrate; a connection is used as it is
        (in its transaction, if it has one begun), an engine lends a connection for
        the run. ``None`` leaves it to the caller to set
        ``config.attributes["connection"]`` (or the ``sqlalchemy.url`` option).
    """
    cfg = Config()
    # Config options go through configparser interpolation: escape any "%".
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    if isinstance(bind, sa.Connection):
        cfg.attributes["connection"] = bind
    elif isinstance(bind, sa.Engine):
        cfg.attributes["engine"] = bind
    if bind is not None:
        cfg.attributes["dialect_name"] = bind.dialect.name
    return cfg


def upgrade(engine: sa.Engine | sa.Connection, revision: str = "heads") -> None:
    """Migrate the store's tables up to ``revision`` (default: the latest), in one transaction."""
    if isinstance(engine, sa.Connection):
        command.upgrade(config(engine), revision)
        return
    with engine.begin() as connection:
        command.upgrade(config(connection), revision)


def downgrade(engine: sa.Engine | sa.Connection, revision: str) -> None:
    """Migrate the store's tables down to ``revision``, in one transaction.

    ``"base"`` drops every ``ch_`` table, the (then empty) version table too.
    """
    if isinstance(engine, sa.Connection):
        _downgrade(engine, revision)
        return
    with engine.begin() as connection:
        _downgrade(connection, revision)


def _downgrade(connection: sa.Connection, revision: str) -> None:
    command.downgrade(config(connection), revision)
    if revision != "base" or not sa.inspect(connection).has_table(VERSION_TABLE):
        return
    version = sa.Table(VERSION_TABLE, sa.MetaData(), sa.Column("version_num", sa.String(32)))
    if connection.execute(sa.select(sa.func.count()).select_from(version)).scalar_one() == 0:
        version.drop(connection)
