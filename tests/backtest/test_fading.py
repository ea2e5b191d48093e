"""Customers who fade out before they leave (issue 17, point 4): ``simulate_churn``'s
``fading`` option, where recency and trend matter; the default simulation unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from customer_health import InvalidInputError, Scorer, backtest, sample

pl = pytest.importorskip("polars")
pytest.importorskip("scipy")

SIZE = {"n_customers": 600, "months": 10, "seed": 7}
DAY = pl.duration(days=1)


@pytest.fixture(scope="module")
def plain() -> sample.ChurnSimulation:
    return sample.simulate_churn(**SIZE)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fading() -> sample.ChurnSimulation:
    return sample.simulate_churn(**SIZE, fading=1.0)  # type: ignore[arg-type]


def _events_of(sim: sample.ChurnSimulation, ids: Any) -> Any:
    return sim.events.filter(pl.col("customer_id").is_in(ids)).sort(pl.all())


def test_fading_leaves_everything_else_as_it_was(
    plain: sample.ChurnSimulation, fading: sample.ChurnSimulation
) -> None:
    """The same customers, churn dates and dates; the customers who do not fade keep
    every event; those who fade keep some of theirs and gain none."""
    assert fading.customers.equals(plain.customers)
    assert fading.outcomes.equals(plain.outcomes)
    assert fading.as_of_dates == plain.as_of_dates
    faded = fading.faded
    assert plain.faded.len() == 0
    assert sorted(faded) == sorted(plain.outcomes["customer_id"])  # fading=1: every churner
    others = plain.customers.filter(~pl.col("id").is_in(faded.implode()))["id"]
    assert _events_of(fading, others.implode()).equals(_events_of(plain, others.implode()))
    kept = _events_of(fading, faded.implode())
    before = _events_of(plain, faded.implode())
    assert 0 < kept.height < before.height
    assert kept.join(before, on=kept.columns, how="anti", nulls_equal=True).height == 0
    half = sample.simulate_churn(**SIZE, fading=0.5)  # type: ignore[arg-type]
    assert 0.3 < half.faded.len() / plain.outcomes.height < 0.7
    assert set(half.faded) <= set(faded)


def _last_month_against_the_one_before(sim: sample.ChurnSimulation) -> tuple[int, int, float]:
    """Over the churners: their events in the 30 days before leaving, in the 30 days
    before those, and the mean days from their last event to leaving."""
    joined = sim.events.join(sim.outcomes, on="customer_id")
    before = (pl.col("churned_at") - pl.col("occurred_at")) / DAY
    last = pl.col("occurred_at").max().over("customer_id")
    found = joined.select(
        recent=(before <= 30).sum(),
        earlier=((before > 30) & (before <= 60)).sum(),
        gap=((pl.col("churned_at") - last) / DAY).mean(),
    ).row(0)
    return found[0], found[1], found[2]


def test_fading_customers_slow_down_and_go_quiet(
    plain: sample.ChurnSimulation, fading: sample.ChurnSimulation
) -> None:
    recent, earlier, gap = _last_month_against_the_one_before(fading)
    recent_plain, earlier_plain, gap_plain = _last_month_against_the_one_before(plain)
    assert recent < 0.5 * earlier  # a straight line from 1 to 0 over 60 days: about 1/3
    assert recent_plain > 0.7 * earlier_plain  # without fading, no such fall
    assert gap > 2 * gap_plain


def test_model_v2_finds_the_fading_customers(
    plain: sample.ChurnSimulation, fading: sample.ChurnSimulation
) -> None:
    """Model v2's own factors (recency and trend of any event) carry more signal when
    churners fade out, and v2 ranks the fading churners better than v1 does."""
    found = {}
    for label, sim in (("plain", plain), ("fading", fading)):
        for model in ("v1", "v2"):
            found[label, model] = backtest(
                sim.customers,
                sim.events,
                sim.outcomes,
                as_of=sim.as_of_dates,
                horizon=30,
                observed_until=sim.end,
                scorer=Scorer(entry_points=False, model=model),
            )
    for name in ("last_seen", "activity_trend"):
        with_fading = found["fading", "v2"].factor_auc[name]
        without = found["plain", "v2"].factor_auc[name]
        assert with_fading is not None, name
        assert without is not None, name
        assert with_fading > without + 0.08, (name, with_fading, without)
    assert "last_seen" not in found["fading", "v1"].factor_auc
    v1, v2 = found["fading", "v1"].auc, found["fading", "v2"].auc
    assert v1 is not None
    assert v2 is not None
    assert v2 > v1, (v1, v2)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"fading": 1.5}, r"fading=1.5; it must be a number from 0 to 1"),
        ({"fading": True}, r"fading=True"),
        ({"fade_days": 0}, r"fade_days=0; it must be a number of days from 1 to the 150"),
        ({"fade_days": "60"}, r"fade_days='60'"),
    ],
)
def test_bad_fading_options_are_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        sample.simulate_churn(20, months=5, **options)
