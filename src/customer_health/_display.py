"""How many scores look in Jupyter (HTML) and in a terminal (rich).

:class:`ScoreTable` shows many scores (a ``score_frame()`` result of any kind, or a
list of :class:`HealthScore`) the way :mod:`._render` shows one; :func:`read_scores`
and :func:`find_row` read either form for the plots.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

from ._render import (
    CELL,
    FACTOR_COLOUR,
    NUMBER,
    RICH_BAR,
    STATUS_COLOURS,
    badge,
    bar,
    header,
    rich_badge,
    rich_bar,
    rich_score,
    score_text,
)
from .exceptions import ConfigurationError, InvalidInputError, UnknownCustomerError
from .models import HealthScore

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["STATUS_COLOURS", "Part", "Row", "Rows", "ScoreTable", "find_row", "read_scores"]


_BASE_COLUMNS = ("customer_id", "score", "status", "coverage")
"""The columns of every ``score_frame()`` result; a factor ``f`` adds ``f`` and ``f_value``."""
_EXPECTED = (
    "a score_frame() result (a pandas, polars, pyarrow or DuckDB frame) or HealthScore objects"
)


# -- reading scores -------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One factor of one customer: its score (``None``: no data) and, if known, its weight."""

    name: str
    score: float | None
    weight: float | None = None


@dataclass(frozen=True)
class Row:
    """What the tables and plots show of one customer, from a frame row or a HealthScore."""

    customer_id: str
    score: float | None
    status: str
    coverage: float | None
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class Rows:
    """Some rows of a result, how many rows it has in all, and its factors' names."""

    rows: list[Row]
    total: int
    factors: tuple[str, ...]


def read_scores(
    scores: Any,
    caller: str,
    *,
    limit: int | None = None,
    customer_id: str | None = None,
    factors: bool = True,
) -> Rows:
    """Read ``scores`` (a frame result, HealthScores, or one HealthScore) into rows.

    Only the first ``limit`` rows become Python objects (a frame is counted and cut
    in its own engine); ``customer_id`` keeps that customer's rows;
    ``factors=False`` skips the factor columns.
    """
    if isinstance(scores, HealthScore | Sequence | Iterator) and not isinstance(scores, str):
        items = _health_scores(scores, caller)
        if customer_id is not None:
            items = [item for item in items if item.customer_id == customer_id]
        names = _factor_names(items) if factors else ()
        shown = items if limit is None else items[:limit]
        return Rows([_health_row(item, factors) for item in shown], len(items), names)
    return _frame_rows(scores, caller, limit, customer_id, factors)


def _health_scores(scores: Any, caller: str) -> list[HealthScore]:
    items = [scores] if isinstance(scores, HealthScore) else list(scores)
    for index, item in enumerate(items):
        if not isinstance(item, HealthScore):
            raise InvalidInputError(
                f"{caller} got a sequence whose item {index} is a {type(item).__name__} "
                f"({item!r:.60}); expected {_EXPECTED}"
            )
    return items


def _factor_names(items: list[HealthScore]) -> tuple[str, ...]:
    # Scores of different scorers may have different factors: every name, in the
    # order first seen.
    return tuple(dict.fromkeys(f.name for item in items for f in item.factors))


def _health_row(health: HealthScore, factors: bool) -> Row:
    parts = tuple(Part(f.name, f.score, f.weight) for f in health.factors) if factors else ()
    return Row(health.customer_id, health.score, health.status.value, health.coverage, parts)


def _frame_rows(
    scores: Any, caller: str, limit: int | None, customer_id: str | None, factors: bool
) -> Rows:
    from ._extras import require_extra

    nw: Any = require_extra("narwhals.stable.v2", "polars", f"{caller} of a DataFrame")
    try:
        frame = nw.from_native(scores)
    except TypeError:
        raise InvalidInputError(
            f"{caller} got a {type(scores).__name__}; expected {_EXPECTED}"
        ) from None
    names = frame.collect_schema().names()
    missing = [name for name in _BASE_COLUMNS if name not in names]
    if missing:
        raise InvalidInputError(
            f"{caller} got a frame with no column {missing[0]!r} (columns: {names}); "
            f"expected {_EXPECTED}"
        )
    found = tuple(name for name in names if name not in _BASE_COLUMNS and f"{name}_value" in names)
    found = found if factors else ()
    frame = frame.select([*_BASE_COLUMNS, *found])
    if customer_id is not None:
        frame = frame.filter(nw.col("customer_id") == customer_id)
    lazy = isinstance(frame, nw.LazyFrame)
    counted = frame.select(nw.len())
    total = int((counted.collect() if lazy else counted).item())
    head = frame if limit is None else frame.head(limit)
    records = (head.collect() if lazy else head).rows(named=True)
    return Rows([_frame_row(record, found) for record in records], total, found)


def _frame_row(record: dict[str, Any], factors: tuple[str, ...]) -> Row:
    status = record["status"]
    missing = status is None or (isinstance(status, float) and math.isnan(status))
    return Row(
        str(record["customer_id"]),
        _number(record["score"]),
        "unknown" if missing else str(status),
        _number(record["coverage"]),
        tuple(Part(name, _number(record[name])) for name in factors),
    )


