"""Scores render as HTML in Jupyter and as rich tables in a terminal; ScoreTable shows many."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

import customer_health
from customer_health import (
    MODEL_VERSION,
    ConfigurationError,
    HealthScore,
    HealthScores,
    InvalidInputError,
    MissingExtraError,
    Scorer,
    ScoreTable,
)
from customer_health._display import STATUS_COLOURS

rich_console = pytest.importorskip("rich.console")
pl = pytest.importorskip("polars")

AS_OF = datetime(2026, 6, 30, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script> & <b>'


def _factor(name: str, score: float | None, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "score": score,
        "weight": extra.pop("weight", 0.5),
        "contribution": 0.0 if score is None else score / 2,
        "explanation": extra.pop("explanation", f"{name} explained"),
        **extra,
    }


def _health(customer_id: str = "acme", **extra: Any) -> HealthScore:
    """A hand-made score: api_usage 84 (value 420 of 500), payment_timeliness no data."""
    values: dict[str, Any] = {
        "customer_id": customer_id,
        "as_of": AS_OF,
        "score": 84.0,
        "status": "healthy",
        "coverage": 0.5,
        "factors": [
            _factor("api_usage", 84.0, value=420, expected=500, weight=0.25),
            _factor("payment_timeliness", None, explanation="no invoices due"),
        ],
        "fingerprint": "f1ngerprint",
    }
    return HealthScore.model_validate(values | extra)


def _bar_widths(html: str) -> list[float]:
    """The filled widths of the bars, in order (a bar is a track holding one filled div)."""
    return [float(width) for width in re.findall(r'<div style="width:([\d.]+)%', html)]


def _console_text(renderable: Any, width: int = 140) -> str:
    console = rich_console.Console(record=True, width=width, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


# -- one score as HTML ----------------------------------------------------------------


def test_html_shows_the_score_badge_and_details() -> None:
    """The HTML has the id, score, a badge in the status colour, coverage, as_of, model."""
    html = _health()._repr_html_()
    assert "<strong" in html
    assert ">acme</strong>" in html
    assert ">84.00</span>" in html
    assert f"background:{STATUS_COLOURS['healthy']}" in html
    assert ">healthy</span>" in html
    assert "coverage 50%" in html
    assert "as of 2026-06-30 00:00:00 UTC" in html
    assert f"model {MODEL_VERSION}" in html
    assert "f1ngerprint" in html


def test_html_has_a_row_per_factor_with_bar_weight_value_and_explanation() -> None:
    """Each factor is a row: its score, a bar as wide as the score, weight, value/expected."""
    html = _health()._repr_html_()
    assert html.count("<tr>") == 1 + 2  # the header and two factors
    assert _bar_widths(html) == [84.0, 0.0]
    api_row = html.split("<tr>")[2]
    for cell in ("api_usage", ">84.0<", ">0.25<", ">420 / 500<", ">api_usage explained<"):
        assert cell in api_row
    payment_row = html.split("<tr>")[3]
    assert "no data" in payment_row
    assert "no invoices due" in payment_row
    assert "\u2013 / \u2013" in payment_row  # neither value nor expectation


def test_html_of_an_unknown_score_has_no_number() -> None:
    """A score without data shows the unknown badge and no number."""
    health = _health(score=None, status="unknown", coverage=0.0)
    html = health._repr_html_()
    assert ">unknown</span>" in html
    assert f"background:{STATUS_COLOURS['unknown']}" in html
    assert "84.00" not in html


def test_html_escapes_ids_names_and_explanations() -> None:
    """Customer ids, factor names and explanations are escaped: no markup gets through."""
    health = _health(
        customer_id=HOSTILE,
        factors=[_factor(HOSTILE, 10.0, explanation=HOSTILE)],
        model_version="<i>1</i>",
    )
    html = health._repr_html_()
    assert "<script" not in html
    assert "<b>" not in html
    assert "<i>" not in html
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;"
    assert html.count(escaped) == 3


def test_rich_of_an_unknown_score_has_no_number() -> None:
    """In a terminal, a score without data shows its id and the unknown badge, no number."""
    text = _console_text(_health(score=None, status="unknown", coverage=0.0))
    assert re.search(r"^\s*acme\s+unknown\s*$", text, re.MULTILINE)
    assert "84.00" not in text


def test_html_is_self_contained() -> None:
    """No script, no stylesheet link, no external resource: inline styles only."""
    html = _health()._repr_html_()
    for forbidden in ("<script", "<link", "<style", "src=", "href=", "url("):
        assert forbidden not in html


# -- one score in a terminal ----------------------------------------------------------


def test_rich_shows_the_score_its_factors_and_bars() -> None:
    """rich prints the id, score, status, each factor with its score, bar and explanation."""
    health = _health(
        factors=[
            _factor("api_usage", 100.0),
            _factor("login_frequency", 50.0),
            _factor("payment_timeliness", None, explanation="no invoices due"),
        ]
    )
    text = _console_text(health)
    assert re.search(r"acme\s+84\.00\s+healthy", text)
    assert f"coverage 50% \u00b7 as of 2026-06-30 00:00:00 UTC \u00b7 model {MODEL_VERSION}" in text
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    # A bar is 10 cells wide: 100 fills all ten, 50 fills five, no data none.
    assert "\u2588" * 10 in lines["api_usage"]
    assert "100.0" in lines["api_usage"]
    assert lines["login_frequency"].count("\u2588") == 5
    assert "\u2588" not in lines["payment_timeliness"]
    assert "no data" in lines["payment_timeliness"]
    assert "no invoices due" in lines["payment_timeliness"]


def test_import_does_not_import_rich_or_matplotlib() -> None:
    """Importing the package and the plot module, and making HTML, imports neither."""
    code = (
        "import json, sys, customer_health, customer_health.plot\n"
        "from customer_health import sample, Scorer\n"
        "data = sample.generate(3, seed=1)\n"
        "scores = Scorer().score_many(data.customers, data.events, as_of=data.as_of)\n"
        "scores[0]._repr_html_(); customer_health.ScoreTable(scores)._repr_html_()\n"
        "print(json.dumps(sorted({m.partition('.')[0] for m in sys.modules} "
        "& {'rich', 'matplotlib', 'narwhals', 'polars'})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


# -- many scores ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def portfolio() -> tuple[Any, Any, list[HealthScore]]:
    """Customers and events as polars frames, and their scores from score_many."""
    customers = [
        {"id": f"c{index}", "segment": ("smb", "enterprise", "startup")[index % 3]}
        for index in range(7)
    ]
    events = [
        {
            "customer_id": f"c{index}",
            "kind": "api_call",
            "occurred_at": datetime(2026, 6, 20),
            "quantity": 150 * index,
        }
        for index in range(1, 7)  # c0 has no events
    ] + [
        {"customer_id": f"c{index}", "kind": "login", "occurred_at": datetime(2026, 6, day)}
        for index in range(1, 7)
        for day in range(1, 1 + 3 * index)
    ]
    scores = Scorer().score_many(customers, events, as_of=AS_OF)
    events_frame = pl.DataFrame(events, infer_schema_length=None)
    return pl.DataFrame(customers), events_frame, scores


BACKENDS = ["polars", "polars-lazy", "pandas", "pyarrow", "duckdb"]


def as_backend(frame: Any, backend: str) -> Any:
    """A polars frame as the frame of ``backend``."""
    if backend == "polars":
        return frame
    if backend == "polars-lazy":
        return frame.lazy()
    if backend == "pandas":
        pytest.importorskip("pandas")
        return frame.to_pandas()
    if backend == "pyarrow":
        pytest.importorskip("pyarrow")
        return frame.to_arrow()
    duckdb = pytest.importorskip("duckdb")
    return duckdb.from_arrow(frame.to_arrow())


def scored_frame(portfolio: Any, backend: str) -> Any:
    """The score_frame result of the portfolio, computed from frames of ``backend``."""
    customers, events, _ = portfolio
    return customer_health.score_frame(
        as_backend(customers, backend), as_backend(events, backend), as_of=AS_OF
    )


def _html_rows(html: str) -> list[str]:
    return html.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]


@pytest.mark.parametrize("backend", BACKENDS)
def test_score_table_of_a_frame_shows_its_first_rows(portfolio: Any, backend: str) -> None:
    """A frame result of any kind shows its first max_rows customers, as score_many scores them."""
    _, _, scores = portfolio
    table = ScoreTable(scored_frame(portfolio, backend), max_rows=4)
    assert (table.total, table.shown) == (7, 4)
    html = table._repr_html_()
    assert "showing the first 4 of 7 customers" in html
    rows = _html_rows(html)
    assert len(rows) == 4
    for row, health in zip(rows, scores, strict=False):
        assert f">{health.customer_id}</td>" in row
        assert f">{health.status.value}</span>" in row
        shown = "no data" if health.score is None else f"{health.score:.2f}"
        assert shown in row
        # The score's bar, then one per factor, each as wide as its score.
        want = [health.score or 0.0] + [f.score or 0.0 for f in health.factors]
        assert _bar_widths(row) == [pytest.approx(w, abs=0.05) for w in want]


def test_score_table_of_health_scores_equals_the_table_of_their_frame(portfolio: Any) -> None:
    """A list of HealthScores gives the same rows as the frame of the same customers."""
    _, _, scores = portfolio
    from_list = ScoreTable(scores, max_rows=None)._repr_html_()
    from_frame = ScoreTable(scored_frame(portfolio, "polars"), max_rows=None)._repr_html_()
    assert _html_rows(from_list) == _html_rows(from_frame)
    assert "7 customers" in from_list
    assert "showing" not in from_list


def test_a_batch_of_scores_renders_as_its_score_table(portfolio: Any) -> None:
    """score_many's result shows in Jupyter and rich as its ScoreTable (first 20 rows)."""
    _, _, scores = portfolio
    assert isinstance(scores, HealthScores)
    assert scores._repr_html_() == ScoreTable(scores)._repr_html_()
    assert _console_text(scores, width=200) == _console_text(ScoreTable(scores), width=200)


