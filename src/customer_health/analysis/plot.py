"""Plots of health scores, as matplotlib figures (the ``plot`` extra).

::

    from customer_health import plot

    plot.distribution(scores)                                  # by status
    plot.distribution(scores, by="segment", customers=customers)
    plot.breakdown(health)                                     # one customer's factors
    plot.history(store.history("acme"))                        # one customer over time

``scores`` is a :func:`~customer_health.score_frame` result of any kind (pandas,
polars, pyarrow, DuckDB) or a list of :class:`~customer_health.HealthScore`. Every
function returns a :class:`matplotlib.figure.Figure`: the last expression of a
notebook cell shows it, ``fig.savefig("scores.png")`` saves it. The figures are made
without ``pyplot``, so they use no GUI backend, are never shown twice in Jupyter, and
are freed like any other object. matplotlib is imported on the first call; without
it, the call raises a :class:`~customer_health.MissingExtraError` that says
``pip install 'customer-health[plot]'``.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from .._display import STATUS_COLOURS, Row, find_row, read_scores
from .._format import some
from ..exceptions import ConfigurationError, InvalidInputError, UnknownCustomerError
from ..models import Customer, HealthScore, HealthStatus

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["breakdown", "churn_by_status", "distribution", "history", "roc"]

_STATUSES = ("healthy", "at_risk", "critical")
_FACTOR_COLOUR = "#4c78a8"
_SEGMENT_COLOURS = ("#4c78a8", "#72b7b2", "#b279a2", "#9d755d", "#bab0ac", "#54a24b", "#eeca3b")
"""Not the status colours, so that a segment is never read as a status."""


def _figure(width: float, height: float) -> Figure:
    from .._extras import require_extra

    require_extra("matplotlib", "plot", "plots")
    from ._figure import ScoreFigure

    return ScoreFigure(figsize=(width, height), layout="constrained")


# -- the distribution of a portfolio --------------------------------------------------


def distribution(
    scores: Any,
    *,
    by: Literal["status", "segment"] = "status",
    customers: Any = None,
    bins: int = 10,
) -> Figure:
    """A histogram of the scores (``bins`` equal bins from 0 to 100), stacked by group.

    ``by="status"`` stacks healthy, at-risk and critical customers in their badge
    colours. ``by="segment"`` stacks segments; scores do not carry segments, so pass
    ``customers``: the customers frame you scored (any kind, with ``id`` and
    ``segment`` columns), a list of :class:`~customer_health.Customer` or mappings,
    or a mapping of customer id to segment. Customers without a score (status
    ``unknown``) cannot be placed on the axis; the title says how many there are.
    The legend gives each group's count.
    """
    if by not in ("status", "segment"):
        raise ConfigurationError(f"by={by!r}; use 'status' or 'segment'")
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= 100:
        raise ConfigurationError(f"bins must be an integer from 1 to 100, not {bins!r}")
    if by == "status" and customers is not None:
        raise ConfigurationError("customers= is for by='segment'; by='status' needs no customers")
    rows = read_scores(scores, "distribution()", factors=False).rows
    if by == "segment":
        if customers is None:
            raise ConfigurationError(
                "by='segment' needs customers= (the customers frame, a list of customers, "
                "or a mapping of id to segment): scores do not carry segments"
            )
        segments = _segments(customers)
        absent = [row.customer_id for row in rows if row.customer_id not in segments]
        if absent:
            raise UnknownCustomerError(
                f"distribution(): customers= has no segment for {some(absent)}, "
                "which the scores hold"
            )
    groups: dict[str, list[float]] = {}
    if by == "status":  # every status, in their order, even with no customer
        groups = {status: [] for status in _STATUSES}
    for row in rows:
        if row.score is not None:
            group = row.status if by == "status" else segments[row.customer_id]
            groups.setdefault(group, []).append(row.score)
    if by == "segment":
        groups = dict(sorted(groups.items()))
    return _histogram(groups, by, bins, len(rows))


def _segments(customers: Any) -> dict[str, str]:
    """Each customer's segment by id, from a frame, customers or a mapping id -> segment."""
    if isinstance(customers, Mapping):
        return {str(key): str(value) for key, value in customers.items()}
    if isinstance(customers, list | tuple):
        found = {}
        for index, raw in enumerate(customers):
            try:
                model = raw if isinstance(raw, Customer) else Customer.model_validate(raw)
            except ValueError as exc:
                raise InvalidInputError(f"customers= item {index}: {exc}") from None
            found[model.id] = model.segment
        return found
    from .._extras import require_extra

    nw: Any = require_extra("narwhals.stable.v2", "polars", "customers= as a DataFrame")
    try:
        frame = nw.from_native(customers)
    except TypeError:
        raise InvalidInputError(
            f"customers= is a {type(customers).__name__}; expected a customers frame, a list "
            "of customers or a mapping of id to segment"
        ) from None
    names = frame.collect_schema().names()
    for name in ("id", "segment"):
        if name not in names:
            raise InvalidInputError(f"customers= frame has no column {name!r} (columns: {names})")
    frame = frame.select("id", "segment")
    if isinstance(frame, nw.LazyFrame):
        frame = frame.collect()
    return {str(key): str(value) for key, value in frame.iter_rows()}


