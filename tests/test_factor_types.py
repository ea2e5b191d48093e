"""The factor types (recency, rate, share, trend): configured, not written (issue 17).

Factors made from parameters, several of one type under different names, give on every
engine of the main suite the scores and values of an independent reference (below,
from the portfolio's plain dicts), and the object path's scores, under hypothesis; a
segment without the expectation takes the factor's default; bad parameters are errors
naming them. Spark's engines run the same check in ``tests/spark/test_declared_engines.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest

import customer_health
from customer_health import ConfigurationError, Scorer
from customer_health.builtin.types import rate, recency, share, tenure, trend

from .declared import own_engine_methods
from .engines import MAIN_ENGINES, Engine, open_engine
from .reference import _dedupe, micros
from .test_declared_engines import check_engine

DAY_US = 86_400_000_000
LAST_ACTIVE_DAYS = {"enterprise": 5.0}
"""The one segment with its own ``last_active`` expectation: the others take 10 days."""
LAST_ACTIVE_DEFAULT = 10.0
AGE_DAYS = {"startup": 45.0}
"""The one segment with its own ``age`` expectation: the others take 30 days."""
AGE_DEFAULT = 30.0
NPS_RATE = 2.0
ANY_DAYS = 20.0
"""last_event's expectation; with zero_at 10 its line runs to 200 days, through the
30, 90 and 180 days before as_of at which generated portfolios place events."""
TICKET_SHARE = 0.25


def made() -> list[customer_health.DeclaredFactor]:
    """The factors under test: each type, trend twice (windows ending at 30 and 90
    days, edges the portfolios' instants visit)."""
    return [
        recency("last_active", kinds=["login", "feature_used"], expected=LAST_ACTIVE_DEFAULT),
        rate("nps_rate", kinds=["nps_response"], window_days=90, expected=NPS_RATE),
        share(
            "ticket_share",
            kinds=["support_ticket"],
            among=["support_ticket", "login", "api_call"],
            expected=TICKET_SHARE,
        ),
        trend("login_trend", kinds=["login"], window_days=15),
        trend("usage_trend", kinds=["api_call", "feature_used"], window_days=45),
        tenure("age", expected=AGE_DEFAULT),
        # without kinds: events of every kind
        recency("last_event", expected=ANY_DAYS, zero_at=10.0, label="any"),
        trend("any_trend", window_days=20),
    ]


class TypesPlugin:
    """Registers :func:`made` and one segment's own recency expectation."""

    @customer_health.hookimpl
    def register_factors(self, register: Any) -> None:
        for factor in made():
            register(factor)

    @customer_health.hookimpl
    def register_expectations(self, register: Any) -> None:
        for segment, days in LAST_ACTIVE_DAYS.items():
            register(segment, {"last_active": days})
        for segment, days in AGE_DAYS.items():
            register(segment, {"age": days})


def types_scorer() -> Scorer:
    """Model v1 and the factors of :func:`made`."""
    return Scorer(entry_points=False, plugins=[TypesPlugin()], model="v1")


def types_scorer_with_last_seen() -> Scorer:
    """:func:`types_scorer` with the declared test factors too."""
    from .declared import DeclaredPlugin

    return Scorer(entry_points=False, plugins=[TypesPlugin(), DeclaredPlugin()], model="v1")


def reference(
    customer: Mapping[str, Any], events: list[dict[str, Any]], when: datetime
) -> dict[str, tuple[float | None, float | None]]:
    """Each made factor's (score, value) for ``customer``, by name, as docs/model.md
    defines them."""
    now = micros(when)
    cid = str(customer["id"])
    mine = _dedupe([e for e in events if str(e["customer_id"]) == cid])
    mine = [e for e in mine if micros(e["occurred_at"]) <= now]

    def ages(kinds: set[str] | None) -> list[int]:
        """How long before as_of each event of ``kinds`` (of every kind for None)
        happened, in microseconds."""
        return [now - micros(e["occurred_at"]) for e in mine if kinds is None or e["kind"] in kinds]

    def recency(
        seen: list[int], expected: float, zero_at: float
    ) -> tuple[float | None, float | None]:
        if not seen:
            return (None, None)
        since = min(seen) / DAY_US
        far = zero_at * expected
        if since <= expected:
            return (100.0, since)
        if since < far:
            return (100.0 * (far - since) / (far - expected), since)
        return (0.0, since)

    def trend(seen: list[int], days: float) -> tuple[float | None, float | None]:
        width = days * DAY_US
        current = sum(1 for age in seen if age < width)
        previous = sum(1 for age in seen if width <= age < 2 * width)
        if previous:
            return (100.0 * min(1.0, current / previous), current / previous)
        return (100.0 if current else None, None)

    out: dict[str, tuple[float | None, float | None]] = {}
    expected = LAST_ACTIVE_DAYS.get(customer["segment"], LAST_ACTIVE_DEFAULT)
    out["last_active"] = recency(ages({"login", "feature_used"}), expected, 4)

    answers = sum(1 for age in ages({"nps_response"}) if age < 90 * DAY_US)
    target = NPS_RATE
    created = customer.get("created_at")
    if created is not None:
        tenure = (now - micros(created)) / DAY_US
        if tenure < 90:
            target = NPS_RATE * max(1.0, tenure) / 90
    out["nps_rate"] = (100.0 * min(1.0, answers / target), float(answers))

    month = 30 * DAY_US
    tickets = sum(1 for age in ages({"support_ticket"}) if age < month)
    whole = sum(1 for age in ages({"support_ticket", "login", "api_call"}) if age < month)
    if whole:
        part = tickets / whole
        score = 100.0 if part <= TICKET_SHARE else 100.0 * (1 - part) / (1 - TICKET_SHARE)
        out["ticket_share"] = (score, part)
    else:
        out["ticket_share"] = (None, None)

    out["login_trend"] = trend(ages({"login"}), 15)
    out["usage_trend"] = trend(ages({"api_call", "feature_used"}), 45)
    out["last_event"] = recency(ages(None), ANY_DAYS, 10)
    out["any_trend"] = trend(ages(None), 20)

    created = customer.get("created_at")
    if created is None:
        out["age"] = (None, None)
    else:
        age = (now - micros(created)) / DAY_US
        enough = AGE_DAYS.get(customer["segment"], AGE_DEFAULT)
        out["age"] = (100.0 * min(1.0, age / enough), age)
    return out


@pytest.fixture(scope="module", params=MAIN_ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    with open_engine(request.param) as engine:
        yield engine


def test_factor_types_are_exact_on_every_engine(engine: Engine) -> None:
    check_engine(engine, scorer=types_scorer(), expected=reference)


def test_made_factors_are_declarations_alone() -> None:
    for factor in made():
        assert isinstance(factor, customer_health.DeclaredFactor)
        assert own_engine_methods(type(factor)) == [], factor


def test_the_same_parameters_make_the_same_factor_class() -> None:
    again, other = made(), made()
    assert [type(f) for f in again] == [type(f) for f in other]
    assert type(trend("login_trend", kinds=["login"], window_days=15)) is type(again[3])
    assert type(trend("login_trend", kinds=["login"], window_days=16)) is not type(again[3])


def test_a_segment_without_the_expectation_takes_the_default() -> None:
    scorer = types_scorer()
    assert scorer.model.segments["enterprise"]["last_active"] == 5.0
    assert scorer.model.segments["smb"]["last_active"] == LAST_ACTIVE_DEFAULT
    assert scorer.config.expectations["startup"]["last_active"] == LAST_ACTIVE_DEFAULT
    assert scorer.config.expectations["startup"]["nps_rate"] == NPS_RATE


def test_the_default_is_part_of_the_fingerprint() -> None:
    class Other:
        @customer_health.hookimpl
        def register_factors(self, register: Any) -> None:
            register(recency("last_active", kinds=["login"], expected=11.0))

    mine = Scorer(entry_points=False, plugins=[Other()])
    assert mine.fingerprint != Scorer(entry_points=False, plugins=[TypesPlugin()]).fingerprint
    assert mine.model.segments["smb"]["last_active"] == 11.0
    # a factor left out adds nothing: the built-in model's fingerprint is v1's
    left_out = Scorer(entry_points=False, plugins=[Other()], factors=list(Scorer().factors))
    assert left_out.fingerprint == Scorer(entry_points=False).fingerprint
    assert "last_active" not in left_out.config.expectations["smb"]


def test_without_a_default_every_segment_needs_the_expectation() -> None:
    class Bare:
        @customer_health.hookimpl
        def register_factors(self, register: Any) -> None:
            register(recency("last_login", kinds=["login"]))

    with pytest.raises(
        ConfigurationError, match=r"segment 'enterprise' has no expectation 'last_login'"
    ):
        Scorer(entry_points=False, plugins=[Bare()])


def test_explanations_name_the_kinds_and_the_numbers() -> None:
    scorer = types_scorer()
    as_of = datetime.fromisoformat("2026-06-30T00:00:00+00:00")
    day = datetime.fromisoformat
    events = [
        {"customer_id": "c", "kind": "login", "occurred_at": day("2026-06-20T00:00:00+00:00")},
        {"customer_id": "c", "kind": "login", "occurred_at": day("2026-06-10T00:00:00+00:00")},
        {"customer_id": "c", "kind": "login", "occurred_at": day("2026-06-05T00:00:00+00:00")},
        {
            "customer_id": "c",
            "kind": "support_ticket",
            "occurred_at": day("2026-06-29T00:00:00+00:00"),
        },
    ]
    result = scorer.score({"id": "c", "segment": "smb"}, events, as_of=as_of)
    shown = {factor.name: factor.explanation for factor in result.factors}
    assert (
        shown["last_active"] == "last feature_used or login event 10 days ago; expected within 10"
    )
    assert shown["ticket_share"] == (
        "1 of 4 api_call or login or support_ticket events in 30 days were support_ticket "
        "(a share of 0.25); at most 0.25 expected"
    )
    assert shown["login_trend"] == "1 login events in the last 15 days, 2 in the 15 days before"
    assert shown["usage_trend"] == "no api_call or feature_used event in 90 days"
    assert shown["age"] == "creation date unknown (4 events)"
    young = scorer.score(
        {"id": "c", "segment": "smb", "created_at": day("2026-06-15T00:00:00+00:00")},
        events,
        as_of=as_of,
    )
    aged = next(factor for factor in young.factors if factor.name == "age")
    assert (aged.score, aged.value, aged.expected) == (50.0, 15.0, 30.0)
    assert aged.explanation == "a customer for 15 days (4 events); expected 30"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: recency("r", kinds="login"), r"kinds 'login'; it must be a list of event kinds"),
        (lambda: recency("r", kinds=[]), r"it must list one event kind at least"),
        (lambda: recency("r", kinds=["login"], zero_at=1), r"zero_at 1; it must be a number > 1"),
        (lambda: recency("R", kinds=["login"]), r"lowercase snake_case name"),
        (
            lambda: recency("r", kinds=["login"], expected=float("nan")),
            r"expectation_default nan; it must be a number > 0",
        ),
        (lambda: rate("r", kinds=["login"], window_days=0), r"window_days 0; it must be > 0"),
        (
            lambda: share("s", kinds=["payment"], among=["login"]),
            r"counts kinds \['payment'\] that are not among \['login'\]",
        ),
        (lambda: trend("t", kinds=["login"], window_days=-1), r"window_days -1; it must be > 0"),
        (lambda: recency("r", label=" "), r"label ' '; it must be a non-empty printable text"),
        (lambda: trend("t", label="a\nb"), r"label 'a\\nb'; it must be a non-empty printable"),
        (lambda: trend("t", label=3), r"label 3; it must be a non-empty printable text"),
    ],
)
def test_bad_parameters_are_errors_naming_them(make: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make()


def test_check_factor_holds_each_type_and_a_declared_least_value() -> None:
    """``testing.check_factor`` on each made factor and on ``LastSeen``: a declared
    least value of no events is None, which the contract accepts (it asked for a
    finite number before, so no declared factor with ``min`` or ``max`` passed)."""
    from customer_health.testing import check_factor

    from .declared import LastSeen

    as_of = datetime.fromisoformat("2026-06-30T00:00:00+00:00")
    customers = [
        {"id": "young", "segment": "smb", "created_at": as_of - timedelta(days=20)},
        {"id": "old", "segment": "enterprise"},
        {"id": "idle", "segment": "startup"},
    ]
    events = [
        {"customer_id": who, "kind": kind, "occurred_at": as_of - timedelta(days=days)}
        for who in ("young", "old")
        for kind in ("login", "api_call", "support_ticket")
        for days in (1, 20, 40, 100)
    ]
    scorer = types_scorer_with_last_seen()
    for factor in (*made(), LastSeen()):
        # a factor of every kind (tenure counts them all) reads the noise kind too
        other = () if factor.kinds is None else None
        check_factor(factor, customers, events, as_of=as_of, scorer=scorer, other_kinds=other)
