"""Factor types: recency, rate, share, trend and tenure, each a declared factor made
from parameters (its kinds, windows and expectation) instead of code.

Each function returns a factor ready to register (``register(recency("last_login",
kinds=["login"]))`` in a plugin's ``register_factors``); a scorer may hold several of
one type under different names. :data:`FACTOR_TYPES` names them. Every factor they make
is a :class:`~customer_health.DeclaredFactor`, so it is exact on every engine with no
code of its own. ``docs/model.md`` ("Factor types") defines each score.

A factor that compares with an expectation reads the segment expectation named like
the factor (``expectation=`` names another); ``expected=`` is the value for a segment
that has none (:attr:`~customer_health.Factor.expectation_default`).
"""

from __future__ import annotations

import contextlib
import functools
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

from .._format import is_number
from .._time import DAY_US
from ..declare import (
    Aggregate,
    DeclaredFactor,
    Expr,
    as_of,
    count,
    days_between,
    event,
    inputs,
    lit,
    microseconds_between,
    tenure_days,
    when,
)
from ..declare import expected as _expectation
from ..exceptions import ConfigurationError
from .factors import _capped, _usage_score

__all__ = ["FACTOR_TYPES", "rate", "recency", "share", "tenure", "trend"]

RECENCY_ZERO_AT: Final = 4.0
"""A recency score falls from 100 at the expectation to 0 at this multiple of it."""


def recency(
    name: str,
    *,
    kinds: Iterable[str] | None = None,
    expectation: str | None = None,
    expected: float | None = None,
    zero_at: float = RECENCY_ZERO_AT,
    label: str | None = None,
    weight: float = 1.0,
) -> DeclaredFactor:
    """Days since the customer's last event of ``kinds`` (any time up to ``as_of``; of
    any kind without ``kinds``), against the segment's expectation ``E`` (days): 100
    within ``E``, falling in a straight line to 0 at ``zero_at * E``; no such event
    ever: no data. ``label`` names the events in texts (``"usage"``: "last usage
    event"; default: the kinds)."""
    chosen = _any_kinds(name, kinds)
    if not is_number(zero_at) or not math.isfinite(zero_at) or zero_at <= 1:
        raise ConfigurationError(
            f"recency factor {name!r} has zero_at {zero_at!r}; it must be a number > 1"
        )
    since = inputs.since
    far = float(zero_at) * _expectation
    what = _named(name, chosen, label)
    return _made(
        {
            "type": "recency",
            "kinds": chosen,
            "expectation": expectation,
            "expected": expected,
            "zero_at": zero_at,
            "label": label,
        },
        name,
        weight,
        kinds=chosen,
        window_days=None,
        expectation=expectation or name,
        expectation_default=expected,
        description=f"Days since the last {what}event against the segment's expectation.",
        aggregates={"since": days_between(as_of, event.occurred_at).min()},
        score=when(
            (since <= _expectation, 100.0),
            (since < far, 100.0 * (far - since) / (far - _expectation)),
            (since.is_not_null(), 0.0),
        ),
        value=since,
        explanation=f"last {_text(what)}event {{since:days}} ago; expected within {{expected}}",
        no_data=f"no {_text(what)}event yet",
    )


def rate(
    name: str,
    *,
    kinds: Iterable[str],
    window_days: float = 30,
    expectation: str | None = None,
    expected: float | None = None,
    prorate: bool = True,
    weight: float = 1.0,
) -> DeclaredFactor:
    """The number of events of ``kinds`` in the last ``window_days`` against the
    segment's expectation ``E`` (prorated for customers younger than the window, as
    the built-in usage factors are): ``100 * min(1, events / E)``; never no data."""
    chosen = _kinds(name, "kinds", kinds)
    what = _listed(chosen)
    days = _number(window_days)
    return _made(
        {
            "type": "rate",
            "kinds": chosen,
            "window_days": window_days,
            "expectation": expectation,
            "expected": expected,
            "prorate": prorate,
        },
        name,
        weight,
        kinds=chosen,
        window_days=window_days,
        expectation=expectation or name,
        expectation_default=expected,
        prorate=prorate,
        description=f"Events of {what} in the last {days} days against the segment's expectation.",
        aggregates={"events": count()},
        score=_usage_score(inputs.events),
        value=inputs.events,
        explanation=f"{{events}} {_text(what)} events in {days} days; expected {{expected}}",
    )


