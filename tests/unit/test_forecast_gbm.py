"""The gradient-boosting candidate: its calendar, its per-series selection against
the statistical median by rolling-origin backtest, and where it runs at all."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import numpy as np
import pytest

from shared.forecast import accuracy, backtest, calendar, selection
from shared.forecast.engine import forecast
from tests.support.environment import ROOT

WEEKDAY = np.array([0.0, 5.0, 10.0, 10.0, 20.0, 40.0, -30.0])


def test_calendar_rows_follow_the_dates_of_each_grain():
    daily = calendar.features(date(2024, 7, 1), "day", "US")(np.array([0, 3, 4, 5]))
    # 2024-07-01 is a Monday; 07-04 (position 3) the holiday, 07-05 next to it.
    assert daily[:, 0].tolist() == [0, 3, 4, 5]
    assert daily[:, 1].tolist() == [7, 7, 7, 7]
    assert daily[:, 2].tolist() == [0, 1, 0, 0]
    assert daily[:, 3].tolist() == [0, 0, 1, 0]
    weekly = calendar.features(date(2024, 11, 25), "week", "US")(np.array([0, 1, 4]))
    # Thanksgiving week, the next, and the week of Christmas Day.
    assert weekly[:, 0].tolist() == [11, 12, 12]
    assert weekly[:, 2].tolist() == [1, 0, 1]
    monthly = calendar.features(date(2023, 11, 1), "month")(np.array([0, 1, 2, 14]))
    assert monthly[:, 0].tolist() == [11, 12, 1, 1]


def _holiday_series(seed: int, n: int, h: int, start=date(2022, 1, 3)):
    """A weekday pattern plus an 80% drop on every US public holiday."""
    cal = calendar.features(start, "day", "US")
    rows = cal(np.arange(n + h))
    rng = np.random.default_rng(seed)
    y = (100 + WEEKDAY[rows[:, 0].astype(int)]) * (1 - 0.8 * rows[:, 2])
    return y + rng.normal(0, 5, n + h), rows[:, 2], cal


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_gbm_is_chosen_for_a_weekday_and_holiday_pattern(seed):
    n, h = 500, 28
    y, _, cal = _holiday_series(seed, n, h)
    f = forecast(y[:n], h, 7, calendar=cal)
    weights = dict(f.components)
    assert weights.get(selection.GBM, 0) >= 0.5
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-3)
    without = forecast(y[:n], h, 7, calendar=cal, gbm=False)
    assert selection.GBM not in dict(without.components)
    # The choice pays on the future too, not only on the backtest.
    ours = accuracy.mase(y[n:], f.point, y[:n], 7)
    assert ours < accuracy.mase(y[n:], without.point, y[:n], 7)
    assert f.accuracy["backtest_origins"] == selection.ORIGINS


def test_gbm_sees_a_holiday_in_the_forecast_horizon():
    n, h = 500, 28
    y, holiday, cal = _holiday_series(5, n, h, start=date(2022, 7, 19))
    future = holiday[n:]
    assert future.sum() >= 1  # the horizon holds a holiday (Christmas or New Year)
    f = forecast(y[:n], h, 7, calendar=cal)
    on_holidays = f.point[future == 1].mean()
    assert on_holidays < 0.6 * f.point[future == 0].mean()


@pytest.mark.parametrize("seed", range(8))
def test_gbm_is_not_chosen_for_a_random_walk(seed):
    n, h = 400, 28
    y = 100 + np.cumsum(np.random.default_rng(seed).normal(0, 1, n))
    f = forecast(y, h, 7, calendar=calendar.features(date(2022, 1, 3), "day", "US"))
    assert selection.GBM not in dict(f.components)
    assert f.model == "combination"


def _fold(origin, actual, **forecasts):
    return backtest.Fold(origin, np.asarray(actual, float),
                         {k: np.asarray(v, float) for k, v in forecasts.items()})


def test_choose_needs_a_clear_lead_at_most_origins():
    stats = {"a": [10.0, 10.0], "b": [12.0, 12.0], "c": [14.0, 14.0]}  # median 12
    actual = [11.0, 11.0]
    # GBM at 11.5: half the median's error at every origin -> chosen.
    clear = [_fold(o, actual, **stats, gbm=[11.5, 11.5]) for o in (10, 12, 14)]
    assert selection.choose(clear, list(stats), 1.0).variant != selection.MEDIAN
    # GBM at 11.95: 5% better than the median (error 0.95 vs 1.0), and no variant
    # does better than that -> not enough.
    close = [_fold(o, actual, **stats, gbm=[11.95, 11.95]) for o in (10, 12, 14)]
    assert selection.choose(close, list(stats), 1.0).variant == selection.MEDIAN
    # A huge lead at one origin, behind at the other two -> not chosen.
    lucky = [_fold(10, [40.0, 40.0], **stats, gbm=[40.0, 40.0]),
             _fold(12, actual, **stats, gbm=[15.0, 15.0]),
             _fold(14, actual, **stats, gbm=[15.0, 15.0])]
    choice = selection.choose(lucky, list(stats), 1.0)
    assert choice.scores[selection.GBM] < choice.scores[selection.MEDIAN]
    assert choice.variant == selection.MEDIAN
    # Missing at one origin: the GBM variants are not scored at all.
    partial = [*clear[:2], _fold(14, actual, **stats)]
    assert set(selection.choose(partial, list(stats), 1.0).scores) == {selection.MEDIAN}


def test_components_report_the_gbm_weight_of_each_variant():
    members = ("seasonal_naive", "theta", "damped", "ar")
    expect = {"median": 0.0, "median_gbm": 0.2, "blend": 0.5, "gbm": 1.0}
    for variant, gbm_weight in expect.items():
        parts = dict(selection.Choice(variant, members, {}).components())
        assert parts.get(selection.GBM, 0.0) == pytest.approx(gbm_weight)
        assert sum(parts.values()) == pytest.approx(1.0, abs=1e-3)


class _Recorder:
    """A learner that forecasts the last value it was fitted on and records fits."""

    fits: list[int] = []

    def fit(self, y):
        self.fits.append(y.size)
        self.last = float(y[-1])
        return self

    def forecast_many(self, histories, h):
        return [np.full(h, self.last) for _ in histories]


def test_learners_are_fitted_once_per_group_of_origins_before_it():
    _Recorder.fits = []
    y = np.arange(200, dtype=float)
    folds = backtest.run(y, 10, {}, learners={"rec": _Recorder}, max_origins=6,
                         learner_fits=3)
    starts = sorted(f.origin for f in folds)
    assert len(starts) == 6
    assert sorted(_Recorder.fits) == starts[::2]
    for f in folds:  # out of sample: each forecast comes from a fit before its origin
        assert f.forecasts["rec"][0] <= y[f.origin - 1]


def test_where_the_candidate_runs():
    assert selection.runs(7, 400) and selection.runs(52, 200)
    assert not selection.runs(12, 400)  # monthly: measured, not worth it
    assert not selection.runs(1, 400) and not selection.runs(4, 100)
    assert not selection.runs(52, 60)  # not two seasons of weekly history


def test_sklearn_is_imported_only_when_the_candidate_runs():
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "import numpy as np\n"
        "from shared.forecast.engine import forecast\n"
        "t = np.arange(120.0)\n"
        "forecast(100 + t + 10 * np.sin(t), 6, 12)\n"
        "forecast(100 + t[:30] + 10 * (t[:30] % 7), 14, 7)\n"
        "print('sklearn' in sys.modules)\n"
        "forecast(100 + t + 10 * (t % 7), 14, 7)\n"
        "print('sklearn' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "True"]


def test_weekly_sales_dates_give_holiday_counts_per_week():
    start = date(2023, 12, 18)  # a Monday
    rows = calendar.features(start, "week", "US")(np.arange(5))
    # -; Christmas Day; New Year's Day; -; Martin Luther King Jr. Day (15 January).
    assert rows[:, 2].tolist() == [0.0, 1.0, 1.0, 0.0, 1.0]
    assert calendar.period_start(start, "week", 4) == date(2024, 1, 15)
