"""``customer-health score`` and ``explain`` over CSV, Parquet and JSON Lines files."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from customer_health import HealthScore, Scorer, sample
from customer_health.cli import EXIT_DATA, main

pl = pytest.importorskip("polars")

AS_OF = "2026-06-30"
FORMATS = {"csv": ".csv", "parquet": ".parquet", "jsonl": ".jsonl"}


def portfolio(n: int = 24, seed: int = 3, **kwargs: Any) -> sample.SampleData:
    """A generated portfolio (every kind of event, duplicates, custom kinds, ...)."""
    return sample.generate(n, seed=seed, **kwargs)


def _customer_rows(data: sample.SampleData) -> list[dict[str, Any]]:
    """Customers with their attributes as columns, as a flat file holds them."""
    rows = []
    for record in data.customer_dicts(iso=True):
        attributes = record.pop("attributes")
        rows.append({**record, **attributes})
    return rows


def _event_rows(data: sample.SampleData) -> list[dict[str, Any]]:
    """Events with properties as JSON text, as a flat file holds them."""
    rows = []
    for record in data.event_dicts(iso=True):
        if "properties" in record:
            record["properties"] = json.dumps(record["properties"])
        rows.append(record)
    return rows


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` to ``path`` in the format of its suffix."""
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    elif path.suffix == ".csv":
        names = list(dict.fromkeys(name for row in rows for name in row))
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.DictWriter(file, names)
            writer.writeheader()
            writer.writerows(rows)
    else:
        pl.DataFrame(rows, infer_schema_length=None).write_parquet(path)
    return path


def write_portfolio(
    directory: Path, data: sample.SampleData, fmt: str = "csv"
) -> tuple[Path, Path]:
    """Write the customers and events of ``data`` as ``fmt`` (JSON Lines: nested
    attributes and properties, as ``customer-health sample`` writes them)."""
    suffix = FORMATS[fmt]
    customers, events = directory / f"customers{suffix}", directory / f"events{suffix}"
    if fmt == "jsonl":
        write_rows(customers, data.customer_dicts(iso=True))
        write_rows(events, data.event_dicts(iso=True))
    else:
        write_rows(customers, _customer_rows(data))
        write_rows(events, _event_rows(data))
    return customers, events


def expected_scores(data: sample.SampleData, as_of: str = AS_OF) -> dict[str, HealthScore]:
    """What ``score_many`` gives for the portfolio, by customer id."""
    scores = Scorer().score_many(data.customers, data.events, as_of=as_of)
    return {health.customer_id: health for health in scores}


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=0, abs_tol=1e-9)


def assert_rows_match(rows: list[Mapping[str, Any]], expected: Mapping[str, HealthScore]) -> None:
    """Each output row has the numbers of the same customer's HealthScore, to 1e-9."""
    assert sorted(row["customer_id"] for row in rows) == sorted(expected)
    for row in rows:
        health = expected[row["customer_id"]]
        assert close(_number(row["score"]), health.score), row
        assert row["status"] == health.status.value
        assert close(_number(row["coverage"]), health.coverage)
        for factor in health.factors:
            assert close(_number(row[factor.name]), factor.score), (row, factor)
            assert close(_number(row[f"{factor.name}_value"]), factor.value), (row, factor)


def _number(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def read_output(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as file:
            return list(csv.DictReader(file))
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows: list[dict[str, Any]] = pl.read_parquet(path).to_dicts()
    return rows


@pytest.mark.parametrize(
    ("given", "written"), [("csv", "parquet"), ("parquet", "jsonl"), ("jsonl", "csv")]
)
def test_score_files_writes_the_scores_of_score_many(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], given: str, written: str
) -> None:
    """Scores read from each format and written to each equal score_many's, to 1e-9."""
    data = portfolio()
    customers, events = write_portfolio(tmp_path, data, given)
    output = tmp_path / f"scores{FORMATS[written]}"
    argv = ["score", "--customers", str(customers), "--events", str(events)]
    assert main([*argv, "--as-of", AS_OF, "-o", str(output)]) == 0
    assert_rows_match(read_output(output), expected_scores(data))
    captured = capsys.readouterr()
    assert captured.out.startswith(f"wrote {output}: 24 customers as of 2026-06-30T00:00:00+00:00")
    assert captured.err == ""  # no progress bar: stderr is no terminal
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [customers.name, events.name, output.name]
    )  # no temporary file left behind


