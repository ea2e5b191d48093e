"""The package stays light: importing it pulls in no optional dependency."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

OPTIONAL = (
    "alembic",
    "duckdb",
    "fastapi",
    "matplotlib",
    "narwhals",
    "numpy",
    "pydantic_settings",
    "pandas",
    "polars",
    "psycopg",
    "pyarrow",
    "rich",
    "sqlalchemy",
    "starlette",
    "uvicorn",
)
"""Top-level modules that only extras bring in."""

PROBE = """
import json, sys
{imports}
optional = {optional!r}
print(json.dumps(sorted(m for m in sys.modules if m.partition(".")[0] in optional)))
"""


@pytest.mark.parametrize(
    "module",
    [
        "customer_health",
        "customer_health.builtin",
        "customer_health.plugins.manager",
        "customer_health.storage",
    ],
)
def test_import_does_not_import_optional_dependencies(module: str) -> None:
    """Importing the module in a fresh interpreter imports none of the optional dependencies."""
    code = PROBE.format(imports=f"import {module}", optional=OPTIONAL)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
