"""Analysis: backtests against churn, weight fitting, plots.

Above the engines (a backtest scores with ``score_frame`` at many dates), below the
service and the command line. :mod:`.backtest` holds :func:`backtest` and
:func:`fit_weights` and their results, :mod:`._fit` :func:`fit` (a whole model
proposed from the data, validated out of time) and its :class:`ModelFit`;
:mod:`.plot` draws scores and backtests with matplotlib (the ``plot`` extra),
published as :mod:`customer_health.plot`.
"""

from __future__ import annotations

from ._backtest import (
    Backtest,
    BacktestPeriod,
    CalibrationBand,
    ChurnRate,
    WeightFit,
    backtest,
    fit_weights,
)
from ._fit import FACTOR_TYPES_FITTED, Gain, Leak, LeftOut, ModelFit, fit

__all__ = [
    "FACTOR_TYPES_FITTED",
    "Backtest",
    "BacktestPeriod",
    "CalibrationBand",
    "ChurnRate",
    "Gain",
    "Leak",
    "LeftOut",
    "ModelFit",
    "WeightFit",
    "backtest",
    "fit",
    "fit_weights",
]
