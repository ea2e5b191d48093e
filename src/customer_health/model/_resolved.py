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

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .._time import days
from ..exceptions import (
    ConfigurationError,
    CustomerNotCreatedError,
    UnknownFactorError,
    UnknownSegmentError,
)
from ..factors import FactorContext, FactorResult
from ..models import (
    MODEL_VERSION,
    Customer,
    FactorScore,
    HealthScore,
    HealthStatus,
    trusted,
)
from ._factors import ActiveFactor
from ._kinds import EventKinds, UnknownKinds

__all__ = [
    "ResolvedModel",
    "ScorerConfig",
    "Thresholds",
    "check_created",
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
        """The status of ``score``, compared after rounding to 9 decimal places."""
        if score is None:
            return HealthStatus.UNKNOWN
        rounded = round(score, 9)
        if rounded >= self.healthy:
            return HealthStatus.HEALTHY
        if rounded >= self.at_risk:
            return HealthStatus.AT_RISK
        return HealthStatus.CRITICAL


class ScorerConfig(BaseModel):
    """A scorer's resolved configuration; its :attr:`fingerprint` is stored with scores."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_version: str = MODEL_VERSION
    factors: tuple[str, ...]
    """The factor names, sorted."""
    weights: dict[str, float]
    thresholds: Thresholds
    expectations: dict[str, dict[str, float]]
    """Every segment's expectations."""

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of this configuration."""
        canonical = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), allow_nan=False
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


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
    total_weight: float = field(init=False)
    """The sum of the weights, in scoring order (so that full coverage is exactly 1)."""
    kinds: EventKinds = field(init=False)
    """The known event kinds; every path that takes events checks their kinds here."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "total_weight", sum(active.weight for active in self.factors))
        object.__setattr__(
            self, "kinds", EventKinds.of(self.factors, self.declared_kinds, self.unknown_kinds)
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
        with_data = 0.0
        total = 0.0
        for active, result in results:
            if result.score is not None:
                with_data += active.weight
                total += active.weight * result.score
        score: float | None = None
        if with_data > 0:
            score = min(100.0, max(0.0, total / with_data))
        parts = tuple(
            trusted(
                FactorScore,
                {
                    "name": a.name,
                    "score": r.score,
                    "weight": a.weight,
                    "contribution": (
                        a.weight * r.score / with_data
                        if r.score is not None and with_data > 0
                        else 0.0
                    ),
                    "value": r.value,
                    "expected": r.expected,
                    "explanation": r.explanation,
                },
            )
            for a, r in results
        )
        return trusted(
            HealthScore,
            {
                "customer_id": customer_id,
                "as_of": as_of,
                "score": score,
                "status": self.thresholds.status(score),
                "coverage": min(1.0, with_data / self.total_weight),
                "factors": parts,
                "model_version": MODEL_VERSION,
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
        if active.prorate and tenure is not None and window is not None and tenure < window:
            expected = expected * max(1.0, tenure) / window
            prorated = True
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
