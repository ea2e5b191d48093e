"""fit(): a model proposed from the data, validated out of time with bootstrap intervals
(issue 18). The simulation's fading customers are what recency and trend see, so a fit
from model v1 must find a real gain there; on labels drawn at random it must not claim
one."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from html import escape
from pathlib import Path
from typing import Any

import pytest

from customer_health import InvalidInputError, ModelFit, Scorer, fit, sample

pytestmark = pytest.mark.slow  # fits on a simulation: the main session only

pl = pytest.importorskip("polars")
pytest.importorskip("scipy")

from customer_health.analysis import _fit  # noqa: E402
from customer_health.analysis._backtest_frames import auc, lift  # noqa: E402

HORIZON = 60


@pytest.fixture(scope="module")
def sim() -> sample.ChurnSimulation:
    return sample.simulate_churn(1500, months=14, seed=3, fading=1.0)


def dates(sim: sample.ChurnSimulation) -> dict[str, Any]:
    d = sim.as_of_dates
    return {"train": d[:5], "validate": d[7:9], "horizon": HORIZON}


@pytest.fixture(scope="module")
def fitted(sim: sample.ChurnSimulation) -> ModelFit:
    return fit(
        sim.customers,
        sim.events,
        sim.outcomes,
        start=Scorer(model="v1"),
        observed_until=sim.end,
        resamples=400,
        **dates(sim),
    )


def test_a_fit_finds_the_fading_customers_and_its_interval_shows_the_gain_is_real(
    fitted: ModelFit,
) -> None:
    assert fitted.auc.after is not None
    assert fitted.auc.before is not None
    assert fitted.auc.after > fitted.auc.before
    assert fitted.auc.low is not None
    assert fitted.auc.high is not None
    assert 0 < fitted.auc.low < fitted.auc.difference < fitted.auc.high  # type: ignore[operator]
    assert fitted.gain_is_real
    assert "predicts churn better out of time" in fitted.verdict()
    # the fitted model uses some of the factors made from the kinds in the data
    made = [name for name in fitted.weights if name.startswith(("recency_", "trend_"))]
    assert made


def test_the_candidates_are_the_start_factors_and_each_type_over_each_kind(
    sim: sample.ChurnSimulation, fitted: ModelFit
) -> None:
    kinds = sorted(set(sim.events.get_column("kind").to_list()))
    made = [f"{kind_type}_{kind}" for kind in kinds for kind_type in ("recency", "rate", "trend")]
    assert fitted.candidates == (*Scorer(model="v1").factors, *made, "tenure")


def backtest_of(sim: sample.ChurnSimulation, model: Scorer, which: str) -> Any:
    """A backtest of ``model`` on the ``train`` or ``validate`` dates of :func:`dates`."""
    from customer_health import backtest

    return backtest(
        sim.customers,
        sim.events,
        sim.outcomes,
        as_of=dates(sim)[which],
        horizon=HORIZON,
        scorer=model,
        observed_until=sim.end,
    )


def assert_measured_as_backtests(sim: sample.ChurnSimulation, found: ModelFit) -> None:
    """The start model's and the proposal's validation measures are a backtest's."""
    for model, measured in ((found.start, found.before), (found.scorer, found.after)):
        again = backtest_of(sim, model, "validate")
        assert again.auc == pytest.approx(measured.auc, abs=1e-12)
        assert again.top_decile_lift == pytest.approx(measured.top_decile_lift, abs=1e-12)


def test_the_measures_are_those_of_a_backtest_of_each_model(
    sim: sample.ChurnSimulation, fitted: ModelFit
) -> None:
    assert_measured_as_backtests(sim, fitted)
    assert fitted.auc.before == fitted.before.auc
    assert fitted.auc.after == fitted.after.auc
    # the proposal's measures on the training dates, its factors' AUCs included
    trained = backtest_of(sim, fitted.scorer, "train")
    assert trained.auc == pytest.approx(fitted.train.auc, abs=1e-12)
    assert set(trained.factor_auc) == set(fitted.train.factor_auc)
    for name, value in trained.factor_auc.items():
        assert value == pytest.approx(fitted.train.factor_auc[name], abs=1e-12), name
        assert fitted.train.factor_auc[name] == fitted.training_auc[name]


