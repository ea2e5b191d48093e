"""The commands' help, ``plugins``, and the command run as a real process."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import customer_health
from customer_health.cli import _plugins, main
from customer_health.cli._main import _parser
from customer_health.plugins.manager import get_plugin_manager

from .plugins.helpers import NPS_TARGETS, NpsScore
from .test_cli_files import AS_OF, assert_rows_match, expected_scores, portfolio, write_portfolio


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every subcommand (``db upgrade`` too) with its parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from _commands(sub, (*path, name))


COMMANDS = [path for path, _ in _commands(_parser())]


def test_every_command_is_there() -> None:
    """The commands of the issue, and db upgrade."""
    assert set(COMMANDS) >= {
        ("score",),
        ("explain",),
        ("plugins",),
        ("demo",),
        ("sample",),
        ("serve",),
        ("worker",),
        ("db",),
        ("db", "upgrade"),
    }


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_help_shows_an_example(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    """Every command's --help ends with examples that run that command."""
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: customer-health {' '.join(path)}")
    examples = out.split("\nexamples:\n", 1)[1]
    assert f"customer-health {' '.join(path)}" in examples


def test_top_level_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    """customer-health --help lists the commands, then examples."""
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "\nexamples:\n  customer-health score" in out


# -- plugins -------------------------------------------------------------------------


class NonprofitPlugin:
    """A plugin with a factor, a segment and expectations for the built-in segments."""

    @customer_health.hookimpl
    def register_factors(self, register: Any) -> None:
        register(NpsScore())

    @customer_health.hookimpl
    def register_segments(self, register: Any) -> None:
        register(
            "nonprofit",
            {
                "api_calls_30d": 100,
                "login_days_30d": 8,
                "features_30d": 2,
                "tickets_90d": 2,
                "nps_target": 6,
            },
        )

    @customer_health.hookimpl
    def register_expectations(self, register: Any) -> None:
        for segment, target in NPS_TARGETS.items():
            register(segment, {"nps_target": target})


@pytest.fixture
def with_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugins command sees the built-in plugin and NonprofitPlugin."""
    monkeypatch.setattr(
        _plugins,
        "get_plugin_manager",
        lambda: get_plugin_manager(plugins=[NonprofitPlugin()]),
    )


@pytest.mark.usefixtures("with_plugin")
def test_plugins_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--json: each plugin with its origin, factors, segments and added expectations."""
    assert main(["plugins", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    plugins = {plugin["name"]: plugin for plugin in document["plugins"]}
    assert set(plugins) == {"builtin", "NonprofitPlugin"}
    builtin = plugins["builtin"]
    assert builtin["distribution"] == "customer-health"
    assert builtin["version"] == customer_health.__version__
    assert builtin["source"] == "customer_health.builtin"
    # the plugin's own factors: model v1's (v2 adds factors of its own, not the plugin's)
    scorer = customer_health.Scorer(entry_points=True, model="v1")
    assert [f["name"] for f in builtin["factors"]] == list(scorer.factors)
    assert {f["name"]: f["default_weight"] for f in builtin["factors"]} == dict(scorer.weights)
    assert builtin["segments"] == ["enterprise", "smb", "startup"]
    assert builtin["expectations"] == {}
    mine = plugins["NonprofitPlugin"]
    assert (mine["distribution"], mine["version"]) == (None, None)
    assert mine["factors"] == [{"name": "nps", "default_weight": NpsScore.default_weight}]
    assert mine["segments"] == ["nonprofit"]
    assert mine["expectations"] == {segment: ["nps_target"] for segment in NPS_TARGETS}


@pytest.mark.usefixtures("with_plugin")
def test_plugins_table(capsys: pytest.CaptureFixture[str]) -> None:
    """The table: a line per plugin with where it comes from and what it registers."""
    assert main(["plugins"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["plugin", "from", "factors", "segments", "expectations", "added"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"builtin", "NonprofitPlugin"}
    assert f"customer-health {customer_health.__version__}" in rows["builtin"]
    assert "api_usage, login_frequency" in rows["builtin"]
    assert "enterprise, smb, startup" in rows["builtin"]
    assert "smb: nps_target" in rows["NonprofitPlugin"]
    assert "nonprofit" in rows["NonprofitPlugin"]


def test_plugins_honours_the_block_list(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Blocking the built-in plugin leaves nothing to list."""
    monkeypatch.setenv("CUSTOMER_HEALTH_BLOCK_PLUGINS", "builtin")
    assert main(["plugins", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"plugins": []}


# -- a real process ------------------------------------------------------------------


def test_python_dash_m_scores_files(tmp_path: Path) -> None:
    """``python -m customer_health score`` writes the scores and exits 0."""
    pytest.importorskip("polars")
    data = portfolio(10)
    customers, events = write_portfolio(tmp_path, data, "csv")
    output = tmp_path / "scores.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "customer_health",
            "score",
            "--customers",
            str(customers),
            "--events",
            str(events),
            "--as-of",
            AS_OF,
            "-o",
            str(output),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert_rows_match(rows, expected_scores(data))


def test_python_dash_m_fails_in_one_line(tmp_path: Path) -> None:
    """A bad file in a real process: exit code 2, one line on stderr, no traceback."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "customer_health",
            "score",
            "--customers",
            "none.csv",
            "--events",
            "none.csv",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 3  # a data error (EXIT_DATA)
    assert done.stdout == ""
    assert done.stderr == "customer-health: error: customers file none.csv: no such file\n"
