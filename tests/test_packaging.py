"""The package stays light: importing it pulls in no optional dependency."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

PYPROJECT = tomllib.loads(
    (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
)
TRANSITIVE = ("starlette", "mako", "py4j")
"""Modules that extras bring in through their own dependencies: FastAPI's Starlette,
Alembic's Mako, PySpark's Py4J."""


def module_of(requirement: str) -> str:
    """The top-level module of a requirement's distribution: ``psycopg[binary]>=3.1`` is
    ``psycopg``, ``pydantic-settings`` is ``pydantic_settings``."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match is not None, requirement
    return re.sub(r"[-.]+", "_", match[0]).lower()


OPTIONAL = tuple(
    sorted(
        {
            module_of(requirement)
            for requirements in PYPROJECT["project"]["optional-dependencies"].values()
            for requirement in requirements
        }
        | set(TRANSITIVE)
    )
)
"""Top-level modules that only extras bring in: every extra's distributions in
pyproject.toml, and what they bring that matters (:data:`TRANSITIVE`)."""

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


def test_the_optional_modules_are_every_extras() -> None:
    """The list holds every extra's modules by their import names, scipy, sqlglot and
    pyspark among them, and none of the core dependencies."""
    assert {"scipy", "sqlglot", "pyspark", "psycopg", "pydantic_settings", "uvicorn"} <= set(
        OPTIONAL
    )
    assert {"starlette", "polars", "duckdb", "matplotlib"} <= set(OPTIONAL)
    assert all(re.fullmatch(r"[a-z0-9_]+", name) for name in OPTIONAL), OPTIONAL
    core = {module_of(requirement) for requirement in PYPROJECT["project"]["dependencies"]}
    assert core == {"pydantic", "pluggy"}
    assert not core & set(OPTIONAL)


@pytest.mark.parametrize(
    "path",
    [
        "customer-health.db",  # the README's service command, and SQLite's files beside it
        "customer-health.db-wal",
        "customer-health.db-shm",
        "customer-health.db-journal",
        ".coverage",
        ".coverage-spark",  # the spark session's coverage data
        ".coverage.host.1234.5678",
    ],
)
def test_what_the_commands_leave_behind_is_ignored(path: str) -> None:
    """The files the README's commands write in the checkout are ignored by git, so they
    are never committed by accident."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist)")
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", path],
        cwd=root,
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, f"{path} is not ignored by .gitignore"


def test_no_committed_file_is_one_git_ignores() -> None:
    """No tracked file matches .gitignore (as the spark session's ``.coverage-spark`` once
    did, committed before it was ignored)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist)")
    result = subprocess.run(
        ["git", "ls-files", "--cached", "--ignored", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert result.stdout.split() == []
