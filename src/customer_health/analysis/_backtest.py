"""Does the score predict churn? Backtests, and weights fitted out of time.

:func:`backtest` scores every customer point-in-time at one or many ``as_of`` dates
(through the code path of :func:`~customer_health.score_frame`, the frames checked
once), labels who churned within ``horizon`` after each, and measures how well a low
score predicted it. :func:`fit_weights` learns factor weights on earlier dates and
checks them on later ones. Both need polars (``pip install
'customer-health[backtest]'``); :func:`fit_weights` needs numpy and scipy too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC as _UTC
from datetime import date, datetime, timedelta
from html import escape
from typing import TYPE_CHECKING, Any

from .._format import is_number, plural
from .._terms import HORIZON
from ..exceptions import ConfigurationError, InvalidInputError, MissingExtraError

if TYPE_CHECKING:
    import polars as pl
    from matplotlib.figure import Figure

    from ..scoring import Scorer, ScorerConfig, Thresholds
    from ._backtest_frames import Run

__all__ = [
    "Backtest",
    "BacktestPeriod",
    "CalibrationBand",
    "ChurnRate",
    "WeightFit",
    "backtest",
    "fit_weights",
]

_DAY = timedelta(days=1)


# -- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChurnRate:
    """How many customers there were in a group, and how many of them churned."""

    customers: int
    churned: int

    @property
    def rate(self) -> float | None:
        """``churned / customers`` (None for an empty group)."""
        return self.churned / self.customers if self.customers else None


@dataclass(frozen=True)
class CalibrationBand:
    """One of the ten score bands (``low <= score < high``; the last includes 100)."""

    low: float
    high: float
    customers: int
    churned: int
    mean_score: float | None
    """The mean score of the band's customers (None when it has none)."""

    @property
    def rate(self) -> float | None:
        """The band's churn rate (None when it has no customers)."""
        return self.churned / self.customers if self.customers else None


@dataclass(frozen=True)
class _Measures:
    customers: int
    """Customers with a score (a customer counts once per ``as_of``)."""
    churned: int
    """Of those, how many churned within the horizon."""
    auc: float | None
    """ROC AUC of a low score predicting churn; ties count one half. None when nobody
    churned or everybody did."""
    top_decile_lift: float | None
    """Churn rate of the lowest-scoring tenth over the overall churn rate."""
    by_status: Mapping[str, ChurnRate]
    """Customers and churners per status (``unknown``: no score)."""
    factor_auc: Mapping[str, float | None]
    """Each factor's own AUC, over the customers for whom it has data."""
    calibration: tuple[CalibrationBand, ...]
    """The ten score bands 0-10, ..., 90-100 with their churn rates."""

    @property
    def churn_rate(self) -> float | None:
        """``churned / customers``."""
        return self.churned / self.customers if self.customers else None


@dataclass(frozen=True)
class BacktestPeriod(_Measures):
    """The measures at one ``as_of``, and who was not scored then."""

    as_of: datetime = field(kw_only=True)
    until: datetime = field(kw_only=True)
    """``as_of + horizon``: churn in ``(as_of, until]`` counts."""
    not_created: int = field(kw_only=True)
    """Customers created after ``as_of``: not scored."""
    already_churned: int = field(kw_only=True)
    """Customers who had churned at or before ``as_of``: not scored."""
    unscored: int = field(kw_only=True)
    """Customers alive but without a score (status ``unknown``): not in the AUC."""