def share(
    name: str,
    *,
    kinds: Iterable[str],
    among: Iterable[str],
    window_days: float = 30,
    expectation: str | None = None,
    expected: float | None = None,
    weight: float = 1.0,
) -> DeclaredFactor:
    """The share of the customer's events of ``among`` in the last ``window_days``
    that are of ``kinds`` (failed payments among payments, downgrades among plan
    changes), against the segment's highest acceptable share ``E``: 100 up to ``E``,
    falling in a straight line to 0 at a share of 1; no event of ``among``: no data.
    ``kinds`` must be some of ``among`` (the denominator counts them too)."""
    part = _kinds(name, "kinds", kinds)
    whole = _kinds(name, "among", among)
    if not part <= whole:
        raise ConfigurationError(
            f"share factor {name!r} counts kinds {sorted(part - whole)} that are not among "
            f"{sorted(whole)}; the denominator (among) must hold every kind counted"
        )
    days = _number(window_days)
    of_part = functools.reduce(operator.or_, [event.kind == kind for kind in sorted(part)])
    fraction = inputs.part / inputs.whole
    return _made(
        {
            "type": "share",
            "kinds": part,
            "among": whole,
            "window_days": window_days,
            "expectation": expectation,
            "expected": expected,
        },
        name,
        weight,
        kinds=whole,
        window_days=window_days,
        expectation=expectation or name,
        expectation_default=expected,
        description=(
            f"The share of {_listed(whole)} events in the last {days} days that are "
            f"{_listed(part)}, against the segment's highest acceptable share."
        ),
        aggregates={"part": count(where=of_part), "whole": count()},
        score=when(
            (
                inputs.whole > 0.0,
                when((fraction <= _expectation, 100.0), otherwise=_falling(fraction)),
            )
        ),
        value=when((inputs.whole > 0.0, fraction)),
        explanation=(
            f"{{part}} of {{whole}} {_text(_listed(whole))} events in {days} days were "
            f"{_text(_listed(part))} (a share of {{value}}); at most {{expected}} expected"
        ),
        no_data=f"no {_text(_listed(whole))} event in {days} days",
    )


def trend(
    name: str,
    *,
    kinds: Iterable[str] | None = None,
    window_days: float = 30,
    label: str | None = None,
    weight: float = 1.0,
) -> DeclaredFactor:
    """The customer's events of ``kinds`` in the last ``window_days`` against the
    ``window_days`` before (events of any kind without ``kinds``):
    ``100 * min(1, current / previous)``, so that a customer whose activity halves
    scores 50 whatever the segment expects; none before and some now: 100; none in
    either window: no data. The value is ``current / previous`` (none when ``previous``
    is 0). ``label`` names the events in texts, as for :func:`recency`."""
    chosen = _any_kinds(name, kinds)
    what = _named(name, chosen, label)
    days = _number(window_days)
    if not is_number(window_days) or not math.isfinite(window_days) or window_days <= 0:
        raise ConfigurationError(
            f"trend factor {name!r} has window_days {window_days!r}; it must be > 0"
        )
    width = lit(round(window_days * DAY_US), "int")
    recent = microseconds_between(as_of, event.occurred_at) < width
    ratio = inputs.current / inputs.previous
    return _made(
        {"type": "trend", "kinds": chosen, "window_days": window_days, "label": label},
        name,
        weight,
        kinds=chosen,
        window_days=2 * window_days,
        description=(
            f"Events of {_listed(chosen) if chosen else 'any kind'} in the last {days} days "
            f"against the {days} days before."
        ),
        aggregates={"current": count(where=recent), "previous": count(where=~recent)},
        score=when(
            (inputs.previous > 0.0, _capped(ratio)),
            (inputs.current > 0.0, 100.0),
        ),
        value=when((inputs.previous > 0.0, ratio)),
        explanation=(
            f"{{current}} {_text(what)}events in the last {days} days, "
            f"{{previous}} in the {days} days before"
        ),
        no_data=f"no {_text(what)}event in {_number(2 * window_days)} days",
    )


