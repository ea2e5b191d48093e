"""Helpers for testing customer-health plugins in your own test suite.

Everything here is public and kept stable. A plugin's tests typically build a scorer
with only the built-in plugin and their own (no installed entry points, no
``CUSTOMER_HEALTH_*`` variables), score a few hand-made customers, and run the factor
contract check::

    from customer_health import testing

    import my_plugin


    def test_nps_factor_keeps_the_contract():
        scorer = testing.make_scorer(my_plugin)
        customers = [testing.make_customer("c1", "smb")]
        events = [
            testing.make_event("nps_response", "2026-06-01", customer_id="c1", score=9),
            testing.make_event("nps_response", "2026-06-20", customer_id="c1", score=4),
        ]
        testing.check_factor("nps", customers, events, as_of="2026-06-30", scorer=scorer)

:func:`make_plugin` turns factors, segments and expectations into a plugin object, for
tests that do not want to write hook implementations.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypedDict, Unpack

from ._event_schema import INSTANT_FIELDS
from ._format import is_number
from ._inputs import resolve_as_of, validate_customer, validate_events
from .declare import DeclaredFactor
from .exceptions import (
    ConfigurationError,
    CustomerHealthError,
    EventConflictError,
    InvalidCustomerError,
)
from .factors import Factor, FactorContext, FactorResult
from .model import expectations_with_defaults
from .models import BUILTIN_KINDS, Customer, Event, FactorScore, to_utc
from .plugins import RegisterExpectations, RegisterFactor, RegisterSegment, hookimpl
from .plugins.manager import BUILTIN_PLUGIN, PluginManager
from .scoring import Scorer, Thresholds, UnknownKinds
from .segments import BUILTIN_SEGMENTS

__all__ = [
    "NOISE_KIND",
    "ScorerOptions",
    "check_factor",
    "make_customer",
    "make_event",
    "make_plugin",
    "make_scorer",
    "plugin_manager",
]

NOISE_KIND = "check_factor_noise"
"""A made-up event kind :func:`check_factor` adds: no factor may read it."""

_TOLERANCE = 1e-9
_MICROSECOND = timedelta(microseconds=1)
_LATER = timedelta(days=1000)


# -- plugin managers and scorers ---------------------------------------------------------


def plugin_manager(*plugins: object, builtin: bool = True) -> PluginManager:
    """An isolated plugin manager: the built-in plugin (unless ``builtin=False``) and ``plugins``.

    No entry point is loaded and the ``CUSTOMER_HEALTH_BLOCK_PLUGINS`` /
    ``CUSTOMER_HEALTH_ALLOW_PLUGINS`` variables are ignored, so the result does not
    depend on what else is installed. ``plugins`` are modules, classes or instances with
    :data:`~customer_health.hookimpl` functions; each is named after its ``__name__``
    (or its class name).
    """
    pm = PluginManager()
    if builtin:
        from . import builtin as builtin_plugin

        pm.add(builtin_plugin, name=BUILTIN_PLUGIN)
    for plugin in plugins:
        pm.add(plugin)
    return pm


class ScorerOptions(TypedDict, total=False):
    """The :class:`~customer_health.Scorer` arguments :func:`make_scorer` passes on."""

    weights: Mapping[str, float] | None
    thresholds: Thresholds | Mapping[str, float] | None
    factors: Iterable[str] | None
    event_kinds: Iterable[str] | None
    unknown_kinds: UnknownKinds


_SCORER_OPTIONS = frozenset(ScorerOptions.__annotations__)


def make_scorer(
    *plugins: object, builtin: bool = True, **scorer_kwargs: Unpack[ScorerOptions]
) -> Scorer:
    """A :class:`~customer_health.Scorer` on :func:`plugin_manager` ``(*plugins, builtin=builtin)``.

    ``scorer_kwargs`` are ``weights``, ``thresholds``, ``factors``, ``event_kinds`` and
    ``unknown_kinds``; the arguments
    that choose plugins are not accepted, since the plugins are the ones given here.
    """
    unexpected = sorted(set(scorer_kwargs) - _SCORER_OPTIONS)
    if unexpected:
        raise TypeError(
            f"make_scorer() does not take {', '.join(unexpected)}; pass plugin objects "
            f"as positional arguments (accepted options: {', '.join(sorted(_SCORER_OPTIONS))})"
        )
    return Scorer(plugin_manager=plugin_manager(*plugins, builtin=builtin), **scorer_kwargs)


class _Plugin:
    """A plugin object that registers what :func:`make_plugin` was given."""

    def __init__(
        self,
        name: str,
        factors: Sequence[Factor | type[Factor]],
        segments: Mapping[str, Mapping[str, float]],
        expectations: Mapping[str, Mapping[str, float]],
    ) -> None:
        self.__name__ = name
        self._factors = factors
        self._segments = segments
        self._expectations = expectations

    def __repr__(self) -> str:
        return f"<plugin {self.__name__!r}>"

    @hookimpl
    def register_factors(self, register: RegisterFactor) -> None:
        for factor in self._factors:
            register(factor)

    @hookimpl
    def register_segments(self, register: RegisterSegment) -> None:
        for name, expectations in self._segments.items():
            register(name, expectations)

    @hookimpl
    def register_expectations(self, register: RegisterExpectations) -> None:
        for segment, expectations in self._expectations.items():
            register(segment, expectations)


def make_plugin(
    *factors: Factor | type[Factor],
    segments: Mapping[str, Mapping[str, float]] | None = None,
    expectations: Mapping[str, Mapping[str, float]] | None = None,
    name: str | None = None,
) -> object:
    """A plugin object registering ``factors``, new ``segments`` and ``expectations``.

    ``expectations`` maps existing segments to expectations to add (through the
    ``register_expectations`` hook). The plugin is called ``name``, by default
    ``"make_plugin(<factor and segment names>)"``; give two plugins with the same
    contents different names.
    """
    segments = dict(segments or {})
    expectations = dict(expectations or {})
    if name is None:
        named = [getattr(factor, "name", None) or type(factor).__name__ for factor in factors]
        parts = named + sorted(segments) + sorted(expectations)
        name = f"make_plugin({','.join(parts)})"
    return _Plugin(name, factors, segments, expectations)


# -- customers and events ----------------------------------------------------------------


def make_customer(id: str = "c1", segment: str = "smb", **fields: Any) -> Customer:
    """A validated :class:`~customer_health.Customer`; ``fields`` are ``name``,
    ``created_at`` and ``attributes``."""
    return validate_customer({"id": id, "segment": segment, **fields})


def make_event(
    kind: str,
    occurred_at: datetime | date | str,
    *,
    customer_id: str = "c1",
    event_id: str | None = None,
    **fields: Any,
) -> Event:
    """A validated event of ``kind`` for ``customer_id``.

    For a built-in kind ``fields`` are the kind's fields (``quantity``, ``feature``,
    ``due_at`` ...); for any other kind they become the event's ``properties``. A
    ``date`` means 00:00 UTC that day.
    """
    when = to_utc(occurred_at) if isinstance(occurred_at, date) else occurred_at
    raw: dict[str, Any] = {"customer_id": customer_id, "kind": kind, "occurred_at": when}
    if event_id is not None:
        raw["event_id"] = event_id
    if kind in BUILTIN_KINDS:
        raw.update(fields)
    else:
        raw["properties"] = fields
    (event,) = validate_events([raw])
    return event


# -- the factor contract -----------------------------------------------------------------


def check_factor(
    factor: Factor | str,
    customers: Iterable[Customer | Mapping[str, Any]],
    events: Iterable[Event | Mapping[str, Any]],
    *,
    as_of: datetime | date | str,
    scorer: Scorer | None = None,
    other_kinds: Iterable[str] | None = None,
) -> None:
    """Check that ``factor`` keeps the factor contract for each customer at ``as_of``.

    The factor is given what the engine would give it: the customer's events of its
    ``kinds`` within its window (de-duplicated) and the
    :class:`~customer_health.FactorContext` from ``scorer``. It must:

    - return a :class:`~customer_health.FactorResult` whose score is within 0-100 or
      ``None`` (no data), with a non-empty explanation and finite ``value`` and
      ``expected``, for the customer's events and for no events at all;
    - ignore events after ``as_of``: adding copies of the events moved after ``as_of``,
      or moving a ``paid_at`` / ``resolved_at`` that is after ``as_of`` further into the
      future, changes nothing;
    - ignore kinds it does not read: adding events of ``other_kinds`` changes nothing
      (default: the built-in kinds outside ``factor.kinds`` and :data:`NOISE_KIND`;
      only :data:`NOISE_KIND` when ``factor.kinds`` is ``None``; pass ``()`` to skip);
    - not depend on the order of the events (reversed and shuffled with a fixed seed);
    - where it has a fast form (``factor.inputs``): ``aggregate`` returns a finite
      number for each of its ``inputs`` (or None, for a declared factor's least or
      greatest value of no events), and ``compute(aggregate(...))`` equals
      ``evaluate(...)``;
    - give each customer, when the engine scores all the customers at once (the batch
      form of a fast factor), what ``evaluate`` gives it alone, in either event order.

    Numbers are compared to 1e-9 and explanations must be equal. Customers created
    after ``as_of`` are left out, as the engine leaves them out.

    :param factor: a :class:`~customer_health.Factor` or the name of one in ``scorer``.
    :param scorer: where the factor is registered (for its context: expectations,
        proration). Default: for a name, :func:`make_scorer` ``()``; for a factor object,
        a scorer with the built-in segments and that factor alone.
    :param other_kinds: the event kinds the factor must ignore (see above).
    :raises AssertionError: naming the factor, the customer and what went wrong.
    """
    instant = resolve_as_of(as_of)
    factor, segments = _resolve(factor, scorer)
    # The factor alone, with the scorer's segments: the same contexts, and no other
    # factor's needs in the way; events of every kind are kept, since the factor must
    # ignore those of kinds it does not read.
    plugin = make_plugin(factor, segments=segments, name="check_factor")
    engine = make_scorer(plugin, builtin=False, weights={factor.name: 1.0}, unknown_kinds="keep")
    models = [validate_customer(customer, index) for index, customer in enumerate(customers)]
    if not models:
        raise ValueError("check_factor() needs at least one customer")
    if len({m.id for m in models}) < len(models):
        raise InvalidCustomerError("check_factor() was given two customers with one id")
    alive = [m for m in models if m.created_at is None or m.created_at <= instant]
    valid = validate_events(events)
    histories: dict[str, list[Event]] = {m.id: [] for m in alive}
    for event in _unique_events(valid):
        if event.customer_id in histories:
            histories[event.customer_id].append(event)
    noise = _noise_kinds(factor, other_kinds)
    results = {
        customer.id: _Contract(factor, engine.context(customer, instant, factor.name)).check(
            histories[customer.id], noise
        )
        for customer in alive
    }
    _check_engine(engine, factor.name, alive, valid, instant, results)


def _resolve(
    factor: Factor | str, scorer: Scorer | None
) -> tuple[Factor, Mapping[str, Mapping[str, float]]]:
    if isinstance(factor, str):
        scorer = scorer or make_scorer()
        return scorer.factor(factor), scorer.model.segments
    if not isinstance(factor, Factor):
        raise TypeError(f"check_factor() needs a Factor or a factor name, not {factor!r}")
    if scorer is None:
        return factor, expectations_with_defaults(BUILTIN_SEGMENTS, [factor])
    registered = scorer.factor(factor.name)
    if type(registered) is not type(factor):
        raise ConfigurationError(
            f"the scorer's factor {factor.name!r} is a {type(registered).__qualname__}, "
            f"not a {type(factor).__qualname__}"
        )
    return factor, scorer.model.segments


def _nullable_inputs(factor: Factor) -> frozenset[str]:
    """The inputs that are None without events: a declared factor's least and greatest
    values (``min``, ``max``); a hand-written factor's inputs are numbers."""
    if not isinstance(factor, DeclaredFactor):
        return frozenset()
    return frozenset(name for name, aggregate in factor.aggregates.items() if aggregate.nullable)


