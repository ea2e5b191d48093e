"""The store itself: construction, engines it makes, a missing extra."""

from __future__ import annotations

import subprocess
import sys
import types
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from customer_health import ConfigurationError
from customer_health.storage.sqlalchemy import DEFAULT_URL, SQLAlchemyStore


def test_missing_extra_names_the_install() -> None:
    """Without SQLAlchemy, importing the store says which pip install fixes it."""
    code = (
        "import sys; sys.modules['sqlalchemy'] = None\n"
        "try:\n"
        "    import customer_health.storage.sqlalchemy\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.startswith("MissingExtraError")
    assert "pip install 'customer-health[sqlalchemy]'" in result.stdout


def test_default_is_a_sqlite_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no engine the store keeps customer-health.db in the working directory."""
    monkeypatch.chdir(tmp_path)
    with SQLAlchemyStore() as store:
        store.create_all()
        store.add_customer({"id": "c1", "segment": "smb"})
        assert repr(store) == f"<SQLAlchemyStore {DEFAULT_URL}>"
    assert (tmp_path / "customer-health.db").exists()
    with SQLAlchemyStore() as again:
        assert again.count_customers() == 1


def test_a_host_engine_is_not_disposed(tmp_path: Path) -> None:
    """close() leaves an engine the host passed in alone."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'host.db'}")
    store = SQLAlchemyStore(engine)
    store.create_all()
    store.add_customer({"id": "c1", "segment": "smb"})
    store.close()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM ch_customers").scalar() == 1
    engine.dispose()


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"chunk_size": "many"}, "chunk_size"),
        ({"max_age": timedelta(0)}, "max_age"),
    ],
)
def test_bad_settings_are_named(arguments: dict[str, Any], match: str) -> None:
    """Nonsensical settings are an error naming the setting."""
    with pytest.raises(ConfigurationError, match=match):
        SQLAlchemyStore("sqlite://", **arguments)


def test_other_databases_are_refused() -> None:
    """A dialect the store does not support is an error naming it."""
    # A stand-in DB-API module: no connection is ever made.
    fake = types.SimpleNamespace(paramstyle="format", Error=Exception)
    engine = sa.create_engine("mysql://localhost/test", module=fake)
    with pytest.raises(ConfigurationError, match="'mysql'"):
        SQLAlchemyStore(engine)
