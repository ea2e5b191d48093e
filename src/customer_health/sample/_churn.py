"""The churn simulation (numpy and polars): customers whose behaviour drives
whether they leave, for backtests (:func:`simulate_churn`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from .._inputs import resolve_as_of
from .._time import DAY_US
from ..exceptions import InvalidInputError, MissingExtraError
from ..segments import BUILTIN_SEGMENTS

if TYPE_CHECKING:
    from numpy.random import Generator
    from numpy.typing import NDArray
from .._event_schema import INSTANT_FIELDS
from ._columns import _labels, _numpy
from ._common import (
    DEFAULT_AS_OF,
    EVENT_COLUMNS,
    FEATURES,
    MEAN_PRIORITY_WEIGHT,
    PRIORITIES,
    PRIORITY_SHARES,
    SEGMENT_SHARES,
    SEGMENTS,
)

# -- the churn simulation (numpy and polars) ------------------------------------------

STRONG_FACTORS: Final = ("login_frequency", "feature_adoption")
"""The factors whose behaviour drives churn strongly in :func:`simulate_churn`."""
WEAK_FACTORS: Final = ("api_usage", "support_tickets")
"""The factors whose behaviour drives churn weakly in :func:`simulate_churn`;
``payment_timeliness`` does not drive it at all."""
CHURN_EFFECTS: Final[Mapping[str, float]] = {
    "api_usage": 0.3,
    "login_frequency": 1.2,
    "payment_timeliness": 0.0,
    "feature_adoption": 1.2,
    "support_tickets": 0.3,
}
"""The planted truth of :func:`simulate_churn`: how much one standard deviation less
of the behaviour each factor measures adds to the log-odds of churning next month."""
PERIOD_DAYS: Final = 30
"""The length of a simulated month, in days: the simulation's ``as_of`` dates are this
far apart, and a usage factor's 30-day window covers exactly one such month."""
_CHURN_BASE: Final = -5.0  # log-odds of churning in a month at average behaviour
_PERSISTENCE: Final = 0.7  # how much of a month's behaviour carries over to the next
_FACTOR_ORDER: Final = tuple(CHURN_EFFECTS)


@dataclass(frozen=True)
class ChurnSimulation:
    """Customers, their events and who churned when, from :func:`simulate_churn`.

    The three frames are polars DataFrames, ready for
    :func:`customer_health.backtest` (``.to_pandas()``, ``.to_arrow()`` for the other
    backends).
    """

    customers: Any
    """``id``, ``segment`` and ``created_at`` (UTC, without a zone)."""
    events: Any
    """``customer_id``, ``kind``, ``occurred_at`` and the fields of the built-in kinds
    (null where a kind has no such field); no event ids, no custom kinds."""
    outcomes: Any
    """``customer_id`` and ``churned_at``: one row per customer who churned before
    :attr:`end`. Nobody makes events after churning."""
    as_of_dates: tuple[datetime, ...]
    """The instants to backtest at: every :data:`PERIOD_DAYS` days, from the fourth
    simulated month to one month before :attr:`end`."""
    end: datetime
    """The last instant simulated: events and churn are known up to it."""
    churn_effects: Mapping[str, float] = field(default_factory=lambda: dict(CHURN_EFFECTS))
    """The planted truth, as :data:`CHURN_EFFECTS`."""
    fading: float = 0.0
    """The share of churning customers whose activity faded before they left."""
    fade_days: float = 60.0
    """How long before leaving a fading customer's activity starts to fade."""
    faded: Any = None
    """The ids of the customers whose activity faded (a polars Series; empty without
    ``fading``)."""

    @property
    def strong(self) -> tuple[str, ...]:
        """The factors that drive churn strongly (:data:`STRONG_FACTORS`)."""
        return STRONG_FACTORS

    @property
    def weak(self) -> tuple[str, ...]:
        """The factors that drive churn weakly (:data:`WEAK_FACTORS`)."""
        return WEAK_FACTORS


