"""``--model FILE`` (issue 17, point 2): the command line, the store's worker and the
service score with a model file (``CUSTOMER_HEALTH_MODEL`` for the service)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from customer_health import Scorer, sample
from customer_health.cli import EXIT_USAGE, main

from .backends import Backend
from .test_cli_database import url_of
from .test_cli_files import AS_OF, assert_rows_match, portfolio, write_portfolio

pytest.importorskip("polars")

MODEL = """
[model]
name = "acme"
version = "7"

[factors.api_usage]
weight = 0.4

[factors.last_login]
type = "recency"
kinds = ["login"]
expected = 7.0
weight = 0.3

[factors.login_trend]
type = "trend"
kinds = ["login"]
window_days = 15

[segments.enterprise]
last_login = 3.0
"""


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "acme.toml"
    path.write_text(MODEL, encoding="utf-8")
    return path


def scores_of(scorer: Scorer, data: sample.SampleData) -> dict[str, object]:
    found = scorer.score_many(data.customers, data.events, as_of=AS_OF)
    return {health.customer_id: health for health in found}


def test_score_files_with_a_model(model: Path, tmp_path: Path) -> None:
    data = portfolio()
    customers, events = write_portfolio(tmp_path, data, "jsonl")
    output = tmp_path / "scores.jsonl"
    argv = ["score", "--customers", str(customers), "--events", str(events)]
    assert main([*argv, "--as-of", AS_OF, "--model", str(model), "-o", str(output)]) == 0
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert {"last_login", "login_trend_value"} <= set(rows[0])
    assert "support_tickets" not in rows[0]
    assert_rows_match(rows, scores_of(Scorer.from_file(model), data))  # type: ignore[arg-type]


def test_explain_with_a_model(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = portfolio(6)
    customers, events = write_portfolio(tmp_path, data, "jsonl")
    who = data.customers[0].id
    argv = ["explain", who, "--customers", str(customers), "--events", str(events)]
    assert main([*argv, "--as-of", AS_OF, "--model", str(model)]) == 0
    shown = capsys.readouterr().out
    assert "last_login" in shown
    assert "support_tickets" not in shown


def test_a_bad_model_file_is_an_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = portfolio(4)
    customers, events = write_portfolio(tmp_path, data, "jsonl")
    bad = tmp_path / "bad.toml"
    bad.write_text('[factors.x]\ntype = "recent"\n', encoding="utf-8")
    argv = ["score", "--customers", str(customers), "--events", str(events), "--model", str(bad)]
    assert main(argv) == EXIT_USAGE
    assert "[factors.x] has type 'recent'" in capsys.readouterr().err
    assert main([*argv[:-1], str(tmp_path / "absent.toml")]) == EXIT_USAGE
    assert "cannot read model file" in capsys.readouterr().err


@pytest.mark.parametrize("backend", ["sqlite-file"], indirect=True)
def test_score_a_database_with_a_model(
    backend: Backend, make_store: Callable[..., object], model: Path, tmp_path: Path
) -> None:
    data = sample.generate(12, seed=5)
    store = make_store()
    store.add_customers(data.customers)  # type: ignore[attr-defined]
    store.record_many(data.events)  # type: ignore[attr-defined]
    output = tmp_path / "scores.jsonl"
    argv = ["score", "--database-url", url_of(backend), "--as-of", AS_OF]
    assert main([*argv, "--model", str(model), "-o", str(output)]) == 0
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert "last_login" in rows[0]
    assert_rows_match(rows, scores_of(Scorer.from_file(model), data))  # type: ignore[arg-type]


def test_the_service_and_its_worker_read_the_model(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("fastapi")
    from customer_health.cli._main import _parser
    from customer_health.cli._service import _settings
    from customer_health.service import Settings, make_store

    database = f"sqlite:///{tmp_path / 'health.db'}"
    monkeypatch.setenv("CUSTOMER_HEALTH_MODEL", str(model))
    store = make_store(Settings(database_url=database))
    try:
        assert store.scorer.fingerprint == Scorer.from_file(model).fingerprint
        assert store.scorer.config.model_name == "acme"
    finally:
        store.close()
    monkeypatch.delenv("CUSTOMER_HEALTH_MODEL")
    assert Settings().model is None
    for command in ("serve", "worker"):
        args = _parser().parse_args([command, "--model", str(model)])
        assert _settings(args).model == str(model)
        args = _parser().parse_args([command, "--model", "v1"])
        assert _settings(args).model == "v1"
