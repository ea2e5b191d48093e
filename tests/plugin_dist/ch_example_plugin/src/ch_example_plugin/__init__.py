"""An example customer-health plugin: an NPS factor and a ``nonprofit`` segment.

The factor is declared (``DeclaredFactor``): what it aggregates over its events and how
it scores, as expressions that every engine compiles, so it runs at engine speed on
objects, DataFrames, the SQL store, Spark and ``export_sql`` with no code of its own.

Published under the ``customer_health`` entry-point group as ``example``; block it
with ``CUSTOMER_HEALTH_BLOCK_PLUGINS=example``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import customer_health
from customer_health.declare import (
    Aggregate,
    DeclaredFactor,
    count,
    expected,
    inputs,
    number_property,
    when,
)
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

ANSWER = number_property("score")
"""An ``nps_response`` event's answer: its ``score`` property, as a number."""
VALID = (ANSWER >= 0.0) & (ANSWER <= 10.0)
"""An answer NPS allows: 0 to 10 (a missing or other answer is not counted)."""
MEAN = inputs.total / inputs.responses


class NpsScore(DeclaredFactor):
    """The mean NPS answer in the last 90 days against the segment's target."""

    name = "nps"
    description = "The mean NPS answer (0-10) in the last 90 days against the segment's target."
    kinds = frozenset({"nps_response"})
    window_days = 90
    default_weight = 0.1
    expectation = "nps_target"
    aggregates: ClassVar[Mapping[str, Aggregate]] = {
        "responses": count(where=VALID),
        "total": ANSWER.sum(where=VALID),
    }
    # 100 * min(1, mean / expected); no responses is no data (a null score)
    score = when(
        (
            inputs.responses > 0.0,
            when((expected <= MEAN, 100.0), otherwise=100.0 * (MEAN / expected)),
        )
    )
    value = when((inputs.responses > 0.0, MEAN))

    def explain(self, numbers: Mapping[str, Any]) -> str:
        """One line from the numbers: the aggregates, value, expected and segment."""
        if numbers["score"] is None:
            return "no NPS responses in 90 days"
        responses = numbers["responses"]
        return (
            f"mean NPS answer {numbers['value']:.1f} from {responses:.0f} "
            f"response{'' if responses == 1 else 's'} in 90 days; "
            f"{numbers['segment']} customers are expected {numbers['expected']:g}"
        )


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
