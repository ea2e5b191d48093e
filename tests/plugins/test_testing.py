"""customer_health.testing: the helpers plugin authors use in their own tests."""

from __future__ import annotations

import importlib.metadata
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, ClassVar

import pytest

import customer_health
from customer_health import (
    ApiCallEvent,
    ConfigurationError,
    Customer,
    CustomEvent,
    DuplicateNameError,
    Event,
    Factor,
    FactorContext,
    FactorResult,
    InvalidCustomerError,
    InvalidEventError,
    PaymentEvent,
    testing,
)
from customer_health.builtin.factors import BUILTIN_FACTORS
from customer_health.factors import Accumulator
from customer_health.plugins.manager import ALLOW_ENV, BLOCK_ENV, BUILTIN_PLUGIN

from .helpers import AS_OF, DAY, NPS_TARGETS, US, NpsScore, SeatUsage, generated, nps_event

BUILTIN_NAMES = tuple(factor.name for factor in BUILTIN_FACTORS)
DEFAULT_NAMES = (*BUILTIN_NAMES, "last_seen", "activity_trend")
SEEDS = range(8)


def nps_scorer(*factors: Factor) -> customer_health.Scorer:
    """A scorer with ``factors`` (default: NpsScore) and nps_target in every segment."""
    plugin = testing.make_plugin(
        *(factors or (NpsScore(),)),
        expectations={segment: {"nps_target": target} for segment, target in NPS_TARGETS.items()},
    )
    return testing.make_scorer(plugin)


# -- plugin managers and scorers ----------------------------------------------------------


def test_all_is_sorted_and_exact() -> None:
    """testing.__all__ is sorted and lists exactly the public names defined there."""
    names = testing.__all__
    assert names == sorted(names)
    public = {
        name
        for name, value in vars(testing).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == testing.__name__
    }
    assert public | {"NOISE_KIND"} == set(names)


def test_plugin_manager_loads_no_entry_points_and_ignores_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """testing.plugin_manager() never reads entry points, ignores the block and allow
    variables, and registers the built-in plugin and the plugins given."""

    def no_entry_points(**params: Any) -> None:
        raise AssertionError("entry points were read")

    monkeypatch.setattr(importlib.metadata, "entry_points", no_entry_points)
    monkeypatch.setenv(BLOCK_ENV, "builtin,extra")
    monkeypatch.setenv(ALLOW_ENV, "nothing")
    extra = testing.make_plugin(NpsScore(), name="extra")
    pm = testing.plugin_manager(extra)
    assert [name for name, _ in pm.list_name_plugin()] == [BUILTIN_PLUGIN, "extra"]
    assert testing.make_scorer().factors == DEFAULT_NAMES


def test_plugin_manager_without_builtin() -> None:
    """builtin=False leaves the built-in plugin out, so a scorer has only plugin factors."""
    pm = testing.plugin_manager(builtin=False)
    assert pm.list_name_plugin() == []
    scorer = testing.make_scorer(
        testing.make_plugin(NpsScore(), segments={"only": {"nps_target": 5}}), builtin=False
    )
    assert scorer.factors == ("nps",)
    assert list(scorer.segments) == ["only"]
    with pytest.raises(ConfigurationError, match="no factors to score with"):
        testing.make_scorer(builtin=False)


def test_make_scorer_passes_options_on() -> None:
    """make_scorer() passes weights, thresholds and factors to the Scorer."""
    scorer = testing.make_scorer(
        weights={"api_usage": 1.0}, thresholds={"healthy": 90, "at_risk": 10}, factors=["api_usage"]
    )
    assert scorer.factors == ("api_usage",)
    assert dict(scorer.weights) == {"api_usage": 1.0}
    assert (scorer.thresholds.healthy, scorer.thresholds.at_risk) == (90.0, 10.0)


