"""``customer-health score``, ``explain`` and ``db upgrade`` over the SQL store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from customer_health import sample
from customer_health.cli import EXIT_DATA, EXIT_USAGE, main

from .backends import Backend
from .test_cli_files import AS_OF, assert_rows_match, check_explanation, expected_scores

sa = pytest.importorskip("sqlalchemy")
pytest.importorskip("polars")

# A second engine on an in-memory SQLite database sees a database of its own: the
# command can only reach the file and the server.
FILE_BACKENDS = ["sqlite-file", "postgresql"]


def url_of(backend: Backend) -> str:
    """The backend's URL as the command takes it (PostgreSQL: in the test's schema)."""
    options = backend.connect_args.get("options")
    if options is None:
        return backend.url
    return f"{backend.url}?options={quote(options)}"


@pytest.fixture
def stored(make_store: Callable[..., object]) -> sample.SampleData:
    """A portfolio stored in the backend's database."""
    data = sample.generate(16, seed=9, include_not_created=True)
    store = make_store()
    store.add_customers(data.customers)  # type: ignore[attr-defined]
    store.record_many(data.events)  # type: ignore[attr-defined]
    return data


@pytest.mark.parametrize("backend", FILE_BACKENDS, indirect=True)
def test_score_a_database(
    backend: Backend, stored: sample.SampleData, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Scores of the stored customers equal score_many's; nothing is stored; customers
    created after --as-of get a note."""
    output = tmp_path / "scores.jsonl"
    argv = ["score", "--database-url", url_of(backend), "--as-of", AS_OF, "-o", str(output)]
    assert main(argv) == 0
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert_rows_match(rows, expected_scores(stored))
    err = capsys.readouterr().err
    later = [c.id for c in stored.customers if c.attributes.get("not_created")]
    assert err.startswith("customer-health: note: ")
    assert all(repr(cid) in err for cid in later)
    with backend.engines[0].connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM ch_scores").scalar() == 0


@pytest.mark.parametrize("backend", FILE_BACKENDS, indirect=True)
def test_score_reads_the_url_from_the_environment(
    backend: Backend,
    stored: sample.SampleData,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without files or --database-url, CUSTOMER_HEALTH_DATABASE_URL is read."""
    monkeypatch.setenv("CUSTOMER_HEALTH_DATABASE_URL", url_of(backend))
    assert main(["score", "--as-of", AS_OF, "--output-format", "jsonl"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert_rows_match(rows, expected_scores(stored))


@pytest.mark.parametrize("backend", FILE_BACKENDS, indirect=True)
def test_explain_from_a_database(
    backend: Backend, stored: sample.SampleData, capsys: pytest.CaptureFixture[str]
) -> None:
    """explain reads the customer from the store, ranks its factors, stores nothing."""
    expected = expected_scores(stored)
    health = next(h for h in expected.values() if h.score is not None and h.score < 70)
    argv = ["explain", health.customer_id, "--database-url", url_of(backend), "--as-of", AS_OF]
    assert main(argv) == 0
    check_explanation(capsys.readouterr().out, health)
    assert main(["explain", "ghost", "--database-url", url_of(backend)]) == EXIT_DATA
    assert "'ghost'" in capsys.readouterr().err


def test_db_upgrade_creates_the_tables_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """db upgrade creates the store's tables; run again, it changes nothing."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert capsys.readouterr().out == f"{url}: the tables are at the latest version\n"
    engine = sa.create_engine(url)
    tables = set(sa.inspect(engine).get_table_names())
    assert {"ch_customers", "ch_events", "ch_scores", "ch_alembic_version"} <= tables
    engine.dispose()
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert main(["score", "--database-url", url, "--output-format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("customer_id,score,status")


def test_db_upgrade_defaults_to_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --database-url, db upgrade uses CUSTOMER_HEALTH_DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("CUSTOMER_HEALTH_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    assert (tmp_path / "env.db").is_file()


@pytest.mark.parametrize(
    ("url", "words", "code"),
    [
        ("nonsense", ["'nonsense'", "is not a database URL"], EXIT_USAGE),
        ("mysql://host/db", ["'mysql' is not supported"], EXIT_DATA),
        ("sqlite:///{tmp}/missing.db", ["no such file", "missing.db"], EXIT_DATA),
        ("sqlite:///{tmp}/empty.db", ["no such table", "customer-health db upgrade"], EXIT_DATA),
    ],
)
def test_database_errors_are_one_line(
    url: str, words: list[str], code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad URL, an unsupported database, a missing SQLite file or missing tables: one
    line naming the database; a URL that is none is a usage error (2), the others data
    errors (3); a missing file is not created."""
    (tmp_path / "empty.db").touch()
    url = url.format(tmp=tmp_path)
    assert main(["score", "--database-url", url]) == code
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("customer-health: error: ")
    assert all(word in lines[0] for word in words), lines[0]
    assert not (tmp_path / "missing.db").exists()


def test_an_unreachable_server_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """A PostgreSQL server that does not answer: one line naming it, password hidden."""
    pytest.importorskip("psycopg")
    url = "postgresql+psycopg://me:secret@127.0.0.1:1/db"
    assert main(["score", "--database-url", url]) == EXIT_DATA
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert "postgresql+psycopg://me:***@127.0.0.1:1/db" in lines[0]
    assert "secret" not in lines[0]
