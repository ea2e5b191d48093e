"""Spark's engines run the model's one definition: ``tests/test_one_definition.py``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ..engines import SPARK_ENGINES, Engine, open_engine
from ..test_one_definition import VARIANTS, test_every_engine_runs_the_one_definition

__all__ = ["VARIANTS", "test_every_engine_runs_the_one_definition"]


@pytest.fixture(scope="module", params=SPARK_ENGINES)
def engine(request: pytest.FixtureRequest, spark: Any) -> Iterator[Engine]:
    """Each Spark engine in turn, on the test session."""
    with open_engine(request.param, spark) as engine:
        yield engine
