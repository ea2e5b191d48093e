"""The sample-data generators: what they promise to contain, and that it scores."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from customer_health import (
    BUILTIN_KINDS,
    CustomerNotCreatedError,
    CustomEvent,
    Event,
    HealthStatus,
    InvalidInputError,
    MissingExtraError,
    PaymentEvent,
    Scorer,
    sample,
)
from customer_health.models import EVENT_LIST_ADAPTER, Customer
from customer_health.segments import BUILTIN_SEGMENTS

USAGE_KINDS = frozenset({"api_call", "login", "feature_used"})


@pytest.fixture(scope="module")
def data() -> sample.SampleData:
    """The default portfolio (200 customers, seed 0), shared by the read-only tests."""
    return sample.generate()


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    """Model v1, no installed plugins: what the independent engine below computes."""
    return Scorer(entry_points=False, model="v1")


def _days(n: float) -> timedelta:
    return timedelta(days=n)


# -- generate() ------------------------------------------------------------------------


def test_generate_is_deterministic_for_a_seed() -> None:
    """Two runs with one seed give equal models and equal dicts."""
    first, second = sample.generate(40, seed=7), sample.generate(40, seed=7)
    assert first.customers == second.customers
    assert first.events == second.events
    assert first.event_dicts() == second.event_dicts()
    assert first.customer_dicts() == second.customer_dicts()


def test_different_seeds_give_different_data() -> None:
    """Another seed gives other events."""
    assert sample.generate(40, seed=1).events != sample.generate(40, seed=2).events


def test_every_segment_and_event_kind_is_present(data: sample.SampleData) -> None:
    """All three segments, every built-in kind and custom kinds with properties appear."""
    assert {c.segment for c in data.customers} == set(sample.SEGMENTS)
    kinds = {e.kind for e in data.events}
    assert kinds >= BUILTIN_KINDS
    custom = [e for e in data.events if isinstance(e, CustomEvent)]
    assert {e.kind for e in custom} == set(sample.CUSTOM_KINDS)
    assert all(e.properties for e in custom)


def test_builtin_fields_are_filled_and_varied(data: sample.SampleData) -> None:
    """API calls carry quantities, logins user ids, tickets every priority."""
    quantities = {e.quantity for e in data.events if e.kind == "api_call"}  # type: ignore[union-attr]
    assert len(quantities) > 10
    assert any(e.user_id for e in data.events if e.kind == "login")  # type: ignore[union-attr]
    priorities = {e.priority for e in data.events if e.kind == "support_ticket"}  # type: ignore[union-attr]
    assert priorities == {"low", "normal", "high", "urgent"}
    features = {e.feature for e in data.events if e.kind == "feature_used"}  # type: ignore[union-attr]
    assert features <= set(sample.FEATURES)
    assert len(features) > 5


def test_portfolio_scores_into_every_status(data: sample.SampleData, scorer: Scorer) -> None:
    """Scoring the default portfolio raises nothing and yields healthy, at-risk and critical."""
    scores = scorer.score_many(data.customers, data.events, as_of=data.as_of)
    assert len(scores) == len(data.customers)
    statuses = Counter(s.status for s in scores)
    for status in (HealthStatus.HEALTHY, HealthStatus.AT_RISK, HealthStatus.CRITICAL):
        assert statuses[status] >= 10


def test_profiles_drive_the_status(data: sample.SampleData, scorer: Scorer) -> None:
    """Most established customers who did not churn get the status their profile aims at."""
    scores = {
        s.customer_id: s for s in scorer.score_many(data.customers, data.events, as_of=data.as_of)
    }
    steady = [
        c
        for c in data.customers
        if "churned_days_ago" not in c.attributes
        and (c.created_at is None or data.as_of - c.created_at > _days(60))
    ]
    assert len(steady) > 100
    matching = [c for c in steady if scores[c.id].status.value == c.attributes["profile"]]
    assert len(matching) >= 0.8 * len(steady)


def test_churned_customers_stop_using_the_product(data: sample.SampleData) -> None:
    """A churned customer has no usage events in its last ``churned_days_ago`` days."""
    churned = {
        c.id: data.as_of - _days(c.attributes["churned_days_ago"])
        for c in data.customers
        if "churned_days_ago" in c.attributes
    }
    assert len(churned) >= 3
    active_before = dict.fromkeys(churned, False)
    for event in data.events:
        if event.customer_id in churned and event.kind in USAGE_KINDS:
            assert event.occurred_at <= churned[event.customer_id]
            active_before[event.customer_id] = True
    assert all(active_before.values())


def test_window_edges_are_present(data: sample.SampleData) -> None:
    """Events sit exactly at as_of, as_of - 30 and - 90 days; an invoice is due 180 days back."""
    as_of = data.as_of
    by_instant = {(e.kind, e.occurred_at) for e in data.events}
    assert any(at == as_of for _, at in by_instant)
    assert ("api_call", as_of - _days(30)) in by_instant
    assert ("feature_used", as_of - _days(30)) in by_instant
    assert ("support_ticket", as_of - _days(90)) in by_instant
    payments = [e for e in data.events if isinstance(e, PaymentEvent)]
    assert any(p.due_at == as_of - _days(180) for p in payments)
    assert any(p.due_at == as_of for p in payments)


def test_duplicates_share_event_id_and_content(data: sample.SampleData) -> None:
    """Some events are emitted twice with one event_id, and every such pair is identical."""
    by_id: dict[tuple[str, str], list[Event]] = {}
    for event in data.events:
        if event.event_id is not None:
            by_id.setdefault((event.customer_id, event.event_id), []).append(event)
    repeated = [events for events in by_id.values() if len(events) > 1]
    assert len(repeated) >= 10
    assert all(len(events) == 2 and events[0] == events[1] for events in repeated)
    assert len(by_id) > len(data.events) / 5  # many events carry an id


def test_some_events_happen_after_as_of(data: sample.SampleData) -> None:
    """Late data: usage events and invoices with occurred_at after as_of are present."""
    late = Counter(e.kind for e in data.events if e.occurred_at > data.as_of)
    assert late["login"] + late["api_call"] > 10
    assert late["payment"] > 0


def test_young_and_undated_customers(data: sample.SampleData) -> None:
    """Some customers are younger than 30 days (one younger than a day); some have no created_at."""
    ages = [data.as_of - c.created_at for c in data.customers if c.created_at is not None]
    assert sum(age < _days(30) for age in ages) >= 3
    assert any(age < _days(1) for age in ages)
    assert all(age > timedelta(0) for age in ages)
    assert any(c.created_at is None for c in data.customers)


def test_late_and_unpaid_invoices(data: sample.SampleData) -> None:
    """Invoices are paid on time, late, after as_of, or not at all."""
    payments = [e for e in data.events if isinstance(e, PaymentEvent) and e.due_at <= data.as_of]
    assert any(p.paid_at is None for p in payments)
    assert any(p.paid_at is not None and p.paid_at > p.due_at + _days(10) for p in payments)
    assert any(p.paid_at is not None and p.paid_at <= p.due_at for p in payments)
    assert any(p.paid_at is not None and p.paid_at > data.as_of for p in payments)
    assert any(p.amount is None for p in payments)


def test_customers_created_after_as_of_only_on_request(scorer: Scorer) -> None:
    """include_not_created adds future customers; batches leave them out, score() refuses."""
    plain = sample.generate(30, seed=3)
    assert all(c.created_at is None or c.created_at <= plain.as_of for c in plain.customers)
    data = sample.generate(30, seed=3, include_not_created=True)
    future = [c for c in data.customers if c.created_at is not None and c.created_at > data.as_of]
    assert len(future) >= 2
    assert all(c.attributes.get("not_created") for c in future)
    scores = scorer.score_many(data.customers, data.events, as_of=data.as_of)
    assert set(scores.not_created) == {c.id for c in future}
    assert len(scores) == len(data.customers) - len(future)
    with pytest.raises(CustomerNotCreatedError):
        scorer.score(future[0], data.events, as_of=data.as_of)


def test_dicts_write_instants_every_way(data: sample.SampleData) -> None:
    """Event dicts hold aware, naive and non-UTC datetimes, and ISO strings of every form."""
    values = [
        value
        for record in data.event_dicts()
        for key, value in record.items()
        if key in {"occurred_at", "due_at", "paid_at", "resolved_at"} and value is not None
    ]
    aware = [v for v in values if isinstance(v, datetime) and v.tzinfo is not None]
    assert any(v.utcoffset() == timedelta(0) for v in aware)
    assert any(v.utcoffset() != timedelta(0) for v in aware)
    assert any(isinstance(v, datetime) and v.tzinfo is None for v in values)
    texts = [v for v in values if isinstance(v, str)]
    assert any(t.endswith("Z") for t in texts)
    assert any(t[-6] in "+-" and t[-3] == ":" for t in texts)
    assert any(datetime.fromisoformat(t).tzinfo is None for t in texts)


def test_dicts_leave_optional_fields_out_sometimes(data: sample.SampleData) -> None:
    """Some API calls have no quantity key and some tickets no priority (the defaults apply)."""
    records = data.event_dicts()
    assert any(r["kind"] == "api_call" and "quantity" not in r for r in records)
    assert any(r["kind"] == "support_ticket" and "priority" not in r for r in records)


def test_dicts_validate_to_the_models(data: sample.SampleData) -> None:
    """Validating the dicts (plain or ISO) gives the models back, in order."""
    assert EVENT_LIST_ADAPTER.validate_python(data.event_dicts()) == data.events
    round_tripped = json.loads(json.dumps(data.event_dicts(iso=True)))
    assert EVENT_LIST_ADAPTER.validate_python(round_tripped) == data.events
    customers = json.loads(json.dumps(data.customer_dicts(iso=True)))
    assert [Customer.model_validate(c) for c in customers] == data.customers


def test_dicts_and_models_score_alike(data: sample.SampleData, scorer: Scorer) -> None:
    """Scoring the JSON dicts gives the same scores as scoring the models."""
    from_models = scorer.score_many(data.customers, data.events, as_of=data.as_of)
    from_dicts = scorer.score_many(
        data.customer_dicts(iso=True), data.event_dicts(iso=True), as_of=data.as_of.isoformat()
    )
    assert from_dicts == from_models


def test_dicts_are_fresh_copies(data: sample.SampleData) -> None:
    """Changing the returned dicts does not change the sample."""
    records = data.event_dicts()
    custom = next(r for r in records if r["kind"] in sample.CUSTOM_KINDS)
    custom["properties"]["changed"] = True
    records[0]["customer_id"] = "someone else"
    again = data.event_dicts()
    assert again[0]["customer_id"] == data.events[0].customer_id
    assert all("changed" not in r.get("properties", {}) for r in again)


@pytest.mark.parametrize("as_of", ["2025-01-15T12:30:00+02:00", date(2024, 2, 29)])
def test_as_of_may_be_text_or_a_date(as_of: str | date, scorer: Scorer) -> None:
    """as_of is read like the scorer reads it, and the edge events follow it."""
    data = sample.generate(15, as_of=as_of)
    expected = (
        datetime(2025, 1, 15, 10, 30, tzinfo=UTC)
        if isinstance(as_of, str)
        else datetime(2024, 2, 29, tzinfo=UTC)
    )
    assert data.as_of == expected
    assert any(e.occurred_at == expected for e in data.events)
    assert len(scorer.score_many(data.customers, data.events, as_of=data.as_of)) == 15


def test_small_portfolios_still_cover_the_grid(scorer: Scorer) -> None:
    """Nine customers cover every segment with every profile, and one customer works."""
    nine = sample.generate(9)
    assert {(c.segment, c.attributes["profile"]) for c in nine.customers} == {
        (s, p) for s in sample.SEGMENTS for p in sample.PROFILES
    }
    one = sample.generate(1)
    assert len(scorer.score_many(one.customers, one.events, as_of=one.as_of)) == 1


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"n_customers": 0}, "n_customers"),
        ({"n_customers": True}, "n_customers"),
        ({"history_days": 10}, "history_days"),
    ],
)
def test_generate_rejects_bad_sizes(kwargs: dict[str, Any], word: str) -> None:
    """A count that makes no sense is an InvalidInputError naming the argument."""
    with pytest.raises(InvalidInputError, match=word):
        sample.generate(**kwargs)


# -- generate_columns() ----------------------------------------------------------------


def test_importing_sample_does_not_import_numpy() -> None:
    """``import customer_health.sample`` (and the CLI) leave numpy unimported."""
    code = (
        "import sys, customer_health.sample, customer_health.cli; sys.exit('numpy' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_generate_columns_without_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without numpy, generate_columns names the extra that installs it."""
    monkeypatch.setitem(sys.modules, "numpy", None)
    with pytest.raises(MissingExtraError) as info:
        sample.generate_columns(10, 100)
    assert info.value.extra == "sample"
    assert "pip install 'customer-health[sample]'" in str(info.value)
    assert "generate_columns()" in str(info.value)


