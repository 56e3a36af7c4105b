"""The machine-learning candidate: scikit-learn gradient boosting on lags, rolling
statistics and calendar features, forecasting recursively one step at a time.

Every window is divided by its own recent level, so one model learns shape rather
than scale and its recursive forecasts can follow a trend beyond the range seen in
training (trees alone cannot extrapolate levels).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# (n_periods from the series start) -> calendar feature rows, one per position.
Calendar = Callable[[np.ndarray], np.ndarray]

MIN_ROWS = 12


def n_lags(m: int) -> int:
    return int(min(max(m, 4), 14))


def _features(window: np.ndarray, pos: int, m: int, lags: int, floor: float,
              seasonal_lag: float | None) -> list[float]:
    recent = window[-lags:]
    scale = max(float(np.mean(np.abs(recent))), floor)
    feats = list(recent[::-1] / scale)
    feats.append(float(np.mean(recent[-3:])) / scale)
    feats.append(float(np.std(recent)) / scale)
    feats.append(float(recent[-1] - recent[0]) / scale / max(lags - 1, 1))
    if seasonal_lag is not None:
        feats.append(seasonal_lag / scale)
    feats.append(float(pos % m) if m > 1 else 0.0)
    return feats


class GbmLagModel:
    """Gradient boosting fitted once on a history; it can then forecast from any
    later point of the same series (the backtest reuses one fit across origins)."""

    def __init__(self, m: int, calendar: Calendar | None = None, seed: int = 0) -> None:
        self.m, self.calendar, self.seed = m, calendar, seed
        self.lags = n_lags(m)
        self.model = None

    def _row(self, series: np.ndarray, t: int) -> tuple[list[float], float]:
        window = series[t - self.lags:t]
        scale = max(float(np.mean(np.abs(window))), self.floor)
        sl = float(series[t - self.m]) if self.use_season else None
        return _features(window, t, self.m, self.lags, self.floor, sl), scale

    def fit(self, y: np.ndarray) -> GbmLagModel | None:
        """Fit on y; None when the history is too short for enough training rows."""
        n, m = y.size, self.m
        self.use_season = m > self.lags and n >= m + MIN_ROWS
        first = m if self.use_season else self.lags
        if n - first < MIN_ROWS:
            return None
        self.floor = max(float(np.mean(np.abs(y))) * 0.05, 1e-9)
        rows, target = [], []
        for t in range(first, n):
            feats, scale = self._row(y, t)
            rows.append(feats)
            target.append(y[t] / scale)
        # Imported here: a history too short for this model never pays for sklearn.
        from sklearn.ensemble import GradientBoostingRegressor

        X = np.asarray(rows)
        if self.calendar is not None:
            X = np.hstack([X, self.calendar(np.arange(first, n))])
        self.model = GradientBoostingRegressor(
            n_estimators=30, max_depth=3, learning_rate=0.15, subsample=0.8,
            random_state=self.seed).fit(X, np.asarray(target))
        return self

    def forecast(self, history: np.ndarray, h: int) -> np.ndarray:
        """Recursive forecast of the h periods after `history` (the same series, so
        positions match the fit)."""
        return self.forecast_many([history], h)[0]

    def forecast_many(self, histories: list[np.ndarray], h: int) -> list[np.ndarray]:
        """Forecast from several cut-off points at once: one predict call per step
        for all of them (the call overhead dominates on short series)."""
        exts = [np.concatenate([x.astype(float), np.zeros(h)]) for x in histories]
        sizes = [x.size for x in histories]
        cals = [self.calendar(np.arange(n, n + h)) if self.calendar is not None else None
                for n in sizes]
        for j in range(h):
            rows, scales = [], []
            for ext, n, cal in zip(exts, sizes, cals, strict=True):
                feats, scale = self._row(ext, n + j)
                rows.append(feats if cal is None else feats + list(cal[j]))
                scales.append(scale)
            values = self.model.predict(np.asarray(rows))
            for ext, n, value, scale in zip(exts, sizes, values, scales, strict=True):
                ext[n + j] = float(value) * scale
        return [ext[n:] for ext, n in zip(exts, sizes, strict=True)]
