"""Bad input to ``score`` and ``explain``: one line saying what and where, exit code 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from customer_health.cli import EXIT_DATA, EXIT_USAGE, main

from .test_cli_files import AS_OF, portfolio, write_portfolio, write_rows

pytest.importorskip("polars")


def one_error(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = EXIT_DATA) -> str:
    """Run ``argv``; it must fail with exit code ``code`` (default: a data error) and one
    error line, which is returned."""
    assert main(argv) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("customer-health: error: ")
    assert "Traceback" not in captured.err
    return lines[0]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """Good customers and events as CSV."""
    return write_portfolio(tmp_path, portfolio(6), "csv")


def score(customers: Path, events: Path, *more: str) -> list[str]:
    return ["score", "--customers", str(customers), "--events", str(events), *more]


def test_a_missing_file(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """A file that does not exist is named."""
    customers, events = files
    missing = events.with_name("nope.csv")
    line = one_error(capsys, score(customers, missing))
    assert line.endswith(f"events file {missing}: no such file")


def test_a_directory(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """A directory where a file should be is named."""
    customers, events = files
    folder = customers.parent / "folder.csv"
    folder.mkdir()
    line = one_error(capsys, score(folder, events))
    assert line.endswith(f"customers file {folder}: is a directory")


def test_an_unknown_format(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """A suffix that says no known format, and how to say which one it is."""
    customers, events = files
    odd = events.rename(events.with_suffix(".xlsx"))
    line = one_error(capsys, score(customers, odd), EXIT_USAGE)
    assert f"{odd}: unknown file format '.xlsx'" in line
    assert "--input-format" in line


def test_input_format_overrides_the_suffix(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """--input-format reads files whatever their names."""
    customers, events = files
    customers = customers.rename(customers.with_suffix(".txt"))
    events = events.rename(events.with_suffix(".dat"))
    assert main([*score(customers, events, "--as-of", AS_OF), "--input-format", "csv"]) == 0


def test_a_file_of_another_format(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """CSV named .parquet: the file and what polars says is wrong with it."""
    customers, events = files
    fake = events.with_suffix(".parquet")
    fake.write_bytes(events.read_bytes())
    line = one_error(capsys, score(customers, fake))
    assert f"events file {fake}: cannot read it as parquet" in line


def test_invalid_json_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A line of JSON Lines that is not JSON is named by its number."""
    customers, events = write_portfolio(tmp_path, portfolio(4), "jsonl")
    lines = events.read_text().splitlines()
    lines[2] = '{"customer_id": "c000001", "kind": '
    events.write_text("\n".join(lines) + "\n")
    line = one_error(capsys, score(customers, events))
    assert f"events file {events}: cannot read it as jsonl: line 3: not valid JSON" in line


def test_a_json_line_that_is_no_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A JSON array where an object should be, by its line."""
    customers, events = write_portfolio(tmp_path, portfolio(4), "jsonl")
    customers.write_text(customers.read_text() + "\n[1, 2]\n")
    line = one_error(capsys, score(customers, events))
    assert "line 6: a JSON list, not an object" in line


def test_a_ragged_csv_line(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """A CSV line with more fields than the header, by its number."""
    customers, events = files
    customers.write_text(customers.read_text() + "x,smb,Name,,a,b,c,d,e,f,g\n")
    line = one_error(capsys, score(customers, events))
    assert f"customers file {customers}: cannot read it as csv: line 8: 11 fields" in line


def test_an_empty_csv(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """A CSV file without even a header."""
    customers, events = files
    customers.write_text("")
    line = one_error(capsys, score(customers, events))
    assert "the file is empty" in line


def test_empty_json_lines_are_no_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty JSON Lines file of events is no events: every factor without data but one."""
    customers = write_rows(tmp_path / "c.jsonl", [{"id": "a", "segment": "smb"}])
    events = tmp_path / "e.jsonl"
    events.write_text("\n")
    argv = score(customers, events, "--as-of", AS_OF, "--output-format", "jsonl")
    assert main(argv) == 0
    assert '"customer_id":"a"' in capsys.readouterr().out


