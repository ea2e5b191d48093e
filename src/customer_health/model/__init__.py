"""The resolved model: the interface between a configured scorer and the engines.

:class:`ResolvedModel` (``Scorer(...).model``) holds the factors in use with their
weights, the thresholds, every segment's expectations and the known event kinds
(:class:`EventKinds`), and applies the rules every
engine shares: expectations and proration, the weighted mean, coverage and status.
:func:`guard` and :func:`checked` are how an engine calls a factor and checks what it
returns. Adding an engine means computing each factor's inputs where the events are,
then scoring them through this interface (``docs/architecture.md``).
"""

from __future__ import annotations

from ._builtin import DEFAULT_MODEL, MODELS, builtin_model
from ._factors import ActiveFactor, checked, empty_inputs, factor_error, guard, status_cutoff
from ._file import (
    MODEL_OPTIONS,
    ModelFile,
    given_expectations,
    model_label,
    model_text,
    read_model_file,
)
from ._kinds import REMEDY, EventKinds, UnknownKinds, declared_kinds
from ._resolved import (
    ResolvedModel,
    ScorerConfig,
    Thresholds,
    check_created,
    expectations_with_defaults,
    factor_context,
    parse_thresholds,
    tenure,
)

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "MODEL_OPTIONS",
    "REMEDY",
    "ActiveFactor",
    "EventKinds",
    "ModelFile",
    "ResolvedModel",
    "ScorerConfig",
    "Thresholds",
    "UnknownKinds",
    "builtin_model",
    "check_created",
    "checked",
    "declared_kinds",
    "empty_inputs",
    "expectations_with_defaults",
    "factor_context",
    "factor_error",
    "given_expectations",
    "guard",
    "model_label",
    "model_text",
    "parse_thresholds",
    "read_model_file",
    "status_cutoff",
    "tenure",
]
