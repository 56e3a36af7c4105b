"""Forecast accuracy measures, as defined for the M competitions.

sMAPE is on the 0-200 scale; MASE is scaled by the in-sample mean absolute error of
the seasonal naive forecast (lag m, or lag 1 when the history is not longer than m).
"""

from __future__ import annotations

import numpy as np


def smape(actual, forecast) -> float:
    """Mean of 200·|y-f| / (|y|+|f|); a period where both are zero counts as 0."""
    y = np.asarray(actual, dtype=float)
    f = np.asarray(forecast, dtype=float)
    denom = np.abs(y) + np.abs(f)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(denom > 0, 200.0 * np.abs(y - f) / denom, 0.0)
    return float(np.mean(terms))


def mase_scale(history, m: int) -> float:
    """In-sample MAE of the seasonal naive forecast; 0.0 when the history is flat."""
    x = np.asarray(history, dtype=float)
    lag = m if m > 1 and x.size > m else 1
    if x.size <= lag:
        return 0.0
    return float(np.mean(np.abs(x[lag:] - x[:-lag])))


def mase(actual, forecast, history, m: int) -> float:
    """Mean absolute error over the naive scale; NaN when the scale is zero."""
    scale = mase_scale(history, m)
    err = float(np.mean(np.abs(np.asarray(actual, float) - np.asarray(forecast, float))))
    if scale <= 0:
        return 0.0 if err == 0 else float("nan")
    return err / scale


def coverage(actual, lower, upper) -> float:
    """Share of actual values inside [lower, upper]."""
    y = np.asarray(actual, dtype=float)
    return float(np.mean((y >= np.asarray(lower, float)) & (y <= np.asarray(upper, float))))


def scaled_pinball(actual, quantiles: dict[float, np.ndarray], history, m: int) -> float:
    """Mean pinball (quantile) loss over the given levels, scaled like MASE: the
    measure for intermittent series, where sMAPE is undefined on zero periods and
    MASE rewards forecasting zero. NaN when the scale is zero."""
    scale = mase_scale(history, m)
    if scale <= 0:
        return float("nan")
    y = np.asarray(actual, dtype=float)
    losses = []
    for q, f in quantiles.items():
        diff = y - np.asarray(f, dtype=float)
        losses.append(np.mean(np.maximum(q * diff, (q - 1) * diff)))
    return float(np.mean(losses)) / scale
