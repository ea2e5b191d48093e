"""Backtests and fitted weights: the measures against their definitions, the simulated
churn found, point-in-time scoring, exclusions and bad input."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta
from typing import Any

import pytest

import customer_health
from customer_health import (
    Backtest,
    InvalidInputError,
    Scorer,
    UnknownCustomerError,
    backtest,
    fit_weights,
    sample,
)

pl = pytest.importorskip("polars")
pytest.importorskip("scipy")

from customer_health.analysis._backtest_frames import auc, aucs, lift  # noqa: E402

from ..test_display import as_backend  # noqa: E402


@pytest.fixture(scope="module")
def sim() -> sample.ChurnSimulation:
    return sample.simulate_churn(1500, months=14, seed=3)


@pytest.fixture(scope="module")
def result(sim: sample.ChurnSimulation) -> Backtest:
    return backtest(
        sim.customers,
        sim.events,
        sim.outcomes,
        as_of=sim.as_of_dates,
        horizon=30,
        observed_until=sim.end,
    )


# -- the measures, against their definitions ----------------------------------------------


def pairwise_auc(scores: list[float], churned: list[bool]) -> float:
    """The O(n^2) definition: over every (churner, stayer) pair, 1 if the churner scores
    lower, 1/2 if they tie."""
    wins = 0.0
    pairs = 0
    for (s1, c1), (s2, c2) in itertools.product(zip(scores, churned, strict=True), repeat=2):
        if c1 and not c2:
            pairs += 1
            wins += 1.0 if s1 < s2 else 0.5 if s1 == s2 else 0.0
    return wins / pairs


@pytest.mark.parametrize("seed", range(8))
def test_auc_is_the_pairwise_definition_with_ties(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 60)
    scores = [float(rng.choice([0, 12.5, 40, 55, 70, 70, 100])) for _ in range(n)]
    churned = [rng.random() < 0.3 for _ in range(n)]
    churned[0], churned[1] = True, False  # both classes
    found = auc(pl.Series(scores), pl.Series(churned))
    assert found == pytest.approx(pairwise_auc(scores, churned), abs=1e-12)


def test_the_aucs_of_many_columns_at_once_are_each_column_s() -> None:
    """``aucs`` (every factor's AUC in one pass): each column's pairwise AUC over its own
    rows with a score, whatever the other columns hold; None for a column where every
    scored row churned."""
    rng = random.Random(5)
    n = 80
    churned = [rng.random() < 0.3 for _ in range(n)]
    churned[0], churned[1] = True, False
    columns: dict[str, list[float | None]] = {
        name: [
            None if rng.random() < share else float(rng.choice([0, 12.5, 40, 55, 70, 100]))
            for _ in range(n)
        ]
        for name, share in (("a", 0.0), ("b", 0.3), ("c", 0.6))
    }
    columns["d"] = [50.0 if c else None for c in churned]  # only churners scored
    table = pl.DataFrame({**columns, "churned": churned})
    found = aucs(table, list(columns))
    for name, values in columns.items():
        kept = [(v, c) for v, c in zip(values, churned, strict=True) if v is not None]
        if name == "d":
            assert found[name] is None
            continue
        want = pairwise_auc([v for v, _ in kept], [c for _, c in kept])
        assert found[name] == pytest.approx(want, abs=1e-12), name


def test_auc_of_all_ties_is_one_half_and_undefined_without_both_classes() -> None:
    assert auc(pl.Series([50.0] * 4), pl.Series([True, False, True, False])) == 0.5
    assert auc(pl.Series([10.0, 20.0]), pl.Series([True, True])) is None
    assert auc(pl.Series([10.0, 90.0]), pl.Series([True, False])) == 1.0


def test_lift_breaks_ties_at_the_edge_in_proportion() -> None:
    # 20 customers: the lowest tenth is 2 of them. Four tie at the lowest score, one of
    # whom churned: on average half a churner falls in the tenth.
    scores = [10.0] * 4 + [50.0 + i for i in range(16)]
    churned = [True, False, False, False] + [False] * 15 + [True]
    expected = (0.5 / 2) / (2 / 20)
    assert lift(pl.Series(scores), pl.Series(churned)) == pytest.approx(expected)
    assert lift(pl.Series(scores), pl.Series([False] * 20)) is None


# -- the simulation: the signal is found ---------------------------------------------------


def test_the_backtest_finds_the_planted_signal(result: Backtest, sim: Any) -> None:
    assert result.auc is not None
    assert result.auc > 0.68
    assert all(p.auc is not None and p.auc > 0.6 for p in result.periods)
    assert result.top_decile_lift is not None
    assert result.top_decile_lift > 2
    strong = [result.factor_auc[name] for name in sim.strong]
    weak = [result.factor_auc[name] for name in sim.weak]
    assert min(strong) > max(weak)  # type: ignore[type-var]
    assert abs(result.factor_auc["payment_timeliness"] - 0.5) < 0.05  # type: ignore[operator]
    rates = result.by_status
    assert rates["at_risk"].rate > 3 * rates["healthy"].rate  # type: ignore[operator]
    # few customers are critical (16 of 13,338 here): their rate is too noisy to rank
    assert rates["critical"].customers < 100 or rates["critical"].rate > rates["at_risk"].rate  # type: ignore[operator]


def test_the_measures_add_up(result: Backtest) -> None:
    assert result.customers == sum(p.customers for p in result.periods)
    assert result.churned == sum(p.churned for p in result.periods)
    assert sum(g.customers for g in result.by_status.values()) == result.customers
    assert sum(b.customers for b in result.calibration) == result.customers
    assert sum(b.churned for b in result.calibration) == result.churned
    scores = result.scores
    assert scores.height == result.customers
    assert result.auc == pytest.approx(
        auc(scores.get_column("score"), scores.get_column("churned"))
    )
    x, y = result.roc
    assert (x[0], y[0], x[-1], y[-1]) == (0.0, 0.0, 1.0, 1.0)
    # the area under the ROC steps (trapezoids: ties count half) is the AUC
    area = sum(
        (x2 - x1) * (y1 + y2) / 2 for x1, x2, y1, y2 in zip(x, x[1:], y, y[1:], strict=False)
    )
    assert area == pytest.approx(result.auc)


def test_each_as_of_is_scored_point_in_time(result: Backtest, sim: Any) -> None:
    """The scores at an as_of are score_frame's, for the customers alive then."""
    instant = sim.as_of_dates[4]
    period = result.scores.filter(pl.col("as_of") == instant.replace(tzinfo=None))
    churned_before = sim.outcomes.filter(pl.col("churned_at") <= instant.replace(tzinfo=None))
    alive = sim.customers.filter(
        pl.col("created_at") <= instant.replace(tzinfo=None),
        ~pl.col("id").is_in(churned_before.get_column("customer_id").implode()),
    )
    expected = customer_health.score_frame(
        alive, sim.events, as_of=instant, unknown_customers="skip"
    )
    assert (
        period.get_column("customer_id").to_list() == expected.get_column("customer_id").to_list()
    )
    assert period.get_column("score").to_list() == pytest.approx(
        expected.get_column("score").to_list()
    )
    stated = result.periods[4]
    assert stated.already_churned == churned_before.height
    assert (
        stated.not_created
        == sim.customers.filter(pl.col("created_at") > instant.replace(tzinfo=None)).height
    )
    assert stated.customers + stated.not_created + stated.already_churned == sim.customers.height
    end = instant.replace(tzinfo=None) + timedelta(days=30)
    churners = sim.outcomes.filter(
        pl.col("churned_at") > instant.replace(tzinfo=None), pl.col("churned_at") <= end
    )
    assert set(period.filter("churned").get_column("customer_id")) == set(
        churners.get_column("customer_id")
    )


@pytest.mark.parametrize("backend", ["pandas", "pyarrow", "duckdb"])
def test_every_backend_gives_the_same_backtest(result: Backtest, sim: Any, backend: str) -> None:
    other = backtest(
        as_backend(sim.customers, backend),
        as_backend(sim.events, backend),
        as_backend(sim.outcomes, backend),
        as_of=sim.as_of_dates[-3:],
        horizon=timedelta(days=30),
        observed_until=sim.end,
    )
    assert [p.auc for p in other.periods] == pytest.approx([p.auc for p in result.periods[-3:]])
    assert type(other.scores).__module__.split(".")[0] in (backend, "_duckdb", "duckdb")


def test_a_backtest_shows_as_html_text_and_plots(result: Backtest) -> None:
    html = result._repr_html_()
    assert "<table>" in html
    assert "AUC" in html
    assert "payment_timeliness" in html
    text = result.report()
    assert f"{result.auc:.3f}" in text
    assert text.count("\n") > 30
    assert str(result) == text
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    roc = result.plot_roc()
    assert f"AUC {result.auc:.3f}" in roc.axes[0].get_legend().get_texts()[1].get_text()
    bars = result.plot_churn_by_status()
    heights = [patch.get_height() for patch in bars.axes[0].patches]
    assert heights == pytest.approx(
        [100 * g.rate for g in result.by_status.values() if g.customers]  # type: ignore[operator]
    )
    from customer_health import plot  # a submodule: imported, not an attribute of the package

    with pytest.raises(InvalidInputError, match=r"takes the result of customer_health\.backtest"):
        plot.roc([])


# -- fitting weights ------------------------------------------------------------------------


def test_fitted_weights_beat_the_defaults_out_of_time(sim: Any) -> None:
    dates = sim.as_of_dates
    default = Scorer()
    fit = fit_weights(
        sim.customers,
        sim.events,
        sim.outcomes,
        train=dates[:5],
        validate=dates[6:],
        horizon=30,
        observed_until=sim.end,
    )
    assert fit.auc_after > fit.auc_before + 0.02  # type: ignore[operator]
    assert fit.before.auc == pytest.approx(
        backtest(
            sim.customers,
            sim.events,
            sim.outcomes,
            as_of=dates[6:],
            horizon=30,
            observed_until=sim.end,
        ).auc
    )
    weights = fit.weights
    assert all(w >= 0 for w in weights.values())
    assert sum(weights.values()) == 1.0  # exactly, in any order
    assert sum(reversed(list(weights.values()))) == 1.0
    assert fit.constant_factors == ()
    assert min(weights[n] for n in sim.strong) > max(weights[n] for n in sim.weak)
    assert fit.fingerprint != default.fingerprint == Scorer().fingerprint
    assert fit.config.weights == dict(weights)
    assert dict(customer_health.Scorer().weights) == dict(default.weights)  # defaults untouched
    # the fitted scorer scores as any scorer does: score_frame agrees with the validation scores
    instant = dates[-1]
    after = fit.after.scores.filter(pl.col("as_of") == instant.replace(tzinfo=None))
    direct = fit.scorer.score_frame(sim.customers, sim.events, as_of=instant)
    joined = after.join(direct, on="customer_id", suffix="_direct")
    assert joined.height == after.height
    assert joined.get_column("score").to_list() == pytest.approx(
        joined.get_column("score_direct").to_list()
    )
    assert "validation AUC" in fit.report()
    assert "<table>" in fit._repr_html_()


def test_proposed_thresholds_separate_churn_rates(sim: Any) -> None:
    dates = sim.as_of_dates
    fit = fit_weights(
        sim.customers,
        sim.events,
        sim.outcomes,
        train=dates[:5],
        validate=dates[6:],
        horizon=30,
        observed_until=sim.end,
        propose_thresholds=True,
    )
    train = fit.train.scores
    rescored = fit.after.scores  # fitted scorer, validation
    assert rescored.height > 0
    assert train.height > 0
    rates = fit.after.by_status
    if fit.thresholds != Scorer().thresholds:
        assert rates["critical"].rate > rates["healthy"].rate  # type: ignore[operator]


def test_validation_must_come_a_horizon_after_training(sim: Any) -> None:
    dates = sim.as_of_dates
    with pytest.raises(InvalidInputError, match="less than the horizon"):
        fit_weights(
            sim.customers,
            sim.events,
            sim.outcomes,
            train=dates[:3],
            validate=dates[3:],
            horizon=31,
            observed_until=sim.end,
        )


def test_reconfigured_scorer_keeps_the_original() -> None:
    scorer = Scorer()
    other = scorer.reconfigured(
        weights={"api_usage": 0.5}, thresholds={"healthy": 80, "at_risk": 50}
    )
    assert other.weights["api_usage"] == 0.5
    assert scorer.weights["api_usage"] == 0.25
    assert other.thresholds.healthy == 80
    assert scorer.thresholds.healthy == 70
    assert other.fingerprint != scorer.fingerprint
    assert other.factors == scorer.factors


# -- exclusions and bad input -----------------------------------------------------------------

CUSTOMERS = [
    {"id": "a", "segment": "smb", "created_at": "2026-01-01"},
    {"id": "b", "segment": "smb", "created_at": "2026-01-01"},
    {"id": "late", "segment": "smb", "created_at": "2026-05-15"},
]


def frames(outcomes: list[dict[str, Any]]) -> tuple[Any, Any, Any]:
    events = pl.DataFrame(
        {
            "customer_id": ["a", "b", "a", "b"],
            "kind": ["login"] * 4,
            "occurred_at": ["2026-04-20", "2026-04-21", "2026-06-29", "2026-06-29"],
        }
    )
    return (
        pl.DataFrame(CUSTOMERS),
        events,
        pl.DataFrame(outcomes, schema={"customer_id": pl.String, "churned_at": pl.String}),
    )


def test_customers_churned_or_not_created_are_left_out_and_counted() -> None:
    customers, events, outcomes = frames(
        [{"customer_id": "b", "churned_at": "2026-04-25"}, {"customer_id": "a", "churned_at": None}]
    )
    found = backtest(customers, events, outcomes, as_of=["2026-04-22", "2026-05-01"], horizon=30)
    first, second = found.periods
    assert (first.customers, first.churned, first.not_created, first.already_churned) == (
        2,
        1,
        1,
        0,
    )
    assert (second.customers, second.churned, second.not_created, second.already_churned) == (
        1,
        0,
        1,
        1,
    )
    assert "left out: 1 not created, 1 churned before" in found.report()


@pytest.mark.parametrize(
    ("outcomes", "kwargs", "error", "message"),
    [
        ([{"customer_id": "zz", "churned_at": "2026-05-01"}], {}, UnknownCustomerError, "'zz'"),
        (
            [{"customer_id": "a", "churned_at": "2025-12-01"}],
            {},
            InvalidInputError,
            "before the customer was created: 'a' churned 2025-12-01",
        ),
        ([], {"as_of": "2025-06-01"}, InvalidInputError, "no customer was alive"),
        ([], {"as_of": "2026-06-15"}, InvalidInputError, "after the data ends"),
        (
            [{"customer_id": "a", "churned_at": "2026-05-01"}] * 2,
            {},
            InvalidInputError,
            "more than one churn date for 1 customer: 'a'",
        ),
        ([], {"horizon": 0}, InvalidInputError, "longer than zero"),
        ([], {"horizon": "30d"}, InvalidInputError, "number of days"),
        ([], {"as_of": []}, InvalidInputError, "as_of= is empty"),
        ([], {"as_of": ["2026-05-01", "2026-05-01"]}, InvalidInputError, "more than once"),
        ([], {"unknown_customers": "maybe"}, Exception, "use 'error' or 'skip'"),
    ],
)
def test_bad_input_is_an_error_naming_it(
    outcomes: list[dict[str, Any]], kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    customers, events, frame = frames(outcomes)
    arguments: dict[str, Any] = {"as_of": "2026-05-01", "horizon": 30, **kwargs}
    with pytest.raises(error, match=message.replace("(", r"\(")):
        backtest(customers, events, frame, **arguments)


def test_outcomes_of_unknown_customers_can_be_skipped_and_are_counted() -> None:
    customers, events, outcomes = frames([{"customer_id": "zz", "churned_at": "2026-05-01"}])
    found = backtest(
        customers, events, outcomes, as_of="2026-05-01", horizon=30, unknown_customers="skip"
    )
    assert found.skipped_outcomes == 1
    assert found.churned == 0


def test_outcomes_need_their_columns() -> None:
    customers, events, _ = frames([])
    with pytest.raises(InvalidInputError, match="no column 'churned_at'"):
        backtest(
            customers, events, pl.DataFrame({"customer_id": ["a"]}), as_of="2026-05-01", horizon=30
        )


def test_observed_until_allows_a_horizon_past_the_last_event() -> None:
    customers, events, outcomes = frames([])
    found = backtest(
        customers, events, outcomes, as_of="2026-06-15", horizon=30, observed_until="2026-07-15"
    )
    assert found.periods[0].churned == 0
    assert found.churn_rate == 0
    assert found.auc is None
    assert found.top_decile_lift is None
    assert "AUC –" in found.report()


def test_a_factor_the_same_for_everyone_gets_weight_0(sim: Any) -> None:
    """Without any payment, payment_timeliness has no data for every customer: one value
    that cannot tell churners apart. Its weight is 0 and the fit says why."""
    dates = sim.as_of_dates
    no_payments = sim.events.filter(pl.col("kind") != "payment")
    fit = fit_weights(
        sim.customers,
        no_payments,
        sim.outcomes,
        train=dates[:5],
        validate=dates[6:],
        horizon=30,
        observed_until=sim.end,
    )
    assert fit.constant_factors == ("payment_timeliness",)
    assert fit.weights["payment_timeliness"] == 0
    assert sum(fit.weights.values()) == 1.0
    line = next(line for line in fit.report().splitlines() if "payment_timeliness" in line)
    assert line.endswith("(the same for every customer: weight 0)")


def test_a_constant_score_is_left_out_of_the_regression() -> None:
    """A factor with one score on every row (not only none) would be confounded with the
    intercept: it gets weight 0, whatever the optimiser would make of it."""
    from customer_health.analysis._backtest import _fitted

    rng = random.Random(7)
    rows = []
    for _ in range(400):
        risk = rng.random()
        rows.append(
            {
                "signal": 100 * (1 - risk),
                "noise": 100 * rng.random(),
                "flat": 37.5,
                "churned": rng.random() < risk,
            }
        )
    weights, constant = _fitted(pl.DataFrame(rows), ["signal", "noise", "flat"])
    assert constant == ("flat",)
    assert weights["flat"] == 0
    assert weights["signal"] > weights["noise"]
    assert sum(weights.values()) == 1.0


@pytest.mark.parametrize("seed", range(20))
def test_rounded_weights_sum_to_exactly_one(seed: int) -> None:
    """Any shares (zeros too) become weights within 1/65,536 of them that sum to exactly
    1.0 whichever way they are added up; a zero share stays zero."""
    import math

    from customer_health.analysis._backtest import _summing_to_one

    rng = random.Random(seed)
    raw = [rng.random() ** 3 * (rng.random() < 0.8) for _ in range(rng.randint(1, 9))]
    raw[0] += 1e-3  # one at least is positive
    shares = {f"f{i}": value / sum(raw) for i, value in enumerate(raw)}
    weights = _summing_to_one(shares)
    values = list(weights.values())
    assert sum(values) == math.fsum(values) == sum(reversed(values)) == 1.0
    assert all(abs(weights[name] - share) <= 2**-16 for name, share in shares.items())
    assert all(weights[name] == 0 for name, share in shares.items() if share == 0)


def test_backtest_and_fit_weights_report_their_progress(sim: Any) -> None:
    """progress hears (0, n) once the frames are checked, then each date scored."""
    dates = sim.as_of_dates
    heard: list[tuple[int, int]] = []
    backtest(
        sim.customers,
        sim.events,
        sim.outcomes,
        as_of=dates[-3:],
        horizon=30,
        observed_until=sim.end,
        progress=lambda done, total: heard.append((done, total)),
    )
    assert heard == [(0, 3), (1, 3), (2, 3), (3, 3)]
    heard.clear()
    fit_weights(
        sim.customers,
        sim.events,
        sim.outcomes,
        train=dates[:5],
        validate=dates[6:],
        horizon=30,
        observed_until=sim.end,
        progress=lambda done, total: heard.append((done, total)),
    )
    total = len(dates[:5]) + len(dates[6:])
    assert heard == [(done, total) for done in range(total + 1)]