def tenure(
    name: str,
    *,
    expectation: str | None = None,
    expected: float | None = None,
    weight: float = 1.0,
) -> DeclaredFactor:
    """The customer's age at ``as_of`` in days (from its ``created_at``) against the
    segment's expectation ``E`` (days): ``100 * min(1, age / E)``, so that new customers,
    who leave most often, score low until they are ``E`` days old; creation unknown: no
    data. Its input counts the customer's events (any kind, any time up to ``as_of``),
    shown in the explanation."""
    age = tenure_days / _expectation
    return _made(
        {"type": "tenure", "expectation": expectation, "expected": expected},
        name,
        weight,
        kinds=None,
        window_days=None,
        expectation=expectation or name,
        expectation_default=expected,
        description="The customer's age in days against the segment's expectation.",
        aggregates={"events": count()},
        score=when((tenure_days.is_not_null(), _capped(age))),
        value=tenure_days,
        explanation="a customer for {value} days ({events} events); expected {expected}",
        no_data="creation date unknown ({events} events)",
    )


FACTOR_TYPES: Final[Mapping[str, Callable[..., DeclaredFactor]]] = {
    "recency": recency,
    "rate": rate,
    "share": share,
    "trend": trend,
    "tenure": tenure,
}
"""The factor types by name."""


# -- helpers ---------------------------------------------------------------------------------


def _falling(fraction: Expr) -> Expr:
    """From 100 at the expectation to 0 at a share of 1."""
    return 100.0 * (1.0 - fraction) / (1.0 - _expectation)


def _kinds(name: str, label: str, kinds: Iterable[str]) -> frozenset[str]:
    """``kinds`` as a set, checked: a collection of non-empty texts, one at least."""
    if isinstance(kinds, str) or not isinstance(kinds, Iterable):
        raise ConfigurationError(
            f"factor {name!r} has {label} {kinds!r}; it must be a list of event kinds"
        )
    chosen = frozenset(kinds)
    if not chosen or not all(isinstance(kind, str) and kind for kind in chosen):
        raise ConfigurationError(
            f"factor {name!r} has {label} {sorted(map(repr, chosen))}; it must list one event "
            "kind at least, each a non-empty text"
        )
    return chosen


def _any_kinds(name: str, kinds: Iterable[str] | None) -> frozenset[str] | None:
    """``kinds`` checked as :func:`_kinds` does; None (every kind) stays None."""
    return None if kinds is None else _kinds(name, "kinds", kinds)


def _listed(kinds: frozenset[str]) -> str:
    return " or ".join(sorted(kinds))


def _named(name: str, kinds: frozenset[str] | None, label: str | None) -> str:
    """What comes before "event" in a text: ``label`` (``"usage "``), else the kinds
    (``"api_call or login "``), or nothing for every kind."""
    if label is not None:
        if not isinstance(label, str) or not label.strip() or not label.isprintable():
            raise ConfigurationError(
                f"factor {name!r} has label {label!r}; it must be a non-empty printable text"
            )
        return label + " "
    return "" if kinds is None else _listed(kinds) + " "


def _text(text: str) -> str:
    """``text`` inside an explanation template (its braces kept as they are)."""
    return text.replace("{", "{{").replace("}", "}}")


def _number(days: Any) -> str:
    return f"{days:g}" if is_number(days) else repr(days)


def _plain(value: Any) -> Any:
    """A parameter as a model file holds it: kinds as a sorted list, whole numbers as
    floats (``7`` and ``7.0`` are one parameter)."""
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


_MADE: dict[tuple[Any, ...], type[DeclaredFactor]] = {}
"""The classes made, by name, weight and parameters: the same parameters make the same
class (a factor compares equal in type with one made again; compiled forms are shared)."""


def _made(
    parameters: Mapping[str, Any], name: str, weight: float, **attributes: Any
) -> DeclaredFactor:
    """An instance of the declared factor class called ``name`` with ``attributes``, the
    default ``weight`` and its ``parameters`` (those given: None left out), made once
    for the same ones and checked."""
    given = {key: _plain(value) for key, value in parameters.items() if value is not None}
    key = (name, weight, *((k, tuple(v) if isinstance(v, list) else v) for k, v in given.items()))
    try:
        cls = _MADE.get(key)
    except TypeError:  # a parameter that is no number or text: checked below
        cls = None
    if cls is None:
        if not isinstance(name, str):
            raise ConfigurationError(f"a factor's name must be a text, not {name!r}")
        aggregates: Mapping[str, Aggregate] = attributes["aggregates"]
        cls = type(
            "".join(part.title() for part in name.split("_")) or "Factor",
            (DeclaredFactor,),
            {
                "name": name,
                "__module__": __name__,
                "default_weight": weight,
                "parameters": MappingProxyType(given),
                **attributes,
                "aggregates": dict(aggregates),
            },
        )
        cls.check_definition()
        with contextlib.suppress(TypeError):
            _MADE[key] = cls
    return cls()
