"""The weighted score, coverage and status of every customer, as narwhals
expressions compiled from the model's one definition (:func:`customer_health.model.
_score.combination`): the polars engine and Spark combine with it alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import narwhals.stable.v2 as nw
import polars as pl

from ._compile import PREFIX, with_stages

if TYPE_CHECKING:
    from ...model import ResolvedModel

_OUTPUTS = ("score", "coverage", "status")


def combine(model: ResolvedModel, table: pl.DataFrame) -> pl.DataFrame:
    """:func:`combined` on a polars frame."""
    done: pl.DataFrame = combined(model, nw.from_native(table)).to_native()
    return done


def combined(model: ResolvedModel, table: Any) -> Any:
    """Weighted score over the factors with data, coverage and status, as in the model.

    ``table`` is a narwhals frame with a column per factor (its score): the same
    expressions run on polars and on Spark.
    """
    columns = {
        name: nw.col(active.name)
        for name, active in zip(model.score_inputs, model.factors, strict=True)
    }
    staged = with_stages(table, model.combination, columns)
    added = [PREFIX + name for stage in model.combination for name in stage]
    return staged.with_columns(**{name: nw.col(PREFIX + name) for name in _OUTPUTS}).drop(added)
