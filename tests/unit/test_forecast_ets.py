"""Exponential smoothing chosen by AICc: on simulated series it picks the family
that generated them, and the error type (additive, or multiplicative through the
log) by the likelihood on the scale of the data."""

from __future__ import annotations

import numpy as np
import pytest

from shared.forecast import ets, smoothing
from shared.forecast.engine import forecast


def _simulate(kind: str, seed: int, n: int = 60) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    if kind == "level":  # local level plus noise: simple smoothing
        return 200 + np.cumsum(rng.normal(0, 3, n)) + rng.normal(0, 6, n)
    if kind == "trend":  # a steady trend with additive noise
        return 100 + 4 * t + np.cumsum(rng.normal(0, 1, n)) + rng.normal(0, 4, n)
    if kind == "growth":  # constant growth with proportional noise over two decades
        return 20 * np.exp(0.06 * t + np.cumsum(rng.normal(0, 0.03, n))
                           + rng.normal(0, 0.08, n))
    raise ValueError(kind)


@pytest.mark.parametrize(("kind", "family", "logged"), [
    ("level", "ses", False), ("trend", "holt", False), ("growth", "holt", True)])
def test_selection_picks_the_generating_model_on_most_simulated_series(kind, family, logged):
    picks = [ets.select(_simulate(kind, seed)) for seed in range(20)]
    chosen = [(c.family, c.logged) for c, _ in filter(None, picks)]
    assert chosen.count((family, logged)) >= 14, chosen


def test_a_trend_that_dies_out_is_damped_not_straight():
    rng = np.random.default_rng(7)
    steps = 0.85 ** np.arange(80)
    y = 100 + np.cumsum(20 * steps) + rng.normal(0, 0.5, 80)
    choice, _ = ets.select(y)
    assert choice.family in ("damped", "ses")
    f = ets.forecast(y, 12)
    # A straight line through the early slope would be far above the plateau.
    assert abs(f[-1] - y[-1]) < 5


def test_the_log_fit_pays_the_jacobian_so_a_flat_noisy_series_stays_additive():
    rng = np.random.default_rng(3)
    y = 50 + rng.normal(0, 8, 60)  # additive noise: the log scale has no advantage
    choice, _ = ets.select(y)
    raw = smoothing.fit(y, "ses")
    logged = smoothing.fit(np.log(y), "ses")
    assert choice.logged is False
    # Without the Jacobian term the log fit's SSE alone would always look smaller.
    assert logged.sse < raw.sse


def test_aicc_penalises_parameters_and_refuses_too_short_fits():
    assert ets.aicc(10.0, 30, 2) < ets.aicc(10.0, 30, 5)
    assert ets.aicc(10.0, 5, 5) == float("inf")
    assert ets.aicc(0.0, 30, 2) == float("inf")


def test_a_series_without_season_uses_the_chosen_smoothing_in_the_panel():
    y = _simulate("growth", 1)
    names = [name for name, _ in forecast(y, 6, 1).components]
    assert "ets" in names and "damped" not in names
    seasonal = 100 + 20 * np.sin(2 * np.pi * np.arange(72) / 12) + np.arange(72)
    names = [name for name, _ in forecast(seasonal, 12, 12).components]
    assert "damped" in names and "ets" not in names
