"""Rolling-origin backtests: refit every candidate on the history up to each origin
and score its forecast of the periods that follow.

Errors are scaled by the seasonal-naive MAE of the full history (the MASE scale), so
errors from different origins and horizons are comparable and can be pooled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

# (history, horizon) -> point forecast, or None when the model cannot run on it.
Model = Callable[[np.ndarray, int], "np.ndarray | None"]


class Learner(Protocol):
    """A model fitted once, then asked to forecast from several later points."""

    def fit(self, y: np.ndarray) -> Learner | None: ...

    def forecast(self, history: np.ndarray, h: int) -> np.ndarray: ...

    def forecast_many(self, histories: list[np.ndarray], h: int) -> list[np.ndarray]: ...


@dataclass(frozen=True)
class Fold:
    """One origin: the forecasts of each candidate for actual[:], made at `origin`."""

    origin: int
    actual: np.ndarray
    forecasts: Mapping[str, np.ndarray]


def origins(n: int, h: int, *, max_origins: int = 3, min_train: int = 8) -> tuple[int, list[int]]:
    """(test horizon, origins): the last `max_origins` origins, spaced half a horizon
    apart, each leaving at least `min_train` periods to fit on. The test horizon is
    shortened on short histories so that two thirds of it stay for training."""
    h_bt = int(min(h, max(1, n // 3)))
    step = max(1, h_bt // 2)
    found = [n - h_bt - k * step for k in range(max_origins)]
    return h_bt, [o for o in found if o >= min_train]


def run(y: np.ndarray, h: int, models: Mapping[str, Model], *,
        learners: Mapping[str, Callable[[], Learner]] | None = None,
        max_origins: int = 3, min_train: int = 8, learner_fits: int = 1) -> list[Fold]:
    """Fit each model at each origin; a model that returns None at an origin is left
    out of that fold. Learners (costly to fit) are fitted `learner_fits` times: the
    origins are split into that many groups of neighbours, and one fit on the
    history before a group's earliest origin forecasts from every origin of the
    group: still out-of-sample, as each origin only adds history the fit never saw.
    A learner that declines any of its fits is left out of every fold."""
    h_bt, starts = origins(y.size, h, max_origins=max_origins, min_train=min_train)
    learned: dict[str, dict[int, np.ndarray]] = {}
    groups = [list(g) for g in np.array_split(sorted(starts), max(1, learner_fits))
              if len(g)] if starts else []
    for name, make in (learners or {}).items():
        outs: dict[int, np.ndarray] = {}
        for group in groups:
            learner = make().fit(y[:group[0]])
            if learner is None:  # too short to fit at some origin: no folds from it at all
                outs = {}
                break
            outs.update(zip(group, learner.forecast_many([y[:o] for o in group], h_bt),
                            strict=True))
        if outs:
            learned[name] = outs
    folds = []
    for o in starts:
        actual = y[o:o + h_bt]
        preds: dict[str, np.ndarray] = {}
        for name, model in models.items():
            _keep(preds, name, model(y[:o], actual.size))
        for name, outs in learned.items():
            _keep(preds, name, outs[o])
        folds.append(Fold(o, actual, preds))
    return folds


def _keep(preds: dict[str, np.ndarray], name: str, f: np.ndarray | None) -> None:
    if f is not None and np.all(np.isfinite(f)):
        preds[name] = np.asarray(f, dtype=float)


def scaled_errors(folds: list[Fold], name: str, scale: float) -> np.ndarray | None:
    """(origins, horizon) signed errors of one candidate over the scale, or None if it
    missed a fold. Rows are padded with NaN where a fold's horizon was shorter."""
    if not folds or any(name not in f.forecasts for f in folds):
        return None
    width = max(f.actual.size for f in folds)
    out = np.full((len(folds), width), np.nan)
    for i, f in enumerate(folds):
        out[i, :f.actual.size] = (f.actual - f.forecasts[name]) / scale
    return out
