"""The object engine: one pass over event models, then per-customer results.

:class:`~customer_health.Scorer` resolves the model; this module runs it on Python
objects. A run makes a :class:`Plan` per factor in use (its accumulator, or
per-customer lists for factors that only evaluate), feeds every event to the plans of
its kind in one pass (:func:`feed_events`), then asks each plan for each customer's
:class:`~customer_health.FactorResult`, checking what plugins return
(:func:`~customer_health.model.checked`). The SQL store uses the same plans, fed with
inputs its database computed (:meth:`Plan.prepared`). :func:`validated_events` is how
every path that takes events as objects reads them: validated, and their kinds held to
the model's known kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from datetime import datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from .._inputs import event_list, validate_events
from ..exceptions import EventConflictError, FactorError
from ..factors import FactorContext, FactorResult
from ..model import ActiveFactor, checked, factor_context, factor_error, guard, tenure
from ..models import CustomEvent, Event

if TYPE_CHECKING:
    from ..model import EventKinds, ResolvedModel
    from ..models import Customer, HealthScore

__all__ = [
    "Plan",
    "Route",
    "feed_events",
    "results",
    "routes_of",
    "run",
    "validated_events",
]

_KIND = attrgetter("kind")


def validated_events(kinds: EventKinds, events: Iterable[Any]) -> list[Event]:
    """``events`` (models or mappings) as validated models (:func:`validate_events`), or
    an :class:`~customer_health.UnknownEventKindError` if one is of a kind ``kinds`` does
    not know, naming the first such event by its position in ``events`` (and its
    ``event_id``): what ``score``, ``score_many`` and the store's ``record_many`` accept.

    One look at the events' types, and only when some are custom, one at their kinds
    (the built-in kinds are always known).
    """
    given = event_list(events)  # a list: an event is found again by its position
    models = validate_events(given)
    if kinds.keep_unknown or CustomEvent not in set(map(type, models)):
        return models
    unknown = kinds.unknown_among(set(map(_KIND, models)))
    if unknown:
        raise kinds.error(*_first_of(unknown, given))
    return models


def _first_of(unknown: frozenset[str], given: Sequence[Any]) -> tuple[str, str]:
    """The first kind of ``unknown`` in ``given`` and where it is: ``event #N`` and its
    ``event_id``."""
    for index, event in enumerate(given):
        fields = event if isinstance(event, Mapping) else getattr(event, "__dict__", {})
        kind = fields.get("kind")
        if isinstance(kind, str) and kind in unknown:
            event_id = fields.get("event_id")
            about = "" if event_id is None else f" (event_id {event_id!r:.80})"
            return kind, f"event #{index}{about}"
    kind = min(unknown)  # pragma: no cover - every validated event was given
    return kind, "an event"


Route = tuple[datetime | None, Callable[[Event], None]]
"""Where an event goes: ``(since, add)`` - ``add(event)`` if ``since < occurred_at``."""


def feed_events(
    events: Iterable[Event],
    customer_ids: Container[str],
    as_of: datetime,
    routes: Mapping[str, Sequence[Route]],
    every_kind: Sequence[Route] = (),
) -> dict[str, int]:
    """Hand each event to the routes of its kind, in one pass over the events.

    Only events of ``customer_ids`` with ``occurred_at <= as_of`` are handed on, after
    de-duplication: events sharing an ``event_id`` for one customer count once, and
    if their contents differ, :class:`EventConflictError` names the id (whenever they
    occurred: de-duplication comes before any window). ``every_kind`` routes receive
    events of any kind. Returns how many events belong to other customers, per id.
    """
    others: dict[str, int] = {}
    # Keyed by event_id alone (ids are usually unique across customers); an id shared
    # by several customers moves to ``shared``, keyed by (customer, id).
    seen: dict[str, Event] = {}
    shared: dict[tuple[str, str], Event] = {}
    # Every kind's routes, every_kind ones included; kinds no route names get just
    # those. Most kinds have exactly one route: look those up without a loop.
    combined = {kind: (*found, *every_kind) for kind, found in routes.items()}
    single_get = {kind: found[0] for kind, found in combined.items() if len(found) == 1}.get
    several_get = {kind: found for kind, found in combined.items() if len(found) > 1}.get
    every = tuple(every_kind)
    for event in events:
        # A pydantic model keeps its fields in __dict__; reading them there is faster
        # than attribute access, and this loop runs once per event.
        fields = event.__dict__
        cid = fields["customer_id"]
        if cid not in customer_ids:
            others[cid] = others.get(cid, 0) + 1
            continue
        event_id = fields["event_id"]
        if event_id is not None:
            first = seen.get(event_id)
            if first is None:
                seen[event_id] = event
            elif first.customer_id != cid:
                first = shared.get((cid, event_id))
                if first is None:
                    shared[cid, event_id] = event
                else:
                    _check_same(first, event)
                    continue
            else:
                _check_same(first, event)
                continue
        occurred = fields["occurred_at"]
        if occurred > as_of:
            continue
        kind = fields["kind"]
        route = single_get(kind)
        if route is not None:
            since, add = route
            if since is None or since < occurred:
                add(event)
        else:
            for since, add in several_get(kind, every):
                if since is None or since < occurred:
                    add(event)
    return others


def _check_same(first: Event, event: Event) -> None:
    if first != event:
        raise EventConflictError(
            f"event_id {event.event_id!r} of customer {event.customer_id!r} is used by two "
            f"different events: {_brief(first)} and {_brief(event)}"
        )


def _brief(event: Event) -> str:
    return event.model_dump_json(exclude={"customer_id", "event_id"})


def routes_of(plans: Sequence[Plan]) -> tuple[dict[str, list[Route]], list[Route]]:
    """The routes of ``plans`` by event kind, and those of plans reading every kind."""
    routes: dict[str, list[Route]] = {}
    every_kind: list[Route] = []
    for plan in plans:
        kinds = plan.active.kinds
        if kinds is None:
            every_kind.append(plan.route)
        else:
            for kind in kinds:
                routes.setdefault(kind, []).append(plan.route)
    return routes, every_kind


class Plan:
    """How one factor takes part in a run: its route for events, then its results."""

    def __init__(self, active: ActiveFactor, as_of: datetime, ids: list[str]) -> None:
        self.active = active
        self.inputs: Mapping[str, Mapping[str, float]] = {}
        self.grouped: dict[str, list[Event]] | None = None
        since = None if active.window is None else as_of - active.window
        factor = active.factor
        if factor.vectorized:
            self.accumulator = guard(active, "accumulator", factor.accumulator, as_of, ids)
            add = self.accumulator.add
        else:
            grouped: dict[str, list[Event]] = {cid: [] for cid in ids}
            self.grouped = grouped

            def add(event: Event) -> None:
                grouped[event.customer_id].append(event)

        if not active.trusted and factor.vectorized:
            add = _guarded_add(active, add)
        self.route: Route = (since, add)

    @classmethod
    def prepared(cls, active: ActiveFactor, inputs: Mapping[str, Mapping[str, float]]) -> Plan:
        """A plan whose inputs another engine computed (SQL, frames), by customer id."""
        plan = cls.__new__(cls)
        plan.active = active
        plan.inputs = inputs
        plan.grouped = None
        return plan

    def finish(self) -> None:
        """Collect the accumulated inputs (vectorised factors)."""
        if self.grouped is None:
            self.inputs = guard(self.active, "inputs", self.accumulator.inputs)

    def result(self, ctx: FactorContext) -> FactorResult:
        """The factor's result for the customer of ``ctx``."""
        if self.grouped is not None:
            return _evaluate(self.active, self.grouped[ctx.customer.id], ctx)
        return _compute(self.active, self.inputs, ctx)