def test_the_output_of_sample_scores_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The JSON Lines ``customer-health sample`` writes (ndjson here) score as generated."""
    assert main(["sample", "-o", str(tmp_path), "--customers", "15", "--seed", "5"]) == 0
    for name in ("customers", "events"):
        (tmp_path / f"{name}.jsonl").rename(tmp_path / f"{name}.ndjson")
    argv = ["score", "--customers", str(tmp_path / "customers.ndjson")]
    argv += ["--events", str(tmp_path / "events.ndjson"), "--as-of", AS_OF]
    capsys.readouterr()
    assert main([*argv, "--output-format", "jsonl"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert_rows_match(rows, expected_scores(portfolio(15, seed=5)))


def test_score_prints_a_plain_table_when_piped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Without --output: a row per customer with score, status, coverage and the factor
    losing the most points, then a summary; plain text, no escape codes."""
    data = portfolio(18)
    customers, events = write_portfolio(tmp_path, data, "csv")
    argv = ["score", "--customers", str(customers), "--events", str(events), "--as-of", AS_OF]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    lines = out.splitlines()
    assert lines[0].split() == ["customer", "score", "status", "coverage", "weakest", "factor"]
    expected = expected_scores(data)
    table = lines[1 : lines.index("")]
    assert len(table) == len(expected)
    for line in table:
        customer_id, shown, status, coverage, weakest = line.split()
        health = expected[customer_id]
        assert health.score is not None
        assert float(shown) == pytest.approx(health.score, abs=0.051)
        assert status == health.status.value
        assert coverage == f"{health.coverage:.0%}"
        lost = {f.name: f.weight * (100 - f.score) for f in health.factors if f.score is not None}
        worst = max(lost, key=lambda name: lost[name])
        assert weakest == (worst if lost[worst] > 0 else "-")
    counts = [
        sum(h.status.value == s for h in expected.values())
        for s in ("healthy", "at_risk", "critical", "unknown")
    ]
    assert lines[-1] == (
        f"18 customers as of 2026-06-30T00:00:00+00:00: {counts[0]} healthy, "
        f"{counts[1]} at_risk, {counts[2]} critical, {counts[3]} unknown"
    )


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_score_draws_the_table_with_rich_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On a terminal, the table is rich's (with escape codes), with the same rows."""
    data = portfolio(6)
    customers, events = write_portfolio(tmp_path, data, "jsonl")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    argv = ["score", "--customers", str(customers), "--events", str(events), "--as-of", AS_OF]
    assert main(argv) == 0
    out = terminal.getvalue()
    assert "\x1b[" in out
    for customer_id, health in expected_scores(data).items():
        assert customer_id in out
        assert health.status.value in out


def test_progress_shows_on_a_terminal_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """With stderr a terminal, a run shows its phases in a progress bar, and the
    customers scored so far of how many, with the time left; otherwise stderr stays
    empty (the other tests). Batches of one customer (five here) make the count move."""
    from customer_health.cli import _score

    data = portfolio(5)
    customers, events = write_portfolio(tmp_path, data, "csv")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(_score, "MIN_BATCH", 1)
    argv = ["score", "--customers", str(customers), "--events", str(events), "--as-of", AS_OF]
    assert main([*argv, "-o", str(tmp_path / "out.csv")]) == 0
    shown = terminal.getvalue()
    for phase in ("reading customers.csv", "reading events.csv", "checking", "writing out.csv"):
        assert phase in shown, phase
    counts = re.findall(r"scoring customers.*?(\d+)/(\d+)", shown)
    assert {int(total) for _, total in counts} == {len(data.customers)}
    assert [int(done) for done, _ in counts] == sorted(int(done) for done, _ in counts)
    assert {1, 3, 5} <= {int(done) for done, _ in counts}
    assert "left" in shown
    assert_rows_match(read_output(tmp_path / "out.csv"), expected_scores(data))