def test_a_missing_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A required column that is not there, with the file and its columns."""
    customers = write_rows(tmp_path / "c.csv", [{"id": "a", "segment": "smb"}])
    events = write_rows(tmp_path / "e.csv", [{"customer_id": "a", "kind": "login", "at": "x"}])
    line = one_error(capsys, score(customers, events))
    assert f"events file {events}: events frame has no column 'occurred_at'" in line
    assert line.endswith("map your own names with --column YOURS=OURS"), line


def test_a_bad_instant_names_its_line(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Text that is no date in a CSV file: its line (the header is line 1) and the text."""
    customers, events = files
    lines = events.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[4].split(",")
    cells[header.index("occurred_at")] = "yesterday"
    lines[4] = ",".join(cells)
    events.write_text("\n".join(lines) + "\n")
    line = one_error(capsys, score(customers, events))
    assert f"events file {events}: column 'occurred_at' has text that is not a date" in line
    assert "{line 5: 'occurred_at': 'yesterday'}" in line


def test_a_number_that_is_none(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A quantity that is not a number, by its line."""
    customers, events = files
    text = events.read_text().splitlines()
    header = text[0].split(",")
    row = dict.fromkeys(header, "")
    row.update(customer_id="c000001", kind="api_call", occurred_at="2026-06-01", quantity="lots")
    text.insert(3, ",".join(row[name] for name in header))
    events.write_text("\n".join(text) + "\n")
    line = one_error(capsys, score(customers, events))
    assert f"events file {events}: line 4: column 'quantity' holds 'lots'" in line


def test_an_unknown_segment_names_the_customers_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A segment nobody registered, in the customers file, by its line."""
    customers = write_rows(
        tmp_path / "c.jsonl",
        [{"id": "a", "segment": "smb"}, {"id": "b", "segment": "galactic"}],
    )
    events = write_rows(tmp_path / "e.jsonl", [])
    events.write_text("")
    line = one_error(capsys, score(customers, events))
    assert f"customers file {customers}: column 'segment'" in line
    assert "{line 2: 'id': 'b', 'segment': 'galactic'}" in line


def test_a_bad_as_of(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """--as-of that is no date is named, before any file is read."""
    customers, events = files
    line = one_error(capsys, score(customers, events, "--as-of", "last tuesday"), EXIT_USAGE)
    assert "--as-of 'last tuesday' is not an ISO 8601 date or datetime" in line
    argv = ["explain", "a", "--database-url", "sqlite://", "--as-of", "x"]
    line = one_error(capsys, argv, EXIT_USAGE)
    assert "--as-of 'x'" in line


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--output", "{tmp}/scores.xlsx"], ["unknown file format '.xlsx'", "--output-format"]),
        (["--output", "{tmp}/no/such/scores.csv"], ["no such directory"]),
        (["--output", "{tmp}"], ["is a directory"]),
        (["--output-format", "parquet"], ["needs --output FILE"]),
        (["--column", "ts"], ["expected YOURS=OURS"]),
        (["--column", "ts=when"], ["'when' is no column name"]),
        (["--column", "ts=occurred_at", "--column", "ts=due_at"], ["mapped twice"]),
        (["--column", "ts=occurred_at"], ["has a column 'ts'"]),
        (["--column", "kind=occurred_at"], ["has a column 'occurred_at' already"]),
    ],
)
def test_bad_options(
    files: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    words: list[str],
) -> None:
    """Bad output and column options are named, and nothing is written."""
    customers, events = files
    before = sorted(tmp_path.iterdir())
    argv = score(customers, events, *(e.format(tmp=tmp_path) for e in extra))
    line = one_error(capsys, argv, EXIT_USAGE)
    assert all(word in line for word in words), line
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["score", "--customers", "c.csv"], ["--events is missing"]),
        (["score", "--events", "e.csv"], ["--customers is missing"]),
        (
            ["score", "--customers", "c.csv", "--events", "e.csv", "--database-url", "x"],
            ["not both"],
        ),
        (["score"], ["nothing to read", "CUSTOMER_HEALTH_DATABASE_URL"]),
        (["score", "--database-url", "sqlite://", "--column", "a=id"], ["--column is for files"]),
        (["explain", "a"], ["nothing to read"]),
    ],
)
def test_where_to_read_from(
    argv: list[str],
    words: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Files or a database, and both files: otherwise one line says what is missing."""
    monkeypatch.delenv("CUSTOMER_HEALTH_DATABASE_URL", raising=False)
    line = one_error(capsys, argv, EXIT_USAGE)
    assert all(word in line for word in words), line


def test_explain_a_customer_not_in_the_file(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """An id that is not in the customers file is named, with the file."""
    customers, events = files
    line = one_error(
        capsys, ["explain", "ghost", "--customers", str(customers), "--events", str(events)]
    )
    assert line.endswith(f"customer 'ghost' is not in customers file {customers}")


def test_explain_a_customer_twice_in_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An id on two lines of the customers file is ambiguous: both lines are named."""
    customers = write_rows(
        tmp_path / "c.csv", [{"id": "a", "segment": "smb"}, {"id": "a", "segment": "startup"}]
    )
    events = write_rows(
        tmp_path / "e.csv", [{"customer_id": "a", "kind": "login", "occurred_at": "2026-06-01"}]
    )
    line = one_error(
        capsys, ["explain", "a", "--customers", str(customers), "--events", str(events)]
    )
    assert "customer 'a' appears 2 times (line 2, line 3)" in line


def test_explain_names_the_line_of_a_bad_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad event of the customer explained: the event's line and the field."""
    customers = write_rows(tmp_path / "c.csv", [{"id": "a", "segment": "smb"}])
    rows = [
        {"customer_id": "b", "kind": "login", "occurred_at": "2026-06-01", "quantity": ""},
        {"customer_id": "a", "kind": "login", "occurred_at": "2026-06-01", "quantity": ""},
        {"customer_id": "a", "kind": "api_call", "occurred_at": "2026-06-02", "quantity": "0"},
    ]
    events = write_rows(tmp_path / "e.csv", rows)
    argv = ["explain", "a", "--customers", str(customers), "--events", str(events)]
    line = one_error(capsys, argv)
    assert f"events file {events}: event at line 4" in line
    assert "quantity" in line


def test_explain_names_bad_properties(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Properties that are not a JSON object, by their line."""
    customers = write_rows(tmp_path / "c.csv", [{"id": "a", "segment": "smb"}])
    rows = [{"customer_id": "a", "kind": "nps", "occurred_at": "2026-06-01", "properties": "{oops"}]
    events = write_rows(tmp_path / "e.csv", rows)
    argv = ["explain", "a", "--customers", str(customers), "--events", str(events)]
    line = one_error(capsys, argv)
    assert "line 2: column 'properties' holds '{oops', which is not a JSON object" in line


def test_explain_names_a_bad_customer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A customer the model rejects (an unknown segment) names the customers file."""
    customers = write_rows(tmp_path / "c.csv", [{"id": "a", "segment": "galactic"}])
    events = write_rows(
        tmp_path / "e.csv", [{"customer_id": "a", "kind": "login", "occurred_at": "2026-06-01"}]
    )
    line = one_error(
        capsys, ["explain", "a", "--customers", str(customers), "--events", str(events)]
    )
    assert "'galactic'" in line


def test_debug_shows_the_traceback(files: tuple[Path, Path]) -> None:
    """With --debug the error propagates, with what caused it."""
    from customer_health.cli._common import CommandError

    customers, events = files
    with pytest.raises(CommandError, match=r"nope\.csv"):
        main(["--debug", *score(customers, events.with_name("nope.csv"))])
    with pytest.raises(CommandError, match=r"nope\.csv"):  # after the subcommand too
        main([*score(customers, events.with_name("nope.csv")), "--debug"])


@pytest.mark.parametrize("command", ["score", "explain", "backtest", "demo", "sample", "db"])
def test_every_subcommand_takes_debug(command: str) -> None:
    """--debug is an option of each subcommand, as of the main parser."""
    from customer_health.cli._main import _parser

    parser = _parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert "--debug" in subparsers.choices[command].format_help()  # type: ignore[attr-defined]


def test_without_the_cli_extra(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without polars, score says which pip install provides it."""
    monkeypatch.setitem(sys.modules, "polars", None)
    customers, events = files
    line = one_error(capsys, score(customers, events), EXIT_USAGE)
    assert line.endswith("pip install 'customer-health[cli]'")


def test_lines_after_a_blank_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Blank lines count in the line numbers: a blank CSV line is a row of nulls, a
    blank JSON line no row at all."""
    customers = tmp_path / "c.csv"
    customers.write_text("id,segment\na,smb\n\nb,galactic\n")
    events = write_rows(tmp_path / "e.jsonl", [])
    events.write_text("")
    line = one_error(capsys, score(customers, events))
    assert "null or empty ids: {line 3: 'id': None}" in line
    customers.write_text("id,segment\na,smb\nb,galactic\n")
    events.write_text(
        '{"customer_id": "a", "kind": "login", "occurred_at": "2026-06-01"}\n\n'
        '{"customer_id": "a", "kind": "login", "occurred_at": "soon"}\n'
    )
    line = one_error(capsys, score(customers.with_name("c.csv"), events))
    assert "{line 3: 'occurred_at': 'soon'}" in line or "'galactic'" in line


def test_parquet_rows_are_counted_from_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Parquet has no lines: its rows are named, counting from 1."""
    customers = write_rows(
        tmp_path / "c.parquet", [{"id": "a", "segment": "smb"}, {"id": "b", "segment": "galactic"}]
    )
    events = write_rows(
        tmp_path / "e.parquet", [{"customer_id": "a", "kind": "login", "occurred_at": "2026-06-01"}]
    )
    line = one_error(capsys, score(customers, events))
    assert "{row 2: 'id': 'b', 'segment': 'galactic'}" in line


def test_a_name_with_pattern_characters(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A file named like a glob pattern is read as the file it is."""
    customers, events = files
    odd = events.rename(events.with_name("events[1].csv"))
    assert main(score(customers, odd, "--as-of", AS_OF)) == 0


def test_an_unreadable_file(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that cannot be opened (permissions) is named with the reason."""
    customers, events = files
    real_open = Path.open

    def guarded(self: Path, *args: object, **kwargs: object) -> object:
        if self == events:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", guarded)
    line = one_error(capsys, score(customers, events))
    assert line.endswith(f"events file {events}: cannot open it: Permission denied")


def test_an_unterminated_quote(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """CSV that polars cannot parse: what it says is wrong, without its advice."""
    customers, events = files
    customers.write_text('id,segment\n"a,smb\n')
    line = one_error(capsys, score(customers, events))
    assert f"customers file {customers}: cannot read it as csv" in line
    assert "You might want to try" not in line


def test_json_lines_that_are_no_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Bytes that are not UTF-8 where JSON Lines should be."""
    customers, events = write_portfolio(tmp_path, portfolio(3), "jsonl")
    events.write_bytes(b'{"customer_id": "\xff\xfe"}\n')
    line = one_error(capsys, score(customers, events))
    assert f"events file {events}: cannot read it as jsonl" in line


@pytest.mark.parametrize(
    ("values", "words"),
    [
        (['"lots"', "3"], "line 1: column 'quantity' holds 'lots', which is not a number"),
        (["3", "true"], "line 2: field 'quantity' holds True, which is not a number"),
        (["3", "[1]"], "line 2: field 'quantity' holds [1], which is not a number"),
        (["null", "true"], "line 2: column 'quantity' holds True, which is not a number"),
    ],
)
def test_a_json_quantity_that_is_no_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], values: list[str], words: str
) -> None:
    """A JSON quantity that is text, a boolean or an array, by its line."""
    customers = write_rows(tmp_path / "c.jsonl", [{"id": "a", "segment": "smb"}])
    events = tmp_path / "e.jsonl"
    event = '{"customer_id": "a", "kind": "api_call", "occurred_at": "2026-06-01", "quantity": '
    events.write_text("".join(f"{event}{value}}}\n" for value in values))
    line = one_error(capsys, score(customers, events))
    assert f"events file {events}: " in line
    assert words in line


def test_an_event_id_used_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two different events with one event_id: the id is named."""
    customers = write_rows(tmp_path / "c.csv", [{"id": "a", "segment": "smb"}])
    rows = [
        {"customer_id": "a", "kind": "login", "occurred_at": "2026-06-01", "event_id": "e1"},
        {"customer_id": "a", "kind": "login", "occurred_at": "2026-06-02", "event_id": "e1"},
    ]
    events = write_rows(tmp_path / "e.csv", rows)
    line = one_error(capsys, score(customers, events))
    assert f"events file {events}: event_id 'e1' of customer 'a'" in line


@pytest.mark.parametrize("missing", ["id", "customer_id"])
def test_explain_without_an_id_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], missing: str
) -> None:
    """explain needs the id columns to find the customer and its events."""
    customer = {"id": "a", "segment": "smb"}
    event = {"customer_id": "a", "kind": "login", "occurred_at": "2026-06-01"}
    customers = write_rows(
        tmp_path / "c.csv", [{k: v for k, v in customer.items() if k != missing}]
    )
    events = write_rows(tmp_path / "e.csv", [{k: v for k, v in event.items() if k != missing}])
    argv = ["explain", "a", "--customers", str(customers), "--events", str(events)]
    line = one_error(capsys, argv)
    assert f"no column {missing!r}" in line


def test_a_driver_that_is_not_installed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without psycopg, a PostgreSQL URL names the extra that installs it."""
    pytest.importorskip("sqlalchemy")
    monkeypatch.setitem(sys.modules, "psycopg", None)
    line = one_error(capsys, ["score", "--database-url", "postgresql+psycopg://h/db"], EXIT_USAGE)
    assert line.endswith("pip install 'customer-health[postgres]'")


def test_a_write_error_with_debug(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With --debug an operating-system error propagates as well."""
    import polars as pl

    def failing(self: object, file: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_csv", failing)
    customers, events = files
    with pytest.raises(OSError, match="No space"):
        main(["--debug", *score(customers, events, "-o", str(tmp_path / "s.csv"))])


@pytest.mark.parametrize(
    ("more", "flag", "keyword"),
    [
        ([], "pass --skip-unknown-customers to skip them", "unknown_customers="),
    ],
)
def test_errors_name_the_flags_not_the_keyword_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], more: list[str], flag: str, keyword: str
) -> None:
    """Advice names the command line's flags, never the Python keyword arguments."""
    customers = write_rows(tmp_path / "c.csv", [{"id": "a", "segment": "smb"}])
    events = write_rows(
        tmp_path / "e.csv",
        [
            {"customer_id": "a", "kind": "login", "occurred_at": "2026-06-01"},
            {"customer_id": "ghost", "kind": "login", "occurred_at": "2026-06-01"},
        ],
    )
    line = one_error(capsys, score(customers, events, "--as-of", AS_OF, *more))
    assert flag in line
    assert keyword not in line
