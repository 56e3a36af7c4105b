"""The forecaster: a fixed panel of complementary models combined by their median,
rolling-origin backtests of that combination, calibrated intervals, and a fallback
for histories too short to backtest.

The panel: seasonal naive, and Theta, damped-trend smoothing and an autoregression
on the changes, each fitted on the log of the seasonally adjusted series (when it
is positive). On a series without a detected season the damped trend gives way to
the exponential-smoothing model chosen by AICc (ets); on an intermittent history
(mostly zero periods) the smoothing members give way to Croston's rate with the SBA
correction (intermittent), next to seasonal naive and Theta. Both rules were chosen
on the development collections and confirmed on others (benchmarks/README.md).

An equal-weight median of a few good, different models is what the M3/M4 evidence
favours over picking or weighting by backtest error, and it is what our own
benchmark shows (benchmarks/README.md): backtest errors of a few origins are too
noisy to select on, while the median shrugs off one member going astray.
The backtest therefore scores and calibrates the combination, and chooses only
between it and the variants with the gradient-boosting candidate (selection), which
runs on daily and weekly data, where calendar effects live, and replaces the median
only on a clear backtest lead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shared.forecast import accuracy, backtest, ets, intermittent, intervals, models, selection
from shared.forecast.calendar import Calendar
from shared.forecast.gbm import GbmLagModel

BASELINE = "seasonal_naive"
# Below this, no origin leaves enough history to fit on: naive with wide intervals.
MIN_BACKTEST = 6
# Origins backtested for the panel's median alone (the GBM asks for selection.ORIGINS).
BACKTEST_ORIGINS = 3
COMBINATION = "combination"


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


def panel(m: int, y: np.ndarray | None = None) -> dict[str, backtest.Model]:
    """The combination's members: (history, horizon) -> forecast. One panel serves
    one series (its cache assumes histories of one size are the same history);
    given that series' full history `y`, an intermittent one gets its own panel."""
    seasons: dict[int, models.Season | None] = {}

    def season(y: np.ndarray) -> models.Season | None:
        # The backtest hands every member the same prefixes of one series: the
        # decomposition of each prefix is computed once, not once per member.
        if y.size not in seasons:
            seasons[y.size] = models.seasonality(y, m)
        return seasons[y.size]

    def on_adjusted(fn):
        logged = models.in_logs(fn)

        def run(y: np.ndarray, h: int) -> np.ndarray:
            return models.adjusted(logged, y, h, season(y))
        return run

    def chosen_ets(y: np.ndarray, h: int) -> np.ndarray:
        # AICc picks the trend and the error type (ets), on the adjusted series
        # should a backtest prefix show a season the full history does not.
        return models.adjusted(ets.forecast, y, h, season(y))

    naive = {BASELINE: lambda y, h: models.seasonal_naive(y, h, m),
             "theta": on_adjusted(models.theta)}
    if y is None:
        return {**naive, "damped": on_adjusted(models.damped), "ar": on_adjusted(models.ar)}
    if intermittent.is_intermittent(y):
        return {**naive, "sba": lambda y, h: intermittent.croston(y, h)}
    # Where the decomposition finds a season the damped trend in logs stays (on the
    # development sets it was level or better there); elsewhere ets replaces it.
    if season(y) is None:
        return {**naive, "ets": chosen_ets, "ar": on_adjusted(models.ar)}
    return {**naive, "damped": on_adjusted(models.damped), "ar": on_adjusted(models.ar)}


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
             nonnegative: bool = True, gbm: bool | None = None) -> Forecast:
    """Forecast h periods after `values` (one per period, oldest first; m is the
    seasonal period: 12 monthly, 52 weekly, 7 daily, 4 quarterly, 1 none).

    `calendar` gives the gradient-boosting candidate its calendar features (see
    calendar.features); `gbm` forces that candidate on or off (None: selection.runs
    decides by the grain and the length of the history)."""
    y = clean(values)
    if y.size == 0:
        raise ValueError("no history to forecast from")
    if y.size < MIN_BACKTEST:
        return _finish(_fallback(y, h, m), y, nonnegative)

    members = panel(m, y)
    use_gbm = selection.runs(m, y.size) if gbm is None else gbm
    learners = {selection.GBM: lambda: GbmLagModel(m, calendar)} if use_gbm else {}
    folds = backtest.run(y, h, members, learners=learners,
                         max_origins=selection.ORIGINS if learners else BACKTEST_ORIGINS,
                         learner_fits=selection.FITS,
                         min_train=max(4, MIN_BACKTEST - 2))
    finals = {}
    for name, model in members.items():
        f = model(y, h)
        if f is not None and np.all(np.isfinite(f)):
            finals[name] = np.asarray(f, dtype=float)
    names = list(finals)

    scale = accuracy.mase_scale(y, m)
    unit = scale if scale > 0 else _flat_unit(y)
    choice = selection.choose(folds, names, unit)
    if choice is None:
        return _finish(_fallback(y, h, m), y, nonnegative)
    if choice.uses_gbm:
        learner = GbmLagModel(m, calendar).fit(y)
        f = learner.forecast(y, h) if learner is not None else None
        if f is not None and np.all(np.isfinite(f)):
            finals[selection.GBM] = f
        else:  # the fit on the full history failed where the backtest's did not
            choice = selection.choose(folds, names, unit, allow_gbm=False)
            # The same folds and members just gave a choice; only the variant can change.
            assert choice is not None
    point = choice.combine(finals)
    mix = [backtest.Fold(f.origin, f.actual, {COMBINATION: choice.combine(f.forecasts)})
           for f in folds]
    errors = backtest.scaled_errors(mix, COMBINATION, unit)
    assert errors is not None  # `folds` is not empty (a choice was made) and all carry it
    widths = intervals.half_widths(errors, h, calibration=intervals.CALIBRATION)
    covered = intervals.held_out_coverage(errors, calibration=intervals.CALIBRATION)
    base = backtest.scaled_errors(folds, BASELINE, unit)
    components = choice.components()
    result = Forecast(
        point=point,
        lo80=point - widths[0.80] * unit, hi80=point + widths[0.80] * unit,
        lo95=point - widths[0.95] * unit, hi95=point + widths[0.95] * unit,
        model=COMBINATION if len(components) > 1 else components[0][0],
        components=components,
        accuracy={
            "mase": _mase(errors, scale), "smape": _fold_smape(mix, COMBINATION),
            "coverage80": _num(covered[0.80]), "coverage95": _num(covered[0.95]),
            "backtest_origins": len(folds),
            "baseline": {"name": BASELINE, "mase": _mase(base, scale),
                         "smape": _fold_smape(folds, BASELINE)},
        })
    return _finish(result, y, nonnegative)


def median(forecasts: dict[str, np.ndarray]) -> np.ndarray:
    """Step-by-step median of the members' forecasts (the mean of the middle two
    for an even count)."""
    return np.median(np.vstack(list(forecasts.values())), axis=0)


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
