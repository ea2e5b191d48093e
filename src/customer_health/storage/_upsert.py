"""``INSERT ... ON CONFLICT`` for the two dialects the store supports."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["SUPPORTED_DIALECTS", "insert_for"]

SUPPORTED_DIALECTS = ("postgresql", "sqlite")


def insert_for(connection: sa.Connection, table: sa.Table) -> Any:
    """The dialect's ``insert(table)``, which has ``on_conflict_do_nothing/update``."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
