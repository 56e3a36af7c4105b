"""Anomalies on a daily series that respect weekly seasonality.

Each day is compared with the same weekday over the previous eight weeks: the
expected value is their median, and the residual is scaled by a robust spread (the
larger of that weekday's median absolute deviation, the median absolute residual of
the whole window, and 5% of the expected value, so a flat series does not turn
rounding into alarms). |score| >= 3.5 is an anomaly, the usual cut-off for robust
z-scores; 5 and 7 mark medium and high severity.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from statistics import median

HISTORY_WEEKS = 8
HISTORY_DAYS = HISTORY_WEEKS * 7
MIN_HISTORY = 3
THRESHOLD = 3.5
_MAD_TO_SIGMA = 1.4826
_RELATIVE_FLOOR = 0.05


def severity(score: float) -> str:
    s = abs(score)
    return "high" if s >= 7 else "medium" if s >= 5 else "low"


def detect(values: Sequence[tuple[date, float]], start: date, end: date, *,
           first: date | None = None, last: date | None = None,
           measure: str = "revenue") -> list[dict]:
    """Anomalies among the days in [start, end] of a zero-filled daily series that
    may begin up to HISTORY_DAYS earlier. Days outside [first, last] (before the
    data begins or after it ends) are neither scored nor used as history."""
    by_day = dict(values)
    lo = first or (values[0][0] if values else start)
    hi = last or end

    def history(d: date) -> list[float]:
        out = []
        for k in range(1, HISTORY_WEEKS + 1):
            h = d - timedelta(days=7 * k)
            if h >= lo and h in by_day:
                out.append(by_day[h])
        return out

    scored: list[tuple[date, float, float, float]] = []  # day, actual, expected, local
    for d, actual in values:
        if d < lo or d > hi:
            continue
        hist = history(d)
        if len(hist) < MIN_HISTORY:
            continue
        expected = median(hist)
        local = _MAD_TO_SIGMA * median(abs(h - expected) for h in hist)
        scored.append((d, actual, expected, local))
    if not scored:
        return []
    overall = _MAD_TO_SIGMA * median(abs(a - e) for _, a, e, _ in scored)
    out = []
    for d, actual, expected, local in scored:
        if d < start or d > end:
            continue
        scale = max(local, overall, _RELATIVE_FLOOR * abs(expected))
        if scale <= 0:
            continue
        score = (actual - expected) / scale
        if abs(score) >= THRESHOLD:
            out.append({"date": d.isoformat(), "measure": measure, "expected": expected,
                        "actual": actual, "score": score, "severity": severity(score),
                        "weekday": d.strftime("%A")})
    return out
