"""Spark's engines run the built-in factors' declarations: ``tests/test_builtin_declared.py``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ..engines import SPARK_ENGINES, Engine, open_engine
from ..test_builtin_declared import check_engine_compiles_the_declaration

pytest.importorskip("sqlglot")


@pytest.fixture(scope="module", params=SPARK_ENGINES)
def engine(request: pytest.FixtureRequest, spark: Any) -> Iterator[Engine]:
    """Each Spark engine in turn, on the test session."""
    with open_engine(request.param, spark) as engine:
        yield engine


def test_every_spark_engine_runs_the_declaration(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_engine_compiles_the_declaration(engine, monkeypatch)
