"""The built-in models by name (issue 17, point 3): v2 is the default, v1 stays
available, unchanged and exact; plugins take part in both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import customer_health
from customer_health import (
    MODEL_VERSION,
    MODELS,
    ConfigurationError,
    Scorer,
    ShadowedFactorWarning,
    hookimpl,
)
from customer_health.builtin.types import recency
from customer_health.cli import main
from customer_health.scoring import scorer_with_kinds

from .test_cli_files import AS_OF, portfolio, write_portfolio

V1_FINGERPRINT = "74ef5f3876751f8556eaca003e6d253ca11599ff662be4a853aaabc8e235c1b7"
"""Model v1's fingerprint since version 0.1: stored scores name it."""
V1_FACTORS = (
    "api_usage",
    "login_frequency",
    "payment_timeliness",
    "feature_adoption",
    "support_tickets",
)
V2_FACTORS = (*V1_FACTORS, "last_seen", "activity_trend")
SMB = {"id": "c1", "segment": "smb"}


def test_the_default_model_is_v2() -> None:
    scorer = Scorer(entry_points=False)
    assert (MODELS, MODEL_VERSION) == (("v1", "v2"), "2")
    assert scorer.factors == V2_FACTORS
    assert scorer.config.model_version == "2"
    assert dict(scorer.weights) == {
        "api_usage": 0.25,
        "login_frequency": 0.20,
        "payment_timeliness": 0.25,
        "feature_adoption": 0.15,
        "support_tickets": 0.15,
        "last_seen": 0.20,
        "activity_trend": 0.10,
    }
    assert scorer.fingerprint == Scorer(entry_points=False, model="v2").fingerprint
    assert scorer.fingerprint != V1_FINGERPRINT
    assert {
        segment: values["last_seen"] for segment, values in scorer.config.expectations.items()
    } == {
        "enterprise": 7.0,
        "smb": 7.0,
        "startup": 7.0,
    }


def test_model_v1_is_unchanged() -> None:
    """v1 by name: its five factors, weights and segments, and the fingerprint it had."""
    scorer = Scorer(entry_points=False, model="v1")
    assert scorer.factors == V1_FACTORS
    assert scorer.fingerprint == V1_FINGERPRINT
    assert scorer.config.model_version == "1"
    assert "last_seen" not in scorer.config.expectations["smb"]
    health = scorer.score(SMB, [], as_of=AS_OF)
    assert (health.model_version, health.fingerprint) == ("1", V1_FINGERPRINT)
    assert health.score == pytest.approx(20.0)  # tickets 100 of 0.75 with data


@pytest.mark.parametrize("name", ["v3", "V1", "", 2, None.__class__])
def test_an_unknown_model_is_an_error_naming_it(name: Any) -> None:
    with pytest.raises(
        ConfigurationError, match=r"unknown model .*the built-in models are 'v1', 'v2'"
    ):
        Scorer(entry_points=False, model=name)


def test_the_arguments_adjust_the_model() -> None:
    scorer = Scorer(
        entry_points=False,
        model="v2",
        weights={"last_seen": 0.5},
        factors=["api_usage", "last_seen"],
        expectations={"smb": {"last_seen": 3.0}},
        model_version="2-acme",
    )
    assert scorer.factors == ("api_usage", "last_seen")
    assert dict(scorer.weights) == {"api_usage": 0.25, "last_seen": 0.5}
    assert scorer.config.expectations["smb"]["last_seen"] == 3.0
    assert scorer.config.expectations["startup"]["last_seen"] == 7.0
    assert scorer.config.model_version == "2-acme"
    with pytest.raises(customer_health.UnknownFactorError, match="'last_seen'"):
        Scorer(entry_points=False, model="v1", factors=["last_seen"])