def _histogram(groups: dict[str, list[float]], by: str, bins: int, total: int) -> Figure:
    figure = _figure(7.0, 4.0)
    axes = figure.subplots()
    width = 100 / bins
    edges = [index * width for index in range(bins)]
    bottoms = [0] * bins
    palette = itertools.cycle(_SEGMENT_COLOURS)
    for name, values in groups.items():
        heights = _counts(values, bins)
        colour = STATUS_COLOURS.get(name) if by == "status" else None
        axes.bar(
            edges,
            heights,
            width=width,
            bottom=bottoms,
            align="edge",
            color=colour or next(palette),
            edgecolor="white",
            linewidth=0.5,
            label=f"{name} ({len(values):,})",
        )
        bottoms = [below + count for below, count in zip(bottoms, heights, strict=True)]
    unknown = total - sum(len(values) for values in groups.values())
    title = f"Score distribution by {by}: {total:,} customers"
    if unknown:
        title += f" ({unknown:,} unknown, not shown)"
    axes.set_title(title)
    axes.set_xlim(0, 100)
    axes.set_ylim(0, max(max(bottoms, default=0) * 1.08, 1))  # headroom above the tallest bar
    axes.set_xticks([*edges, 100.0])
    axes.set_xlabel("score")
    axes.set_ylabel("customers")
    axes.legend(title=by, loc="upper left", frameon=False)
    return figure


def _counts(values: list[float], bins: int) -> list[int]:
    """How many ``values`` fall in each of ``bins`` equal bins of 0-100 (100 in the last)."""
    found = Counter(min(int(value * bins / 100), bins - 1) for value in values)
    return [found[index] for index in range(bins)]


# -- one customer ---------------------------------------------------------------------


def breakdown(scores: Any, customer_id: str | None = None) -> Figure:
    """One customer's factors as horizontal bars (length = the factor's score, 0-100).

    ``scores`` is a :class:`~customer_health.HealthScore`, or a frame result or list
    of scores with the ``customer_id`` to draw. Each bar is labelled with its score
    ("no data" for a factor without data); a dashed line in the colour of the status
    marks the customer's score. Factor weights are shown when known (a HealthScore
    has them, a frame result does not).
    """
    if isinstance(scores, HealthScore):
        if customer_id is not None and customer_id != scores.customer_id:
            raise UnknownCustomerError(
                f"breakdown(): customer_id={customer_id!r}, but the score is "
                f"{scores.customer_id!r}'s"
            )
        row = read_scores(scores, "breakdown()").rows[0]
    elif customer_id is None:
        raise ConfigurationError(
            "breakdown() of many scores needs customer_id= (the customer to draw)"
        )
    else:
        row = find_row(scores, customer_id, "breakdown()")
    return _bars(row)


def _bars(row: Row) -> Figure:
    parts = row.parts
    figure = _figure(7.0, 1.2 + 0.45 * max(len(parts), 1))
    axes = figure.subplots()
    places = list(range(len(parts)))
    widths = [0.0 if part.score is None else part.score for part in parts]
    axes.barh(places, widths, color=_FACTOR_COLOUR, height=0.6)
    for place, part in zip(places, parts, strict=True):
        text = "no data" if part.score is None else f"{part.score:.1f}"
        axes.text((part.score or 0) + 1, place, text, va="center", fontsize=9)
    axes.set_yticks(places, [_factor_label(part.name, part.weight) for part in parts])
    axes.invert_yaxis()  # the first factor on top, as in explain()
    axes.set_xlim(0, 112)  # room for the label of a full bar
    axes.set_xticks([0, 20, 40, 60, 80, 100])
    axes.set_xlabel("factor score")
    colour = STATUS_COLOURS.get(row.status, STATUS_COLOURS["unknown"])
    if row.score is not None:
        axes.axvline(row.score, color=colour, linestyle="--", label=f"score {row.score:.2f}")
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    head = "no data" if row.score is None else f"{row.score:.2f}"
    axes.set_title(f"{row.customer_id}: {head} ({row.status})", color=colour)
    return figure


def _factor_label(name: str, weight: float | None) -> str:
    return name if weight is None else f"{name} (weight {weight:g})"


