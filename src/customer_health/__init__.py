"""customer-health: exact, explainable health scores for SaaS customers.

Score one customer::

    import customer_health

    health = customer_health.score(
        {"id": "acme", "segment": "smb"},
        [{"customer_id": "acme", "kind": "login", "occurred_at": "2026-06-29T09:00:00Z"}],
        as_of="2026-06-30",
    )
    print(health.explain())

The default model is documented in ``docs/model.md``; factors and segments come from
plugins (see :mod:`customer_health.plugins`).
"""

from __future__ import annotations

from typing import Any as _Any

from ._display import ScoreTable
from ._export_sql import SQL_DIALECTS, export_sql
from .analysis._backtest import (
    Backtest,
    BacktestPeriod,
    CalibrationBand,
    ChurnRate,
    WeightFit,
    backtest,
    fit_weights,
)
from .analysis._fit import Gain, ModelFit, fit
from .declare import DeclaredFactor
from .exceptions import (
    ConfigurationError,
    CustomerExistsError,
    CustomerHealthError,
    CustomerNotCreatedError,
    CustomersLeftOutWarning,
    DuplicateNameError,
    EventConflictError,
    FactorError,
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
    InvalidCustomerError,
    InvalidEventError,
    InvalidInputError,
    MissingExtraError,
    PluginError,
    PluginLoadError,
    ShadowedFactorWarning,
    SlowPathWarning,
    UnknownCustomerError,
    UnknownEventKindError,
    UnknownFactorError,
    UnknownSegmentError,
)
from .factors import Accumulator, Factor, FactorContext, FactorResult
from .model import MODELS
from .models import (
    BUILTIN_KINDS,
    MAX_ID_LENGTH,
    MAX_JSON_LENGTH,
    MAX_QUANTITY,
    MAX_TEXT_LENGTH,
    MODEL_NAME,
    MODEL_VERSION,
    ApiCallEvent,
    Customer,
    CustomEvent,
    Event,
    FactorScore,
    FeatureUsedEvent,
    HealthScore,
    HealthStatus,
    LoginEvent,
    PaymentEvent,
    SupportTicketEvent,
    event_json_schema,
)
from .plugins import hookimpl
from .scoring import HealthScores, Scorer, ScorerConfig, Thresholds, score, score_frame
from .segments import SegmentExpectations

__all__ = [
    "BUILTIN_KINDS",
    "MAX_ID_LENGTH",
    "MAX_JSON_LENGTH",
    "MAX_QUANTITY",
    "MAX_TEXT_LENGTH",
    "MODELS",
    "MODEL_NAME",
    "MODEL_VERSION",
    "SQL_DIALECTS",
    "Accumulator",
    "ApiCallEvent",
    "Backtest",
    "BacktestPeriod",
    "CalibrationBand",
    "ChurnRate",
    "ConfigurationError",
    "CustomEvent",
    "Customer",
    "CustomerExistsError",
    "CustomerHealthError",
    "CustomerNotCreatedError",
    "CustomersLeftOutWarning",
    "DeclaredFactor",
    "DuplicateNameError",
    "Event",
    "EventConflictError",
    "Factor",
    "FactorContext",
    "FactorError",
    "FactorResult",
    "FactorScore",
    "FeatureUsedEvent",
    "Gain",
    "HealthScore",
    "HealthScores",
    "HealthStatus",
    "IdempotencyKeyInUseError",
    "IdempotencyKeyReusedError",
    "InvalidCustomerError",
    "InvalidEventError",
    "InvalidInputError",
    "LoginEvent",
    "MissingExtraError",
    "ModelFit",
    "PaymentEvent",
    "PluginError",
    "PluginLoadError",
    "ScoreTable",
    "Scorer",
    "ScorerConfig",
    "SegmentExpectations",
    "ShadowedFactorWarning",
    "SlowPathWarning",
    "SupportTicketEvent",
    "Thresholds",
    "UnknownCustomerError",
    "UnknownEventKindError",
    "UnknownFactorError",
    "UnknownSegmentError",
    "WeightFit",
    "backtest",
    "event_json_schema",
    "export_sql",
    "fit",
    "fit_weights",
    "hookimpl",
    "score",
    "score_frame",
]


def __getattr__(name: str) -> _Any:
    if name == "__version__":
        from ._version import installed_version

        return installed_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