@pytest.fixture(scope="module")
def columns() -> tuple[dict[str, Any], dict[str, Any]]:
    """A small columnar sample: 300 customers, 30,000 events."""
    pytest.importorskip("numpy")
    return sample.generate_columns(300, 30_000, seed=5)


def test_columns_have_their_shapes_and_dtypes(
    columns: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """Every column is there, as long as asked, with the documented dtype."""
    np = pytest.importorskip("numpy")
    customers, events = columns
    assert set(customers) == {"id", "segment", "profile", "created_at"}
    assert all(len(column) == 300 for column in customers.values())
    assert len(set(customers["id"].tolist())) == 300
    assert customers["created_at"].dtype == np.dtype("datetime64[us]")
    assert tuple(events) == sample.EVENT_COLUMNS
    assert all(len(column) == 30_000 for column in events.values())
    for name in ("occurred_at", "due_at", "paid_at", "resolved_at"):
        assert events[name].dtype == np.dtype("datetime64[us]")
    for name in ("customer_id", "kind", "event_id", "feature", "priority"):
        assert events[name].dtype.kind == "U"
    assert events["quantity"].dtype == np.int64
    assert events["amount"].dtype == np.float64


def test_columns_are_consistent_per_kind(columns: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """Kind-specific fields are set on their kind's rows only; every kind and segment appears."""
    np = pytest.importorskip("numpy")
    customers, events = columns
    kind = events["kind"]
    assert set(kind.tolist()) == BUILTIN_KINDS | set(sample.CUSTOM_KINDS)
    assert set(customers["segment"].tolist()) == set(sample.SEGMENTS)
    assert set(customers["profile"].tolist()) == set(sample.PROFILES)
    api, feature = kind == "api_call", kind == "feature_used"
    payment, ticket = kind == "payment", kind == "support_ticket"
    assert (events["quantity"][api] >= 1).all()
    assert (events["quantity"][~api] == 0).all()
    assert (events["feature"][feature] != "").all()
    assert (events["feature"][~feature] == "").all()
    assert not np.isnat(events["due_at"][payment]).any()
    assert np.isnat(events["due_at"][~payment]).all()
    assert np.isnat(events["paid_at"][payment]).any()  # unpaid invoices
    assert set(events["priority"][ticket].tolist()) == {"low", "normal", "high", "urgent"}
    assert (events["priority"][~ticket] == "").all()
    assert set(np.unique(events["customer_id"]).tolist()) <= set(customers["id"].tolist())


def test_columns_hold_edges_duplicates_and_late_rows(
    columns: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """Rows sit on window edges, some repeat an event_id with equal content, some are late."""
    np = pytest.importorskip("numpy")
    _, events = columns
    base = np.datetime64(sample.DEFAULT_AS_OF.replace(tzinfo=None), "us")
    day = np.timedelta64(1, "D")
    occurred = events["occurred_at"]
    assert (occurred == base).any()
    assert ((occurred == base - 30 * day) & (events["kind"] == "api_call")).any()
    assert ((occurred == base - 90 * day) & (events["kind"] == "support_ticket")).any()
    assert (events["due_at"] == base - 180 * day).any()
    assert (occurred > base).sum() > 50
    ids = events["event_id"]
    assert 0.05 < (ids != "").mean() < 0.15
    values, counts = np.unique(ids[ids != ""], return_counts=True)
    repeated = values[counts > 1]
    assert repeated.size > 20
    for event_id in repeated[:20]:
        rows = np.flatnonzero(ids == event_id)
        as_dicts = sample.event_dicts_from_columns(events, slice(rows[0], rows[0] + 1))
        assert all(
            sample.event_dicts_from_columns(events, slice(r, r + 1)) == as_dicts for r in rows
        )


def _same(one: Any, two: Any) -> bool:
    import numpy as np

    if one.dtype.kind == "M":  # NaT is not equal to itself: compare the integers
        return bool(np.array_equal(one.view(np.int64), two.view(np.int64)))
    return bool(np.array_equal(one, two, equal_nan=one.dtype.kind == "f"))


def test_columns_are_deterministic_for_a_seed() -> None:
    """One seed gives equal columns; another seed other ones."""
    np = pytest.importorskip("numpy")
    first, second = (
        sample.generate_columns(50, 2000, seed=1),
        sample.generate_columns(50, 2000, seed=1),
    )
    for one, two in zip(first, second, strict=True):
        assert all(_same(one[k], two[k]) for k in one)
    other = sample.generate_columns(50, 2000, seed=2)
    assert not np.array_equal(first[1]["occurred_at"], other[1]["occurred_at"])


def test_events_from_columns_converts_a_slice(
    columns: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """A slice of rows becomes that many models, in row order, with empty ids as None."""
    _, events = columns
    models = sample.events_from_columns(events, slice(100, 600))
    assert len(models) == 500
    assert [m.customer_id for m in models] == events["customer_id"][100:600].tolist()
    assert [m.kind for m in models] == events["kind"][100:600].tolist()
    assert all(
        (m.event_id is None) == (eid == "")
        for m, eid in zip(models, events["event_id"][100:600], strict=True)
    )
    assert all(m.occurred_at.tzinfo is UTC for m in models)
    assert gc.isenabled()


def _reference_scores(
    customers: dict[str, Any], events: dict[str, Any], as_of: datetime
) -> dict[str, float]:
    """The default model computed straight from the columns with numpy (an independent engine)."""
    import numpy as np

    base = np.datetime64(as_of.replace(tzinfo=None), "us")
    day_us = 86_400_000_000
    day = np.timedelta64(day_us, "us")
    ids, kind, occurred = customers["id"], events["kind"], events["occurred_at"]
    n_customers = len(ids)
    owner = np.searchsorted(ids, events["customer_id"])
    assert (ids[owner] == events["customer_id"]).all()

    keep = np.ones(len(kind), dtype=bool)  # de-duplicate by (customer, event_id), then window
    with_id = np.flatnonzero(events["event_id"] != "")
    keys = np.char.add(events["customer_id"][with_id], events["event_id"][with_id])
    _, first = np.unique(keys, return_index=True)
    keep[with_id] = False
    keep[with_id[first]] = True
    known = keep & (occurred <= base)
    in30, in90 = known & (occurred > base - 30 * day), known & (occurred > base - 90 * day)

    def count(mask: Any, weights: Any = None) -> Any:
        return np.bincount(owner[mask], weights=weights, minlength=n_customers).astype(float)

    def distinct(mask: Any, values: Any) -> Any:
        pairs = np.unique(np.stack([owner[mask], values]), axis=1)
        return np.bincount(pairs[0], minlength=n_customers).astype(float)

    calls = count(in30 & (kind == "api_call"), events["quantity"][in30 & (kind == "api_call")])
    login = in30 & (kind == "login")
    days = distinct(login, occurred[login].astype("datetime64[D]").astype(np.int64))
    used = in30 & (kind == "feature_used")
    features = distinct(used, np.unique(events["feature"][used], return_inverse=True)[1])

    due, paid = events["due_at"], events["paid_at"]
    invoice = known & (kind == "payment") & (due > base - 180 * day) & (due <= base)
    settled = np.where(~np.isnat(paid) & (paid <= base), paid, base)[invoice]
    late = np.maximum(0.0, (settled - due[invoice]).astype(np.int64) / day_us)
    invoices = count(invoice)
    credit = count(invoice, np.maximum(0.0, 1.0 - late / 30.0))

    ticket = in90 & (kind == "support_ticket")
    weight = np.select(
        [events["priority"] == p for p in ("low", "normal", "high", "urgent")], [0.5, 1, 2, 3]
    )
    resolved = events["resolved_at"]
    weight = weight * np.where(np.isnat(resolved) | (resolved > base), 1.5, 1.0)
    load = count(ticket, weight[ticket])

    expected = {
        key: np.array([BUILTIN_SEGMENTS[s][key] for s in customers["segment"].tolist()])
        for key in ("api_calls_30d", "login_days_30d", "features_30d", "tickets_90d")
    }
    created = customers["created_at"]
    tenure = np.where(np.isnat(created), 1e9, (base - created).astype(np.int64) / day_us)
    prorate = np.where(tenure < 30, np.maximum(1.0, tenure) / 30, 1.0)
    usage = [
        (0.25, calls, expected["api_calls_30d"] * prorate),
        (0.20, days, expected["login_days_30d"] * prorate),
        (0.15, features, expected["features_30d"] * prorate),
    ]
    total = sum(w * 100 * np.minimum(1.0, value / exp) for w, value, exp in usage)
    tickets = expected["tickets_90d"]
    total = total + 0.15 * np.where(
        load <= tickets, 100.0, 100.0 * tickets / np.maximum(load, 1e-300)
    )
    weights = 0.75 + np.where(invoices > 0, 0.25, 0.0)
    total = total + 0.25 * np.where(invoices > 0, 100 * credit / np.maximum(invoices, 1), 0.0)
    return dict(zip(ids.tolist(), (total / weights).tolist(), strict=True))


def test_column_models_score_like_an_independent_numpy_engine(
    columns: tuple[dict[str, Any], dict[str, Any]], scorer: Scorer
) -> None:
    """Scoring the converted models matches the model computed with numpy, to 1e-9."""
    customers, events = columns
    scores = scorer.score_many(
        sample.customers_from_columns(customers),
        sample.events_from_columns(events),
        as_of=sample.DEFAULT_AS_OF,
    )
    reference = _reference_scores(customers, events, sample.DEFAULT_AS_OF)
    assert len(scores) == len(reference)
    for health in scores:
        assert health.score == pytest.approx(reference[health.customer_id], abs=1e-9)
    assert len({h.status for h in scores}) == 3


def test_column_dicts_score_like_column_models(
    columns: tuple[dict[str, Any], dict[str, Any]], scorer: Scorer
) -> None:
    """The dicts of a slice of rows score exactly like its models."""
    customers, events = columns
    people = sample.customers_from_columns(customers)
    rows = slice(0, 10_000)
    from_models = scorer.score_many(
        people, sample.events_from_columns(events, rows), as_of=sample.DEFAULT_AS_OF
    )
    from_dicts = scorer.score_many(
        people, sample.event_dicts_from_columns(events, rows), as_of=sample.DEFAULT_AS_OF
    )
    assert from_dicts == from_models


@pytest.mark.parametrize(("n_customers", "n_events"), [(0, 10), (10, 0), (10, -1)])
def test_generate_columns_rejects_bad_sizes(n_customers: int, n_events: int) -> None:
    """Sizes below one are an InvalidInputError."""
    pytest.importorskip("numpy")
    with pytest.raises(InvalidInputError):
        sample.generate_columns(n_customers, n_events)
