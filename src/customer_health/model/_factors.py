"""A factor in use, and the calls every engine makes into it.

:class:`ActiveFactor` is a factor with its weight and what an engine needs at hand
(its kinds, window, expectation). Every engine calls a factor's methods through
:func:`guard`, so that whatever a factor raises - on objects, frames, Spark, SQL - is
a :class:`~customer_health.FactorError` naming the factor, its plugin and the method
(and the customer, where one is scored); :func:`checked` holds what a plugin factor
returns to the rules of a :class:`~customer_health.FactorResult`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from .._format import is_number
from ..builtin.factors import BUILTIN_FACTORS
from ..builtin.v2 import V2_FACTORS
from ..exceptions import FactorError
from ..factors import Factor, FactorContext, FactorResult

__all__ = [
    "ActiveFactor",
    "checked",
    "empty_inputs",
    "factor_error",
    "guard",
    "status_cutoff",
]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ActiveFactor:
    """A factor in use, with its weight and what the engine needs at hand."""

    factor: Factor
    name: str
    plugin: str
    weight: float
    kinds: tuple[str, ...] | None
    window: timedelta | None
    window_days: float | None
    expectation: str | None
    prorate: bool
    where: str
    """``factor 'x' (plugin 'y')``, for error messages."""
    trusted: bool
    """A built-in factor, whose results need no checking."""

    @classmethod
    def of(cls, factor: Factor, name: str, plugin: str, weight: float) -> ActiveFactor:
        """Describe ``factor`` (registered by ``plugin``) in use with ``weight``."""
        window_days = factor.window_days
        return cls(
            factor=factor,
            name=name,
            plugin=plugin,
            weight=weight,
            kinds=None if factor.kinds is None else tuple(sorted(factor.kinds)),
            window=None if window_days is None else timedelta(days=window_days),
            window_days=window_days,
            expectation=factor.expectation,
            prorate=factor.prorate,
            where=f"factor {name!r} (plugin {plugin!r})",
            trusted=type(factor) in _TRUSTED,
        )


_TRUSTED: frozenset[type[Factor]] = frozenset(
    {*BUILTIN_FACTORS, *(type(factor) for factor in V2_FACTORS)}
)
"""The library's own factors: the built-in plugin's and model v2's."""


def guard(
    blamed: ActiveFactor | Sequence[ActiveFactor],
    hook: str,
    function: Callable[..., _T],
    *args: Any,
    blame: Callable[[Exception], bool] | None = None,
) -> _T:
    """``function(*args)``: a call into the factor ``blamed`` (its method ``hook``), or
    the running of what it returned (a lazy query), or of a query holding the SQL of
    several factors (``blamed`` then lists them).

    An exception it raises becomes a :class:`FactorError` naming the factor(s), the
    hook and - when a :class:`FactorContext` is among ``args`` - the customer, chained
    to the original. A :class:`FactorError` passes as it is (it names its factor
    already), and so does an exception for which ``blame`` (when given) is false, or
    any exception when ``blamed`` lists no factor.

    Only the factor's own code should run inside: the library's errors about its
    input are raised outside, as they are.
    """
    try:
        return function(*args)
    except Exception as exc:
        if isinstance(exc, FactorError) or not blamed or (blame is not None and not blame(exc)):
            raise
        customer = next((a.customer.id for a in args if isinstance(a, FactorContext)), None)
        raise factor_error(blamed, hook, exc, customer) from exc


def factor_error(
    blamed: ActiveFactor | Sequence[ActiveFactor],
    hook: str,
    exc: BaseException,
    customer: str | None = None,
    doing: str = "scoring",
) -> FactorError:
    """The :class:`FactorError` of ``exc``, raised in ``hook`` of the factor ``blamed``
    (or of one of the factors ``blamed``) while ``doing`` ``customer`` (if one)."""
    actives = [blamed] if isinstance(blamed, ActiveFactor) else blamed
    where = " or ".join(active.where for active in actives)
    during = "" if customer is None else f" while {doing} customer {customer!r}"
    return FactorError(f"{where} raised {_described(exc)} in {hook}(){during}")


def _described(exc: BaseException) -> str:
    """``repr(exc)``; for an exception that keeps its message elsewhere than in its
    arguments (PySpark's), its type and the first line of its message."""
    lines = str(exc).strip().splitlines()
    if exc.args or not lines:
        return repr(exc)
    return f"{type(exc).__name__}({lines[0]!r})"


def empty_inputs(active: ActiveFactor, as_of: datetime) -> dict[str, float | None]:
    """The factor's inputs of no events (``aggregate([], as_of)``) as numbers (or None:
    a declared factor's least or greatest value of nothing): those of customers without
    events, in engines that compute inputs where the events are."""
    return guard(active, "aggregate", _empty_inputs, active.factor, as_of)


def _empty_inputs(factor: Factor, as_of: datetime) -> dict[str, float | None]:
    found = factor.aggregate([], as_of)
    return {name: None if found[name] is None else float(found[name]) for name in factor.inputs}


def checked(active: ActiveFactor, result: Any) -> FactorResult:
    if active.trusted:
        return result  # type: ignore[no-any-return]
    where = active.where
    if not isinstance(result, FactorResult):
        raise FactorError(f"{where} returned {result!r}; expected a FactorResult")
    score = result.score
    # NaN fails the range check too
    if score is not None and (not is_number(score) or not (0.0 <= score <= 100.0)):
        raise FactorError(f"{where} returned score {score!r}; scores must be within 0-100")
    for label, value in (("value", result.value), ("expected", result.expected)):
        if value is not None and not (isinstance(value, int | float) and math.isfinite(value)):
            raise FactorError(f"{where} returned {label} {value!r}; expected a finite number")
    if not isinstance(result.explanation, str) or not result.explanation.strip():
        raise FactorError(
            f"{where} returned explanation {result.explanation!r}; expected a line of text"
        )
    return result


@functools.cache
def status_cutoff(threshold: float) -> float:
    """The least double ``x`` with ``round(x, 9) >= threshold``.

    The model compares the score rounded to 9 decimal places, as Python's ``round``
    does: exactly, from the double's binary value. A database's ``ROUND`` of a double,
    polars' and Spark's do not (they scale by 10**9 first, or start from the shortest
    decimal text, so a double just below a half-way point such as 39.9999999995 may
    round up), but ``score >= cutoff`` gives the same answer as ``round(score, 9) >=
    threshold`` for every double (``round`` never decreases as its argument grows).
    The frames, Spark and the warehouse query compare with it.
    """
    low, high = threshold - 1e-6, threshold + 1e-6
    assert round(low, 9) < threshold <= round(high, 9)
    while True:
        middle = (low + high) / 2
        if middle in (low, high):
            return high
        if round(middle, 9) >= threshold:
            high = middle
        else:
            low = middle