def test_csv_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--output-format csv without --output prints CSV rather than a table."""
    data = portfolio(9)
    customers, events = write_portfolio(tmp_path, data, "parquet")
    argv = ["score", "--customers", str(customers), "--events", str(events), "--as-of", AS_OF]
    assert main([*argv, "--output-format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert_rows_match(rows, expected_scores(data))


def test_an_output_file_is_replaced_whole_or_not_at_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails halfway leaves the previous file as it was and no other file."""
    customers, events = write_portfolio(tmp_path, portfolio(5), "csv")
    output = tmp_path / "scores.parquet"
    output.write_bytes(b"the previous scores")

    def failing(self: Any, file: Any, *args: Any, **kwargs: Any) -> None:
        file.write(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", failing)
    argv = ["score", "--customers", str(customers), "--events", str(events)]
    assert main([*argv, "--as-of", AS_OF, "-o", str(output)]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert output.read_bytes() == b"the previous scores"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [customers.name, events.name, output.name]
    )


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    """The output is not left with the private mode of a temporary file."""
    import os

    customers, events = write_portfolio(tmp_path, portfolio(4), "csv")
    output = tmp_path / "scores.csv"
    argv = ["score", "--customers", str(customers), "--events", str(events), "-o", str(output)]
    assert main([*argv, "--as-of", AS_OF]) == 0
    mask = os.umask(0)
    os.umask(mask)
    assert output.stat().st_mode & 0o777 == 0o666 & ~mask


def test_customers_created_later_are_left_out_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Customers created after --as-of get no row; a note on stderr names them."""
    data = portfolio(12, include_not_created=True)
    later = [c.id for c in data.customers if c.attributes.get("not_created")]
    customers, events = write_portfolio(tmp_path, data, "jsonl")
    output = tmp_path / "scores.jsonl"
    argv = ["score", "--customers", str(customers), "--events", str(events)]
    assert main([*argv, "--as-of", AS_OF, "-o", str(output)]) == 0
    assert_rows_match(read_output(output), expected_scores(data))
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("customer-health: note: ")
    assert all(repr(cid) in err[0] for cid in later)


def test_skip_unknown_customers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Events of customers not in the file are an error, or skipped on request."""
    data = portfolio(8)
    customers, events = write_portfolio(tmp_path, data, "csv")
    rows = [
        *_event_rows(data),
        {"customer_id": "ghost", "kind": "login", "occurred_at": "2026-06-29T10:00:00Z"},
    ]
    write_rows(events, rows)
    argv = ["score", "--customers", str(customers), "--events", str(events), "--as-of", AS_OF]
    assert main(argv) == EXIT_DATA
    err = capsys.readouterr().err
    assert f"events file {events}" in err
    assert "'ghost'" in err
    assert "pass --skip-unknown-customers to skip them" in err
    output = tmp_path / "scores.csv"
    assert main([*argv, "--skip-unknown-customers", "-o", str(output)]) == 0
    assert_rows_match(read_output(output), expected_scores(data))


def test_columns_of_other_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--column maps a file's own column names onto the expected ones."""
    data = portfolio(7)
    customers = write_rows(
        tmp_path / "c.csv",
        [
            {("account" if k == "id" else k): v for k, v in row.items()}
            for row in _customer_rows(data)
        ],
    )
    events = write_rows(
        tmp_path / "e.csv",
        [
            {("ts" if k == "occurred_at" else k): v for k, v in row.items()}
            for row in _event_rows(data)
        ],
    )
    argv = ["score", "--customers", str(customers), "--events", str(events), "--as-of", AS_OF]
    argv += ["--column", "account=id", "--column", "ts = occurred_at", "--output-format", "jsonl"]
    assert main(argv) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert_rows_match(rows, expected_scores(data))


# -- explain -------------------------------------------------------------------------


def parse_explanation(out: str) -> tuple[str, list[list[str]], str]:
    """The head line, the factor rows (name, score, weight, lost, explanation), the total."""
    lines = out.splitlines()
    assert lines[1] == ""
    assert lines[2].split()[:5] == ["factor", "score", "weight", "points", "lost"]
    end = lines.index("", 3) if "" in lines[3:] else len(lines)
    rows = []
    for line in lines[3:end]:
        name, rest = line.split(maxsplit=1)
        if rest.startswith("no data"):
            shown, rest = "no data", rest[len("no data") :]
            weight, lost, explanation = rest.split(maxsplit=2)
        else:
            shown, weight, lost, explanation = rest.split(maxsplit=3)
        rows.append([name, shown, weight, lost, explanation])
    return lines[0], rows, lines[-1]


def check_explanation(out: str, health: HealthScore) -> None:
    """The explanation ranks factors by weight * (100 - score) / weights with data."""
    head, rows, total = parse_explanation(out)
    assert head == health.explain().splitlines()[0]
    with_data = sum(f.weight for f in health.factors if f.score is not None)
    lost = {
        f.name: f.weight * (100 - f.score) / with_data
        for f in health.factors
        if f.score is not None
    }
    ranked = sorted(lost, key=lambda name: -lost[name])
    no_data = [f.name for f in health.factors if f.score is None]
    assert [row[0] for row in rows] == ranked + no_data
    for name, shown, weight, points, explanation in rows:
        factor = health.factor(name)
        assert explanation == factor.explanation
        assert float(weight) == factor.weight
        if factor.score is None:
            assert (shown, points) == ("no data", "-")
        else:
            assert float(shown) == pytest.approx(factor.score, abs=0.051)
            assert float(points) == pytest.approx(lost[name], abs=0.0051)
    assert health.score is not None
    assert total == f"points lost in all: {100 - health.score:.2f} (100 - {health.score:.2f})"


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_explain_from_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    """explain shows one customer's factors, costliest first, as score() computes them."""
    data = portfolio(14)
    customers, events = write_portfolio(tmp_path, data, fmt)
    expected = expected_scores(data)
    chosen = [h for h in expected.values() if any(f.score is None for f in h.factors)][:1]
    chosen += [h for h in expected.values() if h.score is not None and h.score < 60][:1]
    assert len(chosen) == 2  # one with a factor without data, one losing many points
    for health in chosen:
        argv = ["explain", health.customer_id, "--customers", str(customers)]
        assert main([*argv, "--events", str(events), "--as-of", AS_OF]) == 0
        check_explanation(capsys.readouterr().out, health)


def test_explain_a_customer_without_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A customer with no events at all: every factor 'no data' (bar the tickets')."""
    customers = write_rows(tmp_path / "c.csv", [{"id": "quiet", "segment": "smb"}])
    events = write_rows(
        tmp_path / "e.csv",
        [{"customer_id": "other", "kind": "login", "occurred_at": "2026-06-01"}],
    )
    write_rows(customers, [{"id": "quiet", "segment": "smb"}, {"id": "other", "segment": "smb"}])
    argv = ["explain", "quiet", "--customers", str(customers), "--events", str(events)]
    assert main([*argv, "--as-of", AS_OF]) == 0
    out = capsys.readouterr().out
    health = Scorer().score({"id": "quiet", "segment": "smb"}, [], as_of=AS_OF)
    head, rows, _ = parse_explanation(out)
    assert head == health.explain().splitlines()[0]
    no_data = [row[0] for row in rows if row[1] == "no data"]
    assert no_data == [f.name for f in health.factors if f.score is None]
    assert no_data  # the order of the rows puts them last:
    assert [row[0] for row in rows[-len(no_data) :]] == no_data


def test_without_rich_a_terminal_gets_plain_text(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """rich is optional: without it, terminals get the plain table and no progress."""
    customers, events = write_portfolio(tmp_path, portfolio(4), "csv")
    monkeypatch.setitem(sys.modules, "rich", None)
    out, err = Terminal(), Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    argv = ["score", "--customers", str(customers), "--events", str(events), "--as-of", AS_OF]
    assert main(argv) == 0
    assert "\x1b" not in out.getvalue()
    assert out.getvalue().startswith("customer  ")
    assert err.getvalue() == ""


def test_explain_reads_properties_of_every_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Properties as JSON objects (JSON Lines) or JSON text (CSV) reach the models."""
    data = portfolio(5)
    expected = expected_scores(data)
    for fmt in ("jsonl", "csv"):
        customers, events = write_portfolio(tmp_path, data, fmt)
        argv = ["explain", "c000001", "--customers", str(customers), "--events", str(events)]
        assert main([*argv, "--as-of", AS_OF]) == 0
        check_explanation(capsys.readouterr().out, expected["c000001"])
