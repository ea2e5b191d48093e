"""The layer contracts (pyproject.toml, docs/architecture.md) hold, and they catch an
upward import, a cycle and an optional dependency imported where it must not be."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "customer_health"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` over the package in ``tree/src`` with the project's contracts."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())",
            "--config",
            str(ROOT / "pyproject.toml"),
            "--no-cache",
        ],
        cwd=tree,
        env={"PYTHONPATH": str(tree / "src"), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the package's source, to break."""
    shutil.copytree(SOURCE, tmp_path / "src" / "customer_health")
    return tmp_path


def add_line(tree: Path, module: str, line: str) -> None:
    """Put ``line`` after the ``from __future__`` import of ``module`` (a path in the
    package)."""
    path = tree / "src" / "customer_health" / module
    text = path.read_text()
    future = "from __future__ import annotations\n"
    assert future in text
    path.write_text(text.replace(future, future + line + "\n", 1))


def test_the_contracts_hold() -> None:
    """Every contract is kept by the package as it is."""
    found = lint_imports(ROOT)
    assert found.returncode == 0, found.stdout + found.stderr
    assert "0 broken" in found.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # the core types importing the scorer, even for type hints only
        (
            "models.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .scoring import Scorer",
            "The package is layered",
        ),
        # the resolved model importing an engine
        ("model/_resolved.py", "from ..engines import objects", "The package is layered"),
        # one engine importing another
        ("engines/objects.py", "from .sql import _inputs", "The engines do not import each other"),
        # the polars engine's shared parts importing Spark
        ("engines/frames/_read.py", "from . import spark", "The frame engine is layered"),
        # a cycle inside one layer
        ("_render.py", "from . import models", "No import cycles"),
        # the object engine importing polars
        ("engines/objects.py", "import polars", "objects is not allowed to import polars"),
    ],
)
def test_a_broken_rule_is_caught(tree: Path, module: str, line: str, broken: str) -> None:
    """An import that breaks a rule breaks the contract that states it."""
    add_line(tree, module, line)
    found = lint_imports(tree)
    assert found.returncode == 1, found.stdout + found.stderr
    report = found.stdout.split("Broken contracts", 1)[-1]
    assert broken in report, found.stdout


def test_the_old_frames_path_warns_and_still_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    """``customer_health.frames`` (moved to ``engines.frames``) warns when imported and
    its ``score_frame(scorer, ...)`` and ``EVENT_COLUMNS`` still work."""
    pl = pytest.importorskip("polars")
    import customer_health
    from customer_health.engines.frames import EVENT_COLUMNS

    monkeypatch.delitem(sys.modules, "customer_health.frames", raising=False)
    monkeypatch.delattr(customer_health, "frames", raising=False)
    with pytest.warns(DeprecationWarning, match=r"customer_health\.frames is deprecated"):
        import customer_health.frames as old
    assert old.EVENT_COLUMNS is EVENT_COLUMNS
    customers = pl.DataFrame({"id": ["a"], "segment": ["smb"]})
    events = pl.DataFrame(
        {"customer_id": ["a"], "kind": ["login"], "occurred_at": ["2026-06-29T09:00:00Z"]}
    )
    scorer = customer_health.Scorer()
    got = old.score_frame(scorer, customers, events, as_of="2026-06-30")
    assert got.equals(scorer.score_frame(customers, events, as_of="2026-06-30"))
