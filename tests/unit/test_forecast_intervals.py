"""Interval calibration on simulated series (the same families the calibration
factors were measured on, other seeds): coverage close to nominal, and the factors
are what brings it there."""

from __future__ import annotations

import numpy as np

from shared.forecast import intervals
from shared.forecast.engine import forecast


def _series(seed: int):
    rng = np.random.default_rng(1000 + seed)
    m, h = [(1, 6), (12, 12)][seed % 2]
    n = int(rng.integers(30, 120))
    total = n + h
    sig = rng.uniform(0.03, 0.1)
    if seed % 4 < 2:  # random walk with drift, in logs
        logy = np.cumsum(rng.normal(0.005, sig, total))
    else:  # local level plus noise
        e = rng.normal(0, sig, total)
        logy = np.cumsum(rng.uniform(0.2, 0.7) * e) + e
    if m > 1:
        logy += 0.2 * np.sin(2 * np.pi * np.arange(total) / m)
    y = 500 * np.exp(logy)
    return y[:n], y[n:], h, m


def _coverage(n_series: int):
    hits = {0.80: 0, 0.95: 0}
    ratios = {0.80: [], 0.95: []}
    total = 0
    for seed in range(n_series):
        x, future, h, m = _series(seed)
        f = forecast(x, h, m)
        for level, lo, hi in ((0.80, f.lo80, f.hi80), (0.95, f.lo95, f.hi95)):
            hits[level] += int(np.sum((future >= lo) & (future <= hi)))
            half = np.maximum((hi - lo) / 2, 1e-9)
            ratios[level].extend(np.abs(future - f.point) / half)
        total += h
    return {k: v / total for k, v in hits.items()}, ratios


def test_calibrated_intervals_cover_close_to_nominal_on_simulated_series():
    cov, ratios = _coverage(80)
    assert 0.72 <= cov[0.80] <= 0.88
    assert 0.90 <= cov[0.95] <= 0.99
    # Without the widening, the 95% intervals would cover noticeably less.
    raw95 = np.mean(np.asarray(ratios[0.95]) <= 1 / intervals.CALIBRATION[0.95])
    assert raw95 < cov[0.95]


def test_calibration_widens_but_never_narrows():
    errors = np.array([[1.0, 2.0, -1.5], [0.5, -1.0, 2.5], [-2.0, 1.0, 0.5]])
    raw = intervals.half_widths(errors, 4)
    wide = intervals.half_widths(errors, 4, calibration=intervals.CALIBRATION)
    for level, factor in intervals.CALIBRATION.items():
        assert factor >= 1.0
        np.testing.assert_allclose(wide[level], raw[level] * factor)
