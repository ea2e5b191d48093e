"""The resolved model: what every engine needs to score, and nothing else.

A :class:`~customer_health.Scorer` resolves its plugins and configuration once into a
:class:`ResolvedModel`: the factors in use (:class:`ActiveFactor`, in scoring order,
with their weights), the status thresholds, every segment's expectations and the
fingerprint stored with scores. Engines read the model from it - never from the
scorer's private state - and use its rules:

- :meth:`ResolvedModel.expectations` and :meth:`ResolvedModel.context`: a customer's
  segment and each factor's expectation, prorated for a customer younger than the
  factor's window (:func:`factor_context`, :func:`tenure`);
- :meth:`ResolvedModel.combine`: the weighted mean of the factor scores, coverage,
  status and the explanation, as a :class:`~customer_health.HealthScore`;
- :attr:`ResolvedModel.total_weight` and :func:`~customer_health.model.status_cutoff`
  for engines that combine in bulk (frames, Spark, SQL);
- :attr:`ResolvedModel.kinds`: the known event kinds, which every path that takes
  events checks them against (:class:`~customer_health.model.EventKinds`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .._expr import Expr, ref, to_python
from .._time import days
from ..exceptions import (
    ConfigurationError,
    CustomerNotCreatedError,
    UnknownFactorError,
    UnknownSegmentError,
)
from ..factors import Factor, FactorContext, FactorResult
from ..models import (
    MODEL_NAME,
    MODEL_VERSION,
    Customer,
    FactorScore,
    HealthScore,
    HealthStatus,
    trusted,
)
from . import _score
from ._factors import ActiveFactor
from ._kinds import EventKinds, UnknownKinds

__all__ = [
    "ResolvedModel",
    "ScorerConfig",
    "Thresholds",
    "check_created",
    "expectations_with_defaults",
    "factor_context",
    "parse_thresholds",
    "tenure",
]


class Thresholds(BaseModel):
    """Status thresholds: ``healthy`` if score >= healthy, ``at_risk`` if >= at_risk."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    healthy: float = Field(default=70.0, ge=0, le=100, allow_inf_nan=False)
    at_risk: float = Field(default=40.0, ge=0, le=100, allow_inf_nan=False)

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.at_risk > self.healthy:
            raise ValueError(
                f"thresholds out of order: at_risk ({self.at_risk}) must not exceed "
                f"healthy ({self.healthy})"
            )
        return self

    def status(self, score: float | None) -> HealthStatus:
        """The status of ``score``, compared after rounding to 9 decimal places (the
        model's one rule, :func:`customer_health.model._score.status`)."""
        (status,) = _status_rule(_score.status, self.healthy, self.at_risk)(score)
        return _STATUSES[status]


_STATUSES: dict[str, HealthStatus] = {status.value: status for status in HealthStatus}


@functools.cache
def _status_rule(
    rule: Callable[[Expr, float, float], Expr], healthy: float, at_risk: float
) -> Callable[..., tuple[str]]:
    """``rule`` (the status definition) compiled for these thresholds."""
    return to_python([{"status": rule(ref("score"), healthy, at_risk)}], ["score"])


@functools.cache
def _proration(
    rule: Callable[[float], dict[str, Expr]], window: float
) -> Callable[[float, float | None], tuple[bool, float]]:
    """``rule`` (the proration definition) compiled for ``window`` days."""
    return to_python([rule(window)], _score.PRORATION_INPUTS, never_null=["expected"])


_LEFT_OUT_AT_DEFAULT: Final = ("model_name", "parameters")


