"""Test ids that are the same in every process (pytest-xdist's workers must collect the
same tests): a value's repr without the memory addresses of objects and functions."""

from __future__ import annotations

import re
from typing import Any

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def stable_repr(value: Any) -> str:
    """``repr(value)`` with `` at 0x...`` left out."""
    return _ADDRESS.sub("", repr(value))
