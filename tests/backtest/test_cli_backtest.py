"""``customer-health backtest`` on files and on a database."""

from __future__ import annotations

from pathlib import Path

import pytest

from customer_health import sample
from customer_health.cli import EXIT_DATA, main

from ._stored import stored

pl = pytest.importorskip("polars")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], sample.ChurnSimulation]:
    sim = sample.simulate_churn(300, months=8, seed=5)
    directory = tmp_path_factory.mktemp("backtest")
    sim.customers.write_csv(directory / "customers.csv")
    sim.events.write_parquet(directory / "events.parquet")
    sim.outcomes.write_csv(directory / "outcomes.csv")
    options = [
        "--customers", str(directory / "customers.csv"),
        "--events", str(directory / "events.parquet"),
        "--outcomes", str(directory / "outcomes.csv"),
    ]  # fmt: skip
    return options, sim


def test_backtest_prints_the_measures(
    files: tuple[list[str], sample.ChurnSimulation], capsys: pytest.CaptureFixture[str]
) -> None:
    options, sim = files
    dates = ",".join(d.date().isoformat() for d in sim.as_of_dates[-3:])
    code = main(
        ["backtest", *options, "--as-of", dates, "--horizon", "30",
         "--observed-until", sim.end.isoformat()]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("backtest of 3 as_of dates, horizon 30 days")
    assert "login_frequency" in out


def test_backtest_with_a_model_file(
    files: tuple[list[str], sample.ChurnSimulation],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--model FILE``: the factors the file lists, a factor type among them."""
    options, sim = files
    model = tmp_path / "model.toml"
    model.write_text(
        '[factors.login_frequency]\nweight = 0.5\n\n[factors.activity_trend]\ntype = "trend"\n'
        'kinds = ["login", "feature_used"]\nweight = 0.5\n',
        encoding="utf-8",
    )
    dates = ",".join(d.date().isoformat() for d in sim.as_of_dates[-3:])
    code = main(
        ["backtest", *options, "--as-of", dates, "--horizon", "30",
         "--observed-until", sim.end.isoformat(), "--model", str(model)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "activity_trend" in out
    assert "api_usage" not in out


@pytest.mark.parametrize(
    ("extra", "message", "code"),
    [
        (["--as-of", "2026-06-20", "--horizon", "30"], "after the data ends", EXIT_DATA),
        (["--as-of", "tomorrow", "--horizon", "30"], "--as-of 'tomorrow' is not an ISO 8601", 2),
        (["--as-of", "2026-01-01,", "--horizon", "30"], "an empty date between commas", 2),
        (["--horizon", "30"], "--as-of is required", 2),
    ],
)
def test_backtest_errors_are_one_line(
    files: tuple[list[str], sample.ChurnSimulation],
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
    code: int,
) -> None:
    options, _ = files
    assert main(["backtest", *options, *extra]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err


def test_backtest_of_a_database_equals_the_backtest_of_its_files(
    files: tuple[list[str], sample.ChurnSimulation],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """The same customers and events stored in the SQL store give the same report."""
    pytest.importorskip("sqlalchemy")
    options, sim = files
    url = f"sqlite:///{tmp_path}/store.db"
    stored(sim, url)
    dates = ",".join(d.date().isoformat() for d in sim.as_of_dates[-3:])
    common = ["--as-of", dates, "--horizon", "30", "--observed-until", sim.end.isoformat()]
    assert main(["backtest", *options, *common]) == 0
    from_files = capsys.readouterr().out
    outcomes = options[options.index("--outcomes") + 1]
    code = main(["backtest", "--database-url", url, "--outcomes", outcomes, *common])
    assert code == 0, capsys.readouterr().err
    assert capsys.readouterr().out == from_files
    assert "login_frequency" in from_files


def test_backtest_of_a_missing_database_is_one_line(
    files: tuple[list[str], sample.ChurnSimulation],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    options, _ = files
    outcomes = options[options.index("--outcomes") + 1]
    code = main(
        ["backtest", "--database-url", f"sqlite:///{tmp_path}/x.db", "--outcomes", outcomes,
         "--as-of", "2026-01-01", "--horizon", "30"]
    )  # fmt: skip
    assert code == EXIT_DATA
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"no such file '{tmp_path}/x.db'" in err


def test_backtest_errors_name_the_flags(
    files: tuple[list[str], sample.ChurnSimulation],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """Advice names --observed-until, --as-of and --skip-unknown-customers, never the
    keyword arguments of backtest()."""
    options, sim = files
    last = sim.as_of_dates[-1].date().isoformat()
    assert main(["backtest", *options, "--as-of", last, "--horizon", "90"]) == EXIT_DATA
    err = capsys.readouterr().err
    assert "use an earlier --as-of or a shorter horizon, or pass --observed-until" in err
    assert "observed_until=" not in err
    outcomes = tmp_path / "outcomes.csv"
    sim.outcomes.vstack(sim.outcomes.head(1).with_columns(customer_id=pl.lit("ghost"))).write_csv(
        outcomes
    )
    argv = [*options[:4], "--outcomes", str(outcomes), "--as-of", last, "--horizon", "1"]
    assert main(["backtest", *argv, "--observed-until", sim.end.isoformat()]) == EXIT_DATA
    err = capsys.readouterr().err
    assert "outcomes name 1 customer not in the customers frame: 'ghost'" in err
    assert err.rstrip().endswith("pass --skip-unknown-customers to skip them"), err


@pytest.mark.parametrize(
    "as_of",
    [
        ["--as-of", "{0}", "--as-of", "{1}", "--as-of", "{2}"],
        ["--as-of", "{0},{1}", "--as-of", "{2}"],
        ["--as-of", "{0}, {1},{2}"],
    ],
    ids=["repeated", "both", "commas"],
)
def test_backtest_takes_as_of_repeated_and_with_commas(
    files: tuple[list[str], sample.ChurnSimulation],
    capsys: pytest.CaptureFixture[str],
    as_of: list[str],
) -> None:
    """Every date given is scored, however the dates are given (the help shows both forms)."""
    options, sim = files
    dates = [d.date().isoformat() for d in sim.as_of_dates[-3:]]
    argv = [part.format(*dates) for part in as_of]
    common = ["--horizon", "30", "--observed-until", sim.end.isoformat()]
    assert main(["backtest", *options, *argv, *common]) == 0
    out = capsys.readouterr().out
    assert out.startswith("backtest of 3 as_of dates, horizon 30 days"), out
    for day in dates:
        assert day in out


def test_backtest_shows_its_progress_on_a_terminal(
    files: tuple[list[str], sample.ChurnSimulation],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a terminal, backtest shows what it reads and checks, then the dates scored of
    how many."""
    import re
    import sys

    from ..test_cli_files import Terminal

    options, sim = files
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    dates = [d.date().isoformat() for d in sim.as_of_dates[-3:]]
    argv = ["backtest", *options, "--as-of", ",".join(dates), "--horizon", "30"]
    assert main([*argv, "--observed-until", sim.end.isoformat()]) == 0
    shown = terminal.getvalue()
    for phase in ("reading outcomes.csv", "reading customers.csv and events.parquet", "checking"):
        assert phase in shown, phase
    counts = re.findall(r"scoring as_of dates.*?(\d+)/(\d+)", shown)
    assert {total for _, total in counts} == {"3"}
    assert {"0", "1", "2", "3"} <= {done for done, _ in counts}
