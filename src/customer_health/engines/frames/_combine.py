"""The weighted score, coverage and status of every customer, as narwhals
expressions (the polars engine and Spark combine with it alike)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import narwhals.stable.v2 as nw
import polars as pl

from ...builtin.frames import divided
from ...model import status_cutoff

if TYPE_CHECKING:
    from ...model import ResolvedModel


def combine(model: ResolvedModel, table: pl.DataFrame) -> pl.DataFrame:
    """:func:`combined` on a polars frame."""
    done: pl.DataFrame = combined(model, nw.from_native(table)).to_native()
    return done


def combined(model: ResolvedModel, table: Any) -> Any:
    """Weighted score over the factors with data, coverage and status, as in the model.

    ``table`` is a narwhals frame with a column per factor (its score): the same
    expressions run on polars and on Spark.
    """
    with_data = nw.lit(0.0)
    total = nw.lit(0.0)
    for active in model.factors:
        has = ~nw.col(active.name).is_null()
        with_data = with_data + nw.when(has).then(active.weight).otherwise(0.0)
        total = total + nw.when(has).then(active.weight * nw.col(active.name)).otherwise(0.0)
    score = nw.when(with_data > 0).then(divided(total, with_data).clip(0.0, 100.0))
    coverage = divided(with_data, model.total_weight)
    table = table.with_columns(
        score=score,
        coverage=nw.when(coverage > 1.0).then(1.0).otherwise(coverage),
    )
    thresholds = model.thresholds
    # round(score, 9) >= threshold, exactly as Python rounds (polars' and Spark's round
    # do not, next to a half-way point): see status_cutoff
    score_column = nw.col("score")
    status = (
        nw.when(score_column.is_null())
        .then(nw.lit("unknown"))
        .otherwise(
            nw.when(score_column >= status_cutoff(thresholds.healthy))
            .then(nw.lit("healthy"))
            .otherwise(
                nw.when(score_column >= status_cutoff(thresholds.at_risk))
                .then(nw.lit("at_risk"))
                .otherwise(nw.lit("critical"))
            )
        )
    )
    return table.with_columns(status=status)
