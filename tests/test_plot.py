"""Plots: the distribution of a portfolio, one customer's factors, one customer's history."""

from __future__ import annotations

import math
import pickle
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from customer_health import (
    ConfigurationError,
    HealthScore,
    HealthStatus,
    InvalidInputError,
    MissingExtraError,
    Scorer,
    UnknownCustomerError,
    plot,
    sample,
)
from customer_health._display import STATUS_COLOURS

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")  # headless, whatever MPLBACKEND says
pl = pytest.importorskip("polars")
from matplotlib.colors import to_hex  # noqa: E402  (after the skip above)
from matplotlib.figure import Figure  # noqa: E402

from .test_display import BACKENDS, as_backend  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
AS_OF = sample.DEFAULT_AS_OF


@pytest.fixture(scope="module")
def data() -> sample.SampleData:
    """A sample portfolio of every segment and status."""
    return sample.generate(120, seed=3)


@pytest.fixture(scope="module")
def scores(data: sample.SampleData) -> list[HealthScore]:
    """The portfolio's scores, from score_many."""
    return Scorer().score_many(data.customers, data.events, as_of=data.as_of)


@pytest.fixture(scope="module")
def customers_frame(data: sample.SampleData) -> Any:
    """The portfolio's customers as a polars frame."""
    return pl.DataFrame(data.customer_dicts(iso=True), infer_schema_length=None)


@pytest.fixture(scope="module")
def result(data: sample.SampleData, customers_frame: Any) -> Any:
    """The portfolio scored with score_frame (polars)."""
    import customer_health

    events = pl.DataFrame(data.event_dicts(iso=True), infer_schema_length=None)
    return customer_health.score_frame(customers_frame, events, as_of=data.as_of)


def expected_counts(values: list[float], bins: int = 10) -> list[int]:
    """How many values fall in each bin [lo, hi) of 0-100, the last bin closed."""
    width = 100 / bins
    return [
        sum(
            1
            for value in values
            if index * width <= value < (index + 1) * width or (index == bins - 1 and value == 100)
        )
        for index in range(bins)
    ]


def bars(figure: Figure) -> dict[str, list[float]]:
    """Each bar group of the figure's axes by label: its bar heights."""
    axes = figure.axes[0]
    return {
        container.get_label(): [patch.get_height() for patch in container.patches]
        for container in axes.containers
    }


# -- distribution ---------------------------------------------------------------------


def test_distribution_by_status_counts_each_status(scores: list[HealthScore]) -> None:
    """Each status is a stack of bars whose heights count its scores per bin of ten."""
    figure = plot.distribution(scores)
    assert isinstance(figure, Figure)
    by_status = Counter(health.status.value for health in scores)
    assert min(by_status[status] for status in ("healthy", "at_risk", "critical")) > 0
    want = {
        f"{status} ({by_status[status]})": expected_counts(
            [h.score for h in scores if h.status.value == status and h.score is not None]
        )
        for status in ("healthy", "at_risk", "critical")
    }
    assert bars(figure) == want
    axes = figure.axes[0]
    colours = [to_hex(container.patches[0].get_facecolor()) for container in axes.containers]
    assert colours == [STATUS_COLOURS[s] for s in ("healthy", "at_risk", "critical")]
    assert axes.get_title() == f"Score distribution by status: {len(scores)} customers"


def test_distribution_stacks_the_bars(scores: list[HealthScore]) -> None:
    """Each group's bars stand on the groups before it."""
    axes = plot.distribution(scores).axes[0]
    below = [0.0] * 10
    for container in axes.containers:
        assert [patch.get_y() for patch in container.patches] == below
        below = [b + patch.get_height() for b, patch in zip(below, container.patches, strict=True)]
    assert sum(below) == len(scores)


@pytest.mark.parametrize("backend", BACKENDS)
def test_distribution_of_a_frame_equals_that_of_the_scores(
    result: Any, scores: list[HealthScore], backend: str
) -> None:
    """A frame result of any kind plots the same bars as the HealthScores."""
    assert bars(plot.distribution(as_backend(result, backend))) == bars(plot.distribution(scores))