def test_score_table_in_a_terminal(portfolio: Any) -> None:
    """rich prints one line per shown customer, badges, factor columns and the caption."""
    _, _, scores = portfolio
    text = _console_text(ScoreTable(scores, max_rows=3), width=200)
    assert "showing the first 3 of 7 customers" in text
    assert "api_usage" in text
    assert "support_tickets" in text
    body = [line for line in text.splitlines() if re.match(r"\s*c\d\s", line)]
    assert [line.split()[0] for line in body] == ["c0", "c1", "c2"]
    for line, health in zip(body, scores, strict=False):
        assert f"{health.score:.2f}" in line
        assert health.status.value in line
        assert f"{health.coverage:.0%}" in line
    assert "no data" in body[0]  # c0 has no invoices, as nobody here


def test_score_table_of_one_score_and_repr() -> None:
    """One HealthScore is a table of one; the repr says what the table shows."""
    table = ScoreTable(_health())
    assert (table.total, table.shown) == (1, 1)
    assert repr(table) == "<ScoreTable: 1 customer>"
    assert repr(ScoreTable([])) == "<ScoreTable: 0 customers>"
    assert repr(ScoreTable([_health()] * 3, max_rows=2)) == (
        "<ScoreTable: showing the first 2 of 3 customers>"
    )