@pytest.mark.parametrize(
    "option", ["plugins", "entry_points", "block_plugins", "allow_plugins", "plugin_manager"]
)
def test_make_scorer_refuses_plugin_choosing_options(option: str) -> None:
    """make_scorer() rejects the options that choose plugins rather than ignoring them."""
    with pytest.raises(TypeError, match=rf"make_scorer\(\) does not take {option}"):
        testing.make_scorer(**{option: None})  # type: ignore[misc]


def test_make_plugin_registers_factors_segments_and_expectations() -> None:
    """make_plugin() registers its factors (instances or classes), new segments and
    expectations for existing segments, under a name built from its contents."""
    plugin = testing.make_plugin(
        NpsScore, segments={"ngo": {"nps_target": 3}}, expectations={"smb": {"nps_target": 7}}
    )
    assert plugin.__name__ == "make_plugin(nps,ngo,smb)"  # type: ignore[attr-defined]
    others = testing.make_plugin(
        expectations={"enterprise": {"nps_target": 8}, "startup": {"nps_target": 6}}, name="o"
    )
    scorer = testing.make_scorer(plugin, others, factors=["nps"])
    assert scorer.registry.factor_plugins["nps"] == "make_plugin(nps,ngo,smb)"
    assert scorer.segments["ngo"].expectations == {"nps_target": 3.0}
    assert scorer.segments["smb"].expectations["nps_target"] == 7.0


def test_make_plugin_twice_with_one_name_clashes() -> None:
    """Two make_plugin() plugins with the same contents need different names."""
    with pytest.raises(DuplicateNameError, match=r"two plugins are named 'make_plugin\(nps\)'"):
        testing.make_scorer(testing.make_plugin(NpsScore()), testing.make_plugin(NpsScore()))


def test_make_event_builds_builtin_and_custom_events() -> None:
    """make_event() validates built-in kinds with their fields and puts the fields of
    other kinds into properties; a date is midnight UTC."""
    api = testing.make_event("api_call", date(2026, 6, 1), quantity=3, event_id="e1")
    assert api == ApiCallEvent(
        customer_id="c1",
        occurred_at=datetime(2026, 6, 1, tzinfo=AS_OF.tzinfo),
        quantity=3,
        event_id="e1",
    )
    nps = testing.make_event("nps_response", "2026-06-01T10:00:00Z", customer_id="c2", score=9)
    assert isinstance(nps, CustomEvent)
    assert (nps.customer_id, nps.properties) == ("c2", {"score": 9})
    payment = testing.make_event("payment", AS_OF, due_at=AS_OF - DAY)
    assert isinstance(payment, PaymentEvent)
    assert payment.paid_at is None


def test_make_event_rejects_bad_fields_naming_them() -> None:
    """A built-in kind with a field it does not have is an InvalidEventError naming it."""
    with pytest.raises(InvalidEventError, match=r"field 'quantiti'"):
        testing.make_event("api_call", AS_OF, quantiti=3)


def test_make_customer_validates() -> None:
    """make_customer() returns a Customer and names a bad field."""
    customer = testing.make_customer("acme", "startup", attributes={"seats": 3})
    assert customer == Customer(id="acme", segment="startup", attributes={"seats": 3})
    with pytest.raises(InvalidCustomerError, match=r"field 'created_at'"):
        testing.make_customer(created_at="yesterday")


# -- check_factor passes for sound factors ------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("factor", BUILTIN_FACTORS, ids=lambda f: f.name)
def test_check_factor_passes_for_builtin_factors(factor: type[Factor], seed: int) -> None:
    """Every built-in factor keeps the contract on generated customers and events, as an
    object on its own and by name in the default scorer."""
    customers, events = generated(seed)
    testing.check_factor(factor(), customers, events, as_of=AS_OF)
    testing.check_factor(factor.name, customers, events, as_of=AS_OF)


