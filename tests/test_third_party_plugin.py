"""A third-party plugin distribution, built and installed in a fresh virtual environment.

``tests/plugin_dist/ch_example_plugin`` is a real distribution (``ch-example-plugin``)
that publishes the entry point ``example`` in the ``customer_health`` group. The test
installs customer-health and the plugin (both non-editable) into a temporary venv and
scores customers there in a subprocess, so entry-point discovery is exercised exactly
as users get it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "tests" / "plugin_dist" / "ch_example_plugin"

# Variables that would make the child processes use another environment or config.
_FOREIGN_ENV = (
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONSAFEPATH",
    "UV_PYTHON",
    "UV_PROJECT_ENVIRONMENT",
    "UV_SYSTEM_PYTHON",
    "PIP_REQUIRE_VIRTUALENV",
    "COVERAGE_PROCESS_START",
    "CUSTOMER_HEALTH_BLOCK_PLUGINS",
    "CUSTOMER_HEALTH_ALLOW_PLUGINS",
)

SCRIPT = textwrap.dedent(
    """
    import json
    import sys

    import customer_health

    customer, events = json.loads(sys.argv[1])
    try:
        health = customer_health.score(customer, events, as_of="2026-06-30")
    except customer_health.CustomerHealthError as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
    else:
        print(json.dumps(health.model_dump(mode="json")))
    """
)

NPS_ANSWERS = (9, 6, 10, 7)
"""Answers inside the 90-day window; one more answer outside it must not count."""
NONPROFIT_NPS_TARGET = 8.0
NONPROFIT_LOGIN_DAYS = 8.0


def _clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _FOREIGN_ENV}
    env.update(extra)
    return env


def _uv() -> str | None:
    """The uv binary: the ``uv`` package's if importable, else one on ``PATH``."""
    try:
        from uv import find_uv_bin
    except ImportError:
        return shutil.which("uv")
    try:
        return str(find_uv_bin())
    except FileNotFoundError:  # a broken uv install
        return shutil.which("uv")


def _python_in(venv: Path) -> Path:
    if sys.platform == "win32":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def _run(args: list[str], **extra_env: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args,
        capture_output=True,
        text=True,
        env=_clean_env(**extra_env),
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode:
        pytest.fail(
            f"{' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with customer-health and ch-example-plugin installed from source."""
    venv = tmp_path_factory.mktemp("plugin-venv") / "venv"
    python = _python_in(venv)
    uv = _uv()
    if uv is not None:
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
        install = [uv, "pip", "install", "--quiet", "--python", str(python)]
        # uv caches wheels built from a folder by its pyproject.toml: rebuild both.
        install += ["--reinstall-package", "customer-health"]
        install += ["--reinstall-package", "ch-example-plugin"]
    else:  # the nox sessions install uv; plain pytest may not have it
        _run([sys.executable, "-m", "venv", str(venv)])
        install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # Non-editable: both are built as wheels and installed as a user would get them.
    _run([*install, str(ROOT), str(PLUGIN)])
    return python


def _score(python: Path, customer: dict[str, Any], events: list[dict[str, Any]], **env: str) -> Any:
    payload = json.dumps([customer, events])
    result = _run([str(python), "-c", SCRIPT, payload], **env)
    return json.loads(result.stdout)


def _nps_events(customer_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {
            "customer_id": customer_id,
            "kind": "nps_response",
            "occurred_at": f"2026-06-{day:02d}T12:00:00Z",
            "properties": {"score": answer},
        }
        for day, answer in zip(range(1, 29, 7), NPS_ANSWERS, strict=True)
    ]
    events.append(  # 120 days before as_of: outside the 90-day window
        {
            "customer_id": customer_id,
            "kind": "nps_response",
            "occurred_at": "2026-03-02T12:00:00Z",
            "properties": {"score": 0},
        }
    )
    events.append(
        {"customer_id": customer_id, "kind": "login", "occurred_at": "2026-06-29T09:00:00Z"}
    )
    return events


def _factors(health: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {factor["name"]: factor for factor in health["factors"]}


def test_plugin_factor_scores_a_plugin_segment(venv_python: Path) -> None:
    """An installed plugin's factor scores custom events against its own segment."""
    health = _score(venv_python, {"id": "charity", "segment": "nonprofit"}, _nps_events("charity"))

    factors = _factors(health)
    mean = sum(NPS_ANSWERS) / len(NPS_ANSWERS)
    assert factors["nps"]["value"] == pytest.approx(mean, abs=1e-9)
    assert factors["nps"]["expected"] == NONPROFIT_NPS_TARGET
    assert factors["nps"]["score"] == pytest.approx(
        100 * min(1.0, mean / NONPROFIT_NPS_TARGET), abs=1e-9
    )
    assert factors["nps"]["weight"] == pytest.approx(0.1)
    # The built-in factors read the plugin segment's expectations too.
    assert factors["login_frequency"]["expected"] == NONPROFIT_LOGIN_DAYS
    assert factors["login_frequency"]["value"] == 1


def test_plugin_expectations_reach_builtin_segments(venv_python: Path) -> None:
    """The plugin's nps_target for a built-in segment is used, and no answers is no data."""
    events = _nps_events("acme")
    answered = _factors(_score(venv_python, {"id": "acme", "segment": "startup"}, events))
    assert answered["nps"]["expected"] == 7.0
    assert answered["nps"]["score"] == pytest.approx(100.0)  # mean 8 >= target 7

    logins_only = [event for event in events if event["kind"] == "login"]
    silent = _factors(_score(venv_python, {"id": "acme", "segment": "smb"}, logins_only))
    assert silent["nps"]["score"] is None


def test_blocking_the_plugin_removes_its_factor_and_segment(venv_python: Path) -> None:
    """CUSTOMER_HEALTH_BLOCK_PLUGINS=example hides the nps factor and the nonprofit segment."""
    block = {"CUSTOMER_HEALTH_BLOCK_PLUGINS": "example"}
    smb = _score(venv_python, {"id": "acme", "segment": "smb"}, _nps_events("acme"), **block)
    assert "nps" not in _factors(smb)
    assert "login_frequency" in _factors(smb)

    nonprofit = _score(
        venv_python, {"id": "charity", "segment": "nonprofit"}, _nps_events("charity"), **block
    )
    assert nonprofit["error"] == "UnknownSegmentError"
    assert "'nonprofit'" in nonprofit["message"]