def test_score_table_escapes_ids_and_factor_names() -> None:
    """Ids and factor names in a table are escaped too."""
    html = ScoreTable([_health(HOSTILE, factors=[_factor(HOSTILE, 5.0)])])._repr_html_()
    assert "<script" not in html
    assert "<b>" not in html
    assert html.count("&lt;script&gt;") == 2


def test_score_table_of_scores_with_different_factors() -> None:
    """Scores of different scorers: every factor gets a column, empty where a score lacks it."""
    one = _health("one", factors=[_factor("a", 10.0)])
    two = _health("two", factors=[_factor("b", 20.0)])
    table = ScoreTable([one, two])
    html = table._repr_html_()
    assert ">a</th>" in html
    assert ">b</th>" in html
    rows = _html_rows(html)
    assert _bar_widths(rows[0]) == [84.0, 10.0]
    assert _bar_widths(rows[1]) == [84.0, 20.0]
    text = _console_text(table)
    assert "10.0" in text
    assert "20.0" in text


@pytest.mark.parametrize("max_rows", [0, -1, True, 2.5, "5"])
def test_bad_max_rows_is_an_error(max_rows: Any) -> None:
    """max_rows must be a positive integer or None; the error names the value."""
    with pytest.raises(ConfigurationError, match=re.escape(repr(max_rows))):
        ScoreTable([], max_rows=max_rows)


def test_something_else_than_scores_is_an_error() -> None:
    """A mapping, or a list holding something else, is an error naming what it is."""
    with pytest.raises(InvalidInputError, match="got a dict; expected a score_frame"):
        ScoreTable({"score": 1})
    with pytest.raises(InvalidInputError, match="item 1 is a str"):
        ScoreTable([_health(), "acme"])


def test_a_frame_without_the_result_columns_is_an_error() -> None:
    """A frame that is no score_frame() result names the missing column."""
    frame = pl.DataFrame({"customer_id": ["a"], "score": [1.0], "coverage": [1.0]})
    with pytest.raises(InvalidInputError, match=r"no column 'status' \(columns: \["):
        ScoreTable(frame)


def test_a_frame_without_narwhals_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without narwhals a frame cannot be read; the error names the extra."""
    monkeypatch.setitem(sys.modules, "narwhals.stable.v2", None)
    with pytest.raises(MissingExtraError, match=r"customer-health\[polars\]"):
        ScoreTable(pl.DataFrame({"customer_id": ["a"]}))


@pytest.mark.parametrize("backend", ["polars", "pandas"])
def test_score_table_of_a_customer_without_data(backend: str) -> None:
    """A null score (NaN in pandas), status or coverage shows as no data, unknown and a dash."""
    frame = pl.DataFrame(
        {
            "customer_id": ["quiet"],
            "score": [None],
            "status": [None],
            "coverage": [None],
            "api_usage": [None],
            "api_usage_value": [None],
        },
        schema_overrides={
            "score": pl.Float64,
            "status": pl.String,
            "coverage": pl.Float64,
            "api_usage": pl.Float64,
            "api_usage_value": pl.Float64,
        },
    )
    html = ScoreTable(as_backend(frame, backend))._repr_html_()
    row = _html_rows(html)[0]
    assert ">unknown</span>" in row
    assert row.count("no data") == 2
    assert ">\u2013</td>" in row
    assert _bar_widths(row) == [0.0, 0.0]
