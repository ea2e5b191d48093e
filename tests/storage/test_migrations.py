"""The Alembic migrations shipped with the store, on SQLite (a file) and PostgreSQL.

Each test gets an empty database: a SQLite file, or a PostgreSQL schema of its own
(dropped at the end) on the server named by ``CUSTOMER_HEALTH_TEST_POSTGRES_URL``.
After each test the fixture checks that every connection went back to the pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

sa = pytest.importorskip("sqlalchemy", reason="the storage tests need the sqlalchemy extra")
pytest.importorskip("alembic", reason="the migration tests need the sqlalchemy extra")

from alembic import command  # noqa: E402
from alembic.autogenerate import compare_metadata  # noqa: E402
from alembic.migration import MigrationContext  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402

from customer_health.storage import migrations  # noqa: E402
from customer_health.storage.sqlalchemy import (  # noqa: E402
    SQLAlchemyStore,
    create_engine,
    metadata,
)

from ..backends import schema_of_its_own  # noqa: E402

STORE_TABLES = set(metadata.tables)
DDL = ("CREATE", "ALTER", "DROP")


def head() -> str:
    """The head revision of the shipped migrations."""
    script = ScriptDirectory.from_config(migrations.config())
    (revision,) = script.get_heads()
    return revision


def first() -> str:
    """The first revision of the shipped migrations (the one after base)."""
    script = ScriptDirectory.from_config(migrations.config())
    (revision,) = script.get_bases()
    return revision


def table_names(engine: Any) -> set[str]:
    """The tables in the engine's default schema."""
    with engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names())


def rows(engine: Any, table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table``."""
    with engine.connect() as connection:
        return [tuple(row) for row in connection.exec_driver_sql(f"SELECT * FROM {table}")]


def differences(engine: Any) -> list[Any]:
    """What autogenerate would change to make the database match the store's metadata."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_name": migrations.include_name,
                "version_table": migrations.VERSION_TABLE,
                "compare_type": True,
            },
        )
        return list(compare_metadata(context, metadata))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """An engine on an empty database; no connection may be left checked out."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            engine = create_engine(f"sqlite:///{tmp_path / 'migrations.db'}")
        else:
            url, schema = stack.enter_context(schema_of_its_own("ch_migrations_test"))
            engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        try:
            yield engine
        finally:
            leaked = engine.pool.checkedout()
            engine.dispose()
        assert leaked == 0, f"{leaked} connection(s) not returned to the pool"


def test_upgrade_creates_the_store_tables(engine: Any) -> None:
    """Upgrading an empty database to head creates the ch_ tables and the version table."""
    migrations.upgrade(engine)
    assert table_names(engine) == STORE_TABLES | {"ch_alembic_version"}


def test_migrated_schema_matches_the_metadata(engine: Any) -> None:
    """Autogenerate finds no difference between the migrated database and the metadata."""
    migrations.upgrade(engine)
    assert differences(engine) == []


def test_comparison_sees_a_missing_index(engine: Any) -> None:
    """The comparison is not vacuous: a dropped index shows up as a difference."""
    migrations.upgrade(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP INDEX ix_ch_scores_customer_as_of")
    (difference,) = differences(engine)
    assert difference[0] == "add_index"
    assert difference[1].name == "ix_ch_scores_customer_as_of"


def test_version_table_holds_the_head(engine: Any) -> None:
    """The revision is recorded in ch_alembic_version (not alembic_version), at head."""
    migrations.upgrade(engine)
    assert rows(engine, "ch_alembic_version") == [(head(),)]
    assert "alembic_version" not in table_names(engine)


def test_branch_label_names_the_head() -> None:
    """The migrations form one branch labelled customer_health, whose head is the head."""
    script = ScriptDirectory.from_config(migrations.config())
    assert script.get_revision(f"{migrations.BRANCH_LABEL}@head").revision == head()
    for revision in script.walk_revisions():
        assert migrations.BRANCH_LABEL in revision.branch_labels or revision.down_revision


def test_downgrade_to_base_removes_every_ch_table(engine: Any) -> None:
    """Downgrading to base drops every ch_ table, the version table included."""
    migrations.upgrade(engine)
    migrations.downgrade(engine, "base")
    assert not {name for name in table_names(engine) if name.startswith("ch_")}


def test_downgrade_then_upgrade_again(engine: Any) -> None:
    """After a downgrade to base, upgrading builds the same schema again."""
    migrations.upgrade(engine)
    migrations.downgrade(engine, "base")
    migrations.upgrade(engine, f"{migrations.BRANCH_LABEL}@head")
    assert differences(engine) == []
    assert rows(engine, "ch_alembic_version") == [(head(),)]


def test_upgrading_twice_is_a_no_op(engine: Any) -> None:
    """A second upgrade runs no DDL and keeps the data and the recorded revision."""
    migrations.upgrade(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO ch_customers (id, segment, attributes, updated_at) "
            "VALUES ('c1', 'smb', '{}', 0)"
        )
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        migrations.upgrade(engine)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert not [s for s in statements if s.lstrip().upper().startswith(DDL)]
    assert rows(engine, "ch_customers") == [("c1", "smb", None, None, "{}", 0)]
    assert rows(engine, "ch_alembic_version") == [(head(),)]


def test_host_alembic_version_is_untouched(engine: Any) -> None:
    """A host application's own alembic_version table keeps its row through it all."""
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
        )
        connection.exec_driver_sql("INSERT INTO alembic_version VALUES ('hostapp0001')")
    migrations.upgrade(engine)
    assert rows(engine, "alembic_version") == [("hostapp0001",)]
    assert differences(engine) == []
    migrations.downgrade(engine, "base")
    assert rows(engine, "alembic_version") == [("hostapp0001",)]
    assert table_names(engine) == {"alembic_version"}


