"""The business's calendar: weeks, fiscal quarters and years, and 4-4-5 style retail
periods. Pure date arithmetic: metrics (grains, spines, comparisons), forecast labels
and exports all go through it, so a period means the same everywhere.

The rules:
- A week starts on the tenant's week-start day (Monday or Sunday).
- Without a retail calendar, `month` is the calendar month, and a fiscal `quarter` /
  `year` is three / twelve months starting on the first day of the fiscal start month
  (a July fiscal year: Q1 is July-September).
- With a retail calendar (4-4-5, 4-5-4 or 5-4-4) the year is 52 or 53 whole weeks. It
  starts on the week-start day nearest to the first day of the fiscal start month (so
  it ends on the day before the week-start day nearest to the first day of that month a
  year later): the National Retail Federation's rule, a year ending on the Saturday
  nearest the end of January, is week_start sunday with fiscal_year_start_month 2.
  Its four quarters are 13 weeks, each split into three periods (`month` grain) of the
  pattern's weeks; a 53rd week joins the last period of the year.
- A fiscal year is named for the calendar year its twelve nominal months end in (FY2025
  is July 2024 - June 2025; with fiscal_year_start_month 1 it is the calendar year). A
  retail year carries the name of the nominal year it is anchored to: the NRF year of
  29 January 2023 - 3 February 2024 (the NRF's own "fiscal 2023") is FY2024 here, for
  its nominal months February 2023 - January 2024.
- "Same period last year": the same calendar dates a year earlier, except on a retail
  calendar, where it is the same weeks of the previous retail year (so weekdays line up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

GRAINS = ("day", "week", "month", "quarter", "year")
_PATTERNS = {"4-4-5": (4, 4, 5), "4-5-4": (4, 5, 4), "5-4-4": (5, 4, 4)}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
           "Dec")


@dataclass(frozen=True)
class Calendar:
    time_zone: str = "UTC"
    week_start: str = "monday"
    fiscal_year_start_month: int = 1
    retail_calendar: str = "none"

    @classmethod
    def of(cls, settings: Any) -> Calendar:
        """From TenantSettings (or anything with the same attributes / keys)."""
        get = settings.get if isinstance(settings, Mapping) else \
            lambda k, d=None: getattr(settings, k, d)
        return cls(str(get("time_zone", "UTC") or "UTC"),
                   str(get("week_start", "monday") or "monday"),
                   int(get("fiscal_year_start_month", 1) or 1),
                   str(get("retail_calendar", "none") or "none"))

    @property
    def retail(self) -> bool:
        return self.retail_calendar in _PATTERNS

    @property
    def fiscal(self) -> bool:
        return self.retail or self.fiscal_year_start_month != 1

    def describe(self) -> dict[str, Any]:
        """The calendar as metrics and forecasts name it in their answers."""
        return {"time_zone": self.time_zone, "week_start": self.week_start,
                "fiscal_year_start_month": self.fiscal_year_start_month,
                "retail_calendar": self.retail_calendar}

    # ---------------------------------------------------------------- periods

    def week_start_of(self, d: date) -> date:
        offset = (d.weekday() + 1) % 7 if self.week_start == "sunday" else d.weekday()
        return d - timedelta(days=offset)

    def fiscal_year(self, d: date) -> int:
        """The fiscal year `d` belongs to (named as the module says)."""
        if self.retail:
            year = d.year + 1
            while self.retail_year_start(year) > d:
                year -= 1
            return year
        start_month = self.fiscal_year_start_month
        return d.year + (1 if start_month != 1 and d.month >= start_month else 0)

    def fiscal_year_start(self, fy: int) -> date:
        if self.retail:
            return self.retail_year_start(fy)
        m = self.fiscal_year_start_month
        return date(fy if m == 1 else fy - 1, m, 1)

    def retail_year_start(self, fy: int) -> date:
        """First day of retail year `fy`: the week-start day nearest to the first day
        of the fiscal start month (in the calendar year the year mostly lies in)."""
        return _retail_start(self.week_start, self.fiscal_year_start_month, fy)

    def _retail_periods(self, fy: int) -> list[date]:
        """The 12 period starts of retail year fy."""
        return list(_retail_periods(self.week_start, self.fiscal_year_start_month,
                                    self.retail_calendar, fy))

    def bucket(self, d: date, grain: str) -> date:
        """The first day of the period of `grain` that holds `d`."""
        if grain == "day":
            return d
        if grain == "week":
            return self.week_start_of(d)
        if self.retail:
            fy = self.fiscal_year(d)
            starts = self._retail_periods(fy)
            if grain == "year":
                return starts[0]
            if grain == "quarter":
                starts = starts[::3]
            return max(s for s in starts if s <= d)
        if grain == "month":
            return d.replace(day=1)
        shift = self.fiscal_year_start_month - 1
        months = d.year * 12 + d.month - 1 - shift
        size = 3 if grain == "quarter" else 12
        months = months - months % size + shift
        return date(months // 12, months % 12 + 1, 1)

    def next_start(self, start: date, grain: str) -> date:
        """The first day of the period after the one starting on `start`."""
        if grain == "day":
            return start + timedelta(days=1)
        if grain == "week":
            return start + timedelta(days=7)
        if self.retail:
            fy = self.fiscal_year(start)
            starts = [*self._retail_periods(fy), self.retail_year_start(fy + 1)]
            step = {"month": 1, "quarter": 3, "year": 12}[grain]
            return starts[min(starts.index(start) + step, 12)]
        months = {"month": 1, "quarter": 3, "year": 12}[grain]
        total = start.year * 12 + start.month - 1 + months
        return date(total // 12, total % 12 + 1, 1)

    def spine(self, start: date, end: date, grain: str) -> list[date]:
        """The first day of every period touching [start, end], in order."""
        out: list[date] = []
        cur = self.bucket(start, grain)
        while cur <= end:
            out.append(cur)
            cur = self.next_start(cur, grain)
        return out

    def label(self, period: date, grain: str) -> str:
        """How a period reads on the dashboard, in exports and forecast horizons."""
        if grain == "day":
            return period.isoformat()
        if grain == "week":
            return f"Week of {period.isoformat()}"
        fy = self.fiscal_year(period)
        if grain == "year":
            return f"FY{fy}" if self.fiscal else str(fy)
        if self.retail:
            index = self._retail_periods(fy).index(self.bucket(period, "month"))
            if grain == "quarter":
                return f"FY{fy} Q{index // 3 + 1}"
            return f"FY{fy} P{index + 1:02d}"
        if grain == "quarter":
            months = (period.month - self.fiscal_year_start_month) % 12
            quarter = months // 3 + 1
            return f"FY{fy} Q{quarter}" if self.fiscal else f"{fy} Q{quarter}"
        return f"{_MONTHS[period.month - 1]} {period.year}"

    def year_ago(self, start: date, end: date) -> tuple[date, date]:
        """The same period a year earlier (see the module's rules)."""
        if self.retail:
            fy = self.fiscal_year(start)
            offset = start - self.retail_year_start(fy)
            ya_start = self.retail_year_start(fy - 1) + offset
            return ya_start, ya_start + (end - start)
        return _year_before(start), _year_before(end)


def _year_before(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


@lru_cache(maxsize=512)
def _retail_start(week_start: str, month: int, fy: int) -> date:
    anchor = date(fy if month == 1 else fy - 1, month, 1)
    weekday = 6 if week_start == "sunday" else 0
    back = (anchor.weekday() - weekday) % 7
    return anchor - timedelta(days=back) if back <= 3 else anchor + timedelta(days=7 - back)


@lru_cache(maxsize=512)
def _retail_periods(week_start: str, month: int, pattern: str, fy: int) -> tuple[date, ...]:
    weeks = _PATTERNS[pattern] * 4
    cur = _retail_start(week_start, month, fy)
    out = []
    for w in weeks:
        out.append(cur)
        cur += timedelta(weeks=w)
    return tuple(out)
