"""The scoring engine: a configuration (weights, thresholds, factors) plus plugins.

:class:`Scorer` resolves the plugins once, checks the configuration and then scores
one customer (:meth:`Scorer.score`) or many (:meth:`Scorer.score_many`) exactly as
``docs/model.md`` (the default model, version 1) defines. Scoring is pure: it reads
no clock except to default ``as_of`` to now (once per call) and keeps no state.
"""

from __future__ import annotations

import copy
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal

from ._format import is_number, plural, some
from ._gc import collector_paused
from ._inputs import resolve_as_of, validate_customer
from ._terms import SKIP_UNKNOWN_CUSTOMERS
from .engines import objects
from .exceptions import (
    ConfigurationError,
    InvalidCustomerError,
    MissingExtraError,
    ShadowedFactorWarning,
    UnknownCustomerError,
    UnknownFactorError,
)
from .factors import Factor, FactorContext, FactorResult
from .model import (
    MODEL_OPTIONS,
    MODELS,
    ActiveFactor,
    ModelFile,
    ResolvedModel,
    ScorerConfig,
    Thresholds,
    UnknownKinds,
    builtin_model,
    check_created,
    checked,
    declared_kinds,
    expectations_with_defaults,
    given_expectations,
    model_label,
    model_text,
    parse_thresholds,
    read_model_file,
)
from .models import Customer, Event, HealthScore
from .plugins.manager import (
    ALLOW_ENV,
    BLOCK_ENV,
    BUILTIN_PLUGIN,
    PluginManager,
    Registry,
    collect,
    get_plugin_manager,
)
from .segments import SegmentExpectations

__all__ = [
    "HealthScores",
    "Scorer",
    "ScorerConfig",
    "Thresholds",
    "UnknownKinds",
    "score",
    "score_frame",
    "scorer_of",
    "scorer_with_kinds",
]

_SHOWN = 5


class HealthScores(list[HealthScore]):
    """The scores of a batch, in the order of the customers given.

    Besides the scores it reports who was left out: :attr:`not_created` lists the
    customers created after ``as_of`` (they did not exist yet), and
    :attr:`skipped_events` counts the events of customers not in the batch that were
    skipped at the caller's request.
    """

    not_created: tuple[str, ...] = ()
    skipped_events: int = 0

    def _repr_html_(self) -> str:
        """Jupyter's view: the :class:`~customer_health.ScoreTable` of these scores."""
        from ._display import ScoreTable

        return ScoreTable(self)._repr_html_()

    def __rich__(self) -> Any:
        """rich's view (``rich.print(scores)``): the same table, in a terminal."""
        from ._display import ScoreTable

        return ScoreTable(self).__rich__()


UnknownCustomers = Literal["error", "skip"]


