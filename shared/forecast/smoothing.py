"""Exponential smoothing with additive errors (SES, Holt, damped Holt), fitted by a
vectorised search over a parameter grid, all pure numpy.

For fixed smoothing parameters the one-step errors are affine in the initial level
and trend, so the initial states that minimise the squared errors are solved in
closed form (a 2x2 least-squares problem per grid point) instead of guessed from the
first few values: one pass over the history fits every grid point at once, with the
same optimised initial states a state-space ETS fit would search for. The families
share that pass (the loop over the history is the cost, not the grid's width), and
the last few results are kept, as Theta and the damped trend fit the same series.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class Fit:
    """The best grid point of one model family: final states and parameters."""

    level: float
    trend: float
    alpha: float
    beta: float
    phi: float
    sse: float
    n: int

    def forecast(self, h: int) -> np.ndarray:
        steps = np.arange(1, h + 1, dtype=float)
        damp = steps if self.phi >= 1.0 else np.cumsum(self.phi ** steps)
        return self.level + damp * self.trend


def _grid(family: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(alpha, beta as a share of alpha, phi) for one family."""
    if family == "ses":
        a = np.r_[np.linspace(0.02, 0.2, 10), np.linspace(0.25, 1.0, 16)]
        return a, np.zeros(a.size), np.ones(a.size)
    alphas = (0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 0.99)
    betas = (0.01, 0.05, 0.15, 0.3)
    phis = (1.0,) if family == "holt" else (0.8, 0.87, 0.92, 0.96, 0.98)
    rows = np.array([(a, b, p) for a in alphas for b in betas for p in phis])
    return rows[:, 0], rows[:, 1], rows[:, 2]


_GRIDS: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def grid(family: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if family not in _GRIDS:
        _GRIDS[family] = _grid(family)
    return _GRIDS[family]


FAMILIES = ("ses", "holt", "damped")


def fit(y: np.ndarray, family: str) -> Fit:
    """Best fit of `family` ("ses", "holt" or "damped") by in-sample one-step SSE."""
    y = np.ascontiguousarray(y, dtype=float)
    return _fit_all(y.tobytes())[FAMILIES.index(family)]


@lru_cache(maxsize=16)
def _fit_all(raw: bytes) -> tuple[Fit, ...]:
    y = np.frombuffer(raw, dtype=float)
    grids = [grid(f) for f in FAMILIES]
    a = np.concatenate([g[0] for g in grids])
    p = np.concatenate([g[2] for g in grids])
    ab = a * np.concatenate([g[1] for g in grids])
    k = a.size
    # Three runs at once: the data with zero initial states, and the response to a
    # unit initial level and a unit initial trend with no data (the affine parts).
    lev = np.zeros((3, k))
    lev[1] = 1.0
    tr = np.zeros((3, k))
    tr[2] = 1.0
    n = y.size
    errs = np.empty((n, 3, k))
    for t in range(n):
        pred = lev + p * tr
        err = -pred
        err[0] += y[t]
        errs[t] = err
        lev = pred + a * err
        tr = p * tr + ab * err
    out, start = [], 0
    for family, g in zip(FAMILIES, grids, strict=True):
        cols = slice(start, start + g[0].size)
        start += g[0].size
        out.append(_best(y, family != "ses", errs[:, :, cols], lev[:, cols], tr[:, cols],
                         a[cols], ab[cols], p[cols]))
    return tuple(out)


def _best(y, trended, errs, lev, tr, a, ab, p) -> Fit:
    """Solve the initial states of every grid point, keep the smallest SSE."""
    k = a.size
    e0, el, eb = errs[:, 0], errs[:, 1], errs[:, 2]
    s_ll = np.einsum("ij,ij->j", el, el)
    s_l0 = np.einsum("ij,ij->j", el, e0)
    s_00 = np.einsum("ij,ij->j", e0, e0)
    if trended:
        s_bb = np.einsum("ij,ij->j", eb, eb)
        s_lb = np.einsum("ij,ij->j", el, eb)
        s_b0 = np.einsum("ij,ij->j", eb, e0)
        det = s_ll * s_bb - s_lb * s_lb
        ok = np.abs(det) > 1e-12 * np.maximum(s_ll * s_bb, 1e-300)
        safe = np.where(ok, det, 1.0)
        l0 = np.where(ok, -(s_l0 * s_bb - s_b0 * s_lb) / safe, y[0])
        b0 = np.where(ok, -(s_b0 * s_ll - s_l0 * s_lb) / safe, 0.0)
        sse = (s_00 + l0 * l0 * s_ll + b0 * b0 * s_bb + 2 * l0 * s_l0
               + 2 * b0 * s_b0 + 2 * l0 * b0 * s_lb)
    else:
        l0 = np.where(s_ll > 1e-12, -s_l0 / np.maximum(s_ll, 1e-12), y[0])
        b0 = np.zeros(k)
        sse = s_00 + l0 * l0 * s_ll + 2 * l0 * s_l0
    level = lev[0] + l0 * lev[1] + b0 * lev[2]
    trend = tr[0] + l0 * tr[1] + b0 * tr[2]
    sse = np.where(np.isfinite(sse) & np.isfinite(level) & np.isfinite(trend), sse, np.inf)
    i = int(np.argmin(sse))
    return Fit(float(level[i]), float(trend[i]), float(a[i]), float(ab[i]), float(p[i]),
               float(max(sse[i], 0.0)), y.size)
