"""Statistical candidate models: seasonal naive, damped trend, Theta and an
autoregression on the changes, all pure numpy.

The smoothing models work on a seasonally adjusted series (classical decomposition,
applied only when the 90% autocorrelation test at lag m says the series is seasonal,
as in the M4 benchmarks) and put the season back on their forecasts. Smoothing
parameters are chosen by a vectorised grid search on in-sample one-step errors
(smoothing), which is fast and never fails to converge. `in_logs` fits any of them on
the logarithm of a positive series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.forecast import autoreg, smoothing


@dataclass(frozen=True)
class Season:
    """Seasonal indices of one series: `index[i]` applies to positions i, i+m, ..."""

    m: int
    index: np.ndarray
    multiplicative: bool

    def remove(self, y: np.ndarray, start: int = 0) -> np.ndarray:
        s = self.at(start, y.size)
        return y / s if self.multiplicative else y - s

    def restore(self, f: np.ndarray, start: int) -> np.ndarray:
        s = self.at(start, f.size)
        return f * s if self.multiplicative else f + s

    def at(self, start: int, length: int) -> np.ndarray:
        return self.index[(start + np.arange(length)) % self.m]


def _acf(y: np.ndarray, max_lag: int) -> np.ndarray:
    x = y - y.mean()
    denom = float(np.dot(x, x))
    if denom == 0:
        return np.zeros(max_lag + 1)
    return np.array([1.0] + [float(np.dot(x[k:], x[:-k])) / denom
                             for k in range(1, max_lag + 1)])


def is_seasonal(y: np.ndarray, m: int) -> bool:
    """The M4 benchmarks' test: |r_m| beyond 1.645 standard errors (Bartlett)."""
    if m <= 1 or y.size < 3 * m:
        return False
    r = _acf(y, m)
    limit = 1.645 * np.sqrt((1 + 2 * np.sum(r[1:m] ** 2)) / y.size)
    return bool(abs(r[m]) > limit)


def seasonality(y: np.ndarray, m: int) -> Season | None:
    """Classical decomposition indices (centred moving average), or None."""
    if not is_seasonal(y, m):
        return None
    multiplicative = bool(np.all(y > 0))
    # A 2xm moving average for even m, a plain m one for odd m.
    w = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    trend = np.convolve(y, w, mode="valid")
    offset = (len(w) - 1) // 2
    core = y[offset:offset + trend.size]
    ratio = core / trend if multiplicative else core - trend
    sums = np.zeros(m)
    counts = np.zeros(m)
    pos = (offset + np.arange(trend.size)) % m
    np.add.at(sums, pos, ratio)
    np.add.at(counts, pos, 1)
    index = sums / np.maximum(counts, 1)
    if multiplicative:
        index = index / index.mean()
        if np.any(index <= 0):
            return None
    else:
        index = index - index.mean()
    return Season(m, index, multiplicative)


# ------------------------------------------------------------------ smoothing


def damped(y: np.ndarray, h: int) -> np.ndarray:
    """Additive damped-trend exponential smoothing (Gardner & McKenzie)."""
    if y.size < 4:
        return naive(y, h)
    return smoothing.fit(y, "damped").forecast(h)


def theta(y: np.ndarray, h: int) -> np.ndarray:
    """The Theta method (Assimakopoulos & Nikolopoulos 2000) in Hyndman & Billah's
    form: SES plus half the slope of the linear trend."""
    n = y.size
    fit = smoothing.fit(y, "ses")
    alpha = fit.alpha
    slope = float(np.polyfit(np.arange(n, dtype=float), y, 1)[0]) if n > 2 else 0.0
    steps = np.arange(1, h + 1, dtype=float)
    drift = 0.5 * slope * (steps - 1 + 1 / alpha - ((1 - alpha) ** n) / alpha)
    return fit.level + drift


def ar(y: np.ndarray, h: int) -> np.ndarray:
    """Autoregression on the changes (see autoreg)."""
    return autoreg.ar_changes(y, h)


def in_logs(fn):
    """fn fitted on log values and its forecast exponentiated: trends and noise
    proportional to the level, as most business and M-competition series have.
    Series with a zero or negative value are fitted as they are."""
    def run(y: np.ndarray, h: int) -> np.ndarray:
        if y.size == 0 or np.any(y <= 0):
            return fn(y, h)
        with np.errstate(over="ignore"):
            return np.exp(fn(np.log(y), h))
    run.__name__ = getattr(fn, "__name__", "model") + "_log"
    return run


def naive(y: np.ndarray, h: int) -> np.ndarray:
    return np.full(h, y[-1], dtype=float)


def seasonal_naive(y: np.ndarray, h: int, m: int) -> np.ndarray:
    if m <= 1 or y.size < m:
        return naive(y, h)
    last = y[-m:]
    return last[np.arange(h) % m].astype(float)


def adjusted(fn, y: np.ndarray, h: int, season: Season | None) -> np.ndarray:
    """Fit fn on the seasonally adjusted series and reseasonalise its forecast."""
    if season is None:
        return fn(y, h)
    f = fn(season.remove(y), h)
    return season.restore(f, y.size)