class Scorer:
    """A configured scoring engine.

    :param weights: weights by factor name; factors not named keep their default.
        Weights must be finite and >= 0, and not all zero.
    :param thresholds: a :class:`Thresholds` or a mapping (``healthy``, ``at_risk``).
    :param factors: the names of the factors to use (default: every registered one).
    :param plugins: extra plugin objects to register in-process.
    :param block_plugins: plugin names not to load (adds to ``CUSTOMER_HEALTH_BLOCK_PLUGINS``).
    :param allow_plugins: only these entry points load (else ``CUSTOMER_HEALTH_ALLOW_PLUGINS``).
    :param entry_points: load installed plugins from the ``customer_health`` entry points.
    :param plugin_manager: a ready plugin manager; the four plugin arguments above are then
        unused.
    :param event_kinds: event kinds to accept besides the known ones (the built-in kinds,
        those the factors in use read and those plugins declare).
    :param unknown_kinds: what becomes of an event of a kind that is not known: ``"error"``
        (the default) rejects it with an :class:`UnknownEventKindError` naming the kind,
        the event and the closest known kind, so that a typo (``"logon"``) does not pass
        silently; ``"keep"`` accepts it like any custom kind (stored, and read by factors
        of every kind).
    :param expectations: expectations by segment, over those the plugins register (a
        value given replaces the registered one; a segment no plugin registers is added,
        and needs every expectation of the factors in use).
    :param model: the model to start from: a built-in one by name, ``"v2"`` (the
        default, :data:`~customer_health.MODEL_VERSION`) or ``"v1"`` (``docs/model.md``;
        :data:`~customer_health.MODELS` names them), or a model file as
        :func:`customer_health.model.read_model_file` reads it (what :meth:`from_file`
        does); the other arguments adjust it.
    :param model_name: the model's name, carried in :attr:`config` and written to a model
        file (default: ``"customer-health"``, the library's model).
    :param model_version: the model's version (text, at most 16 characters; default: the
        version of ``model``).

    A scorer's whole configuration reads from a model file (:meth:`from_file`) and writes
    to one (:meth:`to_file`).
    """

    def __init__(
        self,
        *,
        weights: Mapping[str, float] | None = None,
        thresholds: Thresholds | Mapping[str, float] | None = None,
        factors: Iterable[str] | None = None,
        plugins: Iterable[object] = (),
        block_plugins: Iterable[str] | None = None,
        allow_plugins: Iterable[str] | None = None,
        entry_points: bool = True,
        plugin_manager: PluginManager | None = None,
        event_kinds: Iterable[str] | None = None,
        unknown_kinds: UnknownKinds = "error",
        expectations: Mapping[str, Mapping[str, float]] | None = None,
        model: str | ModelFile | None = None,
        model_name: str | None = None,
        model_version: str | None = None,
    ) -> None:
        spec = model if isinstance(model, ModelFile) else builtin_model(model)
        self._label = model_label(
            spec.name if model_name is None else model_name,
            spec.version if model_version is None else model_version,
        )
        self._expectations = given_expectations(spec.expectations)
        for segment, values in given_expectations(expectations).items():
            self._expectations.setdefault(segment, {}).update(values)
        pm = plugin_manager or get_plugin_manager(
            plugins=plugins, block=block_plugins, allow=allow_plugins, entry_points=entry_points
        )
        self._plugin_manager = pm
        registry = collect(pm)
        if spec.made and (not spec.builtin or pm.has_plugin(BUILTIN_PLUGIN)):
            registry = registry.with_factors(self._own_factors(spec, registry), spec.plugin)
        self.registry: Registry = registry
        """What the plugins registered (and the model's own factors)."""
        self.event_kinds: tuple[str, ...] = declared_kinds(event_kinds)
        """The event kinds this scorer was asked to accept (``event_kinds=``)."""
        self.unknown_kinds: UnknownKinds = unknown_kinds
        """What becomes of events of unknown kinds (``unknown_kinds=``; checked with the
        model)."""
        selected = self._select(spec.factors if factors is None else factors)
        model_weights = {name: value for name, value in spec.weights.items() if name in selected}
        self._configure(
            selected,
            {**model_weights, **(weights or {})},
            spec.thresholds if thresholds is None else thresholds,
        )

    @staticmethod
    def _own_factors(spec: ModelFile, registry: Registry) -> list[Factor]:
        """The factors ``spec`` makes, but for a built-in model's that a plugin registers
        a factor of the same name for: the plugin's is scored in its place, with a
        :class:`ShadowedFactorWarning` (a plugin written before the model had the name
        keeps working). A model file's factor named like a plugin's is an error."""
        if not spec.builtin:
            return list(spec.made)
        own = []
        for factor in spec.made:
            plugin = registry.factor_plugins.get(factor.name)
            if plugin is None:
                own.append(factor)
                continue
            warnings.warn(
                f"plugin {plugin!r} registers a factor called {factor.name!r}, as {spec.where} "
                "does: the plugin's is scored in its place; rename it to "
                f"score both, or choose another model (Scorer(model=...))",
                ShadowedFactorWarning,
                stacklevel=3,
            )
        return own

    def _configure(
        self,
        selected: list[str],
        weights: Mapping[str, float],
        thresholds: Thresholds | Mapping[str, float] | None,
    ) -> None:
        """Set up the factors ``selected`` with ``weights`` and ``thresholds`` (checked)."""
        resolved_weights = self._weights(selected, weights)
        self.thresholds: Thresholds = parse_thresholds(thresholds)
        chosen = [self.registry.factors[name] for name in selected]
        registered = {name: dict(values) for name, values in self.registry.segments.items()}
        for segment, values in self._expectations.items():
            registered.setdefault(segment, {}).update(values)
        segments = expectations_with_defaults(registered, chosen)
        self.config = ScorerConfig(
            model_name=self._label[0],
            model_version=self._label[1],
            factors=tuple(sorted(selected)),
            weights=resolved_weights,
            thresholds=self.thresholds,
            expectations=segments,
            parameters={
                factor.name: dict(factor.parameters)
                for factor in chosen
                if factor.parameters is not None
            },
        )
        self.fingerprint: str = self.config.fingerprint
        self.model: ResolvedModel = ResolvedModel(
            factors=tuple(self._activate(name, resolved_weights[name]) for name in selected),
            thresholds=self.thresholds,
            segments=segments,
            fingerprint=self.fingerprint,
            declared_kinds=(*self.registry.event_kinds, *self.event_kinds),
            unknown_kinds=self.unknown_kinds,
            model_name=self._label[0],
            model_version=self._label[1],
        )
        """The resolved model every engine scores with (:mod:`customer_health.model`)."""

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        plugins: Iterable[object] = (),
        **options: Any,
    ) -> Scorer:
        """The scorer a model file describes (``docs/model.md``, "Model files"): its
        name and version, thresholds, factors in order with their weights (factor types
        made from their parameters) and segments' expectations.

        :param path: the TOML file.
        :param plugins: extra plugin objects, as for :class:`Scorer`; installed plugins
            load as usual, and the file picks among their factors.
        :param options: the other plugin and event-kind arguments of :class:`Scorer`
            (``entry_points``, ``block_plugins``, ``event_kinds``, ...), not those the
            file sets.
        :raises ConfigurationError: naming the file and the entry that is wrong.
        """
        spec = read_model_file(path)
        clash = sorted(set(options) & MODEL_OPTIONS)
        if clash:
            raise ConfigurationError(
                f"Scorer.from_file() got {', '.join(clash)}, which the model file sets; edit "
                "the file, or call reconfigured() on the scorer"
            )
        try:
            return cls(model=spec, plugins=plugins, **options)
        except ConfigurationError as exc:  # a weight, threshold or factor the file names
            raise type(exc)(f"{spec.where}: {exc}") from exc

    def to_file(self, path: str | os.PathLike[str]) -> None:
        """Write this scorer's model file: what :meth:`from_file` reads back to the same
        configuration and :attr:`fingerprint` (given the same installed plugins)."""
        factors = {name: self.registry.factors[name] for name in self.factors}
        text = model_text(self.config, self.factors, factors)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)

    def reconfigured(
        self,
        *,
        weights: Mapping[str, float] | None = None,
        thresholds: Thresholds | Mapping[str, float] | None = None,
    ) -> Scorer:
        """A new scorer with the same plugins and factors, and other weights or thresholds.

        Factors not named in ``weights`` keep this scorer's weight; ``thresholds``
        replaces this scorer's (default: kept). The new scorer has its own
        :attr:`config` and :attr:`fingerprint`; this one is unchanged.
        """
        new = copy.copy(self)
        new._configure(
            list(self.factors),
            {**self.weights, **(weights or {})},
            self.thresholds if thresholds is None else thresholds,
        )
        return new

    # -- configuration --------------------------------------------------------------

    def _select(self, factors: Iterable[str] | None) -> list[str]:
        known = self.registry.factors
        if factors is None:
            selected = list(known)
        else:
            if isinstance(factors, str):
                raise ConfigurationError(
                    f"factors={factors!r} is a string; pass a list of factor names"
                )
            selected = list(dict.fromkeys(factors))
            unknown = [name for name in selected if name not in known]
            if unknown:
                raise UnknownFactorError(
                    f"unknown factor {unknown[0]!r}; known factors: {', '.join(sorted(known))}"
                )
        if not selected:
            raise ConfigurationError(
                "no factors to score with: select at least one "
                f"(known factors: {', '.join(sorted(known)) or 'none; is a plugin blocked?'})"
            )
        return selected

    def _weights(self, selected: list[str], given: Mapping[str, float]) -> dict[str, float]:
        factors = self.registry.factors
        for name in given:
            if name not in factors:
                raise UnknownFactorError(
                    f"weight given for unknown factor {name!r}; "
                    f"known factors: {', '.join(sorted(factors))}"
                )
            if name not in selected:
                raise ConfigurationError(
                    f"weight given for factor {name!r}, which is not among the selected "
                    f"factors ({', '.join(selected)})"
                )
        weights: dict[str, float] = {}
        for name in selected:
            value = given.get(name, factors[name].default_weight)
            if not is_number(value) or not math.isfinite(value) or value < 0:
                raise ConfigurationError(
                    f"weight of factor {name!r} is {value!r}; weights must be finite numbers >= 0"
                )
            weights[name] = float(value)
        if not any(weights.values()):
            raise ConfigurationError(
                f"all factor weights are zero ({weights}); at least one must be > 0"
            )
        return weights

    def _activate(self, name: str, weight: float) -> ActiveFactor:
        plugin = self.registry.factor_plugins[name]
        return ActiveFactor.of(self.registry.factors[name], name, plugin, weight)

    @property
    def factors(self) -> tuple[str, ...]:
        """The names of the factors in use, in scoring order."""
        return self.model.names

    @property
    def weights(self) -> Mapping[str, float]:
        """The weight of each factor in use."""
        return MappingProxyType(self.config.weights)

    @property
    def segments(self) -> Mapping[str, SegmentExpectations]:
        """Every known segment with its expectations."""
        return MappingProxyType(
            {
                name: SegmentExpectations(segment=name, expectations=dict(values))
                for name, values in self.model.segments.items()
            }
        )

    def factor(self, name: str) -> Factor:
        """Return the factor object in use called ``name``."""
        return self.model.factor(name).factor

    def __repr__(self) -> str:
        return f"<Scorer factors={list(self.factors)} fingerprint={self.fingerprint[:12]}>"

    # -- scoring --------------------------------------------------------------------

    def score(
        self,
        customer: Customer | Mapping[str, Any],
        events: Iterable[Event | Mapping[str, Any]],
        *,
        as_of: datetime | date | str | None = None,
    ) -> HealthScore:
        """Score one customer at ``as_of`` (default: now) from its events.

        Events of other customers are ignored. Raises :class:`CustomerNotCreatedError`
        if the customer was created after ``as_of``, and :class:`UnknownEventKindError`
        for an event of a kind that is not known (see ``unknown_kinds``).
        """
        instant = resolve_as_of(as_of)
        model = validate_customer(customer)
        check_created(model, instant)
        with collector_paused():
            scores, _ = objects.run(
                self.model, [model], objects.validated_events(self.model.kinds, events), instant
            )
        return scores[0]

    def score_many(
        self,
        customers: Iterable[Customer | Mapping[str, Any]],
        events: Iterable[Event | Mapping[str, Any]],
        *,
        as_of: datetime | date | str | None = None,
        unknown_customers: UnknownCustomers = "error",
    ) -> HealthScores:
        """Score many customers at one ``as_of``, going over the events in one pass.

        Events of customers not in ``customers`` raise :class:`UnknownCustomerError`
        naming a few of them, or are skipped (and counted) with
        ``unknown_customers="skip"``. Customers created after ``as_of`` are left out
        and listed in :attr:`HealthScores.not_created`. An event of a kind that is not
        known is an :class:`UnknownEventKindError` (see ``unknown_kinds``).
        """
        if unknown_customers not in ("error", "skip"):
            raise ConfigurationError(
                f"unknown_customers={unknown_customers!r}; use 'error' or 'skip'"
            )
        instant = resolve_as_of(as_of)
        models = _unique_customers(customers)
        alive = {
            cid: model
            for cid, model in models.items()
            if model.created_at is None or model.created_at <= instant
        }
        with collector_paused():
            scores, others = objects.run(
                self.model,
                list(alive.values()),
                objects.validated_events(self.model.kinds, events),
                instant,
            )
        unknown = {cid: n for cid, n in others.items() if cid not in models}
        if unknown and unknown_customers == "error":
            raise UnknownCustomerError(_unknown_message(unknown))
        result = HealthScores(scores)
        result.not_created = tuple(cid for cid in models if cid not in alive)
        result.skipped_events = sum(unknown.values())
        return result

    def score_frame(
        self,
        customers: Any,
        events: Any,
        *,
        as_of: datetime | date | str | None = None,
        columns: Mapping[str, str] | None = None,
        unknown_customers: UnknownCustomers = "error",
    ) -> Any:
        """Score the customers of a DataFrame from a DataFrame of events.

        ``customers`` and ``events`` are pandas or polars (eager or lazy) DataFrames,
        pyarrow Tables or DuckDB relations; the result has the type of ``customers``:
        one row per customer with ``customer_id``, ``score``, ``status``,
        ``coverage`` and, per factor, ``<factor>`` (its score) and ``<factor>_value``.
        ``columns`` maps your column names onto the expected ones
        (``{"ts": "occurred_at"}``). Naive timestamps are read as UTC. Unknown
        customers' events and customers created after ``as_of`` are handled as in
        :meth:`score_many` (the latter with a :class:`CustomersLeftOutWarning`).
        Needs an extra: ``pip install 'customer-health[polars]'`` (or ``pandas``,
        ``arrow``, ``duckdb``).
        """
        try:
            from .engines.frames import score_frame
        except ImportError as exc:
            if isinstance(exc, MissingExtraError):
                raise
            raise MissingExtraError(exc.name or "polars", "polars", "score_frame()") from exc
        return score_frame(
            self.model,
            customers,
            events,
            as_of=as_of,
            columns=columns,
            unknown_customers=unknown_customers,
        )

    def expectations(self, customer: Customer) -> Mapping[str, float]:
        """The expectations of ``customer``'s segment; unknown segments are an error."""
        return self.model.expectations(customer)

    def context(self, customer: Customer, as_of: datetime, name: str) -> FactorContext:
        """The :class:`FactorContext` factor ``name`` sees for ``customer`` at ``as_of``."""
        return self.model.context(self.model.factor(name), customer, as_of)

    def combine(
        self, customer_id: str, as_of: datetime, results: Mapping[str, FactorResult]
    ) -> HealthScore:
        """Build the :class:`HealthScore` from every factor's result (for other engines)."""
        actives = self.model.factors
        missing = [a.name for a in actives if a.name not in results]
        if missing:
            raise ConfigurationError(f"no result for factors {missing}")
        return self.model.combine(
            customer_id, as_of, [(a, checked(a, results[a.name])) for a in actives]
        )


