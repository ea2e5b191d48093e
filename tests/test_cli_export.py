"""``customer-health export-sql``: the warehouse query, printed or written to a file."""

from __future__ import annotations

from pathlib import Path

import pytest

duckdb = pytest.importorskip("duckdb")
pytest.importorskip("sqlglot")

from customer_health import export_sql  # noqa: E402
from customer_health.cli import main  # noqa: E402

from .warehouse import assert_matches, duckdb_tables, portfolio  # noqa: E402


def test_prints_the_query_of_export_sql(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["export-sql", "--dialect", "snowflake", "--as-of", "2026-06-30"])
    assert code == 0
    assert capsys.readouterr().out == export_sql("snowflake", as_of="2026-06-30") + "\n"


def test_writes_a_file_that_duckdb_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from customer_health import Scorer

    customers, events, models, event_models, as_of = portfolio(20, seed=5)
    connection = duckdb.connect()
    duckdb_tables(connection, customers, events)
    connection.execute("CREATE SCHEMA raw")
    connection.execute("CREATE TABLE raw.ev AS SELECT * FROM events")
    target = tmp_path / "health.sql"
    argv = ["export-sql", "--dialect", "duckdb", "--as-of", as_of.isoformat()]
    assert main([*argv, "--events", "raw.ev", "--customers", "customers", "-o", str(target)]) == 0
    assert capsys.readouterr().err == f"wrote the duckdb query to {target}\n"
    cursor = connection.execute(target.read_text(encoding="utf-8"))
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    scorer = Scorer()
    assert_matches(rows, scorer, scorer.score_many(models, event_models, as_of=as_of))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dialect", "oracle", "--as-of", "2026-06-30"], "invalid choice: 'oracle'"),
        (["--dialect", "duckdb"], "the following arguments are required: --as-of"),
        (["--dialect", "duckdb", "--as-of", "soon"], "--as-of 'soon' is not an ISO 8601"),
        (
            ["--dialect", "duckdb", "--as-of", "2026-06-30", "--events", ""],
            "events table '' is no table name",
        ),
    ],
)
def test_bad_arguments_are_one_line_with_exit_code_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export-sql", *argv]) == 2
    error = capsys.readouterr().err
    assert message in error
    assert error.strip().splitlines()[-1].startswith("customer-health")


def test_a_missing_extra_names_the_pip_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "sqlglot", None)
    assert main(["export-sql", "--dialect", "duckdb", "--as-of", "2026-06-30"]) == 2
    assert "pip install 'customer-health[sql]'" in capsys.readouterr().err