def test_store_upgrade_runs_the_migrations(engine: Any) -> None:
    """SQLAlchemyStore.upgrade migrates the store's database to head."""
    store = SQLAlchemyStore(engine)
    store.upgrade()
    store.close()
    assert rows(engine, "ch_alembic_version") == [(head(),)]
    assert differences(engine) == []


def test_upgrade_in_the_callers_transaction(engine: Any) -> None:
    """Given a connection, the upgrade joins its transaction: a rollback undoes it."""
    with engine.connect() as connection:
        transaction = connection.begin()
        migrations.upgrade(connection)
        assert set(sa.inspect(connection).get_table_names()) >= STORE_TABLES
        transaction.rollback()
    assert not {name for name in table_names(engine) if name.startswith("ch_")}


def test_config_with_an_engine(engine: Any) -> None:
    """A configuration built on an engine lends a connection for the run and returns it."""
    command.upgrade(migrations.config(engine), "heads")
    assert rows(engine, "ch_alembic_version") == [(head(),)]
    command.downgrade(migrations.config(engine), "base")
    assert rows(engine, "ch_alembic_version") == []


def test_config_with_a_url(tmp_path: Path) -> None:
    """The sqlalchemy.url option is enough, as it is in a host's alembic.ini."""
    url = f"sqlite:///{tmp_path / 'url.db'}"
    cfg = migrations.config()
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, f"{migrations.BRANCH_LABEL}@head")
    engine = sa.create_engine(url)
    try:
        assert rows(engine, "ch_alembic_version") == [(head(),)]
        assert table_names(engine) == STORE_TABLES | {"ch_alembic_version"}
    finally:
        engine.dispose()


def test_offline_mode_renders_sql(engine: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Offline, the upgrade is rendered as SQL for the engine's dialect, touching nothing."""
    command.upgrade(migrations.config(engine), "heads", sql=True)
    sql = capsys.readouterr().out
    assert "CREATE TABLE ch_customers" in sql
    assert "CREATE TABLE ch_alembic_version" in sql
    assert "CREATE TABLE ch_idempotency" in sql  # the second revision
    # the version table records the first revision, then moves on to the head
    assert f"INSERT INTO ch_alembic_version (version_num) VALUES ('{first()}')" in sql
    assert f"SET version_num='{head()}' WHERE" in sql
    assert table_names(engine) == set()


def test_without_a_database_the_error_says_what_to_pass() -> None:
    """Online or offline, a configuration without a database fails with a clear message."""
    with pytest.raises(RuntimeError, match=r'config\.attributes\["connection"\]'):
        command.upgrade(migrations.config(), "heads")
    with pytest.raises(RuntimeError, match="offline"):
        command.upgrade(migrations.config(), "heads", sql=True)
