"""The machine-learning candidate: scikit-learn's histogram gradient boosting on
lags, rolling statistics and calendar features, trained on the series' own history
and forecasting recursively one step at a time.

Every window is divided by its own recent level, so the model learns shape rather
than scale and its recursive forecasts can follow the level beyond the range seen
in training (trees alone cannot extrapolate levels). Calendar features (day of
week, month and the public holidays of the tenant's country; see calendar) are what
the statistical models cannot see: a holiday is not a fixed position in a weekly
season. A tenant without a holiday country gets no holiday columns at all.

scikit-learn is imported inside `fit`: a request whose series never runs this
candidate never pays for the import (about a second and a half, scipy included).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from shared.forecast.calendar import Calendar

# Fewer training rows than this: the candidate does not run.
MIN_ROWS = 40
# Small and fast: a few shallow trees, no early stopping, a fixed seed. Leaves as
# small as a handful of rows let a split isolate the ten-odd holidays of a year.
PARAMS = {"max_iter": 60, "learning_rate": 0.1, "max_depth": 4, "max_leaf_nodes": 15,
          "min_samples_leaf": 4, "l2_regularization": 1.0, "early_stopping": False,
          "random_state": 0}


def _one_thread():
    """One OpenMP thread for sklearn's histogram trees: on a few hundred rows its
    parallel regions cost more than they save, and on a busy or single-vCPU
    instance they cost fifteen times the single-threaded fit (measured)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


class _Regressor(Protocol):
    """The part of a fitted scikit-learn regressor this model calls (scikit-learn ships
    no type information)."""

    def predict(self, X: np.ndarray) -> np.ndarray: ...


def n_lags(m: int) -> int:
    """Lags 1..L: two weeks on daily data, a year on monthly data, two months on
    weekly data (whose seasonal lag 52 is added on its own when history allows)."""
    if m == 7:
        return 14
    if m == 12:
        return 12
    return 8


class GbmLagModel:
    """Gradient boosting fitted once on a history; it can then forecast from any
    later point of the same series (the backtest reuses one fit across origins)."""

    def __init__(self, m: int, calendar: Calendar | None = None) -> None:
        self.m, self.calendar = m, calendar
        self.lags = n_lags(m)
        self.seasonal = False
        self.floor = 1e-9
        self.model: _Regressor | None = None

    def _row(self, series: np.ndarray, t: int) -> tuple[list[float], float]:
        """Features of position t from the values before it, and their scale."""
        window = series[t - self.lags:t]
        scale = max(float(np.mean(np.abs(window))), self.floor)
        feats = list(window[::-1] / scale)
        feats.append(float(np.mean(window[-3:])) / scale)
        feats.append(float(np.std(window)) / scale)
        if self.m > 1 and self.m <= self.lags:
            # The mean of the same season position over the window (day of week).
            feats.append(float(np.mean(window[self.lags - self.m::-self.m])) / scale)
        if self.seasonal:
            feats.append(float(series[t - self.m]) / scale)
        if self.calendar is None:
            feats.append(float(t % self.m) if self.m > 1 else 0.0)
        return feats, scale

    def fit(self, y: np.ndarray) -> GbmLagModel | None:
        """Fit on y; None when the history is too short for enough training rows."""
        n, m = y.size, self.m
        self.seasonal = m > self.lags and n - m >= MIN_ROWS
        first = m if self.seasonal else self.lags
        if n - first < MIN_ROWS:
            return None
        self.floor = max(float(np.mean(np.abs(y))) * 0.05, 1e-9)
        rows, target = [], []
        for t in range(first, n):
            feats, scale = self._row(y, t)
            rows.append(feats)
            target.append(y[t] / scale)
        X = np.asarray(rows)
        if self.calendar is not None:
            X = np.hstack([X, self.calendar(np.arange(first, n))])
        # Imported here: a series too short (or of a grain) for this model never
        # pays for the import.
        from sklearn.ensemble import HistGradientBoostingRegressor

        with _one_thread():
            self.model = HistGradientBoostingRegressor(**PARAMS).fit(X, np.asarray(target))
        return self

    def forecast(self, history: np.ndarray, h: int) -> np.ndarray:
        """Recursive forecast of the h periods after `history` (the same series, so
        positions match the fit)."""
        return self.forecast_many([history], h)[0]

    def forecast_many(self, histories: list[np.ndarray], h: int) -> list[np.ndarray]:
        """Forecast from several cut-off points at once: one predict call per step
        for all of them (the call overhead dominates on short series)."""
        with _one_thread():
            return self._recursive(histories, h)

    def _recursive(self, histories: list[np.ndarray], h: int) -> list[np.ndarray]:
        model = self.model
        if model is None:
            raise RuntimeError("GbmLagModel forecasts only after a fit that returned it")
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
            values = model.predict(np.asarray(rows))
            for ext, n, value, scale in zip(exts, sizes, values, scales, strict=True):
                ext[n + j] = float(value) * scale
        return [ext[n:] for ext, n in zip(exts, sizes, strict=True)]
