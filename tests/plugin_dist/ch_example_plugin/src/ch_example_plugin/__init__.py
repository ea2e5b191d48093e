"""An example customer-health plugin: an NPS factor and a ``nonprofit`` segment.

Published under the ``customer_health`` entry-point group as ``example``; block it
with ``CUSTOMER_HEALTH_BLOCK_PLUGINS=example``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

import customer_health
from customer_health import CustomEvent, Event, Factor, FactorContext, FactorResult
from customer_health.plugins import RegisterExpectations, RegisterFactor, RegisterSegment

__all__ = [
    "NONPROFIT",
    "NPS_TARGETS",
    "NpsScore",
    "register_expectations",
    "register_factors",
    "register_segments",
]

NONPROFIT: Mapping[str, float] = {
    "api_calls_30d": 100,
    "login_days_30d": 8,
    "features_30d": 2,
    "tickets_90d": 2,
    "nps_target": 8,
}
"""The ``nonprofit`` segment: the built-in expectations plus ``nps_target``."""

NPS_TARGETS: Mapping[str, float] = {"enterprise": 9, "smb": 8, "startup": 7}
"""The ``nps_target`` this plugin adds to each built-in segment."""


class NpsScore(Factor):
    """The mean NPS answer in the last 90 days against the segment's target."""

    name = "nps"
    description = "The mean NPS answer (0-10) in the last 90 days against the segment's target."
    kinds = frozenset({"nps_response"})
    window_days = 90
    default_weight = 0.1
    expectation = "nps_target"
    inputs = ("responses", "total")

    def aggregate(self, events: Sequence[Event], as_of: datetime) -> dict[str, float]:
        """Count the responses and add up their answers."""
        # The engine hands the factor only its own kinds, all of them custom events.
        answers = [_answer(event) for event in events if isinstance(event, CustomEvent)]
        return {"responses": float(len(answers)), "total": math.fsum(answers)}

    def compute(self, inputs: Mapping[str, float], ctx: FactorContext) -> FactorResult:
        """Score ``100 * min(1, mean / expected)``; no responses is no data."""
        responses = inputs["responses"]
        if not responses:
            return FactorResult(None, "no NPS responses in 90 days")
        expected = ctx.expected
        assert expected is not None  # the engine always passes nps_target
        mean = inputs["total"] / responses
        return FactorResult(
            score=100.0 * min(1.0, mean / expected),
            explanation=(
                f"mean NPS answer {mean:.1f} from {responses:.0f} "
                f"response{'' if responses == 1 else 's'} in 90 days; "
                f"{ctx.segment} customers are expected {expected:g}"
            ),
            value=mean,
            expected=expected,
        )


def _answer(event: CustomEvent) -> float:
    score = event.properties.get("score")
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise ValueError(f"nps_response event has score {score!r}; expected a number 0-10")
    if not math.isfinite(score) or not 0 <= score <= 10:
        raise ValueError(f"nps_response event has score {score!r}; expected a number 0-10")
    return float(score)


@customer_health.hookimpl
def register_factors(register: RegisterFactor) -> None:
    """Register the ``nps`` factor."""
    register(NpsScore())


@customer_health.hookimpl
def register_segments(register: RegisterSegment) -> None:
    """Register the ``nonprofit`` segment."""
    register("nonprofit", NONPROFIT)


@customer_health.hookimpl
def register_expectations(register: RegisterExpectations) -> None:
    """Add ``nps_target`` to the built-in segments."""
    for segment, target in NPS_TARGETS.items():
        register(segment, {"nps_target": target})