def history(scores: Iterable[HealthScore]) -> Figure:
    """One customer's score over time: a line through its scores, in order of
    ``as_of``, with each point in the colour of its status.

    ``scores`` are :class:`~customer_health.HealthScore` objects of one customer,
    such as ``SQLAlchemyStore.history(customer_id)`` returns (any order). A score
    without data (status ``unknown``) is a gap in the line.
    """
    # A pydantic model is iterable too (over its fields): one score is a list of one.
    single = isinstance(scores, HealthScore) or not isinstance(scores, Iterable)
    items: list[Any] = [scores] if single else list(scores)
    for index, item in enumerate(items):
        if not isinstance(item, HealthScore):
            raise InvalidInputError(
                f"history() takes HealthScore objects; item {index} is a {type(item).__name__}"
            )
    if not items:
        raise InvalidInputError("history() needs at least one score")
    customers = list(dict.fromkeys(item.customer_id for item in items))
    if len(customers) > 1:
        raise InvalidInputError(
            f"history() draws one customer's scores; these are of {some(customers)}"
        )
    items.sort(key=lambda item: item.as_of)
    figure = _figure(7.0, 3.5)
    axes = figure.subplots()
    times = [item.as_of for item in items]
    values = [math.nan if item.score is None else item.score for item in items]
    axes.plot(times, values, color="#8c8c8c", linewidth=1.5, zorder=1)
    for status in HealthStatus:
        points = [item for item in items if item.status is status and item.score is not None]
        if points:
            axes.scatter(
                [item.as_of for item in points],
                [item.score for item in points],
                color=STATUS_COLOURS[status.value],
                label=status.value,
                zorder=2,
            )
    axes.set_ylim(0, 100)
    axes.set_ylabel("score")
    axes.set_title(f"{customers[0]}: score history ({len(items):,} scores)")
    if any(item.score is not None for item in items):
        axes.legend(frameon=False)
    _concise_dates(axes)
    return figure


def _concise_dates(axes: Any) -> None:
    """Date ticks without repeating the year and month on every tick."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    # matplotlib.dates has no annotations on these two.
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


# -- backtests ------------------------------------------------------------------------


@runtime_checkable
class _BacktestResult(Protocol):
    """What the backtest plots read of a :class:`~customer_health.Backtest` (checked by
    its attributes, so that this module, below the backtest, does not import it)."""

    by_status: Any
    auc: Any
    customers: Any
    churned: Any
    churn_rate: Any
    horizon: Any


def _backtest_of(result: Any, caller: str) -> Any:
    if not isinstance(result, _BacktestResult):
        raise InvalidInputError(
            f"{caller} takes the result of customer_health.backtest(), not a "
            f"{type(result).__name__}"
        )
    return result


def roc(result: Any) -> Figure:
    """The ROC curve of a :func:`~customer_health.backtest` result: the share of churners
    (y) against the share of customers who stayed (x) flagged when every customer at or
    below a score is flagged, with the AUC in the title and the diagonal of a score
    that knows nothing."""
    found = _backtest_of(result, "roc()")
    x, y = found.roc
    figure = _figure(5.0, 5.0)
    axes = figure.subplots()
    axes.plot([0, 1], [0, 1], color="#bab0ac", linestyle="--", label="no signal (AUC 0.5)")
    auc = "n/a" if found.auc is None else f"{found.auc:.3f}"
    axes.plot(x, y, color=_FACTOR_COLOUR, label=f"score (AUC {auc})")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("share of customers who stayed, flagged")
    axes.set_ylabel("share of churners, flagged")
    axes.set_title(f"ROC: {found.customers:,} scores, {found.churned:,} churned")
    axes.legend(loc="lower right", frameon=False)
    return figure


def churn_by_status(result: Any) -> Figure:
    """The churn rate of each status in a :func:`~customer_health.backtest` result, as
    bars in the status colours labelled with their counts; a dashed line marks the
    overall rate. Statuses nobody had are left out."""
    found = _backtest_of(result, "churn_by_status()")
    groups = [(name, rate) for name, rate in found.by_status.items() if rate.customers]
    figure = _figure(6.0, 4.0)
    axes = figure.subplots()
    places = list(range(len(groups)))
    heights = [100 * (rate.rate or 0.0) for _, rate in groups]
    colours = [STATUS_COLOURS.get(name, STATUS_COLOURS["unknown"]) for name, _ in groups]
    axes.bar(places, heights, color=colours)
    for place, (_, rate), height in zip(places, groups, heights, strict=True):
        axes.text(
            place, height, f"{rate.churned:,} of {rate.customers:,}", ha="center", va="bottom"
        )
    if found.churn_rate is not None:
        overall = 100 * found.churn_rate
        axes.axhline(overall, color="#6e7781", linestyle="--", label=f"overall {overall:.1f}%")
        axes.legend(loc="upper left", frameon=False)
    axes.set_xticks(places, [name for name, _ in groups])
    axes.set_ylim(0, max(heights, default=0) * 1.2 + 1)
    axes.set_ylabel("churned within the horizon (%)")
    axes.set_title(f"Churn by status, horizon {found.horizon.days} days")
    return figure
