"""The library's errors in the words of the command line and of the HTTP API.

An error that tells the caller what to pass (``pass unknown_customers='skip' to skip
them``) names a Python keyword argument; the same error reaching a user of the command
line must name the flag (``--skip-unknown-customers``), and one reaching a client of the
service the route (``PUT /api/customers/{id}``). Messages write such advice with a
:class:`Term` (its ``str()`` is the Python spelling), and :func:`in_terms_of` rewrites a
message for another surface. Text in quotes (a customer's id, a value) is never
rewritten, so an id that happens to read ``as_of`` stays as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "AS_OF",
    "COLUMNS",
    "COLUMNS_MAPPING",
    "EVENT_KINDS",
    "HORIZON",
    "KEEP_UNKNOWN_KINDS",
    "OBSERVED_UNTIL",
    "SKIP_UNKNOWN_CUSTOMERS",
    "TERMS",
    "UPDATE_CUSTOMER",
    "Surface",
    "Term",
    "in_terms_of",
]

Surface = Literal["python", "cli", "http"]
"""Who reads the message: a caller of the library, a user of the command line, a client
of the service."""


@dataclass(frozen=True)
class Term:
    """One piece of advice in each surface's words; ``None``: the surface says it the
    Python way (it has no word of its own, or takes the same)."""

    python: str
    cli: str | None = None
    http: str | None = None

    def __str__(self) -> str:
        return self.python

    def on(self, surface: Surface) -> str:
        """The term as ``surface`` says it."""
        spelled = None if surface == "python" else getattr(self, surface)
        return self.python if spelled is None else spelled


SKIP_UNKNOWN_CUSTOMERS: Final = Term("unknown_customers='skip'", cli="--skip-unknown-customers")
OBSERVED_UNTIL: Final = Term("observed_until=", cli="--observed-until")
COLUMNS_MAPPING: Final = Term("columns={'yours': 'ours'}", cli="--column YOURS=OURS")
COLUMNS: Final = Term("columns=", cli="--column")
AS_OF: Final = Term("as_of", cli="--as-of")
HORIZON: Final = Term("horizon=", cli="--horizon ")
UPDATE_CUSTOMER: Final = Term("update_customer()", http="PUT /api/customers/{id}")
EVENT_KINDS: Final = Term(
    "Scorer(event_kinds=[...])", cli="--event-kind NAME", http="CUSTOMER_HEALTH_EVENT_KINDS"
)
KEEP_UNKNOWN_KINDS: Final = Term(
    "Scorer(unknown_kinds='keep')",
    cli="--keep-unknown-kinds",
    http="CUSTOMER_HEALTH_UNKNOWN_KINDS=keep",
)

TERMS: Final[tuple[Term, ...]] = (
    SKIP_UNKNOWN_CUSTOMERS,
    OBSERVED_UNTIL,
    COLUMNS_MAPPING,
    COLUMNS,
    AS_OF,
    HORIZON,
    UPDATE_CUSTOMER,
    EVENT_KINDS,
    KEEP_UNKNOWN_KINDS,
)
"""Every term the library's messages use (a longer spelling before a shorter one it
starts with)."""

_QUOTED = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_PATTERN: Final = re.compile(
    "|".join(
        [
            # A term on its own (not inside a longer name): as_of, not has_offer.
            *(
                rf"(?P<t{i}>(?<![\w-]){re.escape(t.python)}(?![\w]))"
                if t.python[-1].isalnum() or t.python[-1] == "_"
                else rf"(?P<t{i}>(?<![\w-]){re.escape(t.python)})"
                for i, t in enumerate(TERMS)
            ),
            rf"(?P<quoted>{_QUOTED})",  # kept as it is
        ]
    )
)


def in_terms_of(message: str, surface: Surface) -> str:
    """``message`` with every :data:`TERMS` spelling in ``surface``'s words."""
    if surface == "python":
        return message

    def spoken(match: re.Match[str]) -> str:
        group = match.lastgroup
        if group is None or group == "quoted":
            return match[0]
        return TERMS[int(group[1:])].on(surface)

    return _PATTERN.sub(spoken, message)