def _noise_kinds(factor: Factor, other_kinds: Iterable[str] | None) -> tuple[str, ...]:
    if other_kinds is not None:
        if isinstance(other_kinds, str):
            raise TypeError(f"other_kinds={other_kinds!r} is a string; pass a list of kinds")
        return tuple(other_kinds)
    if factor.kinds is None:
        return (NOISE_KIND,)
    return (*sorted(BUILTIN_KINDS - factor.kinds), NOISE_KIND)


def _check_engine(
    engine: Scorer,
    name: str,
    customers: list[Customer],
    events: list[Event],
    as_of: datetime,
    expected: Mapping[str, FactorResult],
) -> None:
    """The engine, scoring every customer at once (its batch form), agrees with
    ``evaluate()`` of each customer alone."""
    if not customers:
        return
    shown = ", ".join(repr(customer.id) for customer in customers)
    for label, ordered in (("", events), (" (events reversed)", events[::-1])):
        try:
            scores = engine.score_many(customers, ordered, as_of=as_of, unknown_customers="skip")
        except CustomerHealthError as exc:
            raise AssertionError(
                f"factor {name!r}: scoring customers {shown} together{label} failed: {exc}"
            ) from exc
        for health in scores:
            difference = _difference(expected[health.customer_id], health.factor(name))
            if difference:
                raise AssertionError(
                    f"factor {name!r}, customer {health.customer_id!r}: scoring customers "
                    f"{shown} together{label} differs from evaluate() of the customer "
                    f"alone: {difference} (evaluate first)"
                )


