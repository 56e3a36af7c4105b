"""Prediction intervals calibrated on backtest errors (split-conformal style).

The scaled absolute errors of the chosen forecast at every backtest origin and step
are divided by a growth curve g(j) = sqrt(j) and pooled; the interval half-width at
step j is the conformal quantile of that pool times g(j). Pooling across steps is
what makes a few origins enough; the growth curve carries the widening with the
horizon, including steps beyond the backtest's own horizon.

A few origins under-state the spread of future errors (the origins' errors are
correlated, and the tail quantile of a small pool is biased low), so the forecaster
widens the conformal half-widths by CALIBRATION: factors measured on simulated
series (random walks, local levels, damped trends, autoregressive changes, with and
without seasonality; see tests/unit/test_forecast_intervals.py), never on the
benchmark's test data.
"""

from __future__ import annotations

import math

import numpy as np

LEVELS = (0.80, 0.95)
_Z = {0.80: 1.2816, 0.95: 1.9600}
# Widening of the conformal half-widths that brings simulated coverage to nominal.
CALIBRATION = {0.80: 1.08, 0.95: 1.25}


def growth(steps: np.ndarray) -> np.ndarray:
    return np.sqrt(steps)


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The ceil((n+1)·level)-th smallest score; past the largest, the largest
    stretched by the normal ratio of the level to the empirical one."""
    s = np.sort(scores[np.isfinite(scores)])
    n = s.size
    if n == 0:
        return float("nan")
    k = math.ceil((n + 1) * level)
    if k <= n:
        return float(s[k - 1])
    return float(s[-1]) * (1 + (k - n) / n)


def half_widths(errors: np.ndarray, h: int, levels=LEVELS,
                calibration: dict[float, float] | None = None) -> dict[float, np.ndarray]:
    """errors: (origins, steps) scaled signed errors (NaN where missing).
    Returns level -> half-widths (in the same scaled units) for steps 1..h, each
    multiplied by its calibration factor when one is given."""
    steps = np.arange(1, errors.shape[1] + 1, dtype=float)
    scores = (np.abs(errors) / growth(steps)[None, :]).ravel()
    g = growth(np.arange(1, h + 1, dtype=float))
    out = {}
    for level in levels:
        q = conformal_quantile(scores, level)
        if not np.isfinite(q) or q <= 0:
            # No information (or a perfectly predictable history): fall back to one
            # scale unit per normal quantile rather than claiming certainty.
            q = _Z[level]
        out[level] = q * g * (calibration or {}).get(level, 1.0)
    return out


def fallback_half_widths(h: int, levels=LEVELS, inflate: float = 2.0) -> dict[float, np.ndarray]:
    """Half-widths in scale units for a history too short to backtest: a random walk
    with the scale as its step spread, inflated because the scale itself is a guess."""
    g = growth(np.arange(1, h + 1, dtype=float))
    return {level: inflate * _Z[level] * g for level in levels}


def held_out_coverage(errors: np.ndarray, levels=LEVELS,
                      calibration: dict[float, float] | None = None,
                      ) -> dict[float, float | None]:
    """Coverage of each origin's errors by intervals calibrated on the other origins
    only: an honest estimate, unlike scoring the same errors used to calibrate."""
    k = errors.shape[0]
    if k < 2:
        return {level: None for level in levels}
    out = {}
    for level in levels:
        hits, total = 0, 0
        for i in range(k):
            rest = np.delete(errors, i, axis=0)
            w = half_widths(rest, errors.shape[1], (level,), calibration)[level]
            row = errors[i]
            ok = np.isfinite(row)
            hits += int(np.sum(np.abs(row[ok]) <= w[ok]))
            total += int(ok.sum())
        out[level] = hits / total if total else None
    return out
