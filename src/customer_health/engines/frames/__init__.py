"""The frame engine: DataFrames in (polars, pandas, pyarrow, DuckDB, Spark), scores out.

:func:`score_frame` checks and normalises the frames exactly as the object path checks
models, computes every factor's inputs with its frame form (narwhals expressions) and
combines them with :func:`combined`; PySpark DataFrames go to :mod:`.spark`, which
shares the checks' rules, the factor forms and the combination.

The modules, bottom up: :mod:`._schema` (the frame columns), :mod:`._read` (any frame
into polars, renamings, id and instant checks), :mod:`._factors` (factor inputs and
scores), :mod:`._checks` (customers and events), :mod:`._combine` (score, coverage,
status), :mod:`._polars` (the polars engine), :mod:`.spark`.
"""

from __future__ import annotations

from ...exceptions import MissingExtraError

try:
    import narwhals.stable.v2  # noqa: F401
    import polars  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise MissingExtraError(exc.name or "polars", "polars", "score_frame()") from exc

from ._combine import combine, combined
from ._factors import KEY
from ._polars import (
    Batches,
    CheckedFrames,
    KindSplit,
    checked_frames,
    counted_events,
    score_frame,
    scored_batches,
    scored_frame,
)
from ._read import id_column, instant_column, restorer, to_polars
from ._schema import EVENT_COLUMNS

__all__ = [
    "EVENT_COLUMNS",
    "KEY",
    "Batches",
    "CheckedFrames",
    "KindSplit",
    "checked_frames",
    "combine",
    "combined",
    "counted_events",
    "id_column",
    "instant_column",
    "restorer",
    "score_frame",
    "scored_batches",
    "scored_frame",
    "to_polars",
]
