"""The library's advice in each surface's words: flags on the command line, routes in
the HTTP API, keyword arguments in Python."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from customer_health._terms import (
    AS_OF,
    SKIP_UNKNOWN_CUSTOMERS,
    TERMS,
    UPDATE_CUSTOMER,
    in_terms_of,
)

SRC = Path(__file__).resolve().parents[1] / "src" / "customer_health"


def test_a_message_is_rewritten_for_each_surface() -> None:
    message = (
        f"2 events of customer 'x' not in the customers frame; pass {SKIP_UNKNOWN_CUSTOMERS} "
        f"to skip them; use an earlier {AS_OF}; update them with {UPDATE_CUSTOMER}"
    )
    assert in_terms_of(message, "python") == message
    assert in_terms_of(message, "cli") == (
        "2 events of customer 'x' not in the customers frame; pass --skip-unknown-customers "
        "to skip them; use an earlier --as-of; update them with update_customer()"
    )
    assert in_terms_of(message, "http") == (
        "2 events of customer 'x' not in the customers frame; pass unknown_customers='skip' "
        "to skip them; use an earlier as_of; update them with PUT /api/customers/{id}"
    )


@pytest.mark.parametrize("text", ["'as_of'", "'has_offer'", '"columns="', "'a\\'as_of'"])
def test_quoted_text_and_longer_names_are_left_alone(text: str) -> None:
    """An id or a value in quotes is the user's, whatever it reads: never rewritten."""
    message = f"customer {text} and has_offer, as_ofs, my_as_of; as_of"
    assert (
        in_terms_of(message, "cli") == f"customer {text} and has_offer, as_ofs, my_as_of; --as-of"
    )


def test_every_term_has_a_word_of_another_surface() -> None:
    assert all(term.cli or term.http for term in TERMS)
    assert len({term.python for term in TERMS}) == len(TERMS)


def test_messages_name_terms_only_through_the_table() -> None:
    """No module writes a term's Python spelling into a message itself (the surfaces
    could not find it); the docstrings and the table may."""
    spellings = [t.python for t in TERMS if not t.python.isidentifier()]
    found = []
    for path in SRC.rglob("*.py"):
        if path.name == "_terms.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if not stripped.startswith(('f"', '"', "f'", "'", "raise", "return")):
                continue
            for spelling in spellings:
                if re.search(rf"(?<![\w-]){re.escape(spelling)}", line) and "``" not in line:
                    found.append(f"{path.relative_to(SRC)}:{number}: {stripped}")
    assert found == []
