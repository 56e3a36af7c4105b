"""The forecaster: candidates, rolling-origin backtest, weighted combination,
calibrated intervals, and a fallback chain for short histories.

The best TOP_K candidates by backtest error (MASE scale) are kept and weighted by the
inverse of that error. Picking the single best backtest winner is noisier than
combining (the M3/M4 lesson, and what our own benchmark shows): selection only drops
the clear losers and shades the weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shared.forecast import accuracy, backtest, intervals, models
from shared.forecast.gbm import Calendar, GbmLagModel

BASELINE = "seasonal_naive"
# How many of the best backtested candidates enter the combination.
TOP_K = 5
# Below this, no origin leaves enough history to fit on: naive with wide intervals.
MIN_BACKTEST = 6


@dataclass
class Forecast:
    point: np.ndarray
    lo80: np.ndarray
    hi80: np.ndarray
    lo95: np.ndarray
    hi95: np.ndarray
    model: str
    components: list[tuple[str, float]]
    accuracy: dict[str, Any] = field(default_factory=dict)


def _statistical(m: int) -> dict[str, backtest.Model]:
    def on_adjusted(fn):
        def run(y: np.ndarray, h: int) -> np.ndarray:
            return models.adjusted(fn, y, h, models.seasonality(y, m))
        return run

    return {BASELINE: lambda y, h: models.seasonal_naive(y, h, m),
            "ses": on_adjusted(models.ses),
            "theta": on_adjusted(models.theta),
            "damped": on_adjusted(models.damped),
            "linear_trend": on_adjusted(models.linear_trend),
            "drift": on_adjusted(models.drift)}


def clean(values) -> np.ndarray:
    """Float array with interior gaps (NaN) interpolated and leading gaps dropped."""
    y = np.asarray(values, dtype=float)
    ok = np.isfinite(y)
    if not ok.any():
        return np.zeros(0)
    y = y[int(np.argmax(ok)):]
    ok = np.isfinite(y)
    if not ok.all():
        idx = np.arange(y.size)
        y = np.interp(idx, idx[ok], y[ok])
    return y


def forecast(values, h: int, m: int = 1, *, calendar: Calendar | None = None,
             nonnegative: bool = True, use_gbm: bool = True) -> Forecast:
    """Forecast h periods after `values` (one per period, oldest first; m is the
    seasonal period: 12 monthly, 52 weekly, 7 daily, 4 quarterly, 1 none)."""
    y = clean(values)
    if y.size == 0:
        raise ValueError("no history to forecast from")
    if y.size < MIN_BACKTEST:
        return _finish(_fallback(y, h, m), y, nonnegative)

    stats = _statistical(m)
    learners = {"gbm": lambda: GbmLagModel(m, calendar)} if use_gbm else {}
    folds = backtest.run(y, h, stats, learners=learners, min_train=max(4, MIN_BACKTEST - 2))
    scale = accuracy.mase_scale(y, m)
    unit = scale if scale > 0 else _flat_unit(y)

    scores = {}
    for name in [*stats, *learners]:
        err = backtest.scaled_errors(folds, name, unit)
        if err is not None:
            scores[name] = float(np.nanmean(np.abs(err)))
    if not scores:
        return _finish(_fallback(y, h, m), y, nonnegative)

    best = sorted(scores, key=scores.__getitem__)[:TOP_K]
    inv = {k: 1.0 / max(scores[k], 1e-3) for k in best}
    total = sum(inv.values())
    weights = {k: v / total for k, v in sorted(inv.items(), key=lambda kv: -kv[1])}

    finals = {}
    for name in weights:
        if name in stats:
            finals[name] = stats[name](y, h)
        else:
            learner = learners[name]().fit(y)
            finals[name] = learner.forecast(y, h) if learner is not None else None
    finals = {k: v for k, v in finals.items() if v is not None and np.all(np.isfinite(v))}
    weights = {k: w for k, w in weights.items() if k in finals}
    norm = sum(weights.values())
    weights = {k: w / norm for k, w in weights.items()}
    point = sum(w * finals[k] for k, w in weights.items())

    mix = backtest.combined(folds, weights)
    errors = backtest.scaled_errors(mix, "combination", unit)
    widths = intervals.half_widths(errors, h)
    covered = intervals.held_out_coverage(errors)
    base = backtest.scaled_errors(folds, BASELINE, unit)
    result = Forecast(
        point=np.asarray(point, float),
        lo80=point - widths[0.80] * unit, hi80=point + widths[0.80] * unit,
        lo95=point - widths[0.95] * unit, hi95=point + widths[0.95] * unit,
        model="combination" if len(weights) > 1 else next(iter(weights)),
        components=[(k, round(w, 4)) for k, w in weights.items()],
        accuracy={
            "mase": _mase(errors, scale), "smape": _fold_smape(mix, "combination"),
            "coverage80": _num(covered[0.80]), "coverage95": _num(covered[0.95]),
            "backtest_origins": len(folds),
            "baseline": {"name": BASELINE, "mase": _mase(base, scale),
                         "smape": _fold_smape(folds, BASELINE)},
        })
    return _finish(result, y, nonnegative)


def _flat_unit(y: np.ndarray) -> float:
    """A scale for a history with no period-to-period change (constant series)."""
    level = float(np.mean(np.abs(y)))
    return 0.1 * level if level > 0 else 1.0


def _num(value: float | None) -> float | None:
    """JSON-safe: None for missing or non-finite values."""
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), 4)


def _mase(errors: np.ndarray | None, scale: float) -> float | None:
    if errors is None or scale <= 0 or not np.isfinite(errors).any():
        return None
    return _num(float(np.nanmean(np.abs(errors))))


def _fold_smape(folds: list[backtest.Fold], name: str) -> float | None:
    vals = [accuracy.smape(f.actual, f.forecasts[name]) for f in folds if name in f.forecasts]
    return _num(float(np.mean(vals))) if vals else None


def _fallback(y: np.ndarray, h: int, m: int) -> Forecast:
    """Too short to backtest: the last value (the seasonal one when a full season is
    known), with wide intervals from the spread of the changes seen so far."""
    point = models.seasonal_naive(y, h, m)
    diffs = np.abs(np.diff(y))
    unit = float(diffs.mean()) if diffs.size and diffs.mean() > 0 else _flat_unit(y)
    widths = intervals.fallback_half_widths(h)
    name = BASELINE if m > 1 and y.size >= m else "naive"
    return Forecast(point=point, lo80=point - widths[0.80] * unit,
                    hi80=point + widths[0.80] * unit, lo95=point - widths[0.95] * unit,
                    hi95=point + widths[0.95] * unit, model=name, components=[(name, 1.0)],
                    accuracy={"mase": None, "smape": None, "coverage80": None,
                              "coverage95": None, "backtest_origins": 0,
                              "baseline": {"name": BASELINE, "mase": None, "smape": None}})


def _finish(f: Forecast, y: np.ndarray, nonnegative: bool) -> Forecast:
    if nonnegative:
        for attr in ("point", "lo80", "hi80", "lo95", "hi95"):
            setattr(f, attr, np.maximum(getattr(f, attr), 0.0))
    return f
