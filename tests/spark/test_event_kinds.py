"""Event kinds on Spark: the typo of ``tests/test_event_kinds.py`` is an error on
``score_frame`` with PySpark frames, naming it and the closest kind; kept or declared
kinds score as before; Spark SQL (the warehouse query) ignores it, as documented."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ..engines import SPARK_ENGINES, Engine, open_engine
from ..test_event_kinds import (
    test_a_declared_kind_is_accepted,
    test_a_typo_is_an_error_naming_it_and_the_closest_kind,
    test_keeping_unknown_kinds_scores_as_before,
)

pytest.importorskip("sqlglot")

__all__ = [
    "test_a_declared_kind_is_accepted",
    "test_a_typo_is_an_error_naming_it_and_the_closest_kind",
    "test_keeping_unknown_kinds_scores_as_before",
]


@pytest.fixture(scope="module", params=SPARK_ENGINES)
def engine(request: pytest.FixtureRequest, spark: Any) -> Iterator[Engine]:
    """Each Spark engine in turn, on the test session."""
    with open_engine(request.param, spark) as engine:
        yield engine