class Nonprofit:
    """A plugin written for model v1: a segment without v2's expectations, a factor."""

    @hookimpl
    def register_segments(self, register: Any) -> None:
        register(
            "nonprofit",
            {"api_calls_30d": 100, "login_days_30d": 8, "features_30d": 2, "tickets_90d": 2},
        )

    @hookimpl
    def register_factors(self, register: Any) -> None:
        register(recency("last_ticket", kinds=["support_ticket"], expected=30.0, weight=0.1))


def test_plugins_take_part_in_v2_and_their_segments_fall_back() -> None:
    """A plugin's factor is scored in v2 as in v1, and its segment, which has no
    last_seen expectation, gets the documented 7 days."""
    events = [{"customer_id": "c1", "kind": "login", "occurred_at": "2026-06-01T00:00:00Z"}]
    for model in MODELS:
        scorer = Scorer(entry_points=False, plugins=[Nonprofit()], model=model)
        assert scorer.factors[-1] == "last_ticket", model
        health = scorer.score({"id": "c1", "segment": "nonprofit"}, events, as_of=AS_OF)
        assert health.factor("last_ticket").score is None  # no ticket yet
    last_seen = health.factor("last_seen")
    assert last_seen.expected == 7.0
    assert last_seen.value == pytest.approx(29.0)  # 2026-06-01 to 2026-06-30
    assert last_seen.score == pytest.approx(100 * (364 - 29) / (364 - 7))


class OwnLastSeen:
    """A plugin that registered a factor called last_seen before model v2 had one."""

    @hookimpl
    def register_factors(self, register: Any) -> None:
        register(recency("last_seen", kinds=["login"], expected=2.0, weight=0.3))


def test_a_plugin_factor_named_like_a_v2_factor_is_scored_in_its_place() -> None:
    with pytest.warns(ShadowedFactorWarning, match=r"plugin 'OwnLastSeen' .*'last_seen'"):
        scorer = Scorer(entry_points=False, plugins=[OwnLastSeen()])
    assert scorer.registry.factor_plugins["last_seen"] == "OwnLastSeen"
    assert scorer.weights["last_seen"] == 0.3
    assert "activity_trend" in scorer.factors
    v1 = Scorer(entry_points=False, plugins=[OwnLastSeen()], model="v1")  # no warning
    assert v1.registry.factor_plugins["last_seen"] == "OwnLastSeen"


def test_blocking_the_builtin_plugin_leaves_out_v2_s_factors_too() -> None:
    scorer = Scorer(entry_points=False, plugins=[Nonprofit()], block_plugins=["builtin"])
    assert scorer.factors == ("last_ticket",)


def test_v2_round_trips_through_its_model_file(tmp_path: Path) -> None:
    scorer = Scorer(entry_points=False)
    path = tmp_path / "v2.toml"
    scorer.to_file(path)
    text = path.read_text(encoding="utf-8")
    assert 'version = "2"' in text
    assert 'type = "recency"' in text
    again = Scorer.from_file(path, entry_points=False)
    assert again.fingerprint == scorer.fingerprint
    assert again.factors == scorer.factors
    with pytest.raises(ConfigurationError, match="model, which the model file sets"):
        Scorer.from_file(path, model="v1")


def test_the_command_line_and_the_service_take_a_model_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scorer_with_kinds(model="v1").fingerprint == V1_FINGERPRINT
    assert scorer_with_kinds(model="v2").config.model_version == "2"
    data = portfolio(4)
    customers, events = write_portfolio(tmp_path, data, "jsonl")
    argv = ["score", "--customers", str(customers), "--events", str(events), "--as-of", AS_OF]
    for model, factors in (("v1", V1_FACTORS), ("v2", V2_FACTORS)):
        output = tmp_path / f"{model}.jsonl"
        assert main([*argv, "--model", model, "-o", str(output)]) == 0
        row = json.loads(output.read_text().splitlines()[0])
        assert [name for name in V2_FACTORS if name in row] == list(factors), model
    capsys.readouterr()