def _guarded_add(active: ActiveFactor, add: Callable[[Event], None]) -> Callable[[Event], None]:
    # guard() inlined: this runs for every event
    def guarded(event: Event) -> None:
        try:
            add(event)
        except Exception as exc:
            if isinstance(exc, FactorError):
                raise
            raise factor_error(
                active, "add", exc, event.customer_id, doing="accumulating an event of"
            ) from exc

    return guarded


def _compute(
    active: ActiveFactor, inputs: Mapping[str, Mapping[str, float]], ctx: FactorContext
) -> FactorResult:
    mine = inputs.get(ctx.customer.id)
    if mine is None:
        raise FactorError(
            f"{active.where} gave no inputs for customer {ctx.customer.id!r} from its accumulator"
        )
    return checked(active, guard(active, "compute", active.factor.compute, mine, ctx))


def _evaluate(active: ActiveFactor, events: list[Event], ctx: FactorContext) -> FactorResult:
    return checked(active, guard(active, "evaluate", active.factor.evaluate, events, ctx))


def run(
    model: ResolvedModel, customers: Sequence[Customer], events: Iterable[Event], as_of: datetime
) -> tuple[list[HealthScore], dict[str, int]]:
    """Score ``customers`` (who all exist at ``as_of``) in one pass over ``events``.

    Returns the scores and how many events belonged to other customers, per id.
    """
    ids = [customer.id for customer in customers]
    plans = [Plan(active, as_of, ids) for active in model.factors]
    others = feed_events(events, set(ids), as_of, *routes_of(plans))
    for plan in plans:
        plan.finish()
    return results(model, customers, as_of, plans), others


def results(
    model: ResolvedModel, customers: Sequence[Customer], as_of: datetime, plans: Sequence[Plan]
) -> list[HealthScore]:
    """Score ``customers`` from finished plans, one per factor in use, in order."""
    scores = []
    for customer in customers:
        segment = model.expectations(customer)
        days = tenure(customer, as_of)
        found = [
            (plan.active, plan.result(factor_context(plan.active, customer, as_of, segment, days)))
            for plan in plans
        ]
        scores.append(model.combine(customer.id, as_of, found))
    return scores
