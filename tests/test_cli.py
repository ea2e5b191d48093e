"""The ``customer-health`` command."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import customer_health
from customer_health import MissingExtraError, Scorer, sample
from customer_health.cli import main, require_extra
from customer_health.cli._common import CommandError

SUMMARY = re.compile(
    r"^(\d+) customers, (\d+) events, as of (\S+): "
    r"(\d+) healthy, (\d+) at_risk, (\d+) critical, (\d+) unknown$"
)


def _rows(out: str) -> list[list[str]]:
    """The table's data rows, split into customer, segment, score, status and the rest."""
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["customer", "segment", "score", "status"]
    end = lines.index("")
    return [line.split(maxsplit=4) for line in lines[1:end]]


def test_demo_prints_a_row_per_customer_and_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """demo prints every customer's segment, score and status, and a summary of the statuses."""
    assert main(["demo", "--customers", "25", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    data = sample.generate(25, seed=4)
    scores = {
        s.customer_id: s for s in Scorer().score_many(data.customers, data.events, as_of=data.as_of)
    }
    segments = {c.id: c.segment for c in data.customers}
    rows = _rows(out)
    assert sorted(row[0] for row in rows) == sorted(scores)
    for customer_id, segment, shown, status, *_ in rows:
        health = scores[customer_id]
        assert segment == segments[customer_id]
        assert health.score is not None
        assert float(shown) == pytest.approx(health.score, abs=0.05)
        assert status == health.status.value
    match = SUMMARY.match(out.strip().splitlines()[-1])
    assert match is not None
    counts = Counter(s.status.value for s in scores.values())
    assert int(match[1]) == 25
    assert int(match[2]) == len(data.events)
    assert [int(match[i]) for i in range(4, 8)] == [
        counts["healthy"],
        counts["at_risk"],
        counts["critical"],
        counts["unknown"],
    ]


def test_demo_lists_worst_first_with_the_costliest_factor(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Rows go from the lowest score up, each naming the factor that loses the most points."""
    assert main(["demo", "--customers", "15"]) == 0
    rows = _rows(capsys.readouterr().out)
    shown = [float(row[2]) for row in rows]
    assert shown == sorted(shown)
    data = sample.generate(15)
    scores = {
        s.customer_id: s for s in Scorer().score_many(data.customers, data.events, as_of=data.as_of)
    }
    for row in rows:
        health = scores[row[0]]
        lost = {f.name: f.weight * (100 - f.score) for f in health.factors if f.score is not None}
        worst = max(lost, key=lambda name: lost[name])
        if lost[worst] == 0:
            assert row[4] == "-"
        else:
            assert row[4] == f"{worst}: {health.factor(worst).explanation}"


def test_demo_sorts_by_id_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    """--sort id lists the customers by id."""
    assert main(["demo", "--customers", "12", "--sort", "id"]) == 0
    ids = [row[0] for row in _rows(capsys.readouterr().out)]
    assert ids == sorted(ids)
    assert len(ids) == 12


def test_demo_honours_as_of(capsys: pytest.CaptureFixture[str]) -> None:
    """--as-of sets the instant of the portfolio and of the scores."""
    assert main(["demo", "--customers", "10", "--as-of", "2025-03-01T12:00:00+01:00"]) == 0
    assert "as of 2025-03-01T11:00:00+00:00:" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the command's name and the package version."""
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"customer-health {customer_health.__version__}"


def test_a_bad_option_value_is_one_line_with_exit_code_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bad option value prints one line naming it, no traceback, exit code 2 (usage)."""
    assert main(["demo", "--as-of", "yesterday-ish"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("customer-health: error: ")
    assert "yesterday-ish" in lines[0]
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(where: str) -> None:
    """With --debug, before or after the subcommand, the exception propagates."""
    argv = ["demo", "--as-of", "yesterday-ish"]
    with pytest.raises(CommandError, match="yesterday-ish"):
        main(["--debug", *argv] if where == "before" else [*argv, "--debug"])


def test_missing_extra_names_the_pip_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Without numpy, sample --columnar says which pip install fixes it, on one line, exit 2."""
    monkeypatch.setitem(sys.modules, "numpy", None)
    assert main(["sample", "--columnar", "-o", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("customer-health: error: ")
    assert lines[0].endswith("pip install 'customer-health[sample]'")
    assert not (tmp_path / "out").exists()


def test_require_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """require_extra returns an importable module and raises MissingExtraError otherwise."""
    assert require_extra("json", "none", "this test") is json
    monkeypatch.setitem(sys.modules, "json", None)
    with pytest.raises(MissingExtraError, match=r"customer-health\[web\]") as info:
        require_extra("json", "web", "the web service")
    assert info.value.module == "json"


def test_sample_writes_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """sample writes customers and events as JSON Lines that score like the generated models."""
    out = tmp_path / "data"
    assert main(["sample", "-o", str(out), "--customers", "14", "--seed", "2"]) == 0
    assert "14 customers" in capsys.readouterr().out
    customers = [json.loads(line) for line in (out / "customers.jsonl").read_text().splitlines()]
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    data = sample.generate(14, seed=2)
    assert len(customers) == 14
    assert len(events) == len(data.events)
    scorer = Scorer()
    expected = scorer.score_many(data.customers, data.events, as_of=data.as_of)
    assert scorer.score_many(customers, events, as_of=data.as_of) == expected


def test_sample_can_include_customers_not_created_yet(tmp_path: Path) -> None:
    """--include-not-created adds customers created after --as-of to the file."""
    assert main(["sample", "-o", str(tmp_path), "--customers", "12", "--include-not-created"]) == 0
    text = (tmp_path / "customers.jsonl").read_text(encoding="utf-8")
    customers = [json.loads(line) for line in text.splitlines()]
    assert sum(bool(c["attributes"].get("not_created")) for c in customers) >= 2


def test_sample_writes_numpy_columns(tmp_path: Path) -> None:
    """sample --columnar writes the columns of generate_columns as .npz files."""
    np = pytest.importorskip("numpy")
    args = ["sample", "--columnar", "-o", str(tmp_path), "--customers", "20", "--events", "500"]
    assert main([*args, "--seed", "3"]) == 0
    customers, events = sample.generate_columns(20, 500, seed=3)
    with np.load(tmp_path / "events.npz") as saved:
        assert sorted(saved.files) == sorted(events)
        assert saved["customer_id"].tolist() == events["customer_id"].tolist()
        assert saved["occurred_at"].tolist() == events["occurred_at"].tolist()
    with np.load(tmp_path / "customers.npz") as saved:
        assert saved["id"].tolist() == customers["id"].tolist()


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["demo", "--customers", "0"],
        ["demo", "--customers", "many"],
        ["sample", "-o", "x", "--events", "10"],
        ["sample", "-o", "x", "--columnar", "--include-not-created"],
        ["nonsense"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Bad arguments print argparse's usage and error, with exit code 2."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: customer-health")
    assert "error:" in err


def test_os_errors_are_one_line_with_exit_code_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An output directory that cannot be made is one error line and exit code 1."""
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    assert main(["sample", "-o", str(blocker / "sub"), "--customers", "3"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("customer-health: error: ")


def test_python_dash_m_runs_the_command() -> None:
    """``python -m customer_health --help`` prints the usage with the subcommands."""
    done = subprocess.run(
        [sys.executable, "-m", "customer_health", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("usage: customer-health")
    assert "demo" in done.stdout
    assert "sample" in done.stdout


def test_sample_shows_its_progress_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On a terminal, sample shows the customers made of how many, then each file written."""
    from .test_cli_files import Terminal

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["sample", "-o", str(tmp_path / "out"), "--customers", "250"]) == 0
    shown = terminal.getvalue()
    made = re.findall(r"making customers' events.*?(\d+)/(\d+)", shown)
    assert {total for _, total in made} == {"250"}
    assert {"100", "200", "250"} <= {done for done, _ in made}
    for phase in ("checking the events", "writing customers.jsonl", "writing events.jsonl"):
        assert phase in shown, phase


def test_sample_generate_reports_its_progress() -> None:
    """generate(progress=...) hears (done, total) every hundred customers and at the end,
    and makes the same data as without it."""
    heard: list[tuple[int, int]] = []
    data = sample.generate(230, seed=4, progress=lambda done, total: heard.append((done, total)))
    assert heard == [(100, 230), (200, 230), (230, 230)]
    assert data.events == sample.generate(230, seed=4).events
