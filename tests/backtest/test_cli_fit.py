"""``customer-health fit`` on files and on a database: the report of ``fit()``, the
proposed model file, and its errors in the command line's language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from customer_health import Scorer, fit, sample
from customer_health.cli import EXIT_DATA, main

from ._stored import stored

pytestmark = pytest.mark.slow  # fits on a simulation: the main session only

pl = pytest.importorskip("polars")
pytest.importorskip("scipy")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], sample.ChurnSimulation]:
    sim = sample.simulate_churn(1000, months=12, seed=1, fading=0.5)
    directory = tmp_path_factory.mktemp("fit")
    sim.customers.write_csv(directory / "customers.csv")
    sim.events.write_parquet(directory / "events.parquet")
    sim.outcomes.write_csv(directory / "outcomes.csv")
    options = [
        "--customers", str(directory / "customers.csv"),
        "--events", str(directory / "events.parquet"),
        "--outcomes", str(directory / "outcomes.csv"),
    ]  # fmt: skip
    return options, sim


def _dates(sim: sample.ChurnSimulation) -> dict[str, Any]:
    d = sim.as_of_dates
    return {"train": d[:5], "validate": d[6:8]}


def _flags(sim: sample.ChurnSimulation) -> list[str]:
    dates = _dates(sim)
    return [
        "--train", ",".join(d.isoformat() for d in dates["train"][:3]),
        *[part for d in dates["train"][3:] for part in ("--train", d.isoformat())],
        "--validate", ",".join(d.isoformat() for d in dates["validate"]),
        "--horizon", "60", "--observed-until", sim.end.isoformat(),
        "--types", "recency,trend", "--resamples", "200", "--model", "v1",
    ]  # fmt: skip


def test_fit_prints_the_report_of_fit_and_writes_the_model_file(
    files: tuple[list[str], sample.ChurnSimulation],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    options, sim = files
    output = tmp_path / "ours.toml"
    code = main(["fit", *options, *_flags(sim), "--output", str(output)])
    out = capsys.readouterr().out
    assert code == 0
    expected = fit(
        sim.customers,
        sim.events,
        sim.outcomes,
        horizon=60,
        observed_until=sim.end,
        start=Scorer(model="v1"),
        types=("recency", "trend"),
        resamples=200,
        **_dates(sim),
    )
    assert out == f"{expected.report()}\n\nwrote the proposed model to {output}\n"
    assert Scorer.from_file(output).fingerprint == expected.scorer.fingerprint
    # the file is what --model reads: a backtest with it runs
    dates = ",".join(d.isoformat() for d in _dates(sim)["validate"])
    assert main(
        ["backtest", *options, "--as-of", dates, "--horizon", "60",
         "--observed-until", sim.end.isoformat(), "--model", str(output)]
    ) == 0  # fmt: skip


def test_fit_of_a_database_equals_the_fit_of_its_files(
    files: tuple[list[str], sample.ChurnSimulation],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    pytest.importorskip("sqlalchemy")
    options, sim = files
    url = f"sqlite:///{tmp_path}/store.db"
    stored(sim, url)
    assert main(["fit", *options, *_flags(sim)]) == 0
    from_files = capsys.readouterr().out
    outcomes = options[options.index("--outcomes") + 1]
    code = main(["fit", "--database-url", url, "--outcomes", outcomes, *_flags(sim)])
    assert code == 0, capsys.readouterr().err
    assert capsys.readouterr().out == from_files


@pytest.mark.parametrize(
    ("extra", "message", "code"),
    [
        (["--train", "2025-10-03", "--validate", "2025-11-01"], "less than the horizon", EXIT_DATA),
        (["--train", "soon", "--validate", "2026-04-01"], "--train 'soon' is not an ISO 8601", 2),
        (["--train", "2025-10-03,", "--validate", "2026-04-01"], "--train '2025-10-03,'", 2),
        (["--train", "2025-10-03", "--validate", "2026-04-01", "--types", "recent"],
         "--types 'recent': 'recent' is no factor type", 2),
        (["--train", "2025-10-03", "--validate", "2026-04-01", "--resamples", "5"],
         "--resamples 5: it must be at least 100", 2),
        (["--train", "2025-10-03", "--validate", "2026-04-01", "--observed-until", "x"],
         "--observed-until 'x' is not an ISO 8601", 2),
        (["--train", "2025-10-03", "--validate", "2026-04-01"], "needs at least", EXIT_DATA),
    ],
)  # fmt: skip
def test_fit_errors_are_one_line_naming_the_flags(
    files: tuple[list[str], sample.ChurnSimulation],
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
    code: int,
) -> None:
    options, _ = files
    assert main(["fit", *options, "--horizon", "60", *extra]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err