@pytest.mark.parametrize("form", ["frame", "lazy", "customers", "dicts", "mapping"])
def test_distribution_by_segment(
    scores: list[HealthScore], data: sample.SampleData, customers_frame: Any, form: str
) -> None:
    """By segment, each segment's bars count its customers' scores; customers come in any form."""
    customers = {
        "frame": customers_frame,
        "lazy": customers_frame.lazy(),
        "customers": data.customers,
        "dicts": data.customer_dicts(),
        "mapping": {c.id: c.segment for c in data.customers},
    }[form]
    figure = plot.distribution(scores, by="segment", customers=customers, bins=4)
    segment = {c.id: c.segment for c in data.customers}
    want = {}
    for name in sorted(set(segment.values())):
        values = [h.score for h in scores if segment[h.customer_id] == name and h.score is not None]
        want[f"{name} ({len(values)})"] = expected_counts(values, bins=4)
    assert bars(figure) == want
    assert [patch.get_width() for patch in figure.axes[0].containers[0].patches] == [25.0] * 4


def test_distribution_leaves_out_unknown_scores_and_says_so(scores: list[HealthScore]) -> None:
    """Scores without data have no place on the axis; the title counts them."""
    unknown = scores[0].model_copy(
        update={"customer_id": "quiet", "score": None, "status": HealthStatus.UNKNOWN}
    )
    figure = plot.distribution([*scores, unknown])
    assert bars(figure) == bars(plot.distribution(scores))
    title = figure.axes[0].get_title()
    assert (
        title == f"Score distribution by status: {len(scores) + 1} customers (1 unknown, not shown)"
    )


def test_a_score_of_100_is_in_the_last_bin(scores: list[HealthScore]) -> None:
    """100 falls in the last bin, 0 in the first."""
    top = scores[0].model_copy(update={"score": 100.0, "status": HealthStatus.HEALTHY})
    bottom = scores[0].model_copy(update={"score": 0.0, "status": HealthStatus.CRITICAL})
    heights = bars(plot.distribution([top, bottom], bins=5))
    assert heights == {
        "healthy (1)": [0, 0, 0, 0, 1],
        "at_risk (0)": [0] * 5,
        "critical (1)": [1, 0, 0, 0, 0],
    }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"by": "plan"}, "by='plan'; use 'status' or 'segment'"),
        ({"bins": 0}, "bins must be an integer from 1 to 100, not 0"),
        ({"bins": 101}, "not 101"),
        ({"bins": True}, "not True"),
        ({"bins": 2.0}, "not 2.0"),
        ({"customers": {}}, "customers= is for by='segment'"),
        ({"by": "segment"}, "by='segment' needs customers="),
    ],
)
def test_bad_distribution_options(
    scores: list[HealthScore], options: dict[str, Any], message: str
) -> None:
    """Each bad option is a ConfigurationError naming it."""
    with pytest.raises(ConfigurationError) as info:
        plot.distribution(scores, **options)
    assert message in str(info.value)


def test_segment_customers_must_cover_the_scores(scores: list[HealthScore]) -> None:
    """A scored customer without a segment in customers= is named."""
    partial = {health.customer_id: "smb" for health in scores[1:]}
    with pytest.raises(UnknownCustomerError, match=f"no segment for '{scores[0].customer_id}'"):
        plot.distribution(scores, by="segment", customers=partial)


def test_bad_segment_customers(scores: list[HealthScore]) -> None:
    """customers= that is no customers names what is wrong with it."""
    with pytest.raises(InvalidInputError, match="customers= item 0: "):
        plot.distribution(scores, by="segment", customers=[{"id": "a"}])
    with pytest.raises(InvalidInputError, match="customers= is a int; expected"):
        plot.distribution(scores, by="segment", customers=7)
    frame = pl.DataFrame({"id": ["a"], "plan": ["pro"]})
    with pytest.raises(
        InvalidInputError, match=r"no column 'segment' \(columns: \['id', 'plan'\]\)"
    ):
        plot.distribution(scores, by="segment", customers=frame)


