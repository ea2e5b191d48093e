"""The event kinds a model knows, and what becomes of events of other kinds.

A kind is known when it is built in (:data:`~customer_health.BUILTIN_KINDS`), when a
factor in use names it in its ``kinds``, or when a plugin (``register_event_kinds``)
or the user (``Scorer(event_kinds=...)``) declares it. An event of any other kind is
rejected with an :class:`~customer_health.UnknownEventKindError` naming the kind, the
event and the closest known kind - unless the user keeps unknown kinds
(``unknown_kinds="keep"``). Every engine asks the same :class:`EventKinds`, the
resolved model's :attr:`~customer_health.model.ResolvedModel.kinds`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .._event_schema import BUILTIN_KINDS
from .._terms import EVENT_KINDS, KEEP_UNKNOWN_KINDS
from ..exceptions import ConfigurationError, UnknownEventKindError
from ..plugins.manager import check_event_kind
from ._factors import ActiveFactor

__all__ = ["REMEDY", "EventKinds", "UnknownKinds", "declared_kinds"]

UnknownKinds = Literal["error", "keep"]
"""What becomes of events of unknown kinds: an error, or kept (stored and scored like
any custom kind)."""

REMEDY = f"declare it with {EVENT_KINDS}, or keep events of unknown kinds with {KEEP_UNKNOWN_KINDS}"
"""How a kind becomes known, in terms (:mod:`customer_health._terms`) that the command
line says as its flags and the service as its settings."""


@dataclass(frozen=True, slots=True)
class EventKinds:
    """The event kinds a model knows, and whether events of other kinds are kept."""

    known: frozenset[str]
    """Every known kind: built in, read by a factor in use, or declared."""
    keep_unknown: bool = False
    """Whether events of unknown kinds are kept (else they are an error)."""

    @classmethod
    def of(
        cls,
        factors: Sequence[ActiveFactor],
        declared: Iterable[str] = (),
        unknown_kinds: UnknownKinds = "error",
    ) -> EventKinds:
        """The kinds known with ``factors`` in use and the ``declared`` ones (checked
        already); a factor whose ``kinds`` is ``None`` reads every kind and adds none."""
        if unknown_kinds not in ("error", "keep"):
            raise ConfigurationError(f"unknown_kinds={unknown_kinds!r}; use 'error' or 'keep'")
        from_factors = {kind for active in factors for kind in active.kinds or ()}
        return cls(BUILTIN_KINDS | from_factors | frozenset(declared), unknown_kinds == "keep")

    def unknown_among(self, kinds: Iterable[str]) -> frozenset[str]:
        """Those of ``kinds`` that are unknown (none when unknown kinds are kept)."""
        if self.keep_unknown:
            return frozenset()
        return frozenset(kinds) - self.known

    def suggestion(self, kind: str) -> str | None:
        """The known kind closest to ``kind``, if one is close enough to be a typo of it."""
        found = difflib.get_close_matches(kind, sorted(self.known), n=1)
        return found[0] if found else None

    def error(self, kind: str, where: str) -> UnknownEventKindError:
        """The error for an event of the unknown ``kind``, found at ``where``; its remedy
        is :data:`REMEDY`, which each surface says in its own words."""
        return UnknownEventKindError(kind, where, self.suggestion(kind), REMEDY)


def declared_kinds(kinds: Iterable[str] | None) -> tuple[str, ...]:
    """The kinds the user declares (``event_kinds=``), checked: each a valid kind."""
    if kinds is None:
        return ()
    if isinstance(kinds, str):
        raise ConfigurationError(f"event_kinds={kinds!r:.80} is a string; pass a list of kinds")
    if not isinstance(kinds, Iterable) or isinstance(kinds, Mapping):
        raise ConfigurationError(f"event_kinds={kinds!r:.80} is not a list of kinds")
    return tuple(dict.fromkeys(check_event_kind(kind, "event_kinds has") for kind in kinds))
