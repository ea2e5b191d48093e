"""Optional dependencies: importing one, or saying which extra provides it."""

from __future__ import annotations

import importlib
from types import ModuleType

from .exceptions import MissingExtraError

__all__ = ["require_extra"]


def require_extra(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature``, or raise :class:`MissingExtraError` naming the
    ``pip install 'customer-health[extra]'`` that provides it.

    The command line calls this before a subcommand starts work, so a missing optional
    dependency is reported as one line (exit code 2) rather than as a traceback halfway
    through; the notebook display and the plots call it before drawing.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(module, extra, feature) from None
