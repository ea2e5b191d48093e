"""The built-in models, by name: ``v1`` and ``v2`` (the default), as
``docs/model.md`` defines them ("Model v2"; ``../shared/scoring-model.md`` for v1).

Each is a :class:`~customer_health.model.ModelFile` as a model file's would be: v1 is
the five built-in factors with their default weights; v2 adds two factors made from
factor types (:mod:`customer_health.builtin.v2`), ``last_seen`` and ``activity_trend``.
In both, every other registered factor (a plugin's) takes part with its
default weight, and the built-in segments keep v1's expectations; the two new factors'
expectations fall back to their defaults in every segment without one.
"""

from __future__ import annotations

from typing import Final

from ..builtin.v2 import V2_FACTORS
from ..exceptions import ConfigurationError
from ..factors import Factor
from ..models import MODEL_NAME
from ._file import ModelFile

__all__ = ["DEFAULT_MODEL", "MODELS", "builtin_model"]


def _builtin(version: str, made: tuple[Factor, ...] = ()) -> ModelFile:
    """Built-in model ``v<version>``: every registered factor with its default weight, the
    registered segments and the default thresholds, and the factors it ``made``."""
    return ModelFile(
        name=MODEL_NAME,
        version=version,
        factors=None,
        weights={},
        thresholds=None,
        expectations={},
        made=made,
        where=f"model 'v{version}'",
        builtin=True,
    )


_MODELS: Final = {"v1": _builtin("1"), "v2": _builtin("2", V2_FACTORS)}

MODELS: Final = tuple(_MODELS)
"""The built-in models' names, oldest first: ``Scorer(model=...)``, ``--model``."""
DEFAULT_MODEL: Final = "v2"
"""The model a scorer runs when none is named."""


def builtin_model(name: str | None) -> ModelFile:
    """The built-in model called ``name`` (:data:`DEFAULT_MODEL` for None)."""
    found = (
        _MODELS.get(DEFAULT_MODEL if name is None else name)
        if isinstance(name, str | None)
        else None
    )
    if found is None:
        raise ConfigurationError(
            f"unknown model {name!r}; the built-in models are {', '.join(map(repr, MODELS))} "
            "(read a model file with Scorer.from_file)"
        )
    return found