@dataclass(frozen=True)
class Backtest(_Measures):
    """What :func:`backtest` found: the measures over every ``as_of`` pooled (a customer
    counts once per date), and per date in :attr:`periods`.

    Shows as HTML in a notebook; :meth:`report` is the same as text;
    :meth:`plot_roc` and :meth:`plot_churn_by_status` draw it.
    """

    periods: tuple[BacktestPeriod, ...] = field(kw_only=True)
    horizon: timedelta = field(kw_only=True)
    fingerprint: str = field(kw_only=True)
    """The fingerprint of the scorer that produced the scores."""
    observed_until: datetime = field(kw_only=True)
    """The end of the data: churn is known up to it."""
    skipped_outcomes: int = field(kw_only=True)
    """Outcomes of customers not in the customers frame, skipped on request."""
    scores: Any = field(kw_only=True, repr=False, compare=False)
    """Every score behind the measures: one row per customer and ``as_of``, with
    ``as_of``, the columns of :func:`~customer_health.score_frame`, ``churned``
    (within the horizon) and ``churned_at``, in the type of the customers frame."""
    _roc: tuple[list[float], list[float]] = field(kw_only=True, repr=False, compare=False)

    @property
    def roc(self) -> tuple[list[float], list[float]]:
        """The ROC curve (pooled): false-positive and true-positive rates of flagging
        every customer at or below each score, from (0, 0) to (1, 1)."""
        return self._roc

    def report(self) -> str:
        """The measures as text: the summary, each period, each status, each factor and
        the calibration table."""
        lines = [self._summary()]
        lines.append("as_of                      customers  churned  rate     AUC   lift")
        for p in self.periods:
            lines.append(
                f"{p.as_of.isoformat():<26} {p.customers:>9} {p.churned:>8} "
                f"{_pct(p.churn_rate):>6} {_num(p.auc, 3):>6} {_num(p.top_decile_lift, 2):>6}"
                + _left_out(p)
            )
        lines.append("status      customers  churned  rate")
        for status, group in self.by_status.items():
            lines.append(
                f"{status:<11} {group.customers:>9} {group.churned:>8} {_pct(group.rate):>6}"
            )
        lines.append("factor               AUC")
        for name, value in self.factor_auc.items():
            lines.append(f"{name:<20} {_num(value, 3)}")
        lines.append("score band  customers  churned  rate")
        for band in self.calibration:
            label = f"{band.low:g}-{band.high:g}"
            lines.append(f"{label:<11} {band.customers:>9} {band.churned:>8} {_pct(band.rate):>6}")
        return "\n".join(lines)

    def _summary(self) -> str:
        return (
            f"backtest of {plural(len(self.periods), 'as_of date')}, horizon "
            f"{plural(self.horizon / _DAY, 'day')}: {self.customers:,} scores, "
            f"{self.churned:,} churned ({_pct(self.churn_rate)}); AUC {_num(self.auc, 3)}, "
            f"top-decile lift {_num(self.top_decile_lift, 2)}"
        )

    def __str__(self) -> str:
        return self.report()

    def _repr_html_(self) -> str:
        """Jupyter's view: the summary and the tables of :meth:`report`."""
        periods = [
            [
                p.as_of.isoformat(),
                f"{p.customers:,}",
                f"{p.churned:,}",
                _pct(p.churn_rate),
                _num(p.auc, 3),
                _num(p.top_decile_lift, 2),
                f"{p.not_created:,} / {p.already_churned:,} / {p.unscored:,}",
            ]
            for p in self.periods
        ]
        statuses = [
            [status, f"{g.customers:,}", f"{g.churned:,}", _pct(g.rate)]
            for status, g in self.by_status.items()
        ]
        factors = [[name, _num(value, 3)] for name, value in self.factor_auc.items()]
        calibration = [
            [f"{b.low:g}–{b.high:g}", f"{b.customers:,}", f"{b.churned:,}", _pct(b.rate)]
            for b in self.calibration
        ]
        return (
            f"<div><p><b>{escape(self._summary())}</b></p>"
            + _html_table(
                [
                    "as_of",
                    "scored",
                    "churned",
                    "rate",
                    "AUC",
                    "lift",
                    "left out: not created / churned / no score",
                ],
                periods,
            )
            + _html_table(["status", "customers", "churned", "churn rate"], statuses)
            + _html_table(["factor", "AUC"], factors)
            + _html_table(["score band", "customers", "churned", "churn rate"], calibration)
            + "</div>"
        )

    def plot_roc(self) -> Figure:
        """The ROC curve with its AUC (see :func:`customer_health.plot.roc`)."""
        from .plot import roc

        return roc(self)

    def plot_churn_by_status(self) -> Figure:
        """Churn rate per status (see :func:`customer_health.plot.churn_by_status`)."""
        from .plot import churn_by_status

        return churn_by_status(self)


