"""Calendar features for the gradient-boosting candidate: day of week, month and US
federal holidays, for any position of a series (history or future) given the date of
its first period and its grain.

The holidays follow the rules of 5 U.S.C. 6103 (fixed dates moved to the Friday
before or the Monday after when they fall on a weekend; the Monday and Thursday
rules for the others), computed in a few lines rather than importing a holiday
package or pandas' calendar machinery on the forecast's cold path. A tenant-specific
calendar would plug in at `features`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

# positions (periods since the first one) -> one row of features per position.
Calendar = Callable[[np.ndarray], np.ndarray]


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th `weekday` (Monday 0) of a month; n = -1 for the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = date(year + month // 12, month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@lru_cache(maxsize=256)
def us_federal_holidays(year: int) -> frozenset[date]:
    """The observed US federal holidays of one calendar year (New Year's Day of the
    next year observed on 31 December is counted in the next year, as by OPM)."""
    days = [
        _observed(date(year, 1, 1)),
        _nth_weekday(year, 2, 0, 3),     # Washington's Birthday
        _nth_weekday(year, 5, 0, -1),    # Memorial Day
        _observed(date(year, 7, 4)),
        _nth_weekday(year, 9, 0, 1),     # Labor Day
        _nth_weekday(year, 10, 0, 2),    # Columbus Day
        _observed(date(year, 11, 11)),
        _nth_weekday(year, 11, 3, 4),    # Thanksgiving
        _observed(date(year, 12, 25)),
    ]
    if year >= 1986:
        days.append(_nth_weekday(year, 1, 0, 3))  # Martin Luther King Jr. Day
    if year >= 2021:
        days.append(_observed(date(year, 6, 19)))  # Juneteenth
    following = _observed(date(year + 1, 1, 1))
    if following.year == year:
        days.append(following)
    return frozenset(d for d in days if d.year == year or d == following)


def is_holiday(day: date) -> bool:
    return day in us_federal_holidays(day.year)


def period_start(start: date, grain: str, position: int) -> date:
    if grain == "day":
        return start + timedelta(days=position)
    if grain == "week":
        return start + timedelta(days=7 * position)
    months = start.year * 12 + start.month - 1 + position
    return date(months // 12, months % 12 + 1, 1)


def _row(start: date, grain: str, position: int) -> tuple[float, ...]:
    day = period_start(start, grain, position)
    if grain == "day":
        near = is_holiday(day - timedelta(days=1)) or is_holiday(day + timedelta(days=1))
        return (float(day.weekday()), float(day.month), float(is_holiday(day)),
                float(near and not is_holiday(day)))
    if grain == "week":
        week = [day + timedelta(days=i) for i in range(7)]
        return (float(day.month), float(min(day.timetuple().tm_yday // 7, 51)),
                float(sum(is_holiday(d) for d in week)))
    return (float(day.month),)


def features(start: date, grain: str) -> Calendar:
    """Calendar rows for a series whose first period starts on `start`: day of week,
    month, holiday and day-next-to-a-holiday flags (daily); month, week of the year
    and holidays in the week (weekly); month (monthly)."""
    cache: dict[int, tuple[float, ...]] = {}

    def lookup(positions: np.ndarray) -> np.ndarray:
        rows = []
        for p in np.asarray(positions, dtype=int).tolist():
            if p not in cache:
                cache[p] = _row(start, grain, p)
            rows.append(cache[p])
        return np.asarray(rows, dtype=float).reshape(len(rows), -1)
    return lookup