def test_the_weights_are_non_negative_and_sum_to_exactly_one_in_scoring_order(
    fitted: ModelFit,
) -> None:
    weights = list(fitted.weights.values())
    assert all(w > 0 for w in weights)
    total = 0.0
    for w in weights:
        total += w
    assert total == 1.0
    assert list(fitted.weights) == list(fitted.scorer.factors)
    # every candidate is either used or left out with a reason
    left = {item.factor for item in fitted.left_out}
    assert set(fitted.candidates) <= set(fitted.weights) | left


def stayers_medians(sim: sample.ChurnSimulation, kinds: set[str], train: Any) -> dict[str, float]:
    """The reference: per segment, the median days since the last event of ``kinds``
    of the customers alive at each training date and not churning within the horizon,
    in plain Python."""
    events = sim.events.filter(pl.col("kind").is_in(sorted(kinds)))
    seen_by: dict[str, list[Any]] = {}
    for cid, at in events.select("customer_id", "occurred_at").iter_rows():
        seen_by.setdefault(cid, []).append(at)
    churn = dict(sim.outcomes.iter_rows())
    segments = dict(sim.customers.select("id", "segment").iter_rows())
    created = dict(sim.customers.select("id", "created_at").iter_rows())
    values: dict[str, list[float]] = {}
    for as_of in train:
        instant = as_of.replace(tzinfo=None)
        for cid, segment in segments.items():
            born = created[cid]
            gone = churn.get(cid)
            if (born is not None and born > instant) or (gone is not None and gone <= instant):
                continue
            if gone is not None and gone <= instant + timedelta(days=HORIZON):
                continue  # churned within the horizon: not a customer who stayed
            seen = [at for at in seen_by.get(cid, []) if at <= instant]
            if seen:
                values.setdefault(segment, []).append((instant - max(seen)) / timedelta(days=1))
    assert values
    medians = {}
    for segment, found in values.items():
        found.sort()
        middle = len(found) // 2
        median = found[middle] if len(found) % 2 else (found[middle - 1] + found[middle]) / 2
        medians[segment] = max(1, math.ceil(median))
    return medians


def test_expectations_are_the_median_of_the_customers_who_stayed(
    sim: sample.ChurnSimulation, fitted: ModelFit
) -> None:
    name = next(n for n in fitted.candidates if n.startswith("recency_") and n in fitted.weights)
    expected = stayers_medians(sim, {name.removeprefix("recency_")}, dates(sim)["train"])
    assert {segment: values[name] for segment, values in fitted.expectations.items()} == expected


def test_the_start_model_s_factors_made_from_a_type_get_expectations_from_the_data_too(
    sim: sample.ChurnSimulation,
) -> None:
    # model v2's last_seen is a recency over the usage kinds: its expectation is fitted;
    # model v1's five keep theirs
    found = fit(
        sim.customers,
        sim.events,
        sim.outcomes,
        observed_until=sim.end,
        resamples=100,
        types=(),
        **dates(sim),
    )
    usage = {"login", "feature_used", "api_call"}
    medians = stayers_medians(sim, usage, dates(sim)["train"])
    assert found.candidates == tuple(Scorer().factors)
    assert {segment: values["last_seen"] for segment, values in found.expectations.items()} == (
        medians
    )
    if "last_seen" in found.weights:
        for segment, value in medians.items():
            assert found.scorer.config.expectations[segment]["last_seen"] == value
    assert all(set(values) == {"last_seen"} for values in found.expectations.values())
    # the start model is measured with its own expectations, the proposal with the new
    assert_measured_as_backtests(sim, found)


def test_the_model_file_round_trips_to_the_same_fingerprint(
    fitted: ModelFit, tmp_path: Path
) -> None:
    path = tmp_path / "fitted.toml"
    fitted.to_file(path)
    again = Scorer.from_file(path)
    assert again.fingerprint == fitted.scorer.fingerprint
    assert again.config == fitted.scorer.config


def test_the_same_data_and_seed_give_the_same_fit(
    sim: sample.ChurnSimulation, fitted: ModelFit
) -> None:
    same = fit(
        sim.customers,
        sim.events,
        sim.outcomes,
        start=Scorer(model="v1"),
        observed_until=sim.end,
        resamples=400,
        **dates(sim),
    )
    assert same.scorer.fingerprint == fitted.scorer.fingerprint
    assert (same.auc, same.lift) == (fitted.auc, fitted.lift)
    assert same.report() == fitted.report()


