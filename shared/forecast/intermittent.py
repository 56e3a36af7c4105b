"""Forecasts for intermittent demand: series where most periods are zero (the units
of one product per day or month).

Smoothing the series itself chases every spike and every gap. Croston's method
(1972) smooths the sizes of the non-zero demands and the intervals between them
apart and forecasts their ratio, a flat demand rate; Syntetos and Boylan's
approximation (SBA, 2005) removes the bias of that ratio by a factor 1 - alpha/2.
TSB (Teunter, Syntetos and Babai 2011) smooths the probability of a demand every
period instead of the interval, so the rate decays when demand stops.
"""

from __future__ import annotations

import numpy as np

# Smoothing weight for sizes and intervals: the low, fixed value the literature
# recommends for short, sparse histories (Syntetos & Boylan 2005 use 0.05-0.2).
ALPHA = 0.1
# TSB's weight for the demand probability.
BETA = 0.1
# At least this share of zero periods makes a history intermittent.
ZERO_SHARE = 0.5


def zero_share(y: np.ndarray) -> float:
    return float(np.mean(y == 0)) if y.size else 0.0


def is_intermittent(y: np.ndarray) -> bool:
    """Mostly zeros, never negative, and at least two demands to smooth."""
    return (y.size > 0 and bool(np.all(y >= 0)) and zero_share(y) >= ZERO_SHARE
            and int(np.count_nonzero(y)) >= 2)


def _ses(values: np.ndarray, alpha: float) -> float:
    """Simple exponential smoothing initialised at the first value: the last level."""
    level = float(values[0])
    for v in values[1:]:
        level += alpha * (float(v) - level)
    return level


def croston(y: np.ndarray, h: int, *, alpha: float = ALPHA, sba: bool = True) -> np.ndarray:
    """Croston's demand rate (size over interval), SBA-corrected by default; the
    first interval counts from the period before the history. Flat over h."""
    at = np.flatnonzero(y)
    if at.size == 0:
        return np.zeros(h)
    sizes = y[at]
    gaps = np.diff(np.r_[-1, at]).astype(float)
    rate = _ses(sizes, alpha) / _ses(gaps, alpha)
    if sba:
        rate *= 1.0 - alpha / 2.0
    return np.full(h, rate)


def tsb(y: np.ndarray, h: int, *, alpha: float = ALPHA, beta: float = BETA) -> np.ndarray:
    """TSB: demand probability smoothed every period, size at each demand."""
    at = np.flatnonzero(y)
    if at.size == 0:
        return np.zeros(h)
    size = float(y[at[0]])
    prob = float(at.size) / y.size
    for v in y:
        if v > 0:
            prob += beta * (1.0 - prob)
            size += alpha * (float(v) - size)
        else:
            prob -= beta * prob
    return np.full(h, prob * size)
