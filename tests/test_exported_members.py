"""The public API: ``customer_health.__all__`` is exact and sorted."""

from __future__ import annotations

import re
import types

import customer_health


def _isort_key(name: str) -> tuple[int, list[int | str]]:
    # The order ruff's RUF022 keeps: CONSTANTS, then Classes, then everything else,
    # each in natural order (digits compared as numbers).
    if len(name) > 1 and name.isupper():
        kind = 0
    elif name[:1].isupper():
        kind = 1
    else:
        kind = 2
    parts = re.split(r"(\d+)", name)
    return kind, [int(part) if part.isdigit() else part for part in parts]


def _public_names() -> set[str]:
    # Submodules become attributes when imported, and ``from __future__ import ...``
    # leaves a compiler directive behind; neither is part of the API.
    return {
        name
        for name, value in vars(customer_health).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and type(value).__module__ != "__future__"
    }


def test_all_is_sorted() -> None:
    """__all__ lists each name once, sorted as ruff sorts it (constants, classes, the rest)."""
    names = customer_health.__all__
    assert len(set(names)) == len(names)
    assert names == sorted(names, key=_isort_key)


def test_every_name_in_all_exists() -> None:
    """Every name in __all__ is an attribute of the package."""
    missing = [name for name in customer_health.__all__ if not hasattr(customer_health, name)]
    assert missing == []


def test_all_is_exactly_the_public_names() -> None:
    """Every public, non-module attribute of the package is listed in __all__."""
    public = _public_names()
    exported = set(customer_health.__all__)
    assert sorted(public - exported) == [], "public but not in __all__"
    assert sorted(exported - public) == [], "in __all__ but not a public attribute"


def test_version() -> None:
    """__version__ is the installed distribution's version, 0.1.0."""
    assert customer_health.__version__ == "0.1.0"
