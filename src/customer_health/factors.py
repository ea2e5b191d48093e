"""The :class:`Factor` base class that built-in and plugin factors subclass.

A factor turns one customer's events into a score from 0 to 100, or *no data*. It does
so in two stages so that every engine (Python objects, DataFrames, SQL, Spark) can
share the arithmetic:

1. **inputs** - per-customer aggregates over the factor's window, named in
   :attr:`Factor.inputs` and computed from events by :meth:`Factor.aggregate` (one
   customer) or by the :class:`Accumulator` of :meth:`Factor.accumulator` (many
   customers, in one pass). Inputs depend
   only on the events and ``as_of``, so engines that hold the events elsewhere
   (DataFrames, SQL) can compute the same aggregates natively;
2. **scoring** - :meth:`Factor.compute` turns those aggregates into a
   :class:`FactorResult`.

A factor that only knows how to look at one customer's events leaves
:attr:`Factor.inputs` empty and overrides :meth:`Factor.evaluate` instead. It works
everywhere, but batch engines must hand it each customer's events (the slow path).

The engine hands a factor only the events it asked for: those of its
:attr:`~Factor.kinds` with ``as_of - window_days < occurred_at <= as_of`` (or
``occurred_at <= as_of`` when ``window_days`` is ``None``), de-duplicated by
``event_id``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from ._format import is_number
from .exceptions import ConfigurationError

if TYPE_CHECKING:
    import narwhals.stable.v2 as nw

    from ._sql_events import SQLEvents
    from .models import Customer, Event

__all__ = ["Accumulator", "Factor", "FactorContext", "FactorResult"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(slots=True)
class FactorContext:
    """What a factor may know about the customer it scores, besides the events.

    Read it, don't change it: the engine makes a fresh one for every factor and
    customer (it is not frozen because that would make it several times slower to
    create, and a batch creates one per factor and customer).
    """

    customer: Customer
    """The customer, ``attributes`` included."""
    as_of: datetime
    """The instant of scoring (aware, UTC)."""
    expectations: Mapping[str, float]
    """Every expectation of the customer's segment (built-in and plugin keys)."""
    expected: float | None = None
    """This factor's own expectation (:attr:`Factor.expectation`), prorated for young
    customers when :attr:`Factor.prorate` is set; ``None`` if the factor has none."""
    tenure_days: float | None = None
    """The customer's age at ``as_of`` in days, or ``None`` if ``created_at`` is unknown."""
    prorated: bool = False
    """Whether :attr:`expected` was prorated for a customer younger than the window."""

    @property
    def segment(self) -> str:
        """The customer's segment."""
        return self.customer.segment


@dataclass(frozen=True, slots=True)
class Accumulator:
    """A factor's batch form: computes many customers' inputs in one pass over events.

    ``add`` receives each event of the factor's kinds in its window; ``inputs``
    then returns, for every customer, the same mapping :meth:`Factor.aggregate`
    would. Two plain functions (closures over the running sums) keep ``add`` fast.
    """

    add: Callable[[Event], None]
    """Take one event into account."""
    inputs: Callable[[], dict[str, dict[str, float]]]
    """Return the inputs of every customer, keyed by customer id."""


@dataclass(frozen=True, slots=True)
class FactorResult:
    """What a factor returns: a score (or ``None`` for no data) and why."""

    score: float | None
    """0-100, or ``None`` when the factor has no data for this customer."""
    explanation: str
    """One line a person can read, e.g. ``"412 API calls in 30 days; ..."``."""
    value: float | None = None
    """The raw value measured (shown beside the score)."""
    expected: float | None = None
    """The expectation the value was compared with."""


