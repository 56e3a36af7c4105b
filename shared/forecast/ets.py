"""Exponential smoothing with the model chosen by AICc, in the spirit of Hyndman et
al.'s ETS framework (Forecasting with Exponential Smoothing, 2008): trend none,
additive or damped, error additive (fitted on the series) or multiplicative (fitted
on its logarithm, where a proportional error is additive), season handled by the
caller's decomposition (models.adjusted), which the statistical test already chose.

Every candidate comes out of one pass of smoothing's vectorised grid, so the choice
costs no more than the damped trend alone. Likelihoods of the two error types are
made comparable by the Jacobian of the log: a Gaussian fit to log y has the
log-likelihood of its errors minus sum(log y) on the scale of y.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.forecast import smoothing

# Free parameters of each trend: smoothing weights, damping and initial states.
PARAMS = {"ses": 2, "holt": 4, "damped": 5}


@dataclass(frozen=True)
class Choice:
    family: str
    logged: bool
    aicc: float


def aicc(sse: float, n: int, k: int) -> float:
    """Gaussian AICc of a fit with `k` parameters (plus the error variance)."""
    k1 = k + 1
    if n - k1 - 1 <= 0 or sse <= 0:
        return float("inf")
    return n * float(np.log(sse / n)) + 2 * k1 + 2 * k1 * (k1 + 1) / (n - k1 - 1)


def candidates(y: np.ndarray) -> list[tuple[Choice, smoothing.Fit]]:
    """Every (error, trend) candidate the history supports, with its AICc."""
    out = []
    forms = [(False, y)]
    if y.size and np.all(y > 0):
        forms.append((True, np.log(y)))
    for logged, z in forms:
        jacobian = 2.0 * float(np.sum(z)) if logged else 0.0
        for family, k in PARAMS.items():
            fit = smoothing.fit(z, family)
            score = aicc(fit.sse, z.size, k) + jacobian
            if np.isfinite(score):
                out.append((Choice(family, logged, score), fit))
    return out


def select(y: np.ndarray) -> tuple[Choice, smoothing.Fit] | None:
    """The candidate with the lowest AICc, or None on a history too short for any."""
    found = candidates(y)
    return min(found, key=lambda c: c[0].aicc) if found else None


def forecast(y: np.ndarray, h: int) -> np.ndarray:
    """The AICc-chosen model's point forecast (the median, for a multiplicative
    error: the exponentiated mean of the logs)."""
    if y.size < 4:
        return np.full(h, y[-1], dtype=float)
    best = select(y)
    if best is None:
        return np.full(h, y[-1], dtype=float)
    choice, fit = best
    f = fit.forecast(h)
    if choice.logged:
        with np.errstate(over="ignore"):
            return np.exp(f)
    return f
