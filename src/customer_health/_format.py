"""Small helpers for numbers: checking them, and formatting them for explanations."""

from __future__ import annotations

from collections.abc import Sequence


def is_number(value: object) -> bool:
    """An int or float, but not a bool (which Python counts as an int)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def number(value: float) -> str:
    """Format ``value`` for people: integers plainly, other numbers with two decimals."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def some(values: Sequence[object], total: int | None = None, shown: int = 5) -> str:
    """The first ``shown`` of ``values`` as reprs, and how many more there are (of
    ``total``, default ``len(values)``): ``"'a', 'b' and 3 more"``, for error messages."""
    count = len(values) if total is None else total
    listed = ", ".join(repr(value) for value in values[:shown])
    return listed + (f" and {count - shown} more" if count > shown else "")


def plural(count: float, singular: str, plural_form: str | None = None) -> str:
    """Return ``"1 invoice"``, ``"2 invoices"`` and so on."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{number(count)} {word}"
