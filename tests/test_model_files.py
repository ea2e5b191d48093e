"""Model files: a scorer's whole configuration in one TOML file (issue 17, point 2).

``Scorer.from_file`` reads the model's name and version, thresholds, factors in order
with their weights (factor types made from their parameters) and segments'
expectations; ``to_file`` writes them so that they read back to the same fingerprint;
the fingerprint covers every parameter; the default model's stays what it was.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from customer_health import MODEL_VERSION, ConfigurationError, Scorer

AS_OF = datetime.fromisoformat("2026-06-30T00:00:00+00:00")

MODEL = """
[model]
name = "acme"
version = "2026.12"

[thresholds]
healthy = 75.0
at_risk = 45.0

[factors.api_usage]
weight = 0.3

[factors.last_login]
type = "recency"
kinds = ["login"]
expected = 7
weight = 0.2

[factors.usage_trend]
type = "trend"
kinds = ["api_call", "feature_used"]
window_days = 30

[factors.support_tickets]

[segments.enterprise]
last_login = 3.0
api_calls_30d = 2000.0

[segments.nonprofit]
api_calls_30d = 50.0
tickets_90d = 2.0
"""


def written(tmp_path: Path, text: str = MODEL, name: str = "model.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def fingerprint_of_v1() -> str:
    """Model v1's fingerprint as it was before model files: sha256 of the canonical JSON
    of its version, factors, weights, thresholds and expectations."""
    scorer = Scorer(entry_points=False, model="v1")
    config = {
        "model_version": "1",
        "factors": sorted(scorer.factors),
        "weights": dict(scorer.weights),
        "thresholds": {"healthy": 70.0, "at_risk": 40.0},
        "expectations": {
            name: dict(segment.expectations) for name, segment in scorer.segments.items()
        },
    }
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_model_v1_keeps_its_fingerprint_and_round_trips(tmp_path: Path) -> None:
    scorer = Scorer(entry_points=False, model="v1")
    assert scorer.fingerprint == fingerprint_of_v1()
    path = tmp_path / "v1.toml"
    scorer.to_file(path)
    again = Scorer.from_file(path, entry_points=False)
    assert again.fingerprint == scorer.fingerprint
    assert again.config == scorer.config
    assert again.factors == scorer.factors


def test_a_model_file_sets_the_whole_configuration(tmp_path: Path) -> None:
    scorer = Scorer.from_file(written(tmp_path), entry_points=False)
    assert scorer.factors == ("api_usage", "last_login", "usage_trend", "support_tickets")
    assert dict(scorer.weights) == {
        "api_usage": 0.3,
        "last_login": 0.2,
        "usage_trend": 1.0,  # a factor type's default weight
        "support_tickets": 0.15,  # the built-in factor's
    }
    assert (scorer.thresholds.healthy, scorer.thresholds.at_risk) == (75.0, 45.0)
    assert (scorer.config.model_name, scorer.config.model_version) == ("acme", "2026.12")
    segments = scorer.config.expectations
    assert segments["enterprise"]["last_login"] == 3.0  # the file's
    assert segments["smb"]["last_login"] == 7.0  # the type's default
    assert segments["enterprise"]["api_calls_30d"] == 2000.0  # replaces the built-in 1000
    assert segments["smb"]["api_calls_30d"] == 500.0  # kept
    assert segments["nonprofit"] == {"api_calls_30d": 50.0, "tickets_90d": 2.0, "last_login": 7.0}
    assert scorer.config.parameters == {
        "last_login": {"type": "recency", "kinds": ["login"], "expected": 7.0, "zero_at": 4.0},
        "usage_trend": {
            "type": "trend",
            "kinds": ["api_call", "feature_used"],
            "window_days": 30.0,
        },
    }
    result = scorer.score({"id": "c", "segment": "nonprofit"}, [], as_of=AS_OF)
    assert (result.model_name, result.model_version) == ("acme", "2026.12")
    assert result.fingerprint == scorer.fingerprint
    default = Scorer(entry_points=False).score({"id": "c", "segment": "smb"}, [], as_of=AS_OF)
    assert (default.model_name, default.model_version) == ("customer-health", MODEL_VERSION)


def test_a_model_file_round_trips_to_the_same_fingerprint(tmp_path: Path) -> None:
    scorer = Scorer.from_file(written(tmp_path), entry_points=False)
    path = tmp_path / "again.toml"
    scorer.to_file(path)
    again = Scorer.from_file(path, entry_points=False)
    assert again.fingerprint == scorer.fingerprint
    assert again.config == scorer.config
    assert again.factors == scorer.factors
    path.write_text(path.read_text() + "\n", encoding="utf-8")  # the text is not hashed
    assert Scorer.from_file(path, entry_points=False).fingerprint == scorer.fingerprint


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('name = "acme"', 'name = "acme2"'),
        ('version = "2026.12"', 'version = "2026.13"'),
        ("healthy = 75.0", "healthy = 76.0"),
        ("[factors.api_usage]\nweight = 0.3", "[factors.api_usage]\nweight = 0.31"),
        ('kinds = ["login"]', 'kinds = ["login", "feature_used"]'),
        ("expected = 7\n", "expected = 8\n"),
        ("expected = 7\n", "expected = 7\nzero_at = 5\n"),
        ("window_days = 30", "window_days = 31"),
        ('type = "recency"\nkinds = ["login"]', 'type = "rate"\nkinds = ["login"]'),
        ("last_login = 3.0", "last_login = 3.5"),
        ("tickets_90d = 2.0", "tickets_90d = 2.5"),
    ],
)
def test_the_fingerprint_covers_every_parameter(tmp_path: Path, old: str, new: str) -> None:
    assert old in MODEL
    before = Scorer.from_file(written(tmp_path), entry_points=False)
    after = Scorer.from_file(written(tmp_path, MODEL.replace(old, new, 1)), entry_points=False)
    assert after.fingerprint != before.fingerprint


def test_the_same_model_in_code_has_the_same_fingerprint(tmp_path: Path) -> None:
    """A model file says nothing a scorer built in code cannot: the same configuration
    has the same fingerprint, and scores the same on the frames."""
    import customer_health
    from customer_health.builtin.types import recency, trend

    class Plugin:
        @customer_health.hookimpl
        def register_factors(self, register: Any) -> None:
            register(recency("last_login", kinds=["login"], expected=7.0, weight=0.2))
            register(trend("usage_trend", kinds=["api_call", "feature_used"]))

    in_code = Scorer(
        entry_points=False,
        plugins=[Plugin()],
        factors=["api_usage", "last_login", "usage_trend", "support_tickets"],
        weights={"api_usage": 0.3},
        thresholds={"healthy": 75.0, "at_risk": 45.0},
        expectations={
            "enterprise": {"last_login": 3.0, "api_calls_30d": 2000.0},
            "nonprofit": {"api_calls_30d": 50.0, "tickets_90d": 2.0},
        },
        model_name="acme",
        model_version="2026.12",
    )
    from_file = Scorer.from_file(written(tmp_path), entry_points=False)
    assert in_code.fingerprint == from_file.fingerprint

    customers = [
        {"id": "a", "segment": "enterprise", "created_at": AS_OF - timedelta(days=400)},
        {"id": "b", "segment": "nonprofit", "created_at": AS_OF - timedelta(days=10)},
    ]
    events = [
        {"customer_id": who, "kind": kind, "occurred_at": AS_OF - timedelta(days=days)}
        for who in ("a", "b")
        for kind in ("login", "api_call", "support_ticket")
        for days in (2, 9, 33, 50)
    ]
    objects = {s.customer_id: s.score for s in from_file.score_many(customers, events, as_of=AS_OF)}
    frame = from_file.score_frame(pl.DataFrame(customers), pl.DataFrame(events), as_of=AS_OF)
    assert objects == pytest.approx(dict(zip(frame["customer_id"], frame["score"], strict=True)))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[modle]\n", r"has sections \['modle'\] that are none of model, thresholds"),
        ("[model]\nname = 'x'\nowner = 'y'\n[factors.api_usage]\n", r"\[model\] has \['owner'\]"),
        ("[model]\nversion = '12345678901234567'\n[factors.api_usage]\n", r"at most 16 characters"),
        ("[model]\nname = ''\n[factors.api_usage]\n", r"model name ''"),
        ("[model]\nname = 'x'\n", r"names no factor"),
        ("[factors.x]\ntype = 'recent'\n", r"type 'recent'; the factor types are recency, rate"),
        ("[factors.x]\ntype = 'trend'\nkinds = ['login']\nwindow = 3\n", r"trend .*'window'"),
        ("[factors.x]\ntype = 'trend'\nkinds = 'login'\n", r"\[factors.x\]: factor 'x' has kinds"),
        ("[factors.api_usage]\nwindow_days = 3\n", r"has \['window_days'\] but no type"),
        ("[factors.api_usage]\n[segments.smb]\napi_calls_30d = -1\n", r"\[segments\]: .* > 0"),
        ("[factors.api_usage]\nweight = -1\n", r"^model file .*model.toml': .*weight"),
        ("[factors.nope]\n", r"^model file .*model.toml': .*'nope'"),
        ("[factors.api_usage]\n[thresholds]\nhealthy = 101\n", r"^model file .*: .*healthy"),
        ("[factors.api_usage\n", r"is not TOML"),
    ],
)
def test_a_mistake_in_a_model_file_is_an_error_naming_it(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Scorer.from_file(written(tmp_path, text), entry_points=False)


def test_a_missing_file_and_options_the_file_sets_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"cannot read model file .*absent.toml"):
        Scorer.from_file(tmp_path / "absent.toml")
    with pytest.raises(ConfigurationError, match=r"got weights, which the model file sets"):
        Scorer.from_file(written(tmp_path), weights={"api_usage": 1.0})


@pytest.mark.parametrize("backend", ["sqlite-file", "postgresql"], indirect=True)
def test_the_store_keeps_each_scores_model(
    backend: Any, make_store: Callable[..., Any], tmp_path: Path
) -> None:
    """Scores saved by a model file's scorer come back with its name and version (on
    PostgreSQL through COPY); a default scorer's with the library's."""
    acme = Scorer.from_file(written(tmp_path), entry_points=False)
    customer = {"id": "c", "segment": "enterprise"}
    login = {"customer_id": "c", "kind": "login", "occurred_at": AS_OF - timedelta(days=2)}
    store = make_store(scorer=acme)
    store.add_customers([customer])
    store.record_many([login])
    store.recalculate(as_of=AS_OF)
    saved = store.latest_score("c")
    assert (saved.model_name, saved.model_version) == ("acme", "2026.12")
    assert saved.fingerprint == acme.fingerprint
    make_store().recalculate(as_of=AS_OF + timedelta(days=1))
    history = make_store().history("c")
    assert [(h.model_name, h.model_version) for h in history] == [
        ("acme", "2026.12"),
        ("customer-health", MODEL_VERSION),
    ]


def test_expectations_replace_and_add_segments() -> None:
    scorer = Scorer(
        entry_points=False,
        expectations={"smb": {"api_calls_30d": 600.0}, "nonprofit": {"tickets_90d": 1.0}},
        factors=["support_tickets"],
    )
    assert scorer.config.expectations["smb"]["api_calls_30d"] == 600.0
    assert scorer.config.expectations["smb"]["tickets_90d"] == 4.0
    assert "nonprofit" in scorer.segments
    with pytest.raises(ConfigurationError, match=r"segment 'nonprofit' has no expectation"):
        Scorer(entry_points=False, expectations={"nonprofit": {"tickets_90d": 1.0}})
    with pytest.raises(ConfigurationError, match=r"expectation 'tickets_90d' of segment 'smb'"):
        Scorer(entry_points=False, expectations={"smb": {"tickets_90d": 0}})


KINDS = st.lists(
    st.sampled_from(
        ["login", "api_call", "feature_used", "payment", "support_ticket", "nps_response"]
    ),
    min_size=1,
    max_size=3,
    unique=True,
)
DAYS = st.floats(0.5, 400, allow_nan=False).map(lambda d: round(d, 3))
POSITIVE = st.floats(1e-6, 1e6, allow_nan=False, allow_infinity=False)
WEIGHT = st.floats(0.01, 10, allow_nan=False)
LABEL = st.text(
    st.characters(codec="utf-8", categories=["L", "N", "P", "S"], include_characters=" "),
    min_size=1,
).filter(str.strip)
"""A label of recency and trend: printable, quotes, braces and backslashes included."""


@st.composite
def made_factors(draw: st.DrawFn) -> list[Any]:
    """Factors of every type with drawn parameters, under distinct names."""
    from customer_health.builtin.types import rate, recency, share, tenure, trend

    found: list[Any] = []
    for number in range(draw(st.integers(1, 4))):
        name = f"made_{number}"
        kinds = draw(KINDS)
        kind = draw(st.sampled_from(["recency", "rate", "share", "trend", "tenure"]))
        weight = draw(WEIGHT)
        every = draw(st.booleans())  # recency and trend: kinds, or every kind
        label = draw(st.none() | LABEL)
        if kind == "recency":
            zero_at = draw(st.floats(1.01, 20, allow_nan=False))
            found.append(
                recency(
                    name,
                    kinds=None if every else kinds,
                    expected=draw(POSITIVE),
                    zero_at=zero_at,
                    label=label,
                    weight=weight,
                )
            )
        elif kind == "rate":
            prorate = draw(st.booleans())
            found.append(
                rate(
                    name,
                    kinds=kinds,
                    window_days=draw(DAYS),
                    expected=draw(POSITIVE),
                    prorate=prorate,
                    weight=weight,
                )
            )
        elif kind == "share":
            among = sorted({*kinds, *draw(KINDS)})
            found.append(
                share(
                    name,
                    kinds=kinds,
                    among=among,
                    window_days=draw(DAYS),
                    expected=draw(st.floats(1e-6, 0.99)),
                    weight=weight,
                )
            )
        elif kind == "trend":
            found.append(
                trend(
                    name,
                    kinds=None if every else kinds,
                    window_days=draw(DAYS),
                    label=label,
                    weight=weight,
                )
            )
        else:
            found.append(tenure(name, expected=draw(POSITIVE), weight=weight))
    return found


@settings(max_examples=60, deadline=None)
@given(
    factors=made_factors(),
    weights=st.lists(WEIGHT, min_size=5, max_size=5),  # two weights, an expectation
    healthy=st.floats(40.0, 100.0, allow_nan=False),
    at_risk=st.floats(0.0, 40.0, allow_nan=False),
    expectation=POSITIVE,
    name=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=64).filter(
        str.strip
    ),
    version=st.text(min_size=1, max_size=16).filter(str.strip),
)
def test_any_model_round_trips_to_the_same_fingerprint(
    factors: list[Any],
    weights: list[float],
    healthy: float,
    at_risk: float,
    expectation: float,
    name: str,
    version: str,
) -> None:
    """Drawn factor types, weights, thresholds, expectations and texts (quotes, escapes,
    any character): the file written reads back to the same configuration."""
    import tempfile

    import customer_health

    class Plugin:
        @customer_health.hookimpl
        def register_factors(self, register: Any) -> None:
            for factor in factors:
                register(factor)

    builtin = (
        "api_usage",
        "login_frequency",
        "payment_timeliness",
        "feature_adoption",
        "support_tickets",
    )
    scorer = Scorer(
        entry_points=False,
        plugins=[Plugin()],
        weights=dict(zip(builtin[:2], weights[:2], strict=True)),
        thresholds={"healthy": healthy, "at_risk": at_risk},
        expectations={
            "smb": {"api_calls_30d": expectation},
            "new segment": {"api_calls_30d": 1.0, "login_days_30d": weights[4]},
        },
        model_name=name,
        model_version=version,
        factors=[*builtin[:2], *(f.name for f in factors)],
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.toml"
        scorer.to_file(path)
        again = Scorer.from_file(path, entry_points=False)
    assert again.config == scorer.config
    assert again.fingerprint == scorer.fingerprint
    assert again.factors == scorer.factors
