"""Calendar features for the gradient-boosting candidate: day of week, month and the
public holidays of the tenant's country, for any position of a series (history or
future) given the date of its first period and its grain.

Holidays come from the `holidays` package (observed days included, as the country
observes them). A country's calendar is built once per (country, years) and kept, so
the backtest's many feature look-ups and later requests of the same instance never
rebuild it; the package is imported only when a country is given, so a tenant
without one (and the auth function) never pays for the import.

Without a country the holiday columns are left out altogether rather than filled
with zeros: a constant column cannot split a tree, but it would still make two
otherwise identical feature sets differ and cost every row a wasted column.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

# positions (periods since the first one) -> one row of features per position.
Calendar = Callable[[np.ndarray], np.ndarray]

# Years a series' calendar covers after its first period: the longest history kept
# (shared.forecast.history.MAX_PERIODS) plus the longest horizon, per grain.
_SPAN_YEARS = {"day": 4, "week": 7, "month": 13}


@lru_cache(maxsize=64)
def holiday_dates(country: str, years: tuple[int, ...]) -> frozenset[date]:
    """The public holidays (observed days included) of `country` in `years`, built
    once per (country, years) from the `holidays` package."""
    import holidays

    return frozenset(holidays.country_holidays(country, years=list(years)).keys())


class Holidays:
    """Membership test over a country's holidays for the years a series covers; a
    day outside them (an unusually long horizon) falls back to its own year's set."""

    def __init__(self, country: str, first_year: int, span: int) -> None:
        self.country = country
        self.years = tuple(range(first_year - 1, first_year + span + 1))
        self.days = holiday_dates(country, self.years)

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        if day.year in self.years:
            return day in self.days
        return day in holiday_dates(self.country, (day.year,))


def period_start(start: date, grain: str, position: int) -> date:
    if grain == "day":
        return start + timedelta(days=position)
    if grain == "week":
        return start + timedelta(days=7 * position)
    months = start.year * 12 + start.month - 1 + position
    return date(months // 12, months % 12 + 1, 1)


def _row(start: date, grain: str, position: int, days: Holidays | None) -> tuple[float, ...]:
    day = period_start(start, grain, position)
    if grain == "day":
        base: tuple[float, ...] = (float(day.weekday()), float(day.month))
        if days is None:
            return base
        today = day in days
        near = (day - timedelta(days=1)) in days or (day + timedelta(days=1)) in days
        return (*base, float(today), float(near and not today))
    if grain == "week":
        base = (float(day.month), float(min(day.timetuple().tm_yday // 7, 51)))
        if days is None:
            return base
        return (*base, float(sum(day + timedelta(days=i) in days for i in range(7))))
    return (float(day.month),)


def features(start: date, grain: str, country: str | None = None) -> Calendar:
    """Calendar rows for a series whose first period starts on `start`: day of week,
    month and, with a country, holiday and day-next-to-a-holiday flags (daily); month,
    week of the year and, with a country, holidays in the week (weekly); month
    (monthly, where a holiday is a fraction of a period's total and the GBM does not
    run)."""
    days = Holidays(country, start.year, _SPAN_YEARS[grain]) \
        if country is not None and grain in ("day", "week") else None
    cache: dict[int, tuple[float, ...]] = {}

    def lookup(positions: np.ndarray) -> np.ndarray:
        rows = []
        for p in np.asarray(positions, dtype=int).tolist():
            if p not in cache:
                cache[p] = _row(start, grain, p, days)
            rows.append(cache[p])
        return np.asarray(rows, dtype=float).reshape(len(rows), -1)
    return lookup
