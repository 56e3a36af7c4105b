"""Intermittent demand: Croston's rate with the SBA correction against a value
worked out by hand, TSB's decay when demand stops, and the engine's panel and
intervals on simulated mostly-zero series."""

from __future__ import annotations

import numpy as np
import pytest

from shared.forecast import intermittent
from shared.forecast.engine import forecast


def test_croston_and_sba_match_a_hand_computed_rate():
    y = np.array([0, 3, 0, 0, 5, 0, 2], dtype=float)
    # Demands 3, 5, 2 after intervals 2, 3, 2 (the first counted from before the
    # history). With alpha 0.1: sizes 3 -> 3.2 -> 3.08, intervals 2 -> 2.1 -> 2.09.
    rate = 3.08 / 2.09
    np.testing.assert_allclose(intermittent.croston(y, 3, sba=False), [rate] * 3)
    np.testing.assert_allclose(intermittent.croston(y, 3), [rate * 0.95] * 3)
    np.testing.assert_allclose(intermittent.croston(y, 1)[0], 1.4)


def test_tsb_decays_after_demand_stops_while_croston_does_not():
    active = np.array([2, 0, 3, 0, 2, 0, 0, 3, 0, 2], dtype=float)
    stopped = np.r_[active, np.zeros(12)]
    assert intermittent.tsb(stopped, 1)[0] < 0.5 * intermittent.tsb(active, 1)[0]
    assert intermittent.croston(stopped, 1)[0] == pytest.approx(
        intermittent.croston(active, 1)[0])


def test_only_mostly_zero_non_negative_histories_are_intermittent():
    assert intermittent.is_intermittent(np.array([0, 0, 4, 0, 0, 1, 0, 0.0]))
    assert not intermittent.is_intermittent(np.array([1, 2, 0, 3, 4, 0.0]))
    assert not intermittent.is_intermittent(np.array([0, 0, 0, -2, 0, 3.0]))
    assert not intermittent.is_intermittent(np.array([0, 0, 0, 0, 0, 3.0]))


def _demand(seed: int, n: int = 48) -> np.ndarray:
    rng = np.random.default_rng(500 + seed)
    sizes = rng.poisson(rng.uniform(1, 6), n)
    return (sizes * (rng.random(n) < rng.uniform(0.15, 0.4))).astype(float)


def test_the_engine_forecasts_intermittent_series_with_sba_and_calibrated_intervals():
    hits = {0.80: 0, 0.95: 0}
    total = 0
    for seed in range(60):
        y = _demand(seed)
        history, future = y[:36], y[36:]
        if not intermittent.is_intermittent(history):
            continue
        f = forecast(history, 12, 12)
        assert "sba" in dict(f.components)
        assert np.all(f.lo95 >= 0) and np.all(f.point >= 0)
        hits[0.80] += int(np.sum((future >= f.lo80) & (future <= f.hi80)))
        hits[0.95] += int(np.sum((future >= f.lo95) & (future <= f.hi95)))
        total += future.size
    assert total >= 12 * 40
    assert 0.72 <= hits[0.80] / total <= 0.88
    assert 0.90 <= hits[0.95] / total <= 0.99


def test_a_regular_series_keeps_the_smoothing_panel():
    y = 100 + 10 * np.sin(np.arange(48) / 3.0)
    assert "sba" not in dict(forecast(y, 6, 1).components)