@dataclass(frozen=True)
class WeightFit:
    """What :func:`fit_weights` learned, and how it did on the validation dates.

    :attr:`scorer` is a new scorer (its own :attr:`config` and :attr:`fingerprint`);
    nothing else changes. Compare :attr:`before` and :attr:`after`, the backtests of
    the validation dates with the original and the fitted weights.
    """

    scorer: Scorer
    """The scorer with the fitted weights (and proposed thresholds, if asked for)."""
    weights: Mapping[str, float]
    """The fitted weights, non-negative, summing to 1, in scoring order."""
    thresholds: Thresholds
    """The thresholds of :attr:`scorer`: proposed ones, or the original ones."""
    train: Backtest
    """The backtest of the training dates with the original scorer."""
    before: Backtest
    """The backtest of the validation dates with the original scorer."""
    after: Backtest
    """The backtest of the validation dates with :attr:`scorer`."""
    constant_factors: tuple[str, ...] = ()
    """The factors whose score was the same for every customer on the training dates
    (no data counts as one value): they cannot tell who churns, so they get weight 0."""

    @property
    def config(self) -> ScorerConfig:
        """The fitted configuration (weights, thresholds, ...)."""
        return self.scorer.config

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the fitted configuration."""
        return self.scorer.fingerprint

    @property
    def auc_before(self) -> float | None:
        """The validation AUC with the original weights."""
        return self.before.auc

    @property
    def auc_after(self) -> float | None:
        """The validation AUC with the fitted weights."""
        return self.after.auc

    def report(self) -> str:
        """The fitted weights next to the original ones, and the validation AUCs."""
        original = self.before_weights
        lines = [
            f"validation AUC {_num(self.auc_before, 3)} -> {_num(self.auc_after, 3)} "
            f"(fingerprint {self.fingerprint[:12]})",
            "factor               before  after",
        ]
        for name, weight in self.weights.items():
            same = (
                "  (the same for every customer: weight 0)" if name in self.constant_factors else ""
            )
            lines.append(f"{name:<20} {original[name]:>6.3f} {weight:>6.3f}{same}")
        lines.append(
            f"thresholds: healthy >= {self.thresholds.healthy:g}, "
            f"at_risk >= {self.thresholds.at_risk:g}"
        )
        return "\n".join(lines)

    @property
    def before_weights(self) -> Mapping[str, float]:
        """The original scorer's weights, normalised to sum to 1 like :attr:`weights`."""
        total = sum(self._original.values())
        return {name: weight / total for name, weight in self._original.items()}

    _original: Mapping[str, float] = field(default_factory=dict, repr=False)

    def __str__(self) -> str:
        return self.report()

    def _repr_html_(self) -> str:
        """Jupyter's view: the weights before and after, and the validation AUCs."""
        original = self.before_weights
        rows = [
            [name, f"{original[name]:.3f}", f"{weight:.3f}"]
            for name, weight in self.weights.items()
        ]
        head = (
            f"validation AUC {_num(self.auc_before, 3)} → {_num(self.auc_after, 3)}; "
            f"thresholds healthy ≥ {self.thresholds.healthy:g}, at_risk ≥ "
            f"{self.thresholds.at_risk:g}; fingerprint {self.fingerprint[:12]}"
        )
        return (
            f"<div><p><b>{escape(head)}</b></p>"
            + _html_table(["factor", "weight before", "weight after"], rows)
            + "</div>"
        )


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _left_out(period: BacktestPeriod) -> str:
    parts = [
        (period.not_created, "not created"),
        (period.already_churned, "churned before"),
        (period.unscored, "without a score"),
    ]
    said = [f"{count:,} {what}" for count, what in parts if count]
    return f"  (left out: {', '.join(said)})" if said else ""


_NUMBER = re.compile(r"[+-]?[0-9][0-9,]*(?:\.[0-9]+)?%?|–|-")