def test_a_fit_on_labels_drawn_at_random_claims_no_gain(sim: sample.ChurnSimulation) -> None:
    # the same customers and events; who churns, and when, drawn without regard to them
    rng = random.Random(7)
    start, end = sim.as_of_dates[0], sim.end
    span = (end - start) / timedelta(seconds=1)
    rows = [
        (cid, (start + timedelta(seconds=rng.random() * span)).replace(tzinfo=None))
        for cid, created in sim.customers.select("id", "created_at").iter_rows()
        if rng.random() < 0.3 and (created is None or created < start.replace(tzinfo=None))
    ]
    noise = pl.DataFrame(rows, schema=["customer_id", "churned_at"], orient="row")
    found = fit(
        sim.customers,
        sim.events,
        noise,
        start=Scorer(model="v1"),
        observed_until=sim.end,
        resamples=400,
        types=("recency", "trend"),
        **dates(sim),
    )
    assert not found.gain_is_real
    assert found.auc.low is not None
    assert found.auc.low <= 0
    assert "no gain the data supports" in found.verdict()
    # the customers active after their drawn churn date are reported as leaks
    churned_at = dict(rows)
    after: dict[str, list[Any]] = {}
    for cid, at in sim.events.select("customer_id", "occurred_at").iter_rows():
        if cid in churned_at and at > churned_at[cid]:
            after.setdefault(cid, []).append(at)
    assert found.leaked == len(after) > 5
    assert [leak.customer_id for leak in found.leaks] == sorted(after)[:5]
    for leak in found.leaks:
        assert leak.events_after == len(after[leak.customer_id])
        assert leak.last_event.replace(tzinfo=None) == max(after[leak.customer_id])
    assert f"{found.leaked} churned customers with events after the churn date" in (found.report())


def test_too_few_churners_is_an_error_saying_how_many_and_how_many_are_needed(
    sim: sample.ChurnSimulation,
) -> None:
    few = sim.outcomes.head(12)
    with pytest.raises(InvalidInputError, match=r"have \d+ churners? .* needs at least \d+"):
        fit(
            sim.customers,
            sim.events,
            few,
            start=Scorer(model="v1"),
            observed_until=sim.end,
            **dates(sim),
        )


def test_validating_less_than_a_horizon_after_training_is_refused(
    sim: sample.ChurnSimulation,
) -> None:
    d = sim.as_of_dates
    with pytest.raises(InvalidInputError, match="less than the horizon"):
        fit(
            sim.customers,
            sim.events,
            sim.outcomes,
            train=d[:5],
            validate=d[5:7],
            horizon=HORIZON,
            observed_until=sim.end,
        )


def test_a_factor_with_one_score_for_everyone_gets_weight_0_and_is_reported(
    sim: sample.ChurnSimulation,
) -> None:
    # without support tickets, support_tickets gives everyone full marks
    quiet = sim.events.filter(pl.col("kind") != "support_ticket")
    found = fit(
        sim.customers,
        quiet,
        sim.outcomes,
        start=Scorer(model="v1"),
        observed_until=sim.end,
        resamples=100,
        types=(),
        **dates(sim),
    )
    assert found.candidates == tuple(Scorer(model="v1").factors)
    assert "support_tickets" not in found.weights
    assert [item.reason for item in found.left_out if item.factor == "support_tickets"] == [
        "the same score for every customer: weight 0"
    ]


