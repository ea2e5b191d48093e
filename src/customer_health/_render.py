"""How one score looks in Jupyter (HTML) and in a terminal (rich).

:meth:`HealthScore._repr_html_` and :meth:`HealthScore.__rich__` call
:func:`health_html` and :func:`health_rich`; the pieces here (badges, bars, colours)
are the ones :class:`~customer_health.ScoreTable` draws many scores with.

The HTML is self-contained (inline styles, no JavaScript, no external CSS), so it
survives being saved in a notebook, exported, or shown on GitHub, and it inherits the
notebook's text colour so that it reads in light and dark themes. Ids, factor names and
explanations are user data: every string is escaped. rich is imported only when a
terminal asks for a rendering, so ``import customer_health`` never imports it. This
module reads a score by its attributes and does not import the models, which import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from ._format import number

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table
    from rich.text import Text

__all__ = ["STATUS_COLOURS", "health_html", "health_rich"]


STATUS_COLOURS = {
    "healthy": "#1a7f37",
    "at_risk": "#bc4c00",
    "critical": "#cf222e",
    "unknown": "#6e7781",
}
"""The colour of each status: badges, score bars and plots. Any other status is grey."""
RICH_STATUS = {
    "healthy": "bold white on green4",
    "at_risk": "bold black on dark_orange",
    "critical": "bold white on red3",
    "unknown": "bold white on grey50",
}
RICH_BAR = {"healthy": "green4", "at_risk": "dark_orange", "critical": "red3"}
FACTOR_COLOUR = "#4c78a8"
RICH_FACTOR_COLOUR = "steel_blue"
# -- HTML -----------------------------------------------------------------------------


def badge(status: str) -> str:
    colour = STATUS_COLOURS.get(status, STATUS_COLOURS["unknown"])
    return (
        f'<span style="background:{colour};color:#fff;border-radius:0.8em;'
        f'padding:0.1em 0.6em;font-size:0.85em;font-weight:600">{escape(status)}</span>'
    )


def bar(score: float | None, colour: str, width: str = "8em") -> str:
    """A horizontal bar ``score`` percent long; an empty track for no data."""
    filled = 0.0 if score is None else min(max(score, 0.0), 100.0)
    return (
        f'<div style="width:{width};height:0.7em;background:rgba(127,127,127,0.2);'
        f'border-radius:0.2em;overflow:hidden"><div style="width:{filled:.1f}%;height:100%;'
        f'background:{colour}"></div></div>'
    )


FACTOR_HEADER = ("factor", "score", "", "weight", "value / expected", "explanation")
NO_DATA = '<span style="opacity:0.6;font-style:italic">no data</span>'
CELL = "padding:0.2em 0.6em;text-align:left;vertical-align:middle"
NUMBER = "padding:0.2em 0.6em;text-align:right;vertical-align:middle"


def header(names: Sequence[str], numbers: Sequence[str] = ()) -> str:
    """A header row; the columns in ``numbers`` are right-aligned, as their cells are."""
    cells = "".join(
        f'<th style="{NUMBER if name in numbers else CELL}">{escape(name)}</th>' for name in names
    )
    return f"<thead><tr>{cells}</tr></thead>"


def score_text(score: float | None, digits: int) -> str:
    return NO_DATA if score is None else f"{score:.{digits}f}"


def measured(value: float | None, expected: float | None) -> str:
    """``"420 / 500"``: what a factor measured and what it was compared with."""
    return " / ".join("\u2013" if part is None else number(part) for part in (value, expected))


def health_html(health: Any) -> str:
    """The HTML of one score: its head line and one row per factor, with bars."""
    status = health.status.value
    score = "" if health.score is None else f"{health.score:.2f}"
    head = (
        f'<div style="display:flex;align-items:baseline;gap:0.6em;margin-bottom:0.2em">'
        f'<strong style="font-size:1.1em">{escape(health.customer_id)}</strong>'
        f'<span style="font-size:1.5em;font-weight:600">{score}</span>{badge(status)}</div>'
    )
    details = (
        f"coverage {health.coverage:.0%} \u00b7 as of {health.as_of:%Y-%m-%d %H:%M:%S} UTC "
        f'\u00b7 <span title="configuration {escape(health.fingerprint)}">'
        f"model {escape(health.model_version)}</span>"
    )
    rows = "".join(
        f'<tr><td style="{CELL}">{escape(f.name)}</td>'
        f'<td style="{NUMBER}">{score_text(f.score, 1)}</td>'
        f'<td style="{CELL}">{bar(f.score, FACTOR_COLOUR)}</td>'
        f'<td style="{NUMBER}">{escape(number(f.weight))}</td>'
        f'<td style="{NUMBER}">{escape(measured(f.value, f.expected))}</td>'
        f'<td style="{CELL}">{escape(f.explanation)}</td></tr>'
        for f in health.factors
    )
    table = (
        '<table style="border-collapse:collapse;margin-top:0.4em">'
        f"{header(FACTOR_HEADER, ('score', 'weight', 'value / expected'))}"
        f"<tbody>{rows}</tbody></table>"
    )
    return (
        f'<div class="customer-health-score" style="font-family:inherit;color:inherit">'
        f'{head}<div style="opacity:0.75;font-size:0.9em">{details}</div>{table}</div>'
    )


# -- rich -----------------------------------------------------------------------------


def rich_badge(status: str) -> Text:
    from rich.text import Text

    return Text(f" {status} ", style=RICH_STATUS.get(status, RICH_STATUS["unknown"]))


def rich_bar(score: float | None, colour: str, width: int) -> RenderableType:
    from rich.bar import Bar

    filled = 0.0 if score is None else min(max(score, 0.0), 100.0)
    return Bar(size=100, begin=0, end=filled, width=width, color=colour, bgcolor="grey23")


def rich_score(score: float | None, digits: int) -> Text:
    from rich.text import Text

    return Text("no data", style="dim italic") if score is None else Text(f"{score:.{digits}f}")


def health_rich(health: Any) -> Table:
    """A rich table of one score: the head line as title, one row per factor with bars."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    title = Text.assemble((health.customer_id, "bold"), "  ")
    if health.score is not None:
        title.append(f"{health.score:.2f}  ", style="bold")
    title.append_text(rich_badge(health.status.value))
    table = Table(
        box=box.SIMPLE_HEAD,
        title=title,
        caption=f"coverage {health.coverage:.0%} \u00b7 as of {health.as_of:%Y-%m-%d %H:%M:%S} "
        f"UTC \u00b7 model {health.model_version}",
        title_justify="left",
        caption_justify="left",
    )
    # No value / expected column, unlike the HTML: the explanation says both, and a
    # terminal is too narrow to say it twice.
    table.add_column("factor", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("", width=10, no_wrap=True)
    table.add_column("weight", justify="right", no_wrap=True)
    table.add_column("explanation", ratio=1)
    for f in health.factors:
        table.add_row(
            f.name,
            rich_score(f.score, 1),
            rich_bar(f.score, RICH_FACTOR_COLOUR, 10),
            number(f.weight),
            f.explanation,
        )
    return table
