"""An autoregression on the period-to-period changes (an ARIMA(p,1,0) with or
without drift), fitted by least squares with the order chosen by AICc.

It brings to the combination what the smoothing models lack: short-run momentum
in the changes. Closed form, numpy only.
"""

from __future__ import annotations

import numpy as np

MAX_ORDER = 6


def _aicc(sse: float, n: int, k: int) -> float:
    return n * np.log(max(sse, 1e-300) / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)


def ar_changes(y: np.ndarray, h: int) -> np.ndarray:
    """Forecast h periods: the order p (0..MAX_ORDER) and the drift term are picked
    by AICc on a common sample, then the changes are forecast recursively."""
    z = np.diff(y)
    top = int(min(MAX_ORDER, max(0, (z.size - 4) // 4)))
    n = z.size - top
    if n < 6:
        return np.full(h, y[-1], dtype=float)
    target = z[top:]
    lags = np.column_stack([z[top - i - 1:z.size - i - 1] for i in range(top)]
                           + [np.ones(n)])
    best: tuple[float, int, bool, np.ndarray] | None = None
    for p in range(top + 1):
        for drift in (False, True):
            k = p + int(drift)
            if n - (k + 1) - 1 <= 0:
                continue
            cols = list(range(p)) + ([top] if drift else [])
            if cols:
                design = lags[:, cols]
                coef = np.linalg.lstsq(design, target, rcond=None)[0]
                resid = target - design @ coef
            else:
                coef, resid = np.zeros(0), target
            score = _aicc(float(resid @ resid), n, k + 1)
            if best is None or score < best[0]:
                best = (score, p, drift, coef)
    if best is None:
        return np.full(h, y[-1], dtype=float)
    _, p, drift, coef = best
    phi, const = coef[:p], (float(coef[p]) if drift else 0.0)
    recent = list(z[z.size - p:]) if p else []
    changes = np.empty(h)
    for j in range(h):
        value = const + sum(phi[i] * recent[-i - 1] for i in range(p))
        recent.append(value)
        changes[j] = value
    return y[-1] + np.cumsum(changes)
