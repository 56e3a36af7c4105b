"""The forecaster on simulated series: calibrated coverage with known noise, and the
edge cases (short, flat, single-value, zero-heavy, gaps, level shifts)."""

from __future__ import annotations

import numpy as np
import pytest

from shared.forecast import models
from shared.forecast.engine import BACKTEST_ORIGINS, forecast


def _check_shape(f, h):
    for arr in (f.point, f.lo80, f.hi80, f.lo95, f.hi95):
        assert arr.shape == (h,) and np.all(np.isfinite(arr))
    assert np.all(f.lo95 <= f.lo80) and np.all(f.lo80 <= f.point)
    assert np.all(f.point <= f.hi80) and np.all(f.hi80 <= f.hi95)
    assert sum(w for _, w in f.components) == pytest.approx(1.0, abs=1e-3)


def test_intervals_cover_about_their_level_on_known_noise():
    """Seasonal level plus Gaussian noise of sd 10: the 80% and 95% intervals of
    future values cover close to 80% and 95% across many simulated series."""
    rng = np.random.default_rng(7)
    h, m, hits80, hits95, total = 6, 12, 0, 0, 0
    season = 30 * np.sin(2 * np.pi * np.arange(200) / m)
    for _ in range(40):
        y = 500 + season[:66] + rng.normal(0, 10, 66)
        future = 500 + season[66:66 + h] + rng.normal(0, 10, h)
        f = forecast(y, h, m)
        hits80 += int(np.sum((future >= f.lo80) & (future <= f.hi80)))
        hits95 += int(np.sum((future >= f.lo95) & (future <= f.hi95)))
        total += h
    assert 0.68 <= hits80 / total <= 0.92
    assert 0.88 <= hits95 / total <= 0.995


def test_a_seasonal_series_beats_seasonal_naive_in_backtest():
    rng = np.random.default_rng(3)
    t = np.arange(96)
    y = 200 + 2 * t + 40 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 5, t.size)
    f = forecast(y, 12, 12)
    _check_shape(f, 12)
    acc = f.accuracy
    assert acc["backtest_origins"] == BACKTEST_ORIGINS
    assert acc["mase"] < acc["baseline"]["mase"]
    assert f.model == "combination" and len(f.components) >= 2


def test_a_single_value_gives_a_flat_forecast_with_wide_intervals():
    f = forecast([42.0], 5, 12)
    _check_shape(f, 5)
    assert f.point.tolist() == [42.0] * 5
    assert f.model == "naive" and f.accuracy["backtest_origins"] == 0
    assert np.all(f.hi95 - f.lo95 > 0)
    assert np.all(np.diff(f.hi95 - f.point) > 0)  # widening with the horizon


def test_a_constant_series_stays_constant_without_zero_width_intervals():
    f = forecast(np.full(40, 7.0), 6, 7)
    _check_shape(f, 6)
    assert f.point == pytest.approx(np.full(6, 7.0))
    assert np.all(f.hi80 > f.point)


def test_short_histories_fall_back_to_naive():
    f = forecast([3.0, 5.0, 4.0], 4, 12)
    _check_shape(f, 4)
    assert f.point.tolist() == [4.0] * 4
    # The spread of the changes seen (mean |diff| = 1.5) sets the interval scale.
    assert f.hi80[0] - f.point[0] == pytest.approx(2 * 1.2816 * 1.5)


def test_zero_heavy_series_never_go_negative():
    rng = np.random.default_rng(11)
    y = np.where(rng.random(120) < 0.8, 0.0, rng.integers(1, 5, 120).astype(float))
    f = forecast(y, 14, 7)
    _check_shape(f, 14)
    assert np.all(f.lo95 >= 0) and np.all(f.point >= 0)
    assert f.point.mean() < 3


def test_negative_values_are_allowed_when_the_measure_can_be_negative():
    y = -50 + np.arange(30.0)
    f = forecast(y, 3, 1, nonnegative=False)
    assert f.lo95[0] < 0


def test_gaps_are_interpolated():
    y = np.arange(1.0, 41.0)
    y[[5, 6, 20]] = np.nan
    f = forecast(y, 4, 1)
    _check_shape(f, 4)
    assert f.point[0] == pytest.approx(41, rel=0.05)


def test_a_level_shift_is_followed():
    rng = np.random.default_rng(5)
    y = np.r_[rng.normal(100, 3, 60), rng.normal(300, 3, 20)]
    f = forecast(y, 6, 1)
    assert np.all(np.abs(f.point - 300) < 30)


def test_seasonality_is_detected_only_when_present():
    t = np.arange(48)
    assert models.is_seasonal(100 + 20 * np.sin(2 * np.pi * t / 12), 12)
    rng = np.random.default_rng(0)
    assert not models.is_seasonal(100 + rng.normal(0, 1, 48), 12)
    assert not models.is_seasonal(np.arange(20.0), 12)  # shorter than three seasons


def test_theta_is_ses_plus_half_the_trend():
    y = np.arange(10.0)  # slope 1; SES with alpha=1 tracks the last value exactly
    f = models.theta(y, 3)
    # alpha = 1: level 9, drift 0.5 * (h - 1 + 1) = 0.5 h
    assert f.tolist() == pytest.approx([9.5, 10.0, 10.5])


def test_seasonal_naive_repeats_the_last_season():
    assert models.seasonal_naive(np.arange(8.0), 6, 4).tolist() == [4, 5, 6, 7, 4, 5]


def test_the_forecast_is_the_median_of_the_panel_with_equal_weights():
    from shared.forecast.engine import panel

    rng = np.random.default_rng(8)
    t = np.arange(60)
    y = 300 + 3 * t + 25 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 6, t.size)
    f = forecast(y, 9, 12)
    members = panel(12, y)  # the panel of this series (its season decides the trend member)
    assert [n for n, _ in f.components] == list(members)
    assert {w for _, w in f.components} == {0.25}
    each = np.vstack([fn(y, 9) for fn in members.values()])
    assert f.point == pytest.approx(np.median(each, axis=0))


def test_one_member_going_astray_does_not_move_the_median_much():
    rng = np.random.default_rng(9)
    y = 100 + rng.normal(0, 2, 48)
    f = forecast(y, 6, 1)
    assert np.all(np.abs(f.point - 100) < 6)
