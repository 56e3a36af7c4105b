"""Accuracy measures, backtest origins and folds, conformal quantiles: hand-computed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared.forecast import accuracy, backtest, intervals


def test_smape_by_hand():
    # |10-8|/(18) , |0-0| counts 0, |5-10|/15
    expected = (200 * 2 / 18 + 0 + 200 * 5 / 15) / 3
    assert accuracy.smape([10, 0, 5], [8, 0, 10]) == pytest.approx(expected)


def test_mase_uses_the_seasonal_naive_scale():
    history = [1, 2, 3, 4, 2, 4, 6, 8]  # lag-4 changes: 1, 2, 3, 4 -> scale 2.5
    assert accuracy.mase_scale(history, 4) == pytest.approx(2.5)
    assert accuracy.mase([10, 10], [9, 12], history, 4) == pytest.approx(1.5 / 2.5)
    # Not longer than a season: the lag-1 scale (mean |diff| of 1,2,3 = 1).
    assert accuracy.mase_scale([1, 2, 3], 12) == pytest.approx(1.0)


def test_mase_of_a_flat_history():
    assert accuracy.mase([5, 5], [5, 5], [5, 5, 5], 1) == 0.0
    assert math.isnan(accuracy.mase([5, 6], [5, 5], [5, 5, 5], 1))


def test_coverage_counts_the_bounds_as_inside():
    assert accuracy.coverage([1, 2, 3, 4], [1, 0, 3.5, 0], [2, 1, 4, 4]) == 0.5


def test_origins_are_half_a_horizon_apart():
    assert backtest.origins(100, 12) == (12, [88, 82, 76])
    # Short history: the test horizon shrinks to a third of it.
    assert backtest.origins(12, 12, min_train=4) == (4, [8, 6, 4])
    assert backtest.origins(12, 12, min_train=7) == (4, [8])


def test_folds_refit_on_the_history_before_each_origin():
    y = np.arange(1.0, 13.0)  # 1..12

    def mean_model(hist, h):
        return np.full(h, hist.mean())

    folds = backtest.run(y, 4, {"mean": mean_model}, min_train=4)
    assert [f.origin for f in folds] == [8, 6, 4]
    assert folds[0].actual.tolist() == [9.0, 10.0, 11.0, 12.0]
    assert folds[0].forecasts["mean"].tolist() == [4.5] * 4  # mean of 1..8
    assert folds[2].forecasts["mean"].tolist() == [2.5] * 4  # mean of 1..4
    err = backtest.scaled_errors(folds, "mean", 1.0)
    assert err[0].tolist() == [4.5, 5.5, 6.5, 7.5]


def test_a_learner_is_fitted_once_before_the_first_origin():
    seen = []

    class Last:
        def fit(self, y):
            seen.append(y.size)
            return self

        def forecast(self, history, h):
            return self.forecast_many([history], h)[0]

        def forecast_many(self, histories, h):
            return [np.full(h, x[-1]) for x in histories]

    y = np.arange(20.0)
    folds = backtest.run(y, 3, {}, learners={"last": Last}, min_train=4)
    assert seen == [min(f.origin for f in folds)]
    assert all(f.forecasts["last"].tolist() == [f.origin - 1.0] * 3 for f in folds)


def test_conformal_quantile_by_hand():
    scores = np.arange(1.0, 10.0)  # 9 scores
    # ceil(10 * 0.8) = 8th smallest
    assert intervals.conformal_quantile(scores, 0.8) == 8.0
    # ceil(10 * 0.95) = 10 > 9: the largest, stretched by 1/9
    assert intervals.conformal_quantile(scores, 0.95) == pytest.approx(9.0 * (1 + 1 / 9))


def test_half_widths_grow_with_the_square_root_of_the_step():
    errors = np.array([[1.0, -1.0 * math.sqrt(2)], [2.0, 2.0 * math.sqrt(2)]])
    w = intervals.half_widths(errors, 4, (0.8,))[0.8]
    # scores are 1, 1, 2, 2: ceil(5*0.8)=4th -> 2
    assert w.tolist() == pytest.approx([2.0 * math.sqrt(j) for j in range(1, 5)])


def test_held_out_coverage_calibrates_without_the_scored_origin():
    errors = np.array([[0.1, 0.1], [0.1, 0.1], [5.0, 5.0]])
    cov = intervals.held_out_coverage(errors, (0.8,))[0.8]
    # Leaving out the third origin, its errors are far outside: 4 of 6 covered.
    assert cov == pytest.approx(4 / 6)


def test_scaled_pinball_weighs_misses_by_their_side_of_the_quantile():
    history = [0, 2, 0, 2, 0, 2]  # naive scale: mean |change| = 2
    actual = [4.0]
    under = accuracy.scaled_pinball(actual, {0.9: np.array([0.0])}, history, 1)
    over = accuracy.scaled_pinball(actual, {0.1: np.array([0.0])}, history, 1)
    # Missing low by 4 costs 0.9 x 4 at the 90% quantile and 0.1 x 4 at the 10% one.
    assert under == pytest.approx(0.9 * 4 / 2)
    assert over == pytest.approx(0.1 * 4 / 2)
    assert np.isnan(accuracy.scaled_pinball(actual, {0.5: np.array([4.0])}, [3, 3, 3], 1))