def simulate_churn(
    n_customers: int = 2_000,
    *,
    months: int = 15,
    end: datetime | date | str = DEFAULT_AS_OF,
    seed: int = 0,
    fading: float = 0.0,
    fade_days: float = 60.0,
) -> ChurnSimulation:
    """Simulate a portfolio over ``months`` months in which churn has a known cause.

    Needs numpy and polars (the ``backtest`` extra). A month is :data:`PERIOD_DAYS`
    days; the last one ends at ``end``. Each customer has, for each built-in factor, a
    level of the behaviour it measures (API calls, login days, payment delays, distinct
    features, ticket load), which drifts from month to month. At the end of each month
    a customer churns, some time in the next month, with log-odds
    ``-5 + sum(effect * shortfall)``: ``shortfall`` is how many standard deviations the
    behaviour was below average that month, ``effect`` is :data:`CHURN_EFFECTS`
    (strong for :data:`STRONG_FACTORS`, weak for :data:`WEAK_FACTORS`, none for
    ``payment_timeliness``). About 3% of the customers churn each month. A fifth of
    the customers are created during the period. Deterministic for a seed (and a numpy
    version); two thousand customers over 15 months make about half a million events.

    ``fading`` (0 to 1) is the share of churning customers who fade out before they
    leave, as customers often do: over the ``fade_days`` before a fading customer's
    churn date, each of its events is kept with a chance that falls in a straight line
    from 1 to 0, so that its activity declines month on month (what a trend factor
    sees) and its last event comes days before it leaves (what a recency factor sees).
    Which customers fade, and which of their events are dropped, is drawn apart from
    everything else: at the default 0 the simulation is what it was, draw for draw, and
    with ``fading`` the other customers' events are the same as without it.
    """
    for label, value, low in (("n_customers", n_customers, 1), ("months", months, 5)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidInputError(f"{label}={value!r}; it must be an integer >= {low}")
    if isinstance(fading, bool) or not isinstance(fading, int | float) or not 0 <= fading <= 1:
        raise InvalidInputError(f"fading={fading!r}; it must be a number from 0 to 1")
    if (
        isinstance(fade_days, bool)
        or not isinstance(fade_days, int | float)
        or not 1 <= fade_days <= PERIOD_DAYS * months
    ):
        raise InvalidInputError(
            f"fade_days={fade_days!r}; it must be a number of days from 1 to the "
            f"{PERIOD_DAYS * months} simulated"
        )
    _numpy()
    try:
        import polars as pl
    except ImportError:
        raise MissingExtraError("polars", "backtest", "simulate_churn()") from None
    import numpy as np

    rng = np.random.default_rng(seed)
    last = resolve_as_of(end).replace(tzinfo=None)
    start = last - timedelta(days=PERIOD_DAYS * months)
    base = np.datetime64(start, "us")
    month_us = PERIOD_DAYS * DAY_US
    segment = rng.choice(3, n_customers, p=SEGMENT_SHARES)
    created_days = rng.uniform(-720.0, -30.0, n_customers)
    later = rng.random(n_customers) < 0.2
    created_days[later] = rng.uniform(0.0, PERIOD_DAYS * (months - 2), int(later.sum()))
    created_us = (created_days * 86_400).astype(np.int64) * 1_000_000  # whole seconds
    levels = _levels(rng, n_customers, months)
    churn_us = _churn(rng, levels, created_us, months, month_us)
    ids = _labels("c", np.arange(n_customers), max(6, len(str(n_customers - 1))))
    kinds = _simulated_events(rng, levels, segment, months, month_us)
    # Fading draws from a stream of its own, so that the rest is drawn as without it.
    fades = np.random.default_rng([seed, 1])
    churned = np.flatnonzero(churn_us <= months * month_us)
    fade = np.zeros(n_customers, dtype=bool)
    if fading:
        fade[churned[fades.random(churned.size) < fading]] = True
    fade_us = int(fade_days * DAY_US)
    rows = []
    for kind, columns in kinds.items():
        owner, at = columns.pop("owner"), columns["occurred_at"]
        alive = (at > created_us[owner]) & (at <= churn_us[owner]) & (at <= months * month_us)
        if fading:
            # kept with a chance falling from 1 at fade_days before churning to 0 at it
            left = (churn_us[owner] - at) / fade_us
            alive &= ~fade[owner] | (left >= 1) | (fades.random(at.size) < left)
        frame = {"customer_id": owner[alive], "kind": kind}
        frame.update({name: values[alive] for name, values in columns.items()})
        rows.append(pl.DataFrame(frame))
    instants = [name for name in INSTANT_FIELDS if name in EVENT_COLUMNS]
    offsets = [pl.col(name).cast(pl.Duration("us")) for name in instants]
    events = (
        pl.concat(rows, how="diagonal_relaxed")
        .with_columns(
            customer_id=pl.lit(pl.Series(ids)).gather(pl.col("customer_id")),
            **{name: pl.lit(base) + off for name, off in zip(instants, offsets, strict=True)},
        )
        .select(*(name for name in EVENT_COLUMNS if name != "event_id"))
    )
    outcomes = pl.DataFrame(
        {"customer_id": ids[churned], "churned_at": base + churn_us[churned].astype("m8[us]")}
    ).sort("churned_at", "customer_id")
    customers = pl.DataFrame(
        {
            "id": ids,
            "segment": np.array(SEGMENTS)[segment],
            "created_at": base + created_us.astype("m8[us]"),
        }
    )
    dates = tuple(
        (start + timedelta(days=PERIOD_DAYS * k)).replace(tzinfo=UTC) for k in range(3, months)
    )
    return ChurnSimulation(
        customers,
        events,
        outcomes,
        dates,
        last.replace(tzinfo=UTC),
        fading=float(fading),
        fade_days=float(fade_days),
        faded=pl.Series("id", ids[fade], dtype=pl.String),
    )


def _levels(rng: Generator, n: int, months: int) -> NDArray[Any]:
    """Each customer's behaviour per factor and month, in standard deviations above the
    average (shape customers x factors x months): each month keeps some of the last."""
    import numpy as np

    levels = np.empty((n, len(_FACTOR_ORDER), months))
    levels[:, :, 0] = rng.standard_normal((n, len(_FACTOR_ORDER)))
    fresh = math.sqrt(1 - _PERSISTENCE**2)
    for month in range(1, months):
        noise = rng.standard_normal((n, len(_FACTOR_ORDER)))
        levels[:, :, month] = _PERSISTENCE * levels[:, :, month - 1] + fresh * noise
    return levels


def _churn(
    rng: Generator, levels: NDArray[Any], created: NDArray[Any], months: int, month_us: int
) -> NDArray[Any]:
    """When each customer churns, in microseconds from the start (past the end: never)."""
    import numpy as np

    n = levels.shape[0]
    effects = np.array([CHURN_EFFECTS[name] for name in _FACTOR_ORDER])
    odds = _CHURN_BASE - np.einsum("f,nfm->nm", effects, levels)
    draws = rng.random((n, months)) < 1 / (1 + np.exp(-odds))
    # a customer can churn after a month it existed in, and not before its creation
    ends = (np.arange(months) + 1) * month_us
    draws &= created[:, None] < ends[None, :]
    churn = np.full(n, np.iinfo(np.int64).max // 2, dtype=np.int64)
    first = draws.argmax(axis=1)
    hit = draws[np.arange(n), first]
    into = np.asarray(rng.random(n) * month_us).astype(np.int64) + 1
    churn[hit] = ends[first[hit]] + into[hit]
    return churn


def _share(level: NDArray[Any], mean: float, spread: float, low: float, high: float) -> Any:
    import numpy as np

    return np.clip(mean + spread * level, low, high)


def _simulated_events(
    rng: Generator, levels: NDArray[Any], segment: NDArray[Any], months: int, month_us: int
) -> dict[str, dict[str, Any]]:
    """Every customer's events of each built-in kind, month by month, as columns; instants
    in microseconds from the start (who is alive when is applied by the caller)."""
    import numpy as np

    n = levels.shape[0]
    cells = np.arange(n * months)
    owner_of, month_of = cells // months, cells % months
    level = {name: levels[:, i, :].reshape(-1) for i, name in enumerate(_FACTOR_ORDER)}
    seg = segment[owner_of]
    wanted = {
        key: np.array([BUILTIN_SEGMENTS[s][key] for s in SEGMENTS])[seg]
        for key in ("api_calls_30d", "login_days_30d", "features_30d", "tickets_90d")
    }
    day = DAY_US
    month_start = month_of.astype(np.int64) * month_us
    found: dict[str, dict[str, Any]] = {}

    # logins: each day of the month with a chance set by the login level
    chance = np.minimum(
        1.0, _share(level["login_frequency"], 0.75, 0.3, 0.03, 1.3) * wanted["login_days_30d"] / 30
    )
    cell, day_no = np.nonzero(rng.random((cells.size, PERIOD_DAYS)) < chance[:, None])
    at = month_start[cell] + day_no * day + (rng.random(cell.size) * day).astype(np.int64) + 1
    found["login"] = {"owner": owner_of[cell], "occurred_at": at}

    # API calls: a few events a month that add up to the calls of the API level
    calls = _share(level["api_usage"], 0.8, 0.3, 0.03, 1.6) * wanted["api_calls_30d"]
    count = 1 + rng.poisson(2.0, cells.size)
    cell = np.repeat(cells, count)
    per_event = calls * rng.uniform(0.8, 1.2, cells.size) / count
    found["api_call"] = {
        "owner": owner_of[cell],
        "occurred_at": month_start[cell] + (rng.random(cell.size) * month_us).astype(np.int64) + 1,
        "quantity": np.maximum(1, np.rint(per_event[cell])).astype(np.int64),
    }

    # features: the level sets how many distinct ones; most are used each month
    pool = np.rint(
        _share(level["feature_adoption"], 0.75, 0.3, 0.0, 1.5) * wanted["features_30d"]
    ).astype(np.int64)
    pool = np.minimum(pool, len(FEATURES))
    cell = np.repeat(cells, pool)
    rank = np.arange(cell.size) - np.repeat(np.cumsum(pool) - pool, pool)
    used = rng.random(cell.size) < 0.9
    cell, rank = cell[used], rank[used]
    first_feature = np.asarray(rng.integers(0, len(FEATURES), n))[owner_of[cell]]
    found["feature_used"] = {
        "owner": owner_of[cell],
        "occurred_at": month_start[cell] + (rng.random(cell.size) * month_us).astype(np.int64) + 1,
        "feature": np.array(FEATURES)[(first_feature + rank) % len(FEATURES)],
    }

    # invoices: one a month, due mid-month, paid as late as the payment level says
    due = month_start + 15 * day
    late = _share(level["payment_timeliness"], 6.0, -9.0, -5.0, 60.0)
    late = late + rng.normal(0.0, 2.0, cells.size)
    paid = (due + late * day).astype("m8[us]").astype(np.int64)
    paid_at = paid.astype("m8[us]")
    paid_at[(late > 30) & (rng.random(cells.size) < 0.3)] = np.timedelta64("NaT", "us")
    found["payment"] = {
        "owner": owner_of,
        "occurred_at": due - 14 * day + rng.integers(8, 18, cells.size) * 3_600_000_000,
        "due_at": due,
        "paid_at": paid_at,
        "amount": np.round(rng.uniform(100.0, 5_000.0, cells.size), 2),
    }

    # tickets: as many as the ticket level says, most resolved within days
    load = _share(level["support_tickets"], 0.9, -0.45, 0.05, 3.0) * wanted["tickets_90d"] / 3
    cell = np.repeat(cells, rng.poisson(load / MEAN_PRIORITY_WEIGHT))
    opened = month_start[cell] + (rng.random(cell.size) * month_us).astype(np.int64) + 1
    resolved = (opened + rng.uniform(0.05, 10.0, cell.size) * day).astype(np.int64)
    resolved_at = resolved.astype("m8[us]")
    resolved_at[rng.random(cell.size) < 0.2] = np.timedelta64("NaT", "us")
    found["support_ticket"] = {
        "owner": owner_of[cell],
        "occurred_at": opened,
        "priority": np.array(PRIORITIES)[rng.choice(4, cell.size, p=PRIORITY_SHARES)],
        "resolved_at": resolved_at,
    }
    return found