def _number(value: Any) -> float | None:
    """A float, or ``None`` for null (pandas holds nulls of float columns as NaN)."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


# -- tables of many scores ------------------------------------------------------------


class ScoreTable:
    """Many scores shown as a table: in Jupyter as HTML, in a terminal with rich.

    ``scores`` is a :func:`~customer_health.score_frame` result (pandas, polars eager
    or lazy, a pyarrow Table or a DuckDB relation), a list of :class:`HealthScore`
    (as :meth:`Scorer.score_many` returns), or one :class:`HealthScore`. Each
    customer gets a row: id, score with a bar in the colour of its status, a status
    badge, coverage, and each factor's score with a bar. Only the first ``max_rows``
    rows are shown (``None``: all), with a caption such as "showing the first 20 of
    100,000 customers". A frame is counted and cut in its own engine and only the
    rows shown become Python objects, so this is quick for large results (a lazy
    frame or a DuckDB relation is evaluated to count its rows and again for the
    rows shown). The frame itself is not changed::

        table = customer_health.ScoreTable(scores, max_rows=10)
        table  # the last expression of a notebook cell: rendered as HTML

        import rich
        rich.print(table)  # in a terminal
    """

    def __init__(self, scores: Any, *, max_rows: int | None = 20) -> None:
        if max_rows is not None and (
            not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 1
        ):
            raise ConfigurationError(
                f"max_rows must be a positive integer or None, not {max_rows!r}"
            )
        read = read_scores(scores, "ScoreTable", limit=max_rows)
        self._rows = read.rows
        self._factors = read.factors
        self.total: int = read.total
        """How many customers ``scores`` holds."""
        self.shown: int = len(read.rows)
        """How many of them the table shows (the first ``max_rows``)."""

    def _caption(self) -> str:
        """What the table shows: ``"3 customers"``, ``"showing the first 20 of 100,000
        customers"``."""
        noun = "customer" if self.total == 1 else "customers"
        if self.shown == self.total:
            return f"{self.total:,} {noun}"
        return f"showing the first {self.shown:,} of {self.total:,} {noun}"

    def __repr__(self) -> str:
        return f"<ScoreTable: {self._caption()}>"

    def _repr_html_(self) -> str:
        """The table as self-contained HTML, for Jupyter."""
        head = header(
            ("customer", "score", "", "status", "coverage", *self._factors), ("score", "coverage")
        )
        body = "".join(self._html_row(row) for row in self._rows)
        return (
            '<div class="customer-health-table" style="color:inherit">'
            f'<table style="border-collapse:collapse">{head}<tbody>{body}</tbody></table>'
            f'<div style="opacity:0.75;font-size:0.9em;margin-top:0.3em">'
            f"{escape(self._caption())}</div></div>"
        )

    def _html_row(self, row: Row) -> str:
        colour = STATUS_COLOURS.get(row.status, STATUS_COLOURS["unknown"])
        parts = {part.name: part.score for part in row.parts}
        factors = "".join(
            f'<td style="{CELL}">{self._html_factor(parts, name)}</td>' for name in self._factors
        )
        return (
            f'<tr><td style="{CELL}">{escape(row.customer_id)}</td>'
            f'<td style="{NUMBER}">{score_text(row.score, 2)}</td>'
            f'<td style="{CELL}">{bar(row.score, colour, "6em")}</td>'
            f'<td style="{CELL}">{badge(row.status)}</td>'
            f'<td style="{NUMBER}">{_coverage(row.coverage)}</td>{factors}</tr>'
        )

    @staticmethod
    def _html_factor(parts: dict[str, float | None], name: str) -> str:
        if name not in parts:  # a factor another scorer had
            return ""
        score = parts[name]
        return (
            f'<div style="display:flex;align-items:center;gap:0.4em">'
            f"{bar(score, FACTOR_COLOUR, '4em')}{score_text(score, 1)}</div>"
        )

    def __rich__(self) -> Table:
        """The table for rich (``rich.print(table)``, ``Console.print``)."""
        from rich import box
        from rich.table import Table

        table = Table(
            box=box.SIMPLE_HEAD,
            show_edge=False,
            collapse_padding=True,  # one space between columns: room for every factor
            caption=self._caption(),
            caption_justify="left",
        )
        table.add_column("customer", no_wrap=True)
        table.add_column("score", justify="right", no_wrap=True)
        table.add_column("", width=5, no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("coverage", justify="right", no_wrap=True)
        for name in self._factors:
            # Folded over lines in a narrow terminal, rather than cut short: the
            # name must stay readable.
            table.add_column(name, justify="right", min_width=5, overflow="fold")
        for row in self._rows:
            parts = {part.name: part.score for part in row.parts}
            table.add_row(
                row.customer_id,
                rich_score(row.score, 2),
                rich_bar(row.score, RICH_BAR.get(row.status, "grey50"), 5),
                rich_badge(row.status),
                _coverage(row.coverage),
                *(rich_score(parts[name], 1) if name in parts else "" for name in self._factors),
            )
        return table


def _coverage(coverage: float | None) -> str:
    return "\u2013" if coverage is None else f"{coverage:.0%}"


def find_row(scores: Any, customer_id: str, caller: str) -> Row:
    """The row of ``customer_id`` in ``scores`` (the last, if there are several)."""
    found = read_scores(scores, caller, customer_id=customer_id)
    if not found.rows:
        raise UnknownCustomerError(f"{caller}: no customer {customer_id!r} in the scores")
    return found.rows[-1]