@pytest.mark.parametrize(
    ("values", "churn"),
    [(20, 0.2), (1_000, 0.05)],  # few ties; many stayers' groups merged between churners'
)
def test_the_bootstrap_measures_agree_with_the_backtest_measures_unweighted(
    values: int, churn: float
) -> None:
    rng = random.Random(3)
    scores = [float(rng.randrange(0, values)) * 5 for _ in range(300)] + [math.nan] * 5
    churned = [rng.random() < churn for _ in scores]
    np = pytest.importorskip("numpy")
    ranked = _fit._Ranked(np.array(scores), np.array(churned, dtype=float))
    if values > 20:
        assert ranked.groups < len(set(scores)) / 3  # the stayers' groups are merged
    got_auc, got_lift = ranked.measures(np.ones(len(scores)))
    s = pl.Series([None if math.isnan(v) else v for v in scores], dtype=pl.Float64)
    y = pl.Series(churned)
    assert got_auc == pytest.approx(auc(s, y), abs=1e-12)
    assert got_lift == pytest.approx(lift(s, y), abs=1e-12)
    # a weight of 2 is the row given twice
    weights = np.array([2.0 if i % 3 == 0 else 1.0 for i in range(len(scores))])
    twice = [i for i in range(len(scores)) for _ in range(int(weights[i]))]
    s2 = pl.Series([None if math.isnan(scores[i]) else scores[i] for i in twice], dtype=pl.Float64)
    y2 = pl.Series([churned[i] for i in twice])
    w_auc, w_lift = ranked.measures(weights)
    assert w_auc == pytest.approx(auc(s2, y2), abs=1e-12)
    assert w_lift == pytest.approx(lift(s2, y2), abs=1e-12)
    # many resamples at once: each column as if alone
    columns = np.stack([np.ones(len(scores)), weights], axis=1)
    aucs, lifts = ranked.measures_of(columns)
    assert aucs.tolist() == [got_auc, w_auc]
    assert lifts.tolist() == [got_lift, w_lift]


def test_the_report_shows_in_a_terminal_and_a_notebook(fitted: ModelFit) -> None:
    text = fitted.report()
    for part in (
        "verdict:",
        "validation      start  fitted",
        "AUC",
        "top-decile lift",
        "train AUC",
        "calibration",
        "thresholds:",
        "train       ",
        "validate    ",
    ):
        assert part in text
    assert str(fitted) == text
    # every factor's expectations: chosen by the fit, or the start model's kept
    v1 = Scorer(model="v1").config.expectations
    shown = 0
    for name, key in (("api_usage", "api_calls_30d"), ("feature_adoption", "features_30d")):
        if name in fitted.weights:
            kept = ", ".join(f"{segment} {values[key]:g}" for segment, values in v1.items())
            assert f"kept: {kept}" in text
            shown += 1
    assert shown
    html = fitted._repr_html_()
    assert html.startswith("<div>")
    assert "<table>" in html
    assert "interval" in html
    # what the text has, the notebook shows too: the data's range and the thresholds
    # (the HTML once left both out), and its numbers aligned right
    for line in text.splitlines():
        if line.startswith(("data: ", "thresholds: ")):
            assert escape(line) in html
    weight = next(iter(fitted.weights.values()))
    assert f"<td style='text-align:right;padding:1px 8px'>{weight:.3f}</td>" in html
    for item in fitted.left_out:
        assert item.factor in text
        assert item.factor in html


def test_bad_arguments_are_refused(sim: sample.ChurnSimulation) -> None:
    from customer_health import ConfigurationError

    with pytest.raises(ConfigurationError, match="types= names"):
        fit(sim.customers, sim.events, sim.outcomes, types=("recent",), **dates(sim))
    with pytest.raises(InvalidInputError, match="resamples=5"):
        fit(sim.customers, sim.events, sim.outcomes, resamples=5, **dates(sim))


def test_keeping_the_declared_inputs_between_runs_changes_nothing(
    sim: sample.ChurnSimulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fit() keeps each declared factor's inputs at each date for its next run (the
    expectations' run, every date's, the start model's): the same fit as computing them
    again each time, from model v2 (whose last_seen gets another expectation)."""
    from customer_health.analysis import _backtest_frames

    def fitted() -> ModelFit:
        return fit(
            sim.customers,
            sim.events,
            sim.outcomes,
            observed_until=sim.end,
            resamples=100,
            **dates(sim),
        )

    kept = fitted()
    made = _backtest_frames.Prepared.__init__

    def forgetting(self: Any, *args: Any, keep_inputs: bool = False) -> None:
        made(self, *args, keep_inputs=False)

    monkeypatch.setattr(_backtest_frames.Prepared, "__init__", forgetting)
    again = fitted()
    assert again.scorer.fingerprint == kept.scorer.fingerprint
    assert (again.auc, again.lift, again.training_auc) == (kept.auc, kept.lift, kept.training_auc)
    assert again.report() == kept.report()