class ScorerConfig(BaseModel):
    """A scorer's resolved configuration; its :attr:`fingerprint` is stored with scores."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_version: str = MODEL_VERSION
    model_name: str = MODEL_NAME
    """The model's name (a model file's ``[model] name``)."""
    factors: tuple[str, ...]
    """The factor names, sorted."""
    weights: dict[str, float]
    thresholds: Thresholds
    expectations: dict[str, dict[str, float]]
    """Every segment's expectations."""
    parameters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """The parameters of each factor in use made from a factor type
    (:attr:`~customer_health.Factor.parameters`), by name."""

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of this configuration. The model's name and the
        factors' parameters are left out while they have their defaults (the library's
        model, no factor type), so that the default model keeps its fingerprint."""
        dumped = self.model_dump(mode="json")
        for name in _LEFT_OUT_AT_DEFAULT:
            if dumped[name] == type(self).model_fields[name].get_default(call_default_factory=True):
                del dumped[name]
        canonical = json.dumps(dumped, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def expectations_with_defaults(
    segments: Mapping[str, Mapping[str, float]], factors: Iterable[Factor]
) -> dict[str, dict[str, float]]:
    """Every segment's expectations, with the :attr:`~customer_health.Factor.
    expectation_default` of each of ``factors`` where the segment has no value of its
    own (a value a segment has is kept)."""
    filled = {name: dict(values) for name, values in segments.items()}
    for factor in factors:
        key, default = factor.expectation, factor.expectation_default
        if key is None or default is None:
            continue
        for values in filled.values():
            values.setdefault(key, float(default))
    return filled


def parse_thresholds(value: Thresholds | Mapping[str, float] | None) -> Thresholds:
    """``value`` as :class:`Thresholds` (the defaults for ``None``); a bad mapping is a
    :class:`~customer_health.ConfigurationError` naming the problem."""
    if value is None:
        return Thresholds()
    if isinstance(value, Thresholds):
        return value
    try:
        return Thresholds.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'thresholds'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise ConfigurationError(f"invalid thresholds {dict(value)!r}: {problems}") from None


@dataclass(frozen=True, eq=False)
class ResolvedModel:
    """The model a scorer runs, resolved: the interface every engine scores through.

    Built by :class:`~customer_health.Scorer` (``scorer.model``); an engine needs
    nothing else. Checked when built: every segment has every expectation a factor in
    use compares with.
    """

    factors: tuple[ActiveFactor, ...]
    """The factors in use, in scoring order, with their weights."""
    thresholds: Thresholds
    segments: Mapping[str, Mapping[str, float]]
    """Every known segment's expectations, by segment name."""
    fingerprint: str
    """The fingerprint of the scorer's configuration, stored with every score."""
    declared_kinds: Iterable[str] = ()
    """Event kinds declared by plugins or the user (checked), besides the built-in ones
    and those the factors in use read."""
    unknown_kinds: UnknownKinds = "error"
    """What becomes of events of unknown kinds: an error, or kept."""
    model_name: str = MODEL_NAME
    """The model's name, carried by every score."""
    model_version: str = MODEL_VERSION
    """The model's version, carried by every score."""
    total_weight: float = field(init=False)
    """The sum of the weights, in scoring order (so that full coverage is exactly 1)."""
    kinds: EventKinds = field(init=False)
    """The known event kinds; every path that takes events checks their kinds here."""
    combination: tuple[Mapping[str, Expr], ...] = field(init=False)
    """The model's score of the factor scores (:func:`customer_health.model._score.
    combination`): the one definition every engine compiles."""
    _combined: Callable[..., tuple[object, ...]] = field(init=False, repr=False)
    _places: tuple[int, int, int, tuple[int, ...]] = field(init=False, repr=False)
    """Where :attr:`_combined` returns the score, coverage, status and contributions."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "total_weight", sum(active.weight for active in self.factors))
        object.__setattr__(
            self, "kinds", EventKinds.of(self.factors, self.declared_kinds, self.unknown_kinds)
        )
        weights = [(active.name, active.weight) for active in self.factors]
        combination = _score.combination(
            weights, self.total_weight, self.thresholds.healthy, self.thresholds.at_risk
        )
        object.__setattr__(self, "combination", combination)
        stages = (*combination, _score.contributions(weights))
        object.__setattr__(self, "_combined", to_python(stages, self.score_inputs))
        places = {name: at for at, name in enumerate(n for stage in stages for n in stage)}
        contributions = tuple(places[_score.CONTRIBUTION + a.name] for a in self.factors)
        object.__setattr__(
            self,
            "_places",
            (places["score"], places["coverage"], places["status"], contributions),
        )
        object.__setattr__(
            self,
            "segments",
            MappingProxyType(
                {name: MappingProxyType(dict(values)) for name, values in self.segments.items()}
            ),
        )
        for segment, values in self.segments.items():
            for active in self.factors:
                if active.expectation is not None and active.expectation not in values:
                    raise ConfigurationError(
                        f"segment {segment!r} has no expectation {active.expectation!r}, which "
                        f"{active.where} needs; add it through register_expectations, or leave "
                        "the factor out"
                    )

    @property
    def score_inputs(self) -> tuple[str, ...]:
        """The inputs of :attr:`combination`, in the factors' order: ``factor:<name>``."""
        return tuple(_score.FACTOR + active.name for active in self.factors)

    @property
    def names(self) -> tuple[str, ...]:
        """The names of the factors in use, in scoring order."""
        return tuple(active.name for active in self.factors)

    def factor(self, name: str) -> ActiveFactor:
        """The factor in use called ``name``; another name is an
        :class:`~customer_health.UnknownFactorError`."""
        for active in self.factors:
            if active.name == name:
                return active
        raise UnknownFactorError(f"factor {name!r} is not in use; in use: {', '.join(self.names)}")

    def expectations(self, customer: Customer) -> Mapping[str, float]:
        """The expectations of ``customer``'s segment; unknown segments are an error."""
        try:
            return self.segments[customer.segment]
        except KeyError:
            raise UnknownSegmentError(
                f"unknown segment {customer.segment!r} of customer {customer.id!r}; "
                f"known segments: {', '.join(sorted(self.segments)) or 'none'}"
            ) from None

    def context(self, active: ActiveFactor, customer: Customer, as_of: datetime) -> FactorContext:
        """The :class:`~customer_health.FactorContext` ``active`` sees for ``customer``."""
        segment = self.expectations(customer)
        return factor_context(active, customer, as_of, segment, tenure(customer, as_of))

    def status(self, score: float | None) -> HealthStatus:
        """The status of ``score`` (rounded to 9 decimal places, then compared)."""
        return self.thresholds.status(score)

    def combine(
        self,
        customer_id: str,
        as_of: datetime,
        results: Sequence[tuple[ActiveFactor, FactorResult]],
    ) -> HealthScore:
        """The :class:`~customer_health.HealthScore` of the factor results (one per
        factor in use, in order, checked): the weighted mean of the scores with data,
        clipped to 0-100, its coverage, status and parts."""
        values = self._combined(*(result.score for _, result in results))
        at_score, at_coverage, at_status, at_contributions = self._places
        score, coverage, status = values[at_score], values[at_coverage], values[at_status]
        parts = tuple(
            trusted(
                FactorScore,
                {
                    "name": a.name,
                    "score": r.score,
                    "weight": a.weight,
                    "contribution": contribution,
                    "value": r.value,
                    "expected": r.expected,
                    "explanation": r.explanation,
                },
            )
            for (a, r), contribution in zip(
                results, (values[at] for at in at_contributions), strict=True
            )
        )
        return trusted(
            HealthScore,
            {
                "customer_id": customer_id,
                "as_of": as_of,
                "score": score,
                "status": _STATUSES[status],  # type: ignore[index]
                "coverage": coverage,
                "factors": parts,
                "model_name": self.model_name,
                "model_version": self.model_version,
                "fingerprint": self.fingerprint,
            },
        )


def factor_context(
    active: ActiveFactor,
    customer: Customer,
    as_of: datetime,
    segment: Mapping[str, float],
    tenure: float | None,
) -> FactorContext:
    """The context ``active`` sees for ``customer``: its expectation, prorated for a
    customer younger than the window. A function of its arguments alone, so that
    engines running elsewhere (Spark executors) build the same one without a model."""
    expected = None
    prorated = False
    if active.expectation is not None:
        expected = segment[active.expectation]  # present: checked when built
        window = active.window_days
        if active.prorate and window is not None:
            prorated, expected = _proration(_score.prorated, window)(expected, tenure)
    return FactorContext(customer, as_of, segment, expected, tenure, prorated)


def tenure(customer: Customer, as_of: datetime) -> float | None:
    """``customer``'s age in days at ``as_of`` (``None`` when its creation is unknown)."""
    created = customer.created_at
    return None if created is None else days(as_of - created)


def check_created(customer: Customer, as_of: datetime) -> None:
    """A :class:`~customer_health.CustomerNotCreatedError` if ``customer`` was created
    after ``as_of``."""
    if customer.created_at is not None and customer.created_at > as_of:
        raise CustomerNotCreatedError(
            f"customer {customer.id!r} was created at {customer.created_at.isoformat()}, "
            f"after as_of {as_of.isoformat()}: it did not exist yet"
        )