@pytest.mark.parametrize("seed", SEEDS)
def test_check_factor_passes_for_sound_plugin_factors(seed: int) -> None:
    """The plugin factors of these tests keep the contract, checked in their scorer."""
    customers, events = generated(seed)
    for customer in customers:
        customer["attributes"] = {"seats": 2}
    for event in events:  # the same user for copies of one event
        if event["kind"] == "login":
            event["user_id"] = f"u{event['occurred_at'].microsecond % 3}"
    scorer = nps_scorer(NpsScore(), SeatUsage())
    testing.check_factor("nps", customers, events, as_of=AS_OF, scorer=scorer)
    testing.check_factor(SeatUsage(), customers, events, as_of=AS_OF, scorer=scorer)


def test_check_factor_accepts_a_factor_weighing_nothing() -> None:
    """A factor whose default weight is 0 (shown, not counted) can still be checked."""

    class Informational(LastAnswer):
        default_weight = 0.0

        def score(self, events: Sequence[Event]) -> Any:
            return 50.0

    testing.check_factor(Informational(), CUSTOMERS, EVENTS, as_of=AS_OF)


def test_check_factor_leaves_out_customers_not_created_yet() -> None:
    """Customers created after as_of are not checked, as the engine never scores them."""
    unborn = {"id": "c1", "segment": "smb", "created_at": AS_OF + US}
    testing.check_factor(EmptyExplanation(), [unborn], [], as_of=AS_OF)


def test_check_factor_needs_the_scorer_for_plugin_expectations() -> None:
    """Without the scorer that adds its expectations, a factor's context cannot be built,
    and the configuration error says which expectation is missing."""
    with pytest.raises(ConfigurationError, match=r"segment '\w+' has no expectation 'nps_target'"):
        testing.check_factor(NpsScore(), [{"id": "c1", "segment": "smb"}], [], as_of=AS_OF)


def test_check_factor_rejects_misuse() -> None:
    """No customers, a non-factor, a factor of another class than the scorer's, a
    customer given twice or other_kinds given as one string are usage errors, not
    contract failures."""
    customers = [{"id": "c1", "segment": "smb"}]
    with pytest.raises(ValueError, match="needs at least one customer"):
        testing.check_factor("api_usage", [], [], as_of=AS_OF)
    with pytest.raises(TypeError, match="needs a Factor or a factor name"):
        testing.check_factor(42, customers, [], as_of=AS_OF)  # type: ignore[arg-type]

    class ApiUsage(NpsScore):
        name = "api_usage"

    with pytest.raises(ConfigurationError, match=r"the scorer's factor 'api_usage' is a ApiUsage"):
        testing.check_factor(ApiUsage(), customers, [], as_of=AS_OF, scorer=testing.make_scorer())
    with pytest.raises(InvalidCustomerError, match="two customers with one id"):
        testing.check_factor("api_usage", customers * 2, [], as_of=AS_OF)
    with pytest.raises(TypeError, match="other_kinds='login' is a string"):
        testing.check_factor("api_usage", customers, [], as_of=AS_OF, other_kinds="login")


# -- check_factor fails for broken factors ------------------------------------------------


CUSTOMERS = [{"id": "c1", "segment": "smb"}, {"id": "quiet", "segment": "startup"}]
EVENTS: list[dict[str, Any]] = [
    nps_event(AS_OF - 1 * DAY, 9),
    nps_event(AS_OF - 2 * DAY, 3),
    nps_event(AS_OF - 3 * DAY, 6),
    {"customer_id": "c1", "kind": "login", "occurred_at": AS_OF - DAY},
    {
        "customer_id": "c1",
        "kind": "payment",
        "occurred_at": AS_OF - 20 * DAY,
        "due_at": AS_OF - 5 * DAY,
        "paid_at": AS_OF + 2 * DAY,  # not paid yet at as_of
    },
]


class _Base(Factor):
    """A per-customer factor of NPS answers with a sound explanation."""

    name = "broken"
    kinds: ClassVar[frozenset[str] | None] = frozenset({"nps_response"})
    window_days: ClassVar[float | None] = 90

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        return FactorResult(self.score(events), "some explanation")

    def score(self, events: Sequence[Event]) -> Any:
        return 50.0