def _unique_events(events: Iterable[Event]) -> Iterator[Event]:
    """The events, those sharing an ``event_id`` (per customer) once, as the engine counts."""
    seen: dict[tuple[str, str], Event] = {}
    for event in events:
        if event.event_id is not None:
            key = (event.customer_id, event.event_id)
            first = seen.setdefault(key, event)
            if first is not event:
                if first != event:
                    raise EventConflictError(
                        f"event_id {event.event_id!r} of customer {event.customer_id!r} is "
                        "used by two different events"
                    )
                continue
        yield event


def _selection(factor: Factor, as_of: datetime) -> Callable[[Iterable[Event]], list[Event]]:
    """What the engine hands ``factor``: its kinds, ``as_of - window < occurred_at <= as_of``."""
    kinds = factor.kinds
    window = factor.window_days
    since = None if window is None else as_of - timedelta(days=window)

    def select(events: Iterable[Event]) -> list[Event]:
        return [
            event
            for event in events
            if (kinds is None or event.kind in kinds)
            and event.occurred_at <= as_of
            and (since is None or since < event.occurred_at)
        ]

    return select


class _Contract:
    """The contract check of one factor for one customer."""

    def __init__(self, factor: Factor, ctx: FactorContext) -> None:
        self.factor = factor
        self.ctx = ctx
        self.as_of = ctx.as_of
        self.select = _selection(factor, ctx.as_of)
        self.where = f"factor {factor.name!r}, customer {ctx.customer.id!r}"

    def fail(self, problem: str) -> AssertionError:
        return AssertionError(f"{self.where}: {problem}")

    def check(self, history: list[Event], noise: Sequence[str]) -> FactorResult:
        """Run every check; return the result for the customer's own events."""
        self.outcome([], "with no events")
        base = self.outcome(history, "with its events")
        variants: list[tuple[str, list[Event]]] = [
            ("when copies of its events moved after as_of were added", self._after(history)),
            ("when paid_at/resolved_at after as_of were moved later", self._later(history)),
            (
                f"when events of kinds it does not read ({', '.join(noise)}) were added",
                history + self._noise(noise),
            ),
            ("when its events were reversed", history[::-1]),
        ]
        rng = random.Random(f"{self.factor.name}\0{self.ctx.customer.id}")
        for attempt in (1, 2):
            shuffled = history[:]
            rng.shuffle(shuffled)
            variants.append((f"when its events were shuffled (shuffle #{attempt})", shuffled))
        for label, events in variants:
            if events is history:
                continue
            difference = _difference(base, self.outcome(events, label))
            if difference:
                raise self.fail(f"the result changed {label}: {difference}")
        return base

    def outcome(self, events: Sequence[Event], label: str) -> FactorResult:
        """The factor's checked result on what the engine would select from ``events``."""
        selected = self.select(events)
        result = self._valid(
            self._call("evaluate", label, lambda: self.factor.evaluate(selected, self.ctx)),
            f"evaluate() {label}",
        )
        if self.factor.inputs:
            fast = self._fast(selected, label)
            difference = _difference(result, fast)
            if difference:
                raise self.fail(
                    f"compute(aggregate(events)) differs from evaluate(events) {label}: "
                    f"{difference} (evaluate first)"
                )
        return result

    def _fast(self, selected: list[Event], label: str) -> FactorResult:
        raw = self._call("aggregate", label, lambda: self.factor.aggregate(selected, self.as_of))
        if not isinstance(raw, Mapping):
            raise self.fail(f"aggregate() {label} returned {raw!r}; expected a mapping")
        nullable = _nullable_inputs(self.factor)
        for name in self.factor.inputs:
            value: Any = raw.get(name)
            if value is None and name in nullable:
                continue
            if not (is_number(value) and math.isfinite(value)):
                raise self.fail(
                    f"aggregate() {label} returned input {name!r} = {value!r}; "
                    f"expected a finite number for each of {self.factor.inputs}"
                )
        # Other engines hand compute() the declared inputs only, as floats (or None: a
        # declared least or greatest value of no events).
        inputs: dict[str, Any] = {
            name: None if raw[name] is None else float(raw[name]) for name in self.factor.inputs
        }
        return self._valid(
            self._call("compute", label, lambda: self.factor.compute(inputs, self.ctx)),
            f"compute() {label}",
        )

    def _call(self, method: str, label: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:
            raise self.fail(f"{method}() raised {exc!r} {label}") from exc

    def _valid(self, result: Any, what: str) -> FactorResult:
        if not isinstance(result, FactorResult):
            raise self.fail(f"{what} returned {result!r}; expected a FactorResult")
        score = result.score
        if score is not None and not (is_number(score) and 0.0 <= score <= 100.0):
            raise self.fail(f"{what} returned score {score!r}; scores are within 0-100 or None")
        if not isinstance(result.explanation, str) or not result.explanation.strip():
            raise self.fail(f"{what} returned explanation {result.explanation!r}; it is empty")
        for field in ("value", "expected"):
            value = getattr(result, field)
            if value is not None and not (is_number(value) and math.isfinite(value)):
                raise self.fail(f"{what} returned {field} {value!r}; expected a finite number")
        return result

    # -- the variants ------------------------------------------------------------------

    def _after(self, history: list[Event]) -> list[Event]:
        if not history:
            return history
        delta = self.as_of - min(event.occurred_at for event in history) + _MICROSECOND
        return history + [_shifted(event, delta) for event in history]

    def _later(self, history: list[Event]) -> list[Event]:
        moved = [_pushed(event, self.as_of) for event in history]
        return history if moved == history else moved

    def _noise(self, kinds: Sequence[str]) -> list[Event]:
        window = self.factor.window_days
        half = timedelta(days=15 if window is None else window / 2)
        times = (self.as_of, self.as_of - _MICROSECOND, self.as_of - half)
        customer = self.ctx.customer.id
        return [_noise_event(kind, customer, at, i) for kind in kinds for i, at in enumerate(times)]


def _shifted(event: Event, delta: timedelta) -> Event:
    update: dict[str, Any] = {"occurred_at": event.occurred_at + delta, "event_id": None}
    for field in INSTANT_FIELDS:
        if field == "occurred_at":
            continue
        value = getattr(event, field, None)
        if value is not None:
            update[field] = value + delta
    return event.model_copy(update=update)


def _pushed(event: Event, as_of: datetime) -> Event:
    update: dict[str, Any] = {}
    for field in ("paid_at", "resolved_at"):
        value = getattr(event, field, None)
        if value is not None and value > as_of:
            update[field] = value + _LATER
    return event.model_copy(update=update) if update else event


def _noise_event(kind: str, customer_id: str, at: datetime, index: int) -> Event:
    """An event of ``kind`` that would move any factor reading it."""
    raw: dict[str, Any] = {"customer_id": customer_id, "kind": kind, "occurred_at": at}
    if kind == "api_call":
        raw["quantity"] = 1000
    elif kind == "login":
        raw["user_id"] = f"noise-{index}"
    elif kind == "feature_used":
        raw["feature"] = f"noise-{index}"
    elif kind == "payment":
        raw["due_at"] = at - timedelta(days=10)
    elif kind == "support_ticket":
        raw["priority"] = "urgent"
    (event,) = validate_events([raw])
    return event


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE)


def _difference(first: FactorResult, second: FactorResult | FactorScore) -> str | None:
    """How two results differ (numbers beyond 1e-9, or text), or ``None``."""
    for field in ("score", "value", "expected"):
        a, b = getattr(first, field), getattr(second, field)
        if not _close(a, b):
            return f"{field} {a!r} != {b!r}"
    if first.explanation != second.explanation:
        return f"explanation {first.explanation!r} != {second.explanation!r}"
    return None