class Factor:
    """Base class of health factors.

    Subclass it, set :attr:`name` (and the other class attributes as needed) and
    implement either :meth:`aggregate` and :meth:`compute` (preferred: engines can
    compute the inputs natively) or :meth:`evaluate` alone. Register an instance (or
    the class) through the ``register_factors`` hook.
    """

    name: ClassVar[str] = ""
    """Unique, lowercase ``snake_case`` name; it becomes a column name in frames."""
    description: ClassVar[str] = ""
    """One sentence for people: what the factor measures."""
    kinds: ClassVar[frozenset[str] | None] = None
    """The event kinds the factor reads; ``None`` means every kind."""
    window_days: ClassVar[float | None] = None
    """Only events with ``as_of - window_days < occurred_at <= as_of`` reach the
    factor; ``None`` passes every event up to ``as_of``."""
    default_weight: ClassVar[float] = 1.0
    """The weight used unless the scorer is configured otherwise."""
    expectation: ClassVar[str | None] = None
    """The key of the segment expectation the factor compares with, if any."""
    expectation_default: ClassVar[float | None] = None
    """The expectation of a segment that has no value under :attr:`expectation` (one a
    plugin registered without knowing this factor); ``None``: every segment must have
    one. The scorer's expectations (and so its fingerprint) hold the values filled in."""
    prorate: ClassVar[bool] = False
    """Prorate the expectation for customers younger than :attr:`window_days`."""
    parameters: ClassVar[Mapping[str, Any] | None] = None
    """For a factor made from parameters (a factor type, ``customer_health.builtin.
    types``): its type and parameters, as a model file writes them (texts, numbers,
    booleans and lists of texts). They are part of the scorer's fingerprint."""
    inputs: ClassVar[tuple[str, ...]] = ()
    """Names of the per-customer aggregates :meth:`aggregate` returns; empty for a
    factor that only implements :meth:`evaluate`."""

    def aggregate(self, events: Sequence[Event], as_of: datetime) -> dict[str, float]:
        """Return one customer's :attr:`inputs`, computed from its events.

        ``events`` are the customer's events of the factor's kinds in its window.
        Inputs depend on the events and ``as_of`` only - never on the customer - so
        that engines can compute them where the data lives. The default feeds the
        events to :meth:`accumulator`.
        """
        customer_id = events[0].customer_id if events else ""
        accumulator = self.accumulator(as_of, (customer_id,))
        for event in events:
            accumulator.add(event)
        return accumulator.inputs()[customer_id]

    def accumulator(self, as_of: datetime, customer_ids: Iterable[str]) -> Accumulator:
        """Return an :class:`Accumulator` of many customers' inputs, fed in one pass.

        The engine hands each event (of the factor's kinds, in its window, of one of
        ``customer_ids``) to ``add`` as it reads the events, then asks for the inputs
        of every customer. This is the batch form; override it with a tight ``add``
        when speed matters. The default groups events by customer and calls
        :meth:`aggregate` for each.
        """
        grouped: dict[str, list[Event]] = {cid: [] for cid in customer_ids}

        def add(event: Event) -> None:
            grouped[event.customer_id].append(event)

        def inputs() -> dict[str, dict[str, float]]:
            return {cid: self.aggregate(mine, as_of) for cid, mine in grouped.items()}

        return Accumulator(add, inputs)

    def frame_inputs(self, events: nw.LazyFrame[Any], as_of: datetime) -> nw.LazyFrame[Any] | None:
        """The batch form on DataFrames: the inputs of every customer with events.

        ``events`` is a narwhals LazyFrame of the factor's events (its kinds, in its
        window, de-duplicated) with the event columns (``customer_id``, ``kind``,
        ``occurred_at``, ``quantity``, ``feature``, ``due_at``, ``paid_at``,
        ``amount``, ``priority``, ``resolved_at``, ``user_id``, ``properties``); every
        instant, ``as_of`` included, is a naive datetime in UTC. Return one row per
        ``customer_id`` with a column per input; customers without a row get the
        inputs of no events. Return ``None`` (the default) when the factor has no frame
        form: frame engines then hand it each customer's events (the slow path).
        """
        return None

    def frame_score(
        self, inputs: Mapping[str, nw.Expr], expected: nw.Expr | None
    ) -> tuple[nw.Expr, nw.Expr] | None:
        """Vectorised :meth:`compute`: ``(score, value)`` expressions over the inputs.

        ``inputs`` are column expressions, one per input; ``expected`` is this factor's
        expectation per customer (prorated like ``FactorContext.expected``), or None.
        The score must be null where :meth:`compute` gives no data. ``None`` (the
        default) makes frame engines call :meth:`compute` row by row.
        """
        return None

    def sql_inputs(self, events: SQLEvents) -> Mapping[str, Any] | None:
        """The batch form in SQL: an aggregate expression (SQLAlchemy) per input.

        The SQL store runs every factor's aggregates in one ``GROUP BY customer_id``
        query over its events table; see :class:`~customer_health.storage.sqlalchemy.SQLEvents`
        for the columns and helpers. Wrap each aggregate in ``events.mine`` (the
        factor's kinds, in its window) - ``events.when(condition, value)`` does - and
        keep to portable SQL (``sum(case(...))``, ``count(distinct(case(...)))``).
        Customers without events get the inputs of no events. Return ``None`` (the
        default) when the factor has no SQL form: the store then loads its customers'
        events and feeds them to :meth:`accumulator` (or :meth:`evaluate`).
        """
        return None

    def sql_score(self, inputs: Mapping[str, Any], expected: Any | None) -> tuple[Any, Any] | None:
        """:meth:`compute` in SQL: ``(score, value)`` expressions (SQLAlchemy) over the inputs.

        :func:`customer_health.export_sql` scores in the warehouse with it.
        ``inputs`` are double-precision column expressions, one per input (the
        aggregates of :meth:`sql_inputs`, those of no events for customers without
        any); ``expected`` is this factor's expectation per customer (prorated like
        ``FactorContext.expected``), or ``None`` if it has none. The score must be
        NULL where :meth:`compute` gives no data; write the arithmetic in the same
        order as :meth:`compute` (``(100.0 * a) / b``, not ``100.0 * (a / b)``) so
        that both give the same floating-point results. Return ``None`` (the
        default) when the factor has no SQL score: ``export_sql`` then refuses it,
        naming it.
        """
        return None

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        """Score the customer from its :attr:`inputs` alone (cheap arithmetic)."""
        raise NotImplementedError(f"factor {self.name!r} does not implement compute()")

    def evaluate(self, events: Sequence[Event], ctx: FactorContext) -> FactorResult:
        """Score one customer from its events.

        The default is ``compute(aggregate(events, ctx.as_of), ctx)``; a factor that
        only knows how to look at one customer's events overrides this alone.
        """
        return self.compute(self.aggregate(events, ctx.as_of), ctx)

    @property
    def vectorized(self) -> bool:
        """Whether the factor separates its inputs from its scoring (engines' fast path)."""
        return bool(self.inputs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    @classmethod
    def check_definition(cls) -> None:
        """Raise :class:`ConfigurationError` if the class attributes make no sense."""
        where = f"factor class {cls.__module__}.{cls.__qualname__}"
        if not isinstance(cls.name, str) or not _NAME.fullmatch(cls.name):
            raise ConfigurationError(
                f"{where} has name {cls.name!r}; a factor needs a lowercase snake_case name"
            )
        weight = cls.default_weight
        if not is_number(weight) or not math.isfinite(weight) or weight < 0:
            raise ConfigurationError(
                f"factor {cls.name!r} has default_weight {weight!r}; it must be finite and >= 0"
            )
        window = cls.window_days
        if window is not None and (
            not is_number(window) or not math.isfinite(window) or window <= 0
        ):
            raise ConfigurationError(
                f"factor {cls.name!r} has window_days {window!r}; it must be > 0 or None"
            )
        for label, names in (("kinds", cls.kinds), ("inputs", cls.inputs)):
            # A bare string would be read as its characters: no event (or input) matches.
            if names is not None and (
                isinstance(names, str)
                or not isinstance(names, Collection)
                or not all(isinstance(n, str) and n for n in names)
            ):
                raise ConfigurationError(
                    f"factor {cls.name!r} has {label} {names!r}; it must be a collection of "
                    "non-empty strings" + (" or None" if label == "kinds" else "")
                )
        if cls.expectation is not None and (
            not isinstance(cls.expectation, str) or not cls.expectation
        ):
            raise ConfigurationError(
                f"factor {cls.name!r} has expectation {cls.expectation!r}; it must be the "
                "non-empty key of a segment expectation, or None"
            )
        default = cls.expectation_default
        if default is not None and (
            cls.expectation is None
            or not is_number(default)
            or not math.isfinite(default)
            or default <= 0
        ):
            raise ConfigurationError(
                f"factor {cls.name!r} has expectation_default {default!r}; it must be a number "
                "> 0 (as every expectation), for a factor with an expectation"
            )
        if cls.prorate and (window is None or cls.expectation is None):
            raise ConfigurationError(
                f"factor {cls.name!r} sets prorate but has no window_days or expectation"
            )
        overrides_evaluate = cls.evaluate is not Factor.evaluate
        aggregates = (
            cls.aggregate is not Factor.aggregate or cls.accumulator is not Factor.accumulator
        )
        splits = aggregates and cls.compute is not Factor.compute
        if cls.inputs and not splits:
            raise ConfigurationError(
                f"factor {cls.name!r} declares inputs {cls.inputs!r} but does not implement "
                "compute() and aggregate() (or accumulator())"
            )
        if not overrides_evaluate and not splits:
            raise ConfigurationError(
                f"factor {cls.name!r} implements neither evaluate() nor aggregate() and compute()"
            )
        if not cls.inputs and not overrides_evaluate:
            raise ConfigurationError(
                f"factor {cls.name!r} implements aggregate() and compute() but declares no "
                "inputs; name them in the inputs class attribute"
            )