# -- breakdown ------------------------------------------------------------------------


def test_breakdown_draws_each_factor_score(scores: list[HealthScore]) -> None:
    """One bar per factor, as long as its score (no data: none, labelled so), with weights."""
    health = next(h for h in scores if any(f.score is None for f in h.factors))
    axes = plot.breakdown(health).axes[0]
    widths = [patch.get_width() for patch in axes.containers[0].patches]
    assert widths == [0.0 if f.score is None else f.score for f in health.factors]
    labels = [tick.get_text() for tick in axes.get_yticklabels()]
    assert labels == [f"{f.name} (weight {f.weight:g})" for f in health.factors]
    texts = [text.get_text() for text in axes.texts]
    assert texts == ["no data" if f.score is None else f"{f.score:.1f}" for f in health.factors]
    assert health.score is not None
    (line,) = axes.get_lines()
    assert list(line.get_xdata()) == [health.score, health.score]
    assert axes.get_title() == f"{health.customer_id}: {health.score:.2f} ({health.status.value})"


@pytest.mark.parametrize("backend", BACKENDS)
def test_breakdown_of_a_customer_in_a_frame(
    result: Any, scores: list[HealthScore], backend: str
) -> None:
    """From a frame result, the customer's row gives the same bars (without weights)."""
    health = scores[5]
    axes = plot.breakdown(as_backend(result, backend), health.customer_id).axes[0]
    widths = [patch.get_width() for patch in axes.containers[0].patches]
    assert widths == pytest.approx([f.score or 0.0 for f in health.factors], abs=1e-9)
    assert [tick.get_text() for tick in axes.get_yticklabels()] == [f.name for f in health.factors]


def test_breakdown_of_an_unknown_score() -> None:
    """A score without data has no score line and says no data."""
    health = Scorer(factors=["payment_timeliness"]).score(
        {"id": "q", "segment": "smb"}, [], as_of=AS_OF
    )
    axes = plot.breakdown(health).axes[0]
    assert axes.get_lines() == []
    assert axes.get_title() == "q: no data (unknown)"


def test_breakdown_errors(scores: list[HealthScore]) -> None:
    """Many scores need a customer_id that is among them; one score, its own id."""
    with pytest.raises(ConfigurationError, match="needs customer_id="):
        plot.breakdown(scores)
    with pytest.raises(UnknownCustomerError, match="no customer 'nobody' in the scores"):
        plot.breakdown(scores, "nobody")
    with pytest.raises(UnknownCustomerError, match="customer_id='other', but the score is"):
        plot.breakdown(scores[0], "other")
    assert plot.breakdown(scores[0], scores[0].customer_id).axes


# -- history --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def weekly(data: sample.SampleData) -> list[HealthScore]:
    """One customer scored every week for ten weeks, newest first."""
    customer = data.customers[3]
    events = [event for event in data.events if event.customer_id == customer.id]
    scorer = Scorer()
    return [scorer.score(customer, events, as_of=AS_OF - timedelta(weeks=k)) for k in range(10)]


def test_history_draws_the_scores_in_time_order(weekly: list[HealthScore]) -> None:
    """The line goes through every score in order of as_of; points are coloured by status."""
    axes = plot.history(weekly).axes[0]
    line = axes.get_lines()[0]
    ordered = sorted(weekly, key=lambda h: h.as_of)
    assert list(line.get_xdata()) == [h.as_of for h in ordered]
    assert list(line.get_ydata()) == [h.score for h in ordered]
    statuses = Counter(h.status.value for h in weekly)
    points = {c.get_label(): len(c.get_offsets()) for c in axes.collections}
    assert points == dict(statuses)
    assert axes.get_title() == f"{weekly[0].customer_id}: score history (10 scores)"


