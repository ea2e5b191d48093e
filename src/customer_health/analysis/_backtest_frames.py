"""The polars side of backtesting: one check of the frames, then each ``as_of`` scored
through the code path of :func:`~customer_health.score_frame`, labelled with churn, and
measured. :mod:`customer_health._backtest` holds the public functions and results."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from .._format import plural, some
from .._terms import AS_OF, OBSERVED_UNTIL, SKIP_UNKNOWN_CUSTOMERS
from ..exceptions import InvalidInputError, MissingExtraError, UnknownCustomerError

try:
    import polars as pl

    from ..engines import frames
    from ..engines.frames._compile import divided
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise MissingExtraError(exc.name or "polars", "backtest", "backtest()") from exc

if TYPE_CHECKING:
    from ..scoring import Scorer

__all__ = [
    "Prepared",
    "Run",
    "auc",
    "aucs",
    "bands",
    "lift",
    "roc_points",
    "rounded",
    "run",
    "status_rates",
]

_SHOWN = 5
_STATUSES = ("healthy", "at_risk", "critical", "unknown")


class Run(NamedTuple):
    """Every customer alive at each ``as_of``, scored and labelled (``scores``), and what
    was left out at each (``excluded``: as_of -> counts)."""

    scores: pl.DataFrame
    excluded: dict[datetime, dict[str, int]]
    skipped_outcomes: int
    observed_until: datetime
    restore: Any


class Prepared:
    """Checked frames and outcomes as runs over them read them, made once for a caller
    that scores them more than once (a fit): the people with their churn dates; the
    events that count, each with its customer's creation and churn dates and its id
    hashed (which events count at a date is then two comparisons of instants per row,
    not a look-up of its id among the customers who did not exist, and no date's query
    hashes the ids again), split by kind once; with ``keep_inputs``, the declared
    factors' inputs at each date, kept for the next run (each run then scores the same
    customers from the same rows at a date)."""

    def __init__(
        self,
        checked: frames.CheckedFrames,
        outcomes: Any,
        skip_unknown: bool,
        *,
        keep_inputs: bool = False,
    ) -> None:
        self.churn, self.skipped = _outcomes(outcomes, checked.people, skip_unknown)
        self.people = checked.people.join(self.churn, on="id", how="left", maintain_order="left")
        frame, self.relevant = frames.counted_events(checked, pl.Series("id", [], pl.String))
        dates = self.people.select(
            pl.col("id").alias("customer_id"),
            pl.col("created_at").alias(_BORN),
            pl.col("churned_at").alias(_GONE),
        )
        self.frame = frame.join(
            dates, on="customer_id", how="left", maintain_order="left"
        ).with_columns(pl.col("customer_id").hash().alias(frames.KEY))
        self.split = frames.KindSplit(self.frame)
        self.inputs: dict[Any, pl.DataFrame] | None = {} if keep_inputs else None

    def alive_at(self, instant: datetime) -> pl.Expr:
        """The events that count at ``instant``: those of customers alive then."""
        return self.relevant & _created(_BORN, instant) & ~_churned(_GONE, instant)


_BORN, _GONE = "_ch_created_at", "_ch_churned_at"


def _created(column: str, instant: datetime) -> pl.Expr:
    """Whether the customer existed at ``instant`` (no creation date: always)."""
    return pl.col(column).is_null() | (pl.col(column) <= instant)


def _churned(column: str, instant: datetime) -> pl.Expr:
    """Whether the customer had churned by ``instant``."""
    return pl.col(column).is_not_null() & (pl.col(column) <= instant)


def run(
    scorer: Scorer,
    customers: Any,
    events: Any,
    outcomes: Any,
    dates: Sequence[datetime],
    horizon: timedelta,
    *,
    columns: Mapping[str, str] | None,
    unknown_customers: str,
    observed_until: datetime | None,
    progress: Callable[[int, int], None] | None = None,
    prepared: Prepared | None = None,
) -> Run:
    """Score every customer alive at each of ``dates`` (naive UTC) and label who churned
    within ``horizon`` after it; see :func:`customer_health.backtest`. ``prepared``: the
    frames as :func:`~customer_health.engines.frames.checked_frames` made them and the
    ``outcomes`` read (:class:`Prepared`), by a caller that scores them more than once,
    instead of checking and reading them again (``outcomes`` is then not read)."""
    restore = frames.restorer(customers)
    if prepared is None:
        checked = frames.checked_frames(scorer.model, customers, events, columns, unknown_customers)
        prepared = Prepared(checked, outcomes, unknown_customers == "skip")
    frame, split = prepared.frame, prepared.split
    until = observed_until or _last_instant(frame, prepared.churn)
    for instant in dates:
        if instant + horizon > until:
            raise InvalidInputError(
                f"as_of {_iso(instant)} plus the horizon ({_days(horizon)}) ends at "
                f"{_iso(instant + horizon)}, after the data ends ({_iso(until)}, the last "
                "event or churn): churn after then is unknown, so the churn rate would be "
                f"too low; use an earlier {AS_OF} or a shorter horizon, or pass "
                f"{OBSERVED_UNTIL} if outcomes are known for longer"
            )
    people = prepared.people
    tables = []
    excluded: dict[datetime, dict[str, int]] = {}
    if progress is not None:
        progress(0, len(dates))
    for instant in dates:
        created = _created("created_at", instant)
        gone = _churned("churned_at", instant)
        counts = people.select(
            not_created=(~created).sum(), already_churned=(created & gone).sum()
        ).row(0, named=True)
        alive = people.filter(created & ~gone)
        if alive.height == 0:
            raise InvalidInputError(
                f"as_of {_iso(instant)}: no customer was alive then "
                f"({plural(counts['not_created'], 'customer')} not created yet, "
                f"{counts['already_churned']} churned already); backtest later dates"
            )
        scoped = prepared.alive_at(instant)
        # the churn date stays out of what the factors see (plugins get other columns
        # as attributes): scores must not know the future
        churned_at = alive.get_column("churned_at")
        alive = alive.drop("churned_at")
        table = frames.scored_frame(
            scorer.model,
            alive,
            frame,
            scoped,
            instant,
            stacklevel=5,
            split=split,
            inputs=prepared.inputs,
        )
        end = instant + horizon
        table = table.with_columns(
            churned=(churned_at.is_not_null() & (churned_at <= end)).fill_null(False),
            churned_at=churned_at,
        ).select(pl.lit(instant).alias("as_of"), pl.all())
        counts["unscored"] = table.get_column("score").null_count()
        excluded[instant] = counts
        tables.append(table)
        if progress is not None:
            progress(len(tables), len(dates))
    return Run(pl.concat(tables), excluded, prepared.skipped, until, restore)


def _iso(instant: datetime) -> str:
    return instant.isoformat() + "Z"


def _days(horizon: timedelta) -> str:
    return plural(horizon / timedelta(days=1), "day")


def _last_instant(frame: pl.DataFrame, churn: pl.DataFrame) -> datetime:
    found = [
        value
        for value in (frame.get_column("occurred_at").max(), churn.get_column("churned_at").max())
        if value is not None
    ]
    if not found:
        raise InvalidInputError("no events and no churn: there is nothing to backtest")
    return max(found)  # type: ignore[return-value]


def _outcomes(outcomes: Any, people: pl.DataFrame, skip: bool) -> tuple[pl.DataFrame, int]:
    """The checked outcomes (``id``, ``churned_at``), and how many of unknown customers
    were skipped."""
    frame = frames.to_polars(outcomes, "outcomes")
    for name in ("customer_id", "churned_at"):
        if name not in frame.columns:
            raise InvalidInputError(
                f"outcomes frame has no column {name!r} (columns: {frame.columns}); it needs "
                "customer_id and churned_at"
            )
    frame = frames.id_column(frame.select("customer_id", "churned_at"), "customer_id", "outcomes")
    frame = frames.instant_column(frame, "churned_at", "outcomes").filter(
        pl.col("customer_id").is_not_null() & pl.col("churned_at").is_not_null()
    )
    twice = frame.filter(pl.col("customer_id").is_duplicated()).get_column("customer_id")
    if twice.len():
        ids = twice.unique(maintain_order=True)
        raise InvalidInputError(
            f"outcomes have more than one churn date for {plural(ids.len(), 'customer')}: "
            f"{some(ids.head(_SHOWN).to_list(), ids.len())}; give each customer's churn once"
        )
    known = pl.col("customer_id").is_in(people.get_column("id").implode())
    strangers = frame.filter(~known)
    if strangers.height and not skip:
        ids = strangers.get_column("customer_id")
        raise UnknownCustomerError(
            f"outcomes name {plural(ids.len(), 'customer')} not in the customers frame: "
            f"{some(ids.head(_SHOWN).to_list(), ids.len())}; pass {SKIP_UNKNOWN_CUSTOMERS} "
            "to skip them"
        )
    frame = frame.filter(known).rename({"customer_id": "id"})
    early = frame.join(people.select("id", "created_at"), on="id").filter(
        pl.col("churned_at") < pl.col("created_at")
    )
    if early.height:
        shown = "; ".join(
            f"{row['id']!r} churned {_iso(row['churned_at'])}, created {_iso(row['created_at'])}"
            for row in early.head(_SHOWN).iter_rows(named=True)
        )
        more = f" and {early.height - _SHOWN} more" if early.height > _SHOWN else ""
        raise InvalidInputError(
            f"outcomes give {plural(early.height, 'customer')} a churn date before the "
            f"customer was created: {shown}{more}"
        )
    return frame, strangers.height


# -- measures -----------------------------------------------------------------------------
#
# Every measure ranks scores rounded as the status rounds them (:func:`rounded`): two
# scores that round alike are a tie, as they are for the status, whatever the order of
# the additions that made them.

_SCALE = 1e9
_SURE = 2.0**-10
"""How far from a half the scaled fraction must be for :func:`rounded` to decide it: far
more than the error of ``score * 1e9`` (at most 2**-14 below 2**40)."""
_SCALED_BOUND = 2.0**40


def rounded(scores: pl.Series) -> pl.Series:
    """``round(score, 9)`` of every score, exactly as Python rounds it (the status
    compares that with the thresholds); nulls stay null.

    Vectorised where ``score * 1e9`` is far enough from a half for its nearest integer
    ``k`` to be that of the exact product: the result is then ``k / 1e9`` correctly
    rounded, as Python's ``round`` gives it. The few scores too close to a half (and
    any not finite or too large) are rounded by Python itself.
    """
    scaled = scores.cast(pl.Float64) * _SCALE
    whole = scaled.floor()
    part = scaled - whole
    sure = ((part - 0.5).abs() > _SURE) & (scaled.abs() < _SCALED_BOUND)
    fast: pl.Series = divided(whole + (part > 0.5).cast(pl.Float64), _SCALE)
    unsure = scores.filter(~sure.fill_null(True)).drop_nulls().unique()
    if unsure.len() == 0:
        return fast.alias(scores.name)
    exact = pl.Series([round(value, 9) for value in unsure.to_list()], dtype=pl.Float64)
    slow = scores.cast(pl.Float64).replace_strict(unsure, exact, default=None)
    return pl.select(pl.when(sure).then(fast).otherwise(slow)).to_series().alias(scores.name)


def auc(score: pl.Series, churned: pl.Series) -> float | None:
    """ROC AUC of a low ``score`` predicting ``churned`` (rows with a score only): the
    chance that a churner scores below a customer who stayed, ties counting one half
    (the Mann-Whitney U over both counts). None without churners or without stayers."""
    return aucs(pl.DataFrame({"s": score, "churned": churned}), ["s"])["s"]


def aucs(
    table: pl.DataFrame, names: Sequence[str], *, rounded_already: bool = False
) -> dict[str, float | None]:
    """The :func:`auc` of each column of ``names`` against ``table``'s ``churned``, the
    columns counted side by side (``rounded_already``: they hold :func:`rounded` scores).

    Each column's rows are counted per score, churners (p) and stayers (q), and a
    churner beats the stayers scoring above it and half of those tied with it: the U
    statistic is the sum over scores of ``p * (stayers above + q / 2)``. Every term is a
    multiple of one half far below 2**53, so the sum is exact in any order: what ranking
    every row would give, without sorting them."""
    y = table.get_column("churned").alias("y")
    queries = []
    for name in names:
        score = table.get_column(name)
        s = (score if rounded_already else rounded(score)).cast(pl.Float64).alias("s")
        queries.append(
            pl.DataFrame([s, y])
            .lazy()
            .drop_nulls("s")
            .group_by("s")
            .agg(p=pl.col("y").sum(), n=pl.len())
            .sort("s", descending=True)
            .select(
                p=pl.col("p").sum(),
                n=pl.col("n").sum(),
                u=(
                    pl.col("p")
                    * ((pl.col("n") - pl.col("p")).cum_sum() - (pl.col("n") - pl.col("p")) / 2)
                ).sum(),
            )
        )
    result: dict[str, float | None] = {}
    for name, found in zip(names, pl.collect_all(queries), strict=True):
        positives = int(found.item(0, "p") or 0)
        negatives = int(found.item(0, "n") or 0) - positives
        if positives == 0 or negatives == 0:
            result[name] = None
            continue
        result[name] = float(found.item(0, "u") / (positives * negatives))
    return result


def roc_points(score: pl.Series, churned: pl.Series) -> tuple[list[float], list[float]]:
    """The ROC curve of a low score predicting churn: for each score, from the lowest, the
    share of stayers (x) and of churners (y) scoring at or below it; from (0, 0)."""
    frame = (
        pl.DataFrame({"s": rounded(score), "y": churned})
        .drop_nulls("s")
        .group_by("s")
        .agg(p=pl.col("y").sum(), n=(~pl.col("y")).sum())
        .sort("s")
    )
    positives, negatives = frame.get_column("p").sum(), frame.get_column("n").sum()
    x = [0.0] + [v / max(negatives, 1) for v in frame.get_column("n").cum_sum().to_list()]
    y = [0.0] + [v / max(positives, 1) for v in frame.get_column("p").cum_sum().to_list()]
    return x, y


def lift(score: pl.Series, churned: pl.Series) -> float | None:
    """The churn rate of the lowest-scoring tenth over the churn rate of all. Customers
    tied at the tenth's edge count in proportion (as if the tie were broken at random).
    None when nobody churned."""
    frame = (
        pl.DataFrame({"s": rounded(score), "y": churned})
        .drop_nulls("s")
        .group_by("s")
        .agg(n=pl.len(), p=pl.col("y").sum())
        .sort("s")
    )
    total = int(frame.get_column("n").sum())
    churners = int(frame.get_column("p").sum())
    if total == 0 or churners == 0:
        return None
    room = total / 10
    caught = 0.0
    for n, p in frame.select("n", "p").iter_rows():
        take = min(n, room)
        caught += p * take / n
        room -= take
        if room <= 0:
            break
    return (caught / (total / 10)) / (churners / total)


def status_rates(table: pl.DataFrame) -> dict[str, tuple[int, int]]:
    """Per status: (customers, churners), every status in order, even with nobody."""
    counts = table.group_by("status").agg(n=pl.len(), p=pl.col("churned").sum())
    found = {row[0]: (int(row[1]), int(row[2])) for row in counts.iter_rows()}
    named = {status: found.pop(status, (0, 0)) for status in _STATUSES}
    return {**named, **dict(sorted(found.items()))}


def bands(table: pl.DataFrame) -> list[tuple[int, int, float | None]]:
    """For each of the ten score bands 0-10, ..., 90-100 (100 in the last): (customers,
    churners, mean score); a customer's band is that of its rounded score."""
    ranked = rounded(table.get_column("score"))
    band = pl.min_horizontal(divided(pl.col("_ranked"), 10.0).floor().cast(pl.Int64), pl.lit(9))
    counts = (
        table.with_columns(_ranked=ranked)
        .drop_nulls("score")
        .group_by(band.alias("band"))
        .agg(n=pl.len(), p=pl.col("churned").sum(), mean=pl.col("score").mean())
    )
    found = {row[0]: (int(row[1]), int(row[2]), row[3]) for row in counts.iter_rows()}
    return [found.get(index, (0, 0, None)) for index in range(10)]


def finite(value: float | None) -> float | None:
    """``value``, or None if it is not a finite number."""
    return value if value is not None and math.isfinite(value) else None
