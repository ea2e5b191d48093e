"""Fitting a model to a business's own history: :func:`fit` and its :class:`ModelFit`.

``fit`` proposes a model file (factors, weights, expectations, thresholds) from
customers, events and churn dates, and says how much better than the model it started
from the proposal predicts churn on later dates it did not see, with bootstrap
intervals. ``docs/backtesting.md`` ("Fitting a model") describes the method.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from typing import TYPE_CHECKING, Any, Final

from .._format import plural
from ..builtin.types import rate, recency, tenure, trend
from ..exceptions import ConfigurationError, InvalidInputError
from ..factors import Factor
from ..model import ModelFile
from ._backtest import (
    AsOf,
    Backtest,
    _backtest_of,
    _fitted,
    _html_table,
    _instant,
    _num,
    _pct,
    _proposed,
    _rescored,
    _unknown,
    out_of_time,
)

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

    from ..scoring import Scorer, Thresholds

__all__ = ["FACTOR_TYPES_FITTED", "Gain", "Leak", "LeftOut", "ModelFit", "fit"]

FACTOR_TYPES_FITTED: Final = ("recency", "rate", "trend", "tenure")
"""The factor types :func:`fit` tries over the event kinds of the data (``types=``)."""
EVENTS_PER_FACTOR: Final = 10
"""Churners the training dates need per candidate factor: the rule of ten events per
variable of a logistic regression (Peduzzi et al., 1996)."""
MIN_VALIDATION_CHURNERS: Final = 10
"""Churners the validation dates need for an AUC worth reporting."""
RESAMPLES: Final = 1000
"""Bootstrap resamples of the validation customers (``resamples=``)."""
CONFIDENCE: Final = 0.95
"""The level of the bootstrap intervals."""
RATE_WINDOW_DAYS: Final = 30
_EXPECTING: Final = frozenset({"recency", "rate", "tenure"})
"""The factor types whose expectation :func:`fit` chooses from the data."""
"""The window of the ``rate`` and ``trend`` factors :func:`fit` tries."""

_SHOWN = 5


@dataclass(frozen=True)
class Gain:
    """A measure of the start model and of the fitted one on the validation dates, the
    difference, and the bootstrap interval of the difference."""

    before: float | None
    after: float | None
    low: float | None
    """The lower end of the interval of ``after - before`` (None if it could not be had)."""
    high: float | None

    @property
    def difference(self) -> float | None:
        """``after - before``."""
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def real(self) -> bool:
        """Whether the interval lies wholly above 0: a gain the data supports."""
        return self.low is not None and self.low > 0


@dataclass(frozen=True)
class LeftOut:
    """A candidate factor the fitted model does not use, and why."""

    factor: str
    reason: str


@dataclass(frozen=True)
class Leak:
    """A churned customer with events after its churn date: its label leaks the future
    (or the churn date is wrong)."""

    customer_id: str
    churned_at: datetime
    events_after: int
    last_event: datetime


@dataclass(frozen=True)
class ModelFit:
    """What :func:`fit` proposes, and how it did out of time.

    :attr:`scorer` scores with the proposed model; :meth:`to_file` writes its model
    file. :attr:`auc` and :attr:`lift` compare it with the start model on the
    validation dates, with bootstrap intervals; :attr:`gain_is_real` says whether the
    AUC's interval lies above 0. Shows as HTML in a notebook; :meth:`report` is text.
    """

    scorer: Scorer
    start: Scorer
    """The scorer the fit started from."""
    weights: Mapping[str, float]
    """The proposed model's weights, in scoring order: non-negative, summing to 1."""
    thresholds: Thresholds
    expectations: Mapping[str, Mapping[str, float]]
    """The expectations chosen for the factors made by the fit, by segment."""
    candidates: tuple[str, ...]
    """Every factor tried, in order."""
    training_auc: Mapping[str, float | None]
    """Each candidate's own AUC on the training dates."""
    left_out: tuple[LeftOut, ...]
    train: Backtest
    """The backtest of the training dates with the proposed model."""
    before: Backtest
    """The backtest of the validation dates with the start model."""
    after: Backtest
    """The backtest of the validation dates with the proposed model."""
    auc: Gain
    lift: Gain
    """The top-decile lift (see :attr:`auc`)."""
    resamples: int
    seed: int
    first_event: datetime | None
    last_event: datetime | None
    leaks: tuple[Leak, ...] = ()
    """A few churned customers with events after their churn date (their labels leak):
    the first five by id."""
    leaked: int = 0
    """How many churned customers have events after their churn date."""

    @property
    def gain_is_real(self) -> bool:
        """Whether the proposed model's validation AUC beats the start model's by a
        margin its bootstrap interval supports (the interval lies above 0)."""
        return self.auc.real

    def to_file(self, path: Any) -> None:
        """Write the proposed model file (:meth:`Scorer.to_file`)."""
        self.scorer.to_file(path)

    def verdict(self) -> str:
        """One sentence: whether the proposal is better, as far as the data shows."""
        a = self.auc
        if a.difference is None:
            return "the validation dates cannot tell the models apart (no AUC)"
        interval = (
            "no interval"
            if a.low is None or a.high is None
            else f"{CONFIDENCE:.0%} interval {a.low:+.3f} to {a.high:+.3f}"
        )
        if self.gain_is_real:
            return (
                f"the fitted model predicts churn better out of time: AUC "
                f"{a.difference:+.3f} ({interval}, {self.resamples:,} resamples)"
            )
        return (
            f"no gain the data supports: AUC {a.difference:+.3f} ({interval}, "
            f"{self.resamples:,} resamples) - keep the start model, or fit on more data"
        )

    def report(self) -> str:
        """The fit as text: data, periods, gains, factors, expectations, calibration."""
        lines = [self._heading(), f"verdict: {self.verdict()}", ""]
        lines.append(self._data_text())
        lines.append("period      as_of                 customers  churned  rate")
        for label, backtest in (("train", self.train), ("validate", self.after)):
            for p in backtest.periods:
                lines.append(
                    f"{label:<11} {_when(p.as_of):<21} {p.customers:>9} {p.churned:>8} "
                    f"{_pct(p.churn_rate):>6}"
                )
        lines.append("")
        lines.append("validation      start  fitted  difference  interval")
        for label, gain, digits in (("AUC", self.auc, 3), ("top-decile lift", self.lift, 2)):
            lines.append(
                f"{label:<15} {_num(gain.before, digits):>5} {_num(gain.after, digits):>7} "
                f"{_signed(gain.difference, digits):>11}  {_interval(gain, digits)}"
            )
        lines.append("")
        width = max(26, *map(len, self.candidates))
        lines.append(f"{'factor':<{width}} weight  train AUC  expectation (by segment)")
        for name in self.candidates:
            weight = self.weights.get(name, 0.0)
            lines.append(
                f"{name:<{width}} {weight:>6.3f} {_num(self.training_auc.get(name), 3):>10}  "
                f"{self._expected(name)}"
            )
        if self.left_out:
            lines.append("left out:")
            lines.extend(f"  {item.factor}: {item.reason}" for item in self.left_out)
        lines.append(self._thresholds_text())
        lines.append("")
        lines.append("calibration (validation, fitted)  customers  churned  rate")
        for band in self.after.calibration:
            label = f"{band.low:g}-{band.high:g}"
            lines.append(f"{label:<33} {band.customers:>9} {band.churned:>8} {_pct(band.rate):>6}")
        if self.leaks:
            lines.append("")
            lines.append(self._leak_text())
        return "\n".join(lines)

    def _data_text(self) -> str:
        return (
            f"data: events {_when(self.first_event)} to {_when(self.last_event)}; churn "
            f"known until {_when(self.after.observed_until)}"
        )

    def _thresholds_text(self) -> str:
        return (
            f"thresholds: healthy >= {self.thresholds.healthy:g}, at_risk >= "
            f"{self.thresholds.at_risk:g}"
        )

    def _heading(self) -> str:
        train, check = self.train.periods, self.after.periods
        return (
            f"fit of model {self.scorer.config.model_name!r} version "
            f"{self.scorer.config.model_version!r} from {self.start.config.model_name!r} "
            f"version {self.start.config.model_version!r}: trained on "
            f"{plural(len(train), 'date')} ({_when(train[0].as_of)} to "
            f"{_when(train[-1].as_of)}), validated out of time on "
            f"{plural(len(check), 'date')} ({_when(check[0].as_of)} to "
            f"{_when(check[-1].as_of)}), horizon {plural(self.after.horizon / _DAY, 'day')}"
        )

    def _expected(self, name: str) -> str:
        """The factor's expectations by segment: chosen by the fit, kept from the start
        model ("kept: ..."), "-" for a factor compared with none, or nothing for a
        factor left out."""
        found = {
            segment: values[name] for segment, values in self.expectations.items() if name in values
        }
        if found:
            return ", ".join(f"{segment} {value:g}" for segment, value in found.items())
        if name not in self.weights:
            return ""
        if name not in self.start.factors:
            return "-"
        key = self.start.model.factor(name).factor.expectation
        kept = {
            segment: values[key]
            for segment, values in self.start.config.expectations.items()
            if key is not None and key in values
        }
        if not kept:
            return "-"
        return "kept: " + ", ".join(f"{segment} {value:g}" for segment, value in kept.items())

    def _leak_text(self) -> str:
        shown = "; ".join(
            f"{leak.customer_id!r} churned {_when(leak.churned_at)}, "
            f"{plural(leak.events_after, 'event')} after, the last {_when(leak.last_event)}"
            for leak in self.leaks
        )
        more = self.leaked - len(self.leaks)
        return (
            f"labels that leak the future: {plural(self.leaked, 'churned customer')} "
            f"with events after the churn date ({shown}"
            + (f"; and {more} more" if more > 0 else "")
            + "); check the churn dates"
        )

    def __str__(self) -> str:
        return self.report()

    def _repr_html_(self) -> str:
        """Jupyter's view: what :meth:`report` prints, as tables."""
        gains = [
            [
                label,
                _num(gain.before, digits),
                _num(gain.after, digits),
                _signed(gain.difference, digits),
                _interval(gain, digits),
            ]
            for label, gain, digits in (("AUC", self.auc, 3), ("top-decile lift", self.lift, 2))
        ]
        periods = [
            [label, _when(p.as_of), f"{p.customers:,}", f"{p.churned:,}", _pct(p.churn_rate)]
            for label, backtest in (("train", self.train), ("validate", self.after))
            for p in backtest.periods
        ]
        factors = [
            [
                name,
                f"{self.weights.get(name, 0.0):.3f}",
                _num(self.training_auc.get(name), 3),
                self._expected(name),
            ]
            for name in self.candidates
        ]
        left = [[item.factor, item.reason] for item in self.left_out]
        calibration = [
            [f"{b.low:g}–{b.high:g}", f"{b.customers:,}", f"{b.churned:,}", _pct(b.rate)]
            for b in self.after.calibration
        ]
        leaks = f"<p>{escape(self._leak_text())}</p>" if self.leaks else ""
        return (
            f"<div><p><b>{escape(self._heading())}</b></p>"
            f"<p>{escape(self.verdict())}</p>"
            f"<p>{escape(self._data_text())}</p>"
            + _html_table(["validation", "start", "fitted", "difference", "interval"], gains)
            + _html_table(["period", "as_of", "customers", "churned", "rate"], periods)
            + _html_table(["factor", "weight", "train AUC", "expectation (by segment)"], factors)
            + (_html_table(["left out", "why"], left) if left else "")
            + f"<p>{escape(self._thresholds_text())}</p>"
            + _html_table(
                ["calibration (validation, fitted)", "customers", "churned", "rate"], calibration
            )
            + leaks
            + "</div>"
        )