def _unique_customers(customers: Iterable[Customer | Mapping[str, Any]]) -> dict[str, Customer]:
    if isinstance(customers, Mapping | str | bytes | Customer):
        raise InvalidCustomerError(
            f"customers must be an iterable of customers, not a single {type(customers).__name__}"
        )
    models: dict[str, Customer] = {}
    for index, raw in enumerate(customers):
        model = validate_customer(raw, index)
        if model.id in models:
            raise InvalidCustomerError(f"customer #{index}: id {model.id!r} appears twice")
        models[model.id] = model
    return models


def _unknown_message(others: Mapping[str, int]) -> str:
    events = plural(sum(others.values()), "event")
    verb = "belongs" if sum(others.values()) == 1 else "belong"
    return (
        f"{events} {verb} to {plural(len(others), 'customer')} not among the customers "
        f"scored: {some(sorted(others), shown=_SHOWN)}; pass {SKIP_UNKNOWN_CUSTOMERS} to skip them"
    )


@lru_cache(maxsize=8)
def _default_scorer(block: str | None, allow: str | None) -> Scorer:
    del block, allow  # part of the cache key: the environment the plugins were chosen in
    return Scorer()


def default_scorer() -> Scorer:
    """The scorer :func:`score` uses: defaults and installed plugins (built once per
    plugin environment, i.e. per value of the block and allow variables)."""
    return _default_scorer(os.environ.get(BLOCK_ENV), os.environ.get(ALLOW_ENV))


