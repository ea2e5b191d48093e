"""The installed version of customer-health (``customer_health.__version__``)."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version

__all__ = ["installed_version"]


@cache
def installed_version() -> str:
    """The version of the installed distribution (``0.0.0+unknown`` from a bare source
    tree)."""
    try:
        return version("customer-health")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0.0.0+unknown"