def _html_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table; a column of numbers (or dashes for none) is aligned right, as a notebook's
    own tables align them, whatever the page's style."""
    rows = [list(row) for row in rows]
    right = [
        bool(rows) and all(_NUMBER.fullmatch(row[index]) for row in rows)
        for index in range(len(header))
    ]
    style = {
        True: " style='text-align:right;padding:1px 8px'",
        False: " style='text-align:left;padding:1px 8px'",
    }
    cells = "".join(
        f"<th{style[aligned]}>{escape(name)}</th>"
        for name, aligned in zip(header, right, strict=True)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{style[aligned]}>{escape(value)}</td>"
            for value, aligned in zip(row, right, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


# -- backtest -----------------------------------------------------------------------------

AsOf = datetime | date | str


def backtest(
    customers: Any,
    events: Any,
    outcomes: Any,
    *,
    as_of: AsOf | Iterable[AsOf],
    horizon: timedelta | int | float,
    scorer: Scorer | None = None,
    columns: Mapping[str, str] | None = None,
    unknown_customers: str = "error",
    observed_until: AsOf | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Backtest:
    """Backtest the score: does a low score at ``as_of`` predict churn in the ``horizon``?

    :param customers: the customers frame, as for :func:`~customer_health.score_frame`
        (pandas, polars, pyarrow or DuckDB; ``id``, ``segment``, optional
        ``created_at``).
    :param events: the events frame, as for :func:`~customer_health.score_frame`.
    :param outcomes: a frame of ``customer_id`` and ``churned_at`` (a date means 00:00
        UTC): each customer who churned, once. Rows with a null ``churned_at`` are
        customers who did not churn.
    :param as_of: one instant or many (date, datetime or ISO 8601 text).
    :param horizon: how long after ``as_of`` churn counts: a ``timedelta`` or a number
        of days. Churn counts when ``as_of < churned_at <= as_of + horizon``.
    :param scorer: the scorer to test (default: the default model and installed plugins).
    :param columns: maps your column names onto ours, as for ``score_frame``.
    :param unknown_customers: ``"error"`` (the default) or ``"skip"``: events and
        outcomes of customers not in ``customers``.
    :param observed_until: the instant up to which churn is known (default: the last
        event or churn date). Every ``as_of + horizon`` must be at or before it.
    :param progress: called with ``(done, total)``, the ``as_of`` dates scored so far and
        in all, once the frames are checked and after each date: for a progress bar.

    Every customer alive at an ``as_of`` is scored point-in-time (events after it are
    ignored). Not scored, and counted in :attr:`BacktestPeriod.not_created` and
    :attr:`BacktestPeriod.already_churned`: customers created after ``as_of``, and
    customers who churned at or before it. Bad input is an error naming the values:
    outcomes of unknown customers, a churn date before the customer was created, an
    ``as_of`` at which nobody was alive, a horizon that runs past the data.
    """
    from ..scoring import default_scorer
    from ._backtest_frames import run

    scorer = scorer or default_scorer()
    dates = _dates(as_of, "as_of")
    span = _horizon(horizon)
    result = run(
        scorer,
        customers,
        events,
        outcomes,
        dates,
        span,
        columns=columns,
        unknown_customers=_unknown(unknown_customers),
        observed_until=None if observed_until is None else _instant(observed_until),
        progress=progress,
    )
    return _backtest_of(result, result.scores, dates, span, scorer)


def _unknown(value: str) -> str:
    if value not in ("error", "skip"):
        raise ConfigurationError(f"unknown_customers={value!r}; use 'error' or 'skip'")
    return value


def _instant(value: AsOf) -> datetime:
    from .._inputs import resolve_as_of

    return resolve_as_of(value).replace(tzinfo=None)


def _dates(given: AsOf | Iterable[AsOf], label: str) -> list[datetime]:
    """The instants of ``given``, naive UTC, sorted; none twice."""
    values: list[Any] = [given] if isinstance(given, datetime | date | str) else list(given)
    if not values:
        raise InvalidInputError(f"{label}= is empty; give at least one date")
    try:
        dates = [_instant(value) for value in values]
    except InvalidInputError as exc:
        raise InvalidInputError(f"{label}=: {exc}") from None
    repeated = sorted({d for d in dates if dates.count(d) > 1})
    if repeated:
        raise InvalidInputError(f"{label}= gives {repeated[0].isoformat()}Z more than once")
    return sorted(dates)


def _horizon(value: timedelta | int | float) -> timedelta:
    if isinstance(value, timedelta):
        span = value
    elif is_number(value):
        span = timedelta(days=value)
    else:
        raise InvalidInputError(
            f"{HORIZON}{value!r}; give a timedelta or a number of days, such as 90"
        )
    if span <= timedelta(0):
        raise InvalidInputError(f"{HORIZON}{value!r}; it must be longer than zero")
    return span


def _backtest_of(
    result: Run,
    table: pl.DataFrame,
    dates: Sequence[datetime],
    span: timedelta,
    scorer: Scorer,
    factor_auc: Mapping[str, float | None] | None = None,
) -> Backtest:
    """The measures of ``table`` (the scores of ``dates``), pooled and per date;
    ``factor_auc``: each factor's AUC over the whole table, if the caller has it."""
    import polars as pl

    from ._backtest_frames import roc_points, rounded

    # each factor's scores rounded once, for its AUC over all dates and at each
    ranked = table.select(
        "as_of", "churned", *(rounded(table.get_column(name)) for name in scorer.factors)
    )
    periods = tuple(
        BacktestPeriod(
            **_measures(
                table.filter(pl.col("as_of") == instant),
                ranked.filter(pl.col("as_of") == instant),
                scorer,
            ),
            as_of=instant.replace(tzinfo=_UTC),
            until=(instant + span).replace(tzinfo=_UTC),
            not_created=result.excluded[instant]["not_created"],
            already_churned=result.excluded[instant]["already_churned"],
            unscored=result.excluded[instant]["unscored"],
        )
        for instant in dates
    )
    return Backtest(
        **_measures(table, ranked, scorer, factor_auc),
        periods=periods,
        horizon=span,
        fingerprint=scorer.fingerprint,
        observed_until=result.observed_until.replace(tzinfo=_UTC),
        skipped_outcomes=result.skipped_outcomes,
        scores=result.restore(table),
        _roc=roc_points(table.get_column("score"), table.get_column("churned")),
    )


def _measures(
    table: pl.DataFrame,
    ranked: pl.DataFrame,
    scorer: Scorer,
    factor_auc: Mapping[str, float | None] | None = None,
) -> dict[str, Any]:
    """The measures of ``table``; ``ranked``: its rows' factor scores, rounded;
    ``factor_auc``: their AUCs, if the caller has them."""
    from ._backtest_frames import auc, aucs, bands, lift, status_rates

    scored = table.drop_nulls("score")
    churned = scored.get_column("churned")
    return {
        "customers": scored.height,
        "churned": int(churned.sum()),
        "auc": auc(scored.get_column("score"), churned),
        "top_decile_lift": lift(scored.get_column("score"), churned),
        "by_status": {status: ChurnRate(*counts) for status, counts in status_rates(table).items()},
        "factor_auc": (
            aucs(ranked, list(scorer.factors), rounded_already=True)
            if factor_auc is None
            else {name: factor_auc[name] for name in scorer.factors}
        ),
        "calibration": tuple(
            CalibrationBand(10.0 * i, 10.0 * (i + 1), n, p, mean)
            for i, (n, p, mean) in enumerate(bands(scored))
        ),
    }


# -- fitting weights ------------------------------------------------------------------------


def fit_weights(
    customers: Any,
    events: Any,
    outcomes: Any,
    *,
    train: AsOf | Iterable[AsOf],
    validate: AsOf | Iterable[AsOf],
    horizon: timedelta | int | float,
    scorer: Scorer | None = None,
    propose_thresholds: bool = False,
    columns: Mapping[str, str] | None = None,
    unknown_customers: str = "error",
    observed_until: AsOf | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> WeightFit:
    """Learn factor weights on the ``train`` dates; check them on the later ``validate``
    dates.

    The factor scores at each date do not depend on the weights, so the frames are
    scored once. The weights are those of a logistic regression of churn within
    ``horizon`` on each factor's shortfall (``1 - score/100``; a factor without data
    counts as its mean over the training rows), constrained to be non-negative and
    scaled to sum to 1. ``propose_thresholds=True`` also proposes status thresholds
    from the training churn rates: ``at_risk`` where the churn rate of the customers
    below it is at least twice the overall rate, ``healthy`` where that of the
    customers at or above it is at most half of it (the original thresholds are kept
    when no such score exists).

    Validation is out of time: the first validation date must be at least ``horizon``
    after the last training date, so no churn labels the two share. Returns a
    :class:`WeightFit` whose :attr:`~WeightFit.scorer` is a new scorer with its own
    fingerprint; ``scorer`` (default: the default model) and the defaults are left
    as they are. The other parameters are those of :func:`backtest` (``progress`` counts
    the training and validation dates together). Needs numpy and
    scipy (``pip install 'customer-health[backtest]'``).
    """
    from ..scoring import default_scorer
    from ._backtest_frames import run

    train_dates, check_dates, span = out_of_time(train, validate, horizon, "fit_weights()")
    scorer = scorer or default_scorer()
    result = run(
        scorer,
        customers,
        events,
        outcomes,
        [*train_dates, *check_dates],
        span,
        columns=columns,
        unknown_customers=_unknown(unknown_customers),
        observed_until=None if observed_until is None else _instant(observed_until),
        progress=progress,
    )
    import polars as pl

    training = result.scores.filter(pl.col("as_of") <= train_dates[-1])
    checking = result.scores.filter(pl.col("as_of") >= check_dates[0])
    weights, constant = _fitted(training, scorer.factors)
    fitted = scorer.reconfigured(weights=weights)
    if propose_thresholds:
        proposed = _proposed(_rescored(training, fitted))
        if proposed is not None:
            fitted = fitted.reconfigured(thresholds=proposed)
    return WeightFit(
        scorer=fitted,
        weights=dict(fitted.weights),
        thresholds=fitted.thresholds,
        train=_backtest_of(result, training, train_dates, span, scorer),
        before=_backtest_of(result, checking, check_dates, span, scorer),
        after=_backtest_of(result, _rescored(checking, fitted), check_dates, span, fitted),
        constant_factors=constant,
        _original=dict(scorer.weights),
    )


def out_of_time(
    train: AsOf | Iterable[AsOf],
    validate: AsOf | Iterable[AsOf],
    horizon: timedelta | int | float,
    feature: str,
) -> tuple[list[datetime], list[datetime], timedelta]:
    """The training and validation dates and the horizon of a fit, checked: numpy and
    scipy installed (for ``feature``), and the first validation date at least a horizon
    after the last training date, so that no churn labels both periods."""
    for module in ("numpy", "scipy"):
        try:
            __import__(module)
        except ImportError:
            raise MissingExtraError(module, "backtest", feature) from None
    train_dates, check_dates = _dates(train, "train"), _dates(validate, "validate")
    span = _horizon(horizon)
    if check_dates[0] < train_dates[-1] + span:
        raise InvalidInputError(
            f"validate= starts at {check_dates[0].isoformat()}Z, less than the horizon "
            f"({plural(span / _DAY, 'day')}) after the last train date "
            f"{train_dates[-1].isoformat()}Z: the periods would share churn; validate later"
        )
    return train_dates, check_dates, span


def _rescored(table: pl.DataFrame, scorer: Scorer) -> pl.DataFrame:
    """``table`` with score and status from its factor scores and ``scorer``'s weights and
    thresholds: the combination step of ``score_frame``, so the numbers are the same."""
    from ..engines.frames import combine

    return combine(scorer.model, table.drop("score", "status", "coverage")).select(table.columns)


def _fitted(
    table: pl.DataFrame, factors: Sequence[str]
) -> tuple[dict[str, float], tuple[str, ...]]:
    """Non-negative weights that sum to exactly 1, from a constrained logistic regression,
    and the factors left out of it because they have one value on every row (weight 0:
    a constant is indistinguishable from the intercept, so any weight would be noise)."""
    import numpy as np
    import polars as pl
    from scipy.optimize import minimize  # type: ignore[import-untyped]

    if table.height == 0 or table.get_column("churned").n_unique() < 2:
        raise InvalidInputError(
            "the training dates have no churn (or only churn) within the horizon: there is "
            "nothing to learn weights from; train on more dates or a longer horizon"
        )
    shortfall = table.select(
        [
            (1 - pl.col(name) / 100).fill_null((1 - pl.col(name) / 100).mean()).alias(name)
            for name in factors
        ]
    ).fill_null(0.0)
    every = shortfall.to_numpy()
    varies = every.max(axis=0) > every.min(axis=0) if len(every) else np.zeros(len(factors), bool)
    constant = tuple(name for name, v in zip(factors, varies, strict=True) if not v)
    x = every[:, varies]
    y = table.get_column("churned").to_numpy().astype(float)

    def loss(params: Any) -> tuple[float, Any]:
        logits = params[0] + x @ params[1:]
        # log(1 + e^z) - y z, computed stably, and its gradient
        value = np.logaddexp(0.0, logits) - y * logits
        residual = 1 / (1 + np.exp(-logits)) - y
        gradient = np.concatenate(([residual.sum()], x.T @ residual)) / len(y)
        return float(value.mean()), gradient

    start = np.zeros(x.shape[1] + 1)
    bounds = [(None, None)] + [(0.0, None)] * x.shape[1]
    found = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    coefficients = np.zeros(len(factors))
    coefficients[varies] = np.maximum(found.x[1:], 0.0)
    total = coefficients.sum()
    if not total > 1e-9:
        raise InvalidInputError(
            "no factor's shortfall raises churn in the training dates: every fitted weight "
            "is zero, so there is no weighting to propose"
            + (f" (the same for every customer: {', '.join(constant)})" if constant else "")
        )
    shares = {name: float(c / total) for name, c in zip(factors, coefficients, strict=True)}
    return _summing_to_one(shares), constant


_UNITS = 2**16
"""Fitted weights are multiples of 1/65,536: binary fractions, so that any sum of them is
exact in floating point and ``sum(weights.values())`` is exactly ``1.0`` in any order
(decimal fractions such as 0.3692 are not: their float sum may be 0.9999999999999999)."""


def _summing_to_one(shares: Mapping[str, float]) -> dict[str, float]:
    """``shares`` (non-negative, summing to about 1) as multiples of ``1 / _UNITS`` that
    sum to exactly 1: each rounded down, then the largest remainders get the units left
    over (a share of 0 stays 0; none moves by more than one unit, 1.5e-5)."""
    scaled = {name: share * _UNITS for name, share in shares.items()}
    units = {name: math.floor(value) for name, value in scaled.items()}
    by_remainder = sorted(scaled, key=lambda name: (units[name] - scaled[name], name))
    for name in by_remainder[: _UNITS - sum(units.values())]:
        units[name] += 1
    return {name: unit / _UNITS for name, unit in units.items()}


def _proposed(table: pl.DataFrame) -> dict[str, float] | None:
    """Thresholds where churn below is at least twice the rate, and at or above at most
    half of it (whole scores); None when no such pair exists."""
    import numpy as np

    from ._backtest_frames import rounded

    scored = table.drop_nulls("score").sort("score")
    scores = rounded(scored.get_column("score")).to_numpy()
    churned = np.concatenate(([0], np.cumsum(scored.get_column("churned").to_numpy())))
    total, churners = len(scores), int(churned[-1])
    if not total or not churners:
        return None
    rate = churners / total
    at_risk = healthy = None
    for cut in range(1, 100):
        below = int(np.searchsorted(scores, cut, side="left"))  # how many score < cut
        if below and churned[below] / below >= 2 * rate:
            at_risk = cut
        above = total - below
        if healthy is None and above and (churners - churned[below]) / above <= rate / 2:
            healthy = cut
    if at_risk is None or healthy is None or at_risk > healthy:
        return None
    return {"healthy": float(healthy), "at_risk": float(at_risk)}