class LastAnswer(_Base):
    """Scores the last NPS answer in the list: depends on the order of events."""

    def score(self, events: Sequence[Event]) -> Any:
        return 10.0 * events[-1].properties["score"] if events else None  # type: ignore[union-attr]


class EmptyExplanation(_Base):
    """Explains nothing."""

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        return FactorResult(50.0, "  ")


class TooHigh(_Base):
    """Scores above 100."""

    def score(self, events: Sequence[Event]) -> Any:
        return 150.0


class NotANumber(_Base):
    """Scores NaN."""

    def score(self, events: Sequence[Event]) -> Any:
        return math.nan


class BoolScore(_Base):
    """Scores a boolean."""

    def score(self, events: Sequence[Event]) -> Any:
        return True


class NotAResult(_Base):
    """Returns a dict instead of a FactorResult."""

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> Any:
        return {"score": 50.0}


class InfiniteValue(_Base):
    """Reports an infinite value."""

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        return FactorResult(50.0, "infinite", value=math.inf)


class MeanOfNothing(_Base):
    """Divides by the number of answers, which is zero for a customer without any."""

    def score(self, events: Sequence[Event]) -> Any:
        return 10.0 * sum(e.properties["score"] for e in events) / len(events)  # type: ignore[union-attr]


class CountsEverything(_Base):
    """Asks for every kind (kinds=None) but means NPS answers: counts whatever it gets."""

    kinds: ClassVar[frozenset[str] | None] = None

    def score(self, events: Sequence[Event]) -> Any:
        return min(100.0, 10.0 * len(events))


class PeeksAtPayment(_Base):
    """Treats invoices paid within a week of as_of as paid, even if that is after as_of."""

    kinds: ClassVar[frozenset[str] | None] = frozenset({"payment"})
    window_days: ClassVar[float | None] = None

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        paid = [e for e in events if isinstance(e, PaymentEvent) and e.paid_at is not None]
        settled = [e for e in paid if e.paid_at is not None and e.paid_at <= ctx.as_of + 7 * DAY]
        score = 100.0 * len(settled) / len(events) if events else None
        return FactorResult(score, f"{len(settled)} invoices paid")


class FastDiffers(NpsScore):
    """evaluate() says one thing, compute(aggregate()) another."""

    name = "broken"

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        result = super().evaluate(events, ctx)
        if result.score is None:
            return result
        return FactorResult(result.score / 2, result.explanation, result.value, result.expected)


class MissingInput(NpsScore):
    """aggregate() forgets one of its declared inputs."""

    name = "broken"

    def aggregate(self, events: Sequence[Event], as_of: datetime) -> dict[str, float]:
        return {"responses": float(len(events))}

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        return FactorResult(None, "no answers")


class NanInput(NpsScore):
    """aggregate() returns a mean, which is NaN without answers."""

    name = "broken"

    def aggregate(self, events: Sequence[Event], as_of: datetime) -> dict[str, float]:
        inputs = super().aggregate(events, as_of)
        mean = inputs["total"] / inputs["responses"] if events else math.nan
        return {"responses": inputs["responses"], "total": mean}


class UndeclaredInput(NpsScore):
    """compute() reads an input that aggregate() returns but inputs does not declare."""

    name = "broken"

    def aggregate(self, events: Sequence[Event], as_of: datetime) -> dict[str, float]:
        return {**super().aggregate(events, as_of), "latest": float(len(events))}

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        return FactorResult(min(100.0, inputs["latest"]), "latest")

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        return self.compute(self.aggregate(events, ctx.as_of), ctx)


