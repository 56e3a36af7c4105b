"""Per-series choice between the statistical median and the variants that bring in
the gradient-boosting candidate, by their errors on the same rolling origins.

The median of the statistical panel is the default. A variant with the GBM (the GBM
as a fifth member of the median, an even blend of the median and the GBM, or the GBM
alone) replaces it only when its pooled backtest error (MASE scale) is lower by more
than MARGIN and it wins at most of the origins: a few origins are a noisy judge, and
on a series the statistical models already describe (a random walk, a smooth
seasonal) a small lead is luck, not signal. Calendar effects (a holiday dip, a
weekday pattern that the seasonal decomposition smooths) give the GBM leads far
beyond that margin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from shared.forecast import backtest

GBM = "gbm"
MEDIAN = "median"
VARIANTS = (MEDIAN, "median_gbm", "blend", GBM)
# A GBM variant must beat the median's backtest error by this share to be used.
MARGIN = 0.10
# Origins backtested when the GBM runs: more than the median alone needs, as the
# choice between variants is a noisier question than scoring one of them.
ORIGINS = 6
# The GBM is fitted once per pair of neighbouring origins, not once per origin.
FITS = 3
# Seasonal periods the candidate runs on, and why (benchmarks/README.md, Forecast):
# daily (7) and weekly (52) data carry the calendar effects it is for. On monthly
# M3-like series it was measured to add wall time for no accuracy, so it is off.
GRAINS = (7, 52)


def runs(m: int, n: int) -> bool:
    """Whether the GBM candidate is fitted at all for a series of seasonal period m
    and n periods (the learner itself declines histories too short to train on)."""
    return m in GRAINS and n >= 2 * m


@dataclass(frozen=True)
class Choice:
    """A combination rule over the statistical members (and the GBM)."""

    variant: str
    members: tuple[str, ...]
    scores: Mapping[str, float]

    @property
    def uses_gbm(self) -> bool:
        return self.variant != MEDIAN

    def combine(self, forecasts: Mapping[str, np.ndarray]) -> np.ndarray:
        stats = [forecasts[k] for k in self.members if k in forecasts]
        if self.variant == GBM:
            return np.asarray(forecasts[GBM], dtype=float)
        if self.variant == "median_gbm":
            return np.median(np.vstack([*stats, forecasts[GBM]]), axis=0)
        mid = np.median(np.vstack(stats), axis=0)
        if self.variant == "blend":
            return 0.5 * mid + 0.5 * np.asarray(forecasts[GBM], dtype=float)
        return mid

    def components(self) -> list[tuple[str, float]]:
        """(name, weight) of every model the forecast used; a median's members share
        its weight equally."""
        k = len(self.members)
        if self.variant == GBM:
            return [(GBM, 1.0)]
        if self.variant == "median_gbm":
            return [(n, round(1.0 / (k + 1), 4)) for n in (*self.members, GBM)]
        if self.variant == "blend":
            return [*((n, round(0.5 / k, 4)) for n in self.members), (GBM, 0.5)]
        return [(n, round(1.0 / k, 4)) for n in self.members]


def choose(folds: list[backtest.Fold], members: list[str], unit: float, *,
           allow_gbm: bool = True) -> Choice | None:
    """The variant to forecast with; None when there is nothing to score."""
    if not folds or not members or any(not _stats(f, members) for f in folds):
        return None
    have_gbm = allow_gbm and all(GBM in f.forecasts for f in folds)
    scores: dict[str, float] = {}
    per_origin: dict[str, np.ndarray] = {}
    for variant in VARIANTS if have_gbm else (MEDIAN,):
        rule = Choice(variant, tuple(members), {})
        mix = [backtest.Fold(f.origin, f.actual, {variant: rule.combine(f.forecasts)})
               for f in folds]
        err = backtest.scaled_errors(mix, variant, unit)
        assert err is not None  # every fold of `mix` carries `variant`
        per_origin[variant] = np.nanmean(np.abs(err), axis=1)
        scores[variant] = float(np.nanmean(np.abs(err)))
    best = min(scores, key=scores.__getitem__)
    if best != MEDIAN:
        wins = int(np.sum(per_origin[best] < per_origin[MEDIAN]))
        if not (scores[best] < (1.0 - MARGIN) * scores[MEDIAN] and 2 * wins > len(folds)):
            best = MEDIAN
    return Choice(best, tuple(members), scores)


def _stats(fold: backtest.Fold, members: list[str]) -> bool:
    return any(k in fold.forecasts for k in members)