def test_history_has_gaps_for_unknown_scores(weekly: list[HealthScore]) -> None:
    """A score without data is a gap (NaN) in the line and no point."""
    gap = weekly[4].model_copy(update={"score": None, "status": HealthStatus.UNKNOWN})
    axes = plot.history([*weekly[:4], gap, *weekly[5:]]).axes[0]
    ys = list(axes.get_lines()[0].get_ydata())
    assert math.isnan(ys[5])
    assert sum(math.isnan(y) for y in ys) == 1
    assert sum(len(c.get_offsets()) for c in axes.collections) == 9


def test_history_without_any_data(weekly: list[HealthScore]) -> None:
    """Scores that all lack data draw an empty line, no points and no legend."""
    gaps = [h.model_copy(update={"score": None, "status": HealthStatus.UNKNOWN}) for h in weekly]
    axes = plot.history(gaps).axes[0]
    assert all(math.isnan(y) for y in axes.get_lines()[0].get_ydata())
    assert len(axes.collections) == 0
    assert axes.get_legend() is None


def test_history_of_one_score(weekly: list[HealthScore]) -> None:
    """One score is a history of one point."""
    axes = plot.history(weekly[0]).axes[0]
    assert list(axes.get_lines()[0].get_ydata()) == [weekly[0].score]


def test_history_errors(weekly: list[HealthScore], scores: list[HealthScore]) -> None:
    """History needs scores of one customer, and at least one."""
    with pytest.raises(InvalidInputError, match="one customer's scores; these are of"):
        plot.history([weekly[0], scores[0], scores[1]])
    with pytest.raises(InvalidInputError, match="at least one score"):
        plot.history([])
    with pytest.raises(InvalidInputError, match="item 1 is a dict"):
        plot.history([weekly[0], {"score": 1}])


def test_history_from_a_store(tmp_path: Path) -> None:
    """The scores SQLAlchemyStore.history() returns plot as they are."""
    storage = pytest.importorskip("customer_health.storage.sqlalchemy")
    with storage.SQLAlchemyStore(f"sqlite:///{tmp_path / 'h.db'}") as store:
        store.create_all()
        store.add_customers([{"id": "acme", "segment": "smb"}])
        store.record_many(
            [
                {"customer_id": "acme", "kind": "login", "occurred_at": AS_OF - timedelta(days=d)}
                for d in range(1, 40, 3)
            ]
        )
        for week in (3, 2, 1, 0):
            store.recalculate(["acme"], as_of=AS_OF - timedelta(weeks=week))
        stored = store.history("acme")
    axes = plot.history(stored).axes[0]
    assert list(axes.get_lines()[0].get_ydata()) == [h.score for h in stored]
    assert len(stored) == 4


# -- figures --------------------------------------------------------------------------


def test_figures_save_png_and_show_in_jupyter(
    scores: list[HealthScore], weekly: list[HealthScore], tmp_path: Path
) -> None:
    """Every plot saves a PNG file and has a PNG representation for Jupyter."""
    for name, figure in [
        ("distribution", plot.distribution(scores)),
        ("breakdown", plot.breakdown(scores[0])),
        ("history", plot.history(weekly)),
    ]:
        path = tmp_path / f"{name}.png"
        figure.savefig(path)
        assert path.read_bytes().startswith(PNG_SIGNATURE)
        assert figure._repr_png_().startswith(PNG_SIGNATURE)


def test_figures_pickle(scores: list[HealthScore]) -> None:
    """A figure pickles and comes back able to draw itself."""
    figure = pickle.loads(pickle.dumps(plot.breakdown(scores[0])))
    assert figure._repr_png_().startswith(PNG_SIGNATURE)
    assert figure.axes[0].get_title() == plot.breakdown(scores[0]).axes[0].get_title()


def test_without_matplotlib_the_error_names_the_extra(
    scores: list[HealthScore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without matplotlib a plot raises MissingExtraError with the pip command."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'customer-health\[plot\]'"):
        plot.breakdown(scores[0])