def scorer_of(model: str | os.PathLike[str], **options: Any) -> Scorer:
    """The scorer of ``model``: a built-in model's name (:data:`~customer_health.MODELS`),
    else a model file's path (``./v1`` reads a file called ``v1``); ``options`` are the
    plugin and event-kind arguments of :class:`Scorer`."""
    if isinstance(model, str) and model in MODELS:
        return Scorer(model=model, **options)
    return Scorer.from_file(model, **options)


def scorer_with_kinds(
    event_kinds: Iterable[str] = (),
    unknown_kinds: UnknownKinds = "error",
    model: str | os.PathLike[str] | None = None,
) -> Scorer:
    """The scorer of a command or the service: ``model`` if one is given, a built-in
    model's name (:data:`~customer_health.MODELS`) or else a model file's path
    (:meth:`Scorer.from_file`; ``./v1`` reads a file called ``v1``), else the default
    model, with the installed plugins and the event kinds settings;
    :func:`default_scorer` itself (built once) when nothing is set."""
    if model is not None:
        return scorer_of(model, event_kinds=event_kinds, unknown_kinds=unknown_kinds)
    if not event_kinds and unknown_kinds == "error":
        return default_scorer()
    return Scorer(event_kinds=event_kinds, unknown_kinds=unknown_kinds)


def score_frame(
    customers: Any,
    events: Any,
    *,
    as_of: datetime | date | str | None = None,
    scorer: Scorer | None = None,
    columns: Mapping[str, str] | None = None,
    unknown_customers: UnknownCustomers = "error",
) -> Any:
    """Score DataFrames with ``scorer`` (default: the default model and installed plugins).

    See :meth:`Scorer.score_frame`.
    """
    # Called directly (not through the method) so that warnings point at the caller
    # from both entry points alike.
    from .engines.frames import score_frame as frames_score_frame

    return frames_score_frame(
        (scorer or default_scorer()).model,
        customers,
        events,
        as_of=as_of,
        columns=columns,
        unknown_customers=unknown_customers,
    )


def score(
    customer: Customer | Mapping[str, Any],
    events: Iterable[Event | Mapping[str, Any]],
    *,
    as_of: datetime | date | str | None = None,
) -> HealthScore:
    """Score one customer at ``as_of`` (default: now) with the default model and plugins.

    ``customer`` is a :class:`Customer` or a mapping; ``events`` an iterable of event
    models or mappings (as from JSON); events of other customers are ignored.
    """
    return default_scorer().score(customer, events, as_of=as_of)