_DAY = timedelta(days=1)


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _signed(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:+.{digits}f}"


def _interval(gain: Gain, digits: int) -> str:
    if gain.low is None or gain.high is None:
        return "–"
    return f"{gain.low:+.{digits}f} to {gain.high:+.{digits}f}"


# -- fit ----------------------------------------------------------------------------------


def fit(
    customers: Any,
    events: Any,
    outcomes: Any,
    *,
    train: AsOf | Iterable[AsOf],
    validate: AsOf | Iterable[AsOf],
    horizon: timedelta | int | float,
    start: Scorer | None = None,
    types: Iterable[str] = FACTOR_TYPES_FITTED,
    propose_thresholds: bool = True,
    resamples: int = RESAMPLES,
    seed: int = 0,
    model_name: str = "fitted",
    model_version: str = "1",
    columns: Mapping[str, str] | None = None,
    unknown_customers: str = "error",
    observed_until: AsOf | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ModelFit:
    """Propose a model for this data: factors, weights, expectations and thresholds,
    learned on the ``train`` dates and measured on the later ``validate`` dates.

    :param customers: the customers frame, as for :func:`~customer_health.backtest`.
    :param events: the events frame.
    :param outcomes: ``customer_id`` and ``churned_at`` of each customer who churned.
    :param train: the ``as_of`` dates to learn from.
    :param validate: the ``as_of`` dates to measure on: the first at least ``horizon``
        after the last training date, so that no churn labels both.
    :param horizon: churn within this long after an ``as_of`` counts (days or a
        ``timedelta``).
    :param start: the scorer to start from (default: the default model and installed
        plugins): its factors, plugins and expectations.
    :param types: the factor types tried over every event kind in the data
        (:data:`FACTOR_TYPES_FITTED`): ``recency_<kind>``, ``rate_<kind>``
        (:data:`RATE_WINDOW_DAYS`), ``trend_<kind>``, and ``tenure`` when customers
        have creation dates. ``()`` fits the start model's factors alone.
    :param propose_thresholds: propose thresholds from the training churn rates (as
        :func:`~customer_health.fit_weights` does); else keep the start model's.
    :param resamples: bootstrap resamples of the validation customers for the intervals.
    :param seed: the seed of the bootstrap: the same data and seed give the same fit.
    :param model_name: the proposed model's name.
    :param model_version: its version.

    The rest are those of :func:`~customer_health.backtest`. The expectations of the
    factors made from the recency, rate and tenure types (the candidates, and the start
    model's own, such as model v2's ``last_seen``) are, per segment, the median value
    among the customers who stayed on the training dates (rounded up to a whole number,
    at least 1); the start model's other factors keep theirs. The weights are those of
    :func:`~customer_health.fit_weights`' constrained logistic regression over every
    candidate; a factor with weight 0 is left out of the proposal and
    :attr:`ModelFit.left_out` says why. Too few churners for a stable fit
    (:data:`EVENTS_PER_FACTOR` per candidate) is an error that says how many there are
    and how many are needed. Churned customers with events after their churn date are
    reported in :attr:`ModelFit.leaks`. Needs numpy and scipy (``pip install
    'customer-health[backtest]'``).
    """
    from ..engines import frames
    from ..scoring import default_scorer
    from ._backtest_frames import Prepared, aucs, run

    train_dates, check_dates, span = out_of_time(train, validate, horizon, "fit()")
    import polars as pl

    start = start or default_scorer()
    wanted = _types(types)
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 100:
        raise InvalidInputError(f"resamples={resamples!r}; it must be a whole number >= 100")
    unknown = _unknown(unknown_customers)
    until = None if observed_until is None else _instant(observed_until)
    checked = frames.checked_frames(start.model, customers, events, columns, unknown)
    kinds = sorted(set(checked.events.get_column("kind").unique().to_list()))
    dated = checked.people.get_column("created_at").null_count() < checked.people.height
    made, skipped = _candidates(start, kinds, wanted, dated)
    # the frames are checked once, with the start model; every run below reuses them
    # (the candidates know every kind in the data, and the start model's segments),
    # and each declared factor's inputs at each date, whatever its expectation
    prepared = Prepared(checked, outcomes, unknown == "skip", keep_inputs=True)
    options: dict[str, Any] = {
        "columns": columns,
        "unknown_customers": unknown,
        "observed_until": until,
        "prepared": prepared,
    }
    steps = [0, len(train_dates) * 2 + len(check_dates)]

    def step(done: int, total: int) -> None:
        if progress is not None and done:
            steps[0] += 1
            progress(steps[0], steps[1])

    if progress is not None:
        progress(0, steps[1])
    # 1. the values of the factors made from a type that compares with an expectation
    # (candidates, and the start model's own), on the training dates: their
    # expectations come from them
    own = [
        start.registry.factors[name]
        for name in start.factors
        if (start.registry.factors[name].parameters or {}).get("type") in _EXPECTING
    ]
    expecting = [*own, *(factor for factor in made if factor.expectation_default is not None)]
    candidates = len(start.factors) + len(made)
    expectations: dict[str, dict[str, float]] = {}
    overall: dict[str, float] = {}
    unset: dict[str, str] = {}
    if expecting:
        names = [factor.name for factor in expecting]
        first = _scorer(start, expecting, {}, model_name, model_version, factors=names)
        values = run(
            first, customers, events, outcomes, train_dates, span, progress=step, **options
        )
        _enough_churners(values.scores, candidates)
        segment_of = checked.people.select(pl.col("id").alias("customer_id"), "segment")
        labelled = values.scores.join(segment_of, on="customer_id", how="left")
        expectations, overall, unset = _expectations(labelled, expecting)
    else:
        steps[1] -= len(train_dates)
    chosen = tuple(
        _expecting(factor, overall.get(factor.name))
        for factor in (*own, *made)
        if factor.name not in unset
    )
    left = [LeftOut(name, reason) for name, reason in skipped.items()]
    mine = {factor.name for factor in own}  # kept, with the start model's expectation
    left += [LeftOut(name, reason) for name, reason in unset.items() if name not in mine]
    # 2. every date, with the chosen expectations
    candidate = _scorer(start, chosen, expectations, model_name, model_version)
    result = run(
        candidate,
        customers,
        events,
        outcomes,
        [*train_dates, *check_dates],
        span,
        progress=step,
        **options,
    )
    training = result.scores.filter(pl.col("as_of") <= train_dates[-1])
    checking = result.scores.filter(pl.col("as_of") >= check_dates[0])
    _enough_churners(training, candidates)
    _enough_to_validate(checking)
    weights, constant = _fitted(training, candidate.factors)
    used = [name for name in candidate.factors if weights[name] > 0]
    for name in candidate.factors:
        if name in constant:
            left.append(LeftOut(name, "the same score for every customer: weight 0"))
        elif weights[name] == 0:
            left.append(LeftOut(name, "adds nothing to the fit: weight 0"))
    kept = tuple(factor for factor in chosen if factor.name in used)
    kept_expectations = {
        segment: {name: value for name, value in values.items() if name in used}
        for segment, values in expectations.items()
    }
    fitted = _scorer(
        start,
        kept,
        kept_expectations,
        model_name,
        model_version,
        factors=used,
        weights={name: weights[name] for name in used},
    )
    if propose_thresholds:
        proposed = _proposed(_rescored(training, fitted))
        if proposed is not None:
            fitted = fitted.reconfigured(thresholds=proposed)
    after_table = _rescored(checking, fitted)
    if mine & {factor.name for factor in chosen}:
        # some of the start model's factors were given other expectations: its own
        # scores on the validation dates come from scoring them again
        alone = run(start, customers, events, outcomes, check_dates, span, **options)
        before_table = alone.scores
        before = _backtest_of(alone, before_table, check_dates, span, start)
    else:  # its factors' columns are the candidates' (same expectations)
        before_table = _rescored(checking, start)
        before = _backtest_of(result, before_table, check_dates, span, start)
    after = _backtest_of(result, after_table, check_dates, span, fitted)
    auc_gain, lift_gain = _bootstrap(before_table, after_table, before, after, resamples, seed)
    leaks, leaked = _leaks(checked, prepared.churn)
    training_auc = aucs(training, list(candidate.factors))
    first_event, last_event = checked.events.select(
        pl.col("occurred_at").min().alias("first"), pl.col("occurred_at").max().alias("last")
    ).row(0)
    return ModelFit(
        scorer=fitted,
        start=start,
        weights=dict(fitted.weights),
        thresholds=fitted.thresholds,
        expectations=kept_expectations,
        candidates=tuple(candidate.factors),
        training_auc=training_auc,
        left_out=tuple(left),
        # (the rescored table's factor columns are the training table's)
        train=_backtest_of(
            result, _rescored(training, fitted), train_dates, span, fitted, training_auc
        ),
        before=before,
        after=after,
        auc=auc_gain,
        lift=lift_gain,
        resamples=resamples,
        seed=seed,
        first_event=None if first_event is None else first_event.replace(tzinfo=UTC),
        last_event=None if last_event is None else last_event.replace(tzinfo=UTC),
        leaks=leaks,
        leaked=leaked,
    )


def _types(types: Iterable[str]) -> tuple[str, ...]:
    if isinstance(types, str):
        raise ConfigurationError(f"types={types!r} is a string; pass a list of factor types")
    given = tuple(types)
    wrong = [name for name in given if name not in FACTOR_TYPES_FITTED]
    if wrong:
        raise ConfigurationError(
            f"types= names {wrong}; fit() tries {', '.join(FACTOR_TYPES_FITTED)}"
        )
    return given


_NOT_NAME = re.compile(r"[^a-z0-9_]+")


def _candidates(
    start: Scorer, kinds: Sequence[str], types: Sequence[str], dated: bool
) -> tuple[list[Factor], dict[str, str]]:
    """The factors to try besides the start model's (with a placeholder expectation: it
    is chosen from the data), and those that could not be made, with why."""
    taken = set(start.registry.factors)
    made: list[Factor] = []
    skipped: dict[str, str] = {}

    def add(name: str, build: Callable[[str], Factor]) -> None:
        if name in taken:
            skipped[name] = "a factor of that name is registered already"
            return
        taken.add(name)
        made.append(build(name))

    for kind in kinds:
        stem = _NOT_NAME.sub("_", kind.lower()).strip("_")
        if not stem or not stem[0].isalpha():
            stem = f"k_{stem}"
        for kind_type in types:
            if kind_type == "tenure":  # of the customer, not of a kind
                continue
            name = f"{kind_type}_{stem}"
            add(name, functools.partial(_of_kind, kind_type, kind))
    if "tenure" in types:
        if dated:
            add("tenure", functools.partial(tenure, expected=1.0))
        else:
            skipped["tenure"] = "no customer has a creation date"
    return made, skipped


def _of_kind(kind_type: str, kind: str, name: str) -> Factor:
    """A candidate of ``kind_type`` over events of ``kind`` (a placeholder expectation)."""
    if kind_type == "recency":
        return recency(name, kinds=[kind], expected=1.0)
    if kind_type == "rate":
        return rate(name, kinds=[kind], window_days=RATE_WINDOW_DAYS, expected=1.0)
    return trend(name, kinds=[kind], window_days=RATE_WINDOW_DAYS)


def _scorer(
    start: Scorer,
    made: Sequence[Factor],
    expectations: Mapping[str, Mapping[str, float]],
    name: str,
    version: str,
    *,
    factors: Sequence[str] | None = None,
    weights: Mapping[str, float] | None = None,
) -> Scorer:
    """A scorer of the start model's factors and ``made`` (or ``factors`` of them), with
    the start model's plugins, expectations and event kinds."""
    from ..scoring import Scorer

    own = tuple(
        start.registry.factors[n] for n in start.factors if start.registry.factors[n].parameters
    )
    names = list(
        dict.fromkeys(factors if factors is not None else [*start.factors, *(f.name for f in made)])
    )
    every = {**{f.name: f for f in own}, **{f.name: f for f in made}}
    segments = {s: dict(v) for s, v in start.config.expectations.items()}
    for segment, values in expectations.items():
        segments.setdefault(segment, {}).update(values)
    spec = ModelFile(
        name=name,
        version=version,
        factors=tuple(names),
        weights=dict(weights) if weights is not None else dict(start.weights),
        thresholds=start.thresholds.model_dump(),
        expectations={
            s: {k: v for k, v in values.items() if _reads(k, names, every, start)}
            for s, values in segments.items()
        },
        made=tuple(f for n, f in every.items() if n in names),
        where="fit()",
    )
    return Scorer(
        model=spec,
        plugin_manager=start._plugin_manager,
        event_kinds=start.event_kinds,
        unknown_kinds=start.unknown_kinds,
    )


def _reads(
    expectation: str, names: Sequence[str], every: Mapping[str, Factor], start: Scorer
) -> bool:
    """Whether a factor of ``names`` reads the segment expectation ``expectation``."""
    for name in names:
        factor = every.get(name) or start.registry.factors.get(name)
        if factor is not None and (factor.expectation or factor.name) == expectation:
            return True
    return False


def _enough_churners(table: pl.DataFrame, factors: int) -> None:
    churners = int(table.get_column("churned").sum())
    needed = EVENTS_PER_FACTOR * factors
    if churners < needed:
        raise InvalidInputError(
            f"the training dates have {plural(churners, 'churner')} within the horizon; a "
            f"fit of {plural(factors, 'candidate factor')} needs at least {needed:,} "
            f"({EVENTS_PER_FACTOR} per factor): train on more dates or a longer horizon, "
            "or try fewer factor types (types=)"
        )


def _enough_to_validate(table: pl.DataFrame) -> None:
    churners = int(table.get_column("churned").sum())
    if churners < MIN_VALIDATION_CHURNERS:
        raise InvalidInputError(
            f"the validation dates have {plural(churners, 'churner')} within the horizon; "
            f"measuring a model needs at least {MIN_VALIDATION_CHURNERS}: validate on more "
            "dates or a longer horizon"
        )


def _expectations(
    table: pl.DataFrame, made: Sequence[Factor]
) -> tuple[dict[str, dict[str, float]], dict[str, float], dict[str, str]]:
    """Per segment, each made factor's expectation (the median value of the customers
    who stayed, rounded up, at least 1; the median over every segment for a segment
    without such values); that overall one, for segments seen later; and the factors
    none could be chosen for, with why."""
    import polars as pl

    stayed = table.filter(~pl.col("churned"))
    chosen: dict[str, dict[str, float]] = {}
    overall_of: dict[str, float] = {}
    unset: dict[str, str] = {}
    segments = sorted(table.get_column("segment").unique().to_list())
    for factor in made:
        if factor.expectation_default is None:  # trend: no expectation
            continue
        column = f"{factor.name}_value"
        known = stayed.select("segment", column).drop_nulls(column)
        if known.height == 0:
            unset[factor.name] = "no customer who stayed has a value on the training dates"
            continue
        overall = _whole(known.get_column(column).median())
        overall_of[factor.name] = overall
        medians = {
            segment: _whole(value)
            for segment, value in known.group_by("segment").agg(pl.col(column).median()).rows()
        }
        for segment in segments:
            expectation = factor.expectation or factor.name
            chosen.setdefault(segment, {})[expectation] = medians.get(segment, overall)
    return chosen, overall_of, unset


def _whole(value: Any) -> float:
    """A median as an expectation: rounded up to a whole number, at least 1."""
    return float(max(1, math.ceil(float(value))))


def _expecting(factor: Factor, expected: float | None) -> Factor:
    """``factor`` made again from its type with ``expected`` for segments without an
    expectation of their own (``factor`` itself when it takes none)."""
    from ..builtin.types import FACTOR_TYPES

    if expected is None or not factor.parameters:
        return factor
    parameters = dict(factor.parameters)
    build = FACTOR_TYPES[parameters.pop("type")]
    return build(factor.name, **{**parameters, "expected": expected})


def _leaks(checked: Any, churn: pl.DataFrame) -> tuple[tuple[Leak, ...], int]:
    """Churned customers with events after their churn date (``churn``: the outcomes
    read, ``id`` and ``churned_at``): a few, and how many."""
    import polars as pl

    late = (
        checked.events.select("customer_id", "occurred_at")
        .join(churn.rename({"id": "customer_id"}), on="customer_id")
        .filter(pl.col("occurred_at") > pl.col("churned_at"))
        .group_by("customer_id", "churned_at")
        .agg(n=pl.len(), last=pl.col("occurred_at").max())
        .sort("customer_id")
    )
    shown = tuple(
        Leak(row[0], row[1].replace(tzinfo=UTC), int(row[2]), row[3].replace(tzinfo=UTC))
        for row in late.head(_SHOWN).iter_rows()
    )
    return shown, late.height


# -- the bootstrap ----------------------------------------------------------------------------


def _bootstrap(
    before_table: pl.DataFrame,
    after_table: pl.DataFrame,
    before: Backtest,
    after: Backtest,
    resamples: int,
    seed: int,
) -> tuple[Gain, Gain]:
    """The intervals of the AUC and lift differences: the validation customers drawn
    with replacement (a customer with all its dates, as their rows are not independent),
    both models measured on each draw, the percentiles of the differences. The draws
    are made one after the other from the seed, and measured :data:`_BATCH` at a time."""
    import numpy as np

    from ._backtest_frames import rounded

    # the rows of both tables in one order: each customer's row at each date
    keys = ["as_of", "customer_id"]
    aligned = (
        before_table.select(*keys, "churned", "score")
        .with_row_index("_row")
        .join(after_table.select(*keys, after="score"), on=keys, how="left")
        .sort("_row")
    )
    ids = aligned.get_column("customer_id")
    customers, index = np.unique(ids.to_numpy(), return_inverse=True)
    churned = aligned.get_column("churned").to_numpy().astype(np.float64)
    models = [
        _Ranked(rounded(aligned.get_column(column)).to_numpy(), churned, index, len(customers))
        for column in ("score", "after")
    ]
    rng = np.random.default_rng(seed)
    count = len(customers)
    # Counts in single precision when no group can count 2**24 rows (a draw counts at
    # most every customer's rows once per customer drawn): whole numbers are exact in
    # it below that, and the products read half the memory.
    most = int(np.bincount(index).max()) if len(index) else 0
    precision = np.float32 if count * most < 2**24 else np.float64
    aucs: list[float] = []
    lifts: list[float] = []
    for done in range(0, resamples, _BATCH):
        draws = min(_BATCH, resamples - done)
        # each customer's draws in each resample (a column): the weight of its rows
        weights = np.empty((count, draws), dtype=precision)
        for column in range(draws):
            weights[:, column] = np.bincount(rng.integers(0, count, count), minlength=count)
        (auc_before, lift_before), (auc_after, lift_after) = (
            model.measures_of(weights) for model in models
        )
        for found, first, second in (
            (aucs, auc_before, auc_after),
            (lifts, lift_before, lift_after),
        ):
            both = ~(np.isnan(first) | np.isnan(second))  # NaN: no measure on that draw
            found.extend((second - first)[both].tolist())
    return (
        _gain(before.auc, after.auc, aucs, resamples),
        _gain(before.top_decile_lift, after.top_decile_lift, lifts, resamples),
    )


_BATCH: Final = 50
"""Resamples measured together (their weights: a column each, 50 x the customers)."""


def _gain(before: float | None, after: float | None, found: list[float], wanted: int) -> Gain:
    import numpy as np

    if before is None or after is None or len(found) < wanted // 2:
        return Gain(before, after, None, None)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(np.asarray(found), [tail, 100 - tail])
    return Gain(before, after, float(low), float(high))


class _Ranked:
    """One model's validation scores as counts per rounded score, so that the AUC and the
    lift of many resamples cost two sparse products.

    The rows are grouped by rounded score, ascending, and the groups without a churner
    between two groups with one are merged into one group: neither measure tells them
    apart (the AUC counts, for each churner, the stayers above it and tied with it; the
    lift, the churners of the groups that fill the lowest tenth, so it needs only how
    many come before each churners' group). The churners' and the stayers' counts of
    each group are sparse matrices of group by weight: ``owner`` gives each row the index
    of its weight among ``owners`` (by default each row its own weight)."""

    def __init__(
        self,
        scores: np.ndarray,
        churned: np.ndarray,
        owner: np.ndarray | None = None,
        owners: int | None = None,
    ) -> None:
        import numpy as np
        from scipy import sparse  # type: ignore[import-untyped]

        scored = np.flatnonzero(~np.isnan(scores))
        values, group = np.unique(scores[scored], return_inverse=True)  # ascending
        rows = scored if owner is None else owner[scored]
        churner = churned[scored] > 0
        has = np.zeros(len(values), dtype=bool)
        has[group[churner]] = True
        # a group starts a merged group when it or the group below has churners
        starts = has | np.concatenate(([True], has[:-1]))
        merged = (np.cumsum(starts) - 1)[group]
        self.groups = int(starts.sum())
        shape = (self.groups, len(scores) if owners is None else owners)
        self.churners, self.stayers = (
            sparse.csr_array(
                (np.ones(int(mask.sum()), dtype=np.float32), (merged[mask], rows[mask])),
                shape=shape,
            )  # (repeated pairs are added up)
            for mask in (churner, ~churner)
        )

    def measures(self, weights: np.ndarray) -> tuple[float | None, float | None]:
        """The AUC and top-decile lift with each row counted as many times as its weight
        (``weights`` indexed as ``owner`` says); None where there is none."""
        import numpy as np

        auc, lift = self.measures_of(weights[:, np.newaxis])
        return (
            None if np.isnan(auc[0]) else float(auc[0]),
            None if np.isnan(lift[0]) else float(lift[0]),
        )

    def measures_of(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The AUC and the lift of each column of ``weights`` (the rows' weights as
        :meth:`measures` takes them): NaN where there is none."""
        import numpy as np

        # churners and stayers per group, a column per resample
        p = (self.churners @ weights).astype(np.float64)
        q = (self.stayers @ weights).astype(np.float64)
        positives, negatives = p.sum(axis=0), q.sum(axis=0)
        total = positives + negatives
        # a churner beats the stayers scoring above it, and half of those tied with it
        # (every count is a whole number, so the sums are exact in any order)
        above = negatives - np.cumsum(q, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            auc = (p * (above + q / 2)).sum(axis=0) / (positives * negatives)
            auc[(positives == 0) | (negatives == 0)] = np.nan
            n = p + q
            room = total / 10
            through = np.cumsum(n, axis=0)
            # the groups up to the one that fills the tenth take all, that one a part
            take = np.clip(room - (through - n), 0, n)
            share = np.divide(take, n, out=np.zeros_like(n), where=n > 0)
            lift = ((p * share).sum(axis=0) / room) / (positives / total)
            lift[positives == 0] = np.nan
        return auc, lift
