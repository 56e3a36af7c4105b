"""The panel's models on series whose right forecast is known: exponential smoothing
with least-squares initial states, the autoregression on changes, the log wrapper."""

from __future__ import annotations

import numpy as np
import pytest

from shared.forecast import autoreg, models, smoothing


def test_holt_fits_a_straight_line_exactly_from_solved_initial_states():
    y = 50.0 + 3.0 * np.arange(30)
    fit = smoothing.fit(y, "holt")
    assert fit.sse == pytest.approx(0.0, abs=1e-6)
    assert fit.forecast(3) == pytest.approx([140.0, 143.0, 146.0])


def test_ses_solved_initial_level_beats_starting_from_the_first_value():
    y = np.r_[160.0, 100 + np.random.default_rng(3).normal(0, 5, 40)]
    fit = smoothing.fit(y, "ses")
    level, sse = y[0], 0.0
    for value in y:  # the same alpha, started at the first value instead
        err = value - level
        sse += err * err
        level += fit.alpha * err
    assert fit.sse < sse
    assert fit.forecast(1)[0] == pytest.approx(100, abs=6)


def test_damped_trend_flattens_out():
    y = 100.0 + 5.0 * np.arange(40) + np.random.default_rng(1).normal(0, 1, 40)
    f = models.damped(y, 60)
    steps = np.diff(f)
    assert np.all(steps > 0) and steps[-1] < steps[0]


def test_autoregression_continues_a_steady_trend():
    y = 10.0 + 2.0 * np.arange(40) + np.random.default_rng(2).normal(0, 0.1, 40)
    f = autoreg.ar_changes(y, 5)
    assert f == pytest.approx(y[-1] + 2.0 * np.arange(1, 6), abs=0.5)


def test_autoregression_picks_up_momentum_in_the_changes():
    rng = np.random.default_rng(4)
    changes = np.zeros(300)
    for t in range(1, 300):
        changes[t] = 0.8 * changes[t - 1] + rng.normal(0, 1)
    y = 1000 + np.cumsum(changes)
    f = autoreg.ar_changes(y, 1)
    # Next change ~ 0.8 x the last one (a random walk would say 0).
    assert f[0] - y[-1] == pytest.approx(0.8 * changes[-1], abs=0.6)


def test_autoregression_on_a_very_short_history_is_naive():
    assert autoreg.ar_changes(np.array([1.0, 2.0, 3.0]), 2).tolist() == [3.0, 3.0]


def test_models_in_logs_follow_a_constant_growth_rate():
    y = 100.0 * 1.05 ** np.arange(36)
    f = models.in_logs(models.theta)(y, 3)
    expected = 100.0 * 1.05 ** np.arange(36, 39)
    # Theta adds half the log slope: growth between 0 and 5% a period.
    assert np.all(f > y[-1]) and np.all(f <= expected * 1.001)
    assert models.in_logs(models.ar)(y, 3) == pytest.approx(expected, rel=1e-3)


def test_models_in_logs_fit_series_with_zeros_as_they_are():
    y = np.r_[0.0, np.arange(1.0, 20.0)]
    assert models.in_logs(models.ar)(y, 2).tolist() == autoreg.ar_changes(y, 2).tolist()
