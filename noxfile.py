"""Development sessions: tests, lint, typecheck, build and benchmarks.

``python3 -m nox`` runs the default sessions (the README's test command and CI use
exactly this); ``python3 -m nox -s tests -- -x -k plugin`` runs one with pytest
arguments; ``python3 -m nox -s bench`` runs the benchmark (not a default session).

Virtual environments are made with uv when it is installed (``pip install nox uv``),
else with virtualenv. A Python version that is not installed is skipped, not failed,
and never downloaded (``--download-python auto`` on the command line allows it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import tomllib
import zipfile
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION: str = PYPROJECT["project"]["version"]

PYTHON = "3.11"
"""The Python of the full, coverage-gated run and of lint, typecheck and build."""
CORE_PYTHONS = ["3.12", "3.13"]
"""The other supported Pythons: the suite without the slow tests."""

SEPARATE_EXTRAS = frozenset({"spark", "docs"})
"""Extras the test sessions leave out: too heavy for every run (Spark), or the tools of a
session of their own (the site's)."""
EXTRAS = sorted(set(PYPROJECT["project"].get("optional-dependencies", {})) - SEPARATE_EXTRAS)
"""The extras the test sessions install: every other one declared in pyproject.toml."""

TEST_DEPS = [
    "pytest>=8",
    "pytest-xdist>=3.6",
    "hypothesis>=6.100",
    "coverage[toml]>=7.5",
    "uv",
    "httpx2",
    "nbclient>=0.10",
    "nbformat>=5.10",
    "ipykernel>=6.29",
    "import-linter~=2.17",
]
"""pytest-xdist runs the suite on every core (``-n auto``; coverage measures its workers,
``patch = ["subprocess"]`` in pyproject.toml); uv is there for tests that build virtual
environments (the third-party plugin); httpx2
for the service tests (Starlette's test client and the process tests); nbclient, nbformat
and ipykernel to execute the example notebook (tests/test_notebook.py); import-linter for
the test that the layer contracts catch an upward import (tests/test_architecture.py)."""
FUZZ_DEPS = ["pytest>=8", "hypothesis>=6.100", "schemathesis>=4,<5", "httpx2"]
"""For the API fuzz session: schemathesis drives the service in process (ASGI)."""
XDIST = ["-n", "auto"]
"""pytest-xdist's workers: one per core (the suite keeps its tests apart: a PostgreSQL
schema, a temporary folder and a free port each)."""
RUFF = "ruff~=0.17.6"
IMPORT_LINTER = "import-linter~=2.17"
MYPY = "mypy~=2.4.1"
PLUGIN_DIST = "tests/plugin_dist/ch_example_plugin"
DOCS_DEPS: list[str] = PYPROJECT["project"]["optional-dependencies"]["docs"]
"""The site's tools (mkdocs.yml): the ``docs`` extra, which ``mkdocs serve`` needs too."""

nox.needs_version = ">=2024.4.15"
nox.options.default_venv_backend = "uv|virtualenv"
# CI=true makes missing interpreters an error by default; here they are skipped.
nox.options.error_on_missing_interpreters = False
nox.options.sessions = [
    "tests",
    "tests_core",
    "api_fuzz",
    "spark",
    "lint",
    "typecheck",
    "docs",
    "build",
]
if hasattr(nox.options, "download_python"):  # nox >= 2025.2.9
    nox.options.download_python = "never"


def _use_pyenv_pythons() -> None:
    """Expose the newest installed pyenv 3.11/3.12/3.13 through pyenv's shims.

    pyenv's ``python3.12`` shim only runs when 3.12 is an active version, so when
    ``PYENV_VERSION`` is unset it is set to the newest patch release of each Python
    the sessions use (3.11 first, so ``python3`` stays 3.11).
    """
    if os.environ.get("PYENV_VERSION") or shutil.which("pyenv") is None:
        return
    try:
        listed = subprocess.run(
            ["pyenv", "versions", "--bare"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return
    wanted = [PYTHON, *CORE_PYTHONS]
    newest: dict[str, tuple[int, str]] = {}
    for line in listed.splitlines():
        match = re.fullmatch(r"(3\.\d+)\.(\d+)", line.strip())
        if match and match[1] in wanted:
            patch = int(match[2])
            if match[1] not in newest or patch > newest[match[1]][0]:
                newest[match[1]] = (patch, match[0])
    if newest:
        os.environ["PYENV_VERSION"] = ":".join(newest[v][1] for v in wanted if v in newest)


_use_pyenv_pythons()


def _project(*more: str) -> list[str]:
    """The project, editable, with the extras the tests use (and ``more``)."""
    extras = sorted({*EXTRAS, *more})
    return ["-e", f".[{','.join(extras)}]" if extras else "."]


def _uv(session: nox.Session) -> bool:
    return session.venv_backend == "uv"


def _python_in(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole suite under branch coverage; fails below ``fail_under`` (pyproject).

    With pytest arguments (a subset of the suite) the report is shown but not gated.
    """
    session.install(*_project(), *TEST_DEPS)
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", *XDIST, *session.posargs)
    if PYPROJECT.get("tool", {}).get("coverage", {}).get("run", {}).get("parallel"):
        session.run("coverage", "combine", "--quiet")
    if session.posargs:
        session.run("coverage", "report", "--fail-under=0")
    else:
        session.run("coverage", "report")


@nox.session(python=CORE_PYTHONS)
def tests_core(session: nox.Session) -> None:
    """The suite without the slow tests (those building wheels and venvs, and fitting
    models on simulated histories), no coverage."""
    session.install(*_project(), *TEST_DEPS)
    session.run("pytest", *XDIST, "-m", "not slow", *session.posargs)


@nox.session(python=PYTHON)
def api_fuzz(session: nox.Session) -> None:
    """Schemathesis over the whole service API: no server error, every response as the
    OpenAPI schema documents it. ``tests/api_fuzz`` is left out of the other sessions."""
    session.install(*_project(), *FUZZ_DEPS)
    session.run("pytest", "tests/api_fuzz", *session.posargs)


@nox.session(python=PYTHON)
def spark(session: nox.Session) -> None:
    """``score_frame`` on Spark: PySpark in local mode (needs Java 17), under coverage of
    the Spark module, which the other sessions leave out. ``tests/spark`` is left out of
    the other sessions."""
    # sample: the tests generate data; sql: the emitted Spark SQL runs there too
    session.install(
        "-e", ".[spark,sample,sql]", "pytest>=8", "hypothesis>=6.100", "coverage[toml]>=7.5"
    )
    env = {"COVERAGE_FILE": ".coverage-spark"}
    session.run("coverage", "erase", env=env)
    # --omit replaces the configuration's, which leaves the Spark module out
    session.run(
        "coverage", "run", "--omit=*/storage/migrations/*", "-m", "pytest", "tests/spark",
        *session.posargs, env=env,
    )  # fmt: skip
    session.run("coverage", "combine", "--quiet", env=env)
    session.run(
        "coverage", "report", "--include=*/customer_health/engines/frames/spark.py", env=env
    )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting; import-linter: the package's layers and its
    optional dependencies (the contracts in pyproject.toml, docs/architecture.md).

    import-linter reads the source without importing it, from ``src``."""
    session.install(RUFF, IMPORT_LINTER)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports", "--no-cache", env={"PYTHONPATH": str(ROOT / "src")})


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src and tests/typing (pyproject), then on the example plugin.

    Every extra is installed, the separate ones too, so that every module is checked
    against the real types of what it imports (pyspark for the Spark module)."""
    session.install(*_project(*SEPARATE_EXTRAS), MYPY)
    session.run("mypy", *session.posargs)
    if not session.posargs:
        session.run("mypy", f"{PLUGIN_DIST}/src")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site with ``mkdocs build --strict``: any warning (a broken
    link, a page left out of the navigation, a docstring griffe cannot parse) fails.

    The site goes to a temporary directory (``-- --site-dir DIR`` keeps it elsewhere).
    The project is not installed: griffe reads the API reference from ``src`` without
    importing it.
    """
    session.install(*DOCS_DEPS, RUFF)  # mkdocstrings formats signatures with ruff
    env = {"NO_MKDOCS_2_WARNING": "1"}  # Material's banner about its end of life
    if session.posargs:
        session.run("mkdocs", "build", "--strict", *session.posargs, env=env)
        return
    with tempfile.TemporaryDirectory(prefix="customer-health-site-") as tmp:
        session.run("mkdocs", "build", "--strict", "--site-dir", tmp, env=env)


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Build the sdist and wheel, check them, and install the wheel in a fresh venv."""
    uv = _uv(session)
    session.install("twine", *([] if uv else ["build"]))
    with tempfile.TemporaryDirectory(prefix="customer-health-build-") as tmp:
        out = Path(tmp) / "dist"
        if uv:
            session.run("uv", "build", "--quiet", "--out-dir", str(out), ".")
        else:
            session.run("python", "-m", "build", "--outdir", str(out), ".")
        wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
        if len(wheels) != 1 or len(sdists) != 1:
            session.error(f"expected one wheel and one sdist in {out}, got {os.listdir(out)}")
        session.run("twine", "check", "--strict", str(wheels[0]), str(sdists[0]))
        _check_contents(session, wheels[0], sdists[0])

        venv = Path(tmp) / "venv"
        python = _python_in(venv)
        if uv:
            base = _python_in(Path(session.virtualenv.location))
            session.run("uv", "venv", "--quiet", "--python", str(base), str(venv))
            session.run("uv", "pip", "install", "--quiet", "--python", str(python), str(wheels[0]))
        else:
            session.run("python", "-m", "venv", str(venv))
            session.run(
                str(python), "-m", "pip", "install", "--quiet", str(wheels[0]), external=True
            )
        probe = "import customer_health as m; print(m.__version__); print(m.__file__)"
        output = session.run(
            str(python), "-c", probe, external=True, silent=True, env=_env_for(venv)
        )
        version, _, location = str(output).strip().partition("\n")
        if version != VERSION:
            session.error(f"the installed wheel reports version {version!r}, not {VERSION!r}")
        if not Path(location).resolve().is_relative_to(venv.resolve()):
            session.error(f"customer_health was imported from {location}, not from the wheel")
        script = python.with_name("customer-health")
        session.run(str(script), "--help", external=True, silent=True, env=_env_for(venv))
        session.log(f"wheel {wheels[0].name}: version {version}, console script OK")


def _env_for(venv: Path) -> dict[str, str]:
    return {"VIRTUAL_ENV": str(venv), "PYTHONPATH": "", "PYTHONSAFEPATH": "1"}


def _check_contents(session: nox.Session, wheel: Path, sdist: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    shipped = [  # the package's data files too: the Alembic scripts, the docs pages' assets
        "customer_health/__init__.py",
        "customer_health/py.typed",
        "customer_health/storage/migrations/env.py",
        "customer_health/storage/migrations/script.py.mako",
        "customer_health/service/assets/swagger-ui/swagger-ui-bundle.js",
        "customer_health/service/assets/swagger-ui/LICENSE",
        "customer_health/service/assets/redoc/redoc.standalone.js",
        "customer_health/service/assets/redoc/LICENSE",
    ]
    for required in shipped:
        if required not in names:
            session.error(f"{wheel.name} lacks {required}")
    stray = sorted({name.split("/")[0] for name in names} - {"customer_health"})
    stray = [top for top in stray if not top.endswith(".dist-info")]
    if stray:
        session.error(f"{wheel.name} installs more than customer_health: {stray}")
    with tarfile.open(sdist) as archive:
        members = {name.partition("/")[2] for name in archive.getnames()}
    for required in (
        "pyproject.toml",
        "noxfile.py",
        "src/customer_health/__init__.py",
        "tests/conftest.py",
    ):
        if required not in members:
            session.error(f"{sdist.name} lacks {required}")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmark ``Scorer.score_many`` (not a default session); arguments go to the script."""
    session.install(*_project())
    session.run("python", "tests/benchmarks/bench_score_many.py", *session.posargs)


@nox.session(python=PYTHON)
def bench_frames(session: nox.Session) -> None:
    """Benchmark ``score_frame`` against a hand-written polars query (not a default session)."""
    session.install(*_project())
    session.run("python", "tests/benchmarks/bench_frames.py", *session.posargs)


@nox.session(python=PYTHON)
def bench_backtest(session: nox.Session) -> None:
    """Benchmark ``backtest`` at 12 dates against one ``score_frame`` (not a default session)."""
    session.install(*_project())
    session.run("python", "tests/benchmarks/bench_backtest.py", *session.posargs)


@nox.session(python=PYTHON)
def bench_sql(session: nox.Session) -> None:
    """Benchmark the warehouse query of ``export_sql`` on DuckDB and PostgreSQL beside
    ``score_frame`` (not a default session; PostgreSQL from ``--postgres-url``, default
    ``$CUSTOMER_HEALTH_TEST_POSTGRES_URL``, unless ``--no-postgres``)."""
    session.install(*_project())
    session.run("python", "tests/benchmarks/bench_sql.py", *session.posargs)


@nox.session(python=PYTHON)
def bench_spark(session: nox.Session) -> None:
    """Benchmark ``score_frame`` on Spark (local mode, one and two cores) beside the polars
    path and a hand-written PySpark query on the same data (not a default session; needs
    Java 17)."""
    session.install("-e", ".[spark,sample]")
    session.run("python", "tests/benchmarks/bench_spark.py", *session.posargs)


@nox.session(python=PYTHON)
def bench_service(session: nox.Session) -> None:
    """Benchmark the reference service with ``wrk`` against a bare FastAPI endpoint, on
    PostgreSQL and SQLite (not a default session; needs ``wrk`` and PostgreSQL)."""
    session.install(*_project())
    session.run("python", "tests/benchmarks/bench_service.py", *session.posargs)


@nox.session(python=PYTHON)
def bench_storage(session: nox.Session) -> None:
    """Benchmark the SQL store's ingest and recalculation (not a default session).

    Needs PostgreSQL (``--postgres-url``, default ``$CUSTOMER_HEALTH_TEST_POSTGRES_URL``)
    unless run with ``--no-postgres``; arguments go to the script.
    """
    session.install(*_project())
    session.run("python", "tests/benchmarks/bench_storage.py", *session.posargs)