BROKEN = [
    (LastAnswer, r"'c1': the result changed when its events were reversed: score 60.0 != 90.0"),
    (EmptyExplanation, r"'c1': evaluate\(\) with no events returned explanation '  '; it is empty"),
    (TooHigh, r"'c1': evaluate\(\) with no events returned score 150.0; scores are within 0-100"),
    (
        NotANumber,
        r"'c1': evaluate\(\) with no events returned score nan; scores are within 0-100 or None",
    ),
    (BoolScore, r"'c1': evaluate\(\) with no events returned score True"),
    (
        NotAResult,
        r"'c1': evaluate\(\) with no events returned \{'score': 50.0\}; expected a FactorResult",
    ),
    (
        InfiniteValue,
        r"'c1': evaluate\(\) with no events returned value inf; expected a finite number",
    ),
    (MeanOfNothing, r"'c1': evaluate\(\) raised ZeroDivisionError\(.*\) with no events"),
    (
        CountsEverything,
        r"'c1': the result changed when events of kinds it does not read "
        r"\(check_factor_noise\) were added: score 50.0 != 80.0",
    ),
    (
        PeeksAtPayment,
        r"'c1': the result changed when paid_at/resolved_at after as_of were moved later: "
        r"score 100.0 != 0.0",
    ),
    (
        FastDiffers,
        r"'c1': compute\(aggregate\(events\)\) differs from evaluate\(events\) with its events: "
        r"score 42.857142857142854 != 85.71428571428571 \(evaluate first\)",
    ),
    (MissingInput, r"'c1': aggregate\(\) with no events returned input 'total' = None"),
    (NanInput, r"'c1': aggregate\(\) with no events returned input 'total' = nan"),
    (UndeclaredInput, r"'c1': compute\(\) raised KeyError\('latest'\) with no events"),
]


@pytest.mark.parametrize(("factor", "message"), BROKEN, ids=[f.__name__ for f, _ in BROKEN])
def test_check_factor_fails_for_broken_factors(factor: type[Factor], message: str) -> None:
    """check_factor raises an AssertionError naming the factor, the customer and the
    broken rule for each way a factor can break the contract."""
    scorer = nps_scorer(factor())
    with pytest.raises(AssertionError, match=r"^factor 'broken', customer " + message):
        testing.check_factor("broken", CUSTOMERS, EVENTS, as_of=AS_OF, scorer=scorer)


def test_check_factor_failure_chains_the_factor_exception() -> None:
    """When the factor raises, the AssertionError carries the original exception."""
    with pytest.raises(AssertionError) as caught:
        testing.check_factor(MeanOfNothing(), CUSTOMERS, EVENTS, as_of=AS_OF)
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


def test_other_kinds_can_be_chosen() -> None:
    """other_kinds=() skips the unread-kinds check, for a factor that reads every kind;
    naming a kind makes it one the factor must ignore."""
    testing.check_factor(CountsEverything(), CUSTOMERS, EVENTS, as_of=AS_OF, other_kinds=())
    with pytest.raises(AssertionError, match=r"kinds it does not read \(survey\)"):
        testing.check_factor(
            CountsEverything(), CUSTOMERS, EVENTS, as_of=AS_OF, other_kinds=["survey"]
        )


class MixesCustomers(NpsScore):
    """Right for one customer at a time, but its batch form adds up every customer's answers."""

    name = "broken"

    def accumulator(self, as_of: datetime, customer_ids: Iterable[str]) -> Accumulator:
        ids = list(customer_ids)
        totals = [0.0, 0.0]

        def add(event: Event) -> None:
            totals[0] += 1
            totals[1] += event.properties["score"]  # type: ignore[union-attr]

        def inputs() -> dict[str, dict[str, float]]:
            return {cid: {"responses": totals[0], "total": totals[1]} for cid in ids}

        return Accumulator(add, inputs)


def test_check_factor_fails_when_the_batch_form_disagrees() -> None:
    """A factor whose batch form (used when the engine scores many customers at once)
    disagrees with evaluate() of each customer alone fails, naming the customer."""
    with pytest.raises(
        AssertionError,
        match=r"^factor 'broken', customer 'quiet': scoring customers 'c1', 'quiet' together "
        r"differs from evaluate\(\) of the customer alone: score None != 100.0",
    ):
        testing.check_factor(
            "broken", CUSTOMERS, EVENTS, as_of=AS_OF, scorer=nps_scorer(MixesCustomers())
        )
