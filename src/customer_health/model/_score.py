"""The model's per-customer rules, written once (:mod:`._expr` trees) and compiled by
every engine: the prorated expectation, and the score, coverage, status and
contributions of the factor scores.

This is the one place to change them: the object path compiles them to Python, the
frames and Spark to narwhals expressions, SQL to SQLAlchemy (``shared/scoring-model.md``
states them in words).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from .._expr import Expr, lit, ref, when
from ._factors import status_cutoff

__all__ = [
    "CONTRIBUTION",
    "FACTOR",
    "PRORATION_INPUTS",
    "combination",
    "contributions",
    "prorated",
    "status",
]

FACTOR: Final = "factor:"
"""The prefix of :func:`combination`'s inputs: ``factor:<name>``, the factor's score."""
CONTRIBUTION: Final = "contribution:"
"""The prefix of :func:`contributions`' names: ``contribution:<name>``."""

PRORATION_INPUTS: Final = ("expected", "tenure")
"""The inputs of :func:`prorated`: the segment's expectation and the customer's tenure
in days (null when its creation is unknown)."""


def prorated(window: float) -> dict[str, Expr]:
    """``young``: the customer is younger than ``window`` days (its creation known), and
    ``expected``: the expectation, times ``max(1, tenure) / window`` if young."""
    expected, tenure = ref("expected"), ref("tenure")
    young = tenure.is_not_null() & (tenure < window)
    days = when((tenure > 1.0, tenure), otherwise=1.0)
    return {"young": young, "expected": when((young, expected * days / window), otherwise=expected)}


def status(score: Expr, healthy: float, at_risk: float) -> Expr:
    """``unknown`` without a score; else ``healthy`` or ``at_risk`` if the score rounded
    to 9 decimal places reaches the threshold (:func:`status_cutoff`: compared without
    rounding, exactly), ``critical`` below."""
    return when(
        (score.is_null(), "unknown"),
        (score >= status_cutoff(healthy), "healthy"),
        (score >= status_cutoff(at_risk), "at_risk"),
        otherwise="critical",
    )


def combination(
    factors: Sequence[tuple[str, float]], total_weight: float, healthy: float, at_risk: float
) -> tuple[dict[str, Expr], ...]:
    """The score of the factor scores (inputs ``factor:<name>``, null for no data),
    in stages: ``with_data`` (the weights of the factors with a score) and ``total``
    (their weighted sum), each added in the factors' order; ``mean`` and ``share``
    (``with_data`` over all the weights); ``score`` (the mean within 0 to 100, null
    without data) and ``coverage`` (the share, at most 1); ``status``."""
    with_data: Expr = lit(0.0)
    total: Expr = lit(0.0)
    for name, weight in factors:
        score = ref(FACTOR + name)
        with_data = with_data + when((score.is_not_null(), weight), otherwise=0.0)
        total = total + when((score.is_not_null(), weight * score), otherwise=0.0)
    sums, mean, share = ref("with_data"), ref("mean"), ref("share")
    return (
        {"with_data": with_data, "total": total},
        {"mean": when((sums > 0.0, ref("total") / sums)), "share": sums / total_weight},
        {
            "score": when((mean > 100.0, 100.0), (mean < 0.0, 0.0), otherwise=mean),
            "coverage": when((share > 1.0, 1.0), otherwise=share),
        },
        {"status": status(ref("score"), healthy, at_risk)},
    )


def contributions(factors: Sequence[tuple[str, float]]) -> dict[str, Expr]:
    """Each factor's ``contribution:<name>``: ``weight * score / with_data``, 0 without a
    score; a stage after :func:`combination`'s (it reads ``with_data``)."""
    with_data = ref("with_data")
    return {
        CONTRIBUTION + name: when(
            (
                ref(FACTOR + name).is_not_null() & (with_data > 0.0),
                weight * ref(FACTOR + name) / with_data,
            ),
            otherwise=0.0,
        )
        for name, weight in factors
    }
