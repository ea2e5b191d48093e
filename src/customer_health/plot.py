"""Plots of health scores and backtests (matplotlib, the ``plot`` extra).

The public home of the plotting functions, which live in
:mod:`customer_health.analysis.plot`: ``from customer_health import plot``.
"""

from __future__ import annotations

from .analysis.plot import breakdown, churn_by_status, distribution, history, roc

__all__ = ["breakdown", "churn_by_status", "distribution", "history", "roc"]
