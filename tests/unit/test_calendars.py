"""Issue 23: the business calendar (shared.calendars) against oracles it does not share
code with: pandas' fiscal quarter periods (`Q-<MONTH>`, `Y-<MONTH>`) and its 52-53-week
fiscal year offset (`FY5253`, variation "nearest"), and the 4-4-5 / 4-5-4 / 5-4-4
periods counted week by week from the stated rule."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pandas as pd
import pytest

from shared.calendars import Calendar

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = [date(2012, 1, 1) + timedelta(days=i) for i in range(0, 365 * 8, 3)]


@pytest.mark.parametrize("start_month", range(1, 13))
def test_fiscal_quarters_and_years_match_pandas(start_month):
    cal = Calendar(fiscal_year_start_month=start_month)
    ends = MONTHS[(start_month - 2) % 12]  # the fiscal year ends the month before
    for d in DAYS:
        q = pd.Period(d, freq=f"Q-{ends}")
        y = pd.Period(d, freq=f"Y-{ends}")
        assert cal.bucket(d, "quarter") == q.start_time.date(), d
        assert cal.bucket(d, "year") == y.start_time.date(), d
        assert cal.fiscal_year(d) == q.qyear == y.year, d
        prefix = "FY" if start_month != 1 else ""
        assert cal.label(cal.bucket(d, "quarter"), "quarter") == \
            f"{prefix}{q.qyear} Q{q.quarter}"


def test_a_july_fiscal_year_labels():
    cal = Calendar(fiscal_year_start_month=7)
    assert cal.label(date(2024, 7, 1), "quarter") == "FY2025 Q1"
    assert cal.label(date(2025, 4, 1), "quarter") == "FY2025 Q4"
    assert cal.label(date(2024, 7, 1), "year") == "FY2025"
    assert Calendar().label(date(2024, 7, 1), "quarter") == "2024 Q3"


@pytest.mark.parametrize("week_start, weekday", [("monday", 0), ("sunday", 6)])
def test_weeks_start_on_the_week_start_day(week_start, weekday):
    cal = Calendar(week_start=week_start)
    for d in DAYS:
        start = cal.bucket(d, "week")
        assert start.weekday() == weekday and 0 <= (d - start).days < 7
        assert pd.Period(d, freq="W-SUN" if weekday == 0 else "W-SAT").start_time.date() \
            == start


PATTERNS = {"4-4-5": (4, 4, 5), "4-5-4": (4, 5, 4), "5-4-4": (5, 4, 4)}
RETAIL = [(pattern, week_start, month) for pattern in PATTERNS
          for week_start, month in (("sunday", 2), ("monday", 1), ("sunday", 7))]


def _oracle_year_end(d: date, week_start: str, month: int) -> date:
    """The last day of the retail year holding d, by pandas: a year that starts on the
    week-start day nearest the first of `month` ends on the day before it, which is
    the weekday before the week-start day nearest the last day of the previous month."""
    end_weekday = 5 if week_start == "sunday" else 6
    offset = pd.offsets.FY5253(weekday=end_weekday, startingMonth=(month - 2) % 12 + 1,
                               variation="nearest")
    return offset.rollforward(pd.Timestamp(d)).date()


def _oracle_period(d: date, pattern: str, week_start: str, month: int
                   ) -> tuple[int, int, date, date]:
    """(fiscal year, period 1-12, period start, year start) counted week by week from
    the year's first day; a 53rd week belongs to period 12."""
    end = _oracle_year_end(d, week_start, month)
    # The previous year ended 364 or 371 days before: 380 days back lies inside it.
    first = _oracle_year_end(end - timedelta(days=380), week_start, month) + timedelta(days=1)
    week = (d - first).days // 7
    bounds, total = [], 0
    for weeks in PATTERNS[pattern] * 4:
        bounds.append(total)
        total += weeks
    period = max(i for i, b in enumerate(bounds) if b <= week)
    # Named for the calendar year of its nominal last month, within 3 days of its end.
    return (end - timedelta(days=7)).year, period + 1, \
        first + timedelta(weeks=bounds[period]), first


@pytest.mark.parametrize("pattern, week_start, month", RETAIL)
def test_retail_periods_match_the_week_by_week_oracle(pattern, week_start, month):
    cal = Calendar(week_start=week_start, fiscal_year_start_month=month,
                   retail_calendar=pattern)
    for d in DAYS:
        fy, period, start, first = _oracle_period(d, pattern, week_start, month)
        assert cal.fiscal_year(d) == fy, d
        assert cal.bucket(d, "year") == first, d
        assert cal.bucket(d, "month") == start, d
        assert cal.label(start, "month") == f"FY{fy} P{period:02d}", d
        quarter = (period - 1) // 3 + 1
        assert cal.label(cal.bucket(d, "quarter"), "quarter") == f"FY{fy} Q{quarter}", d
        assert cal.bucket(d, "quarter") == _oracle_period(
            first + timedelta(weeks=13 * (quarter - 1)), pattern, week_start, month)[2], d


def test_nrf_years_have_52_or_53_weeks_and_2023_has_53():
    """The NRF calendar: the year ends on the Saturday nearest the end of January; its
    fiscal 2023 (named here FY2024, for its nominal last month, January 2024) ran
    29 January 2023 - 3 February 2024, 53 weeks."""
    cal = Calendar(week_start="sunday", fiscal_year_start_month=2, retail_calendar="4-4-5")
    assert cal.fiscal_year_start(2024) == date(2023, 1, 29)
    assert cal.fiscal_year_start(2025) == date(2024, 2, 4)
    spine = cal.spine(date(2023, 1, 29), date(2024, 2, 3), "month")
    assert len(spine) == 12
    assert cal.next_start(spine[-1], "month") == date(2024, 2, 4)
    assert (date(2024, 2, 4) - spine[-1]).days == 6 * 7  # 5 weeks + the 53rd
    for fy in range(2000, 2040):
        days = (cal.fiscal_year_start(fy + 1) - cal.fiscal_year_start(fy)).days
        assert days in (364, 371)


@pytest.mark.parametrize("grain", ["week", "month", "quarter", "year"])
@pytest.mark.parametrize("settings", [{}, {"fiscal_year_start_month": 7},
                                      {"week_start": "sunday", "retail_calendar": "4-5-4",
                                       "fiscal_year_start_month": 2}])
def test_spines_tile_the_range_without_gaps(grain, settings):
    cal = Calendar.of(settings)
    spine = cal.spine(date(2015, 3, 17), date(2019, 11, 2), grain)
    assert spine[0] <= date(2015, 3, 17) < cal.next_start(spine[0], grain)
    for a, b in itertools.pairwise(spine):
        assert cal.next_start(a, grain) == b
        assert cal.bucket(b - timedelta(days=1), grain) == a


def test_same_period_last_year():
    july = Calendar(fiscal_year_start_month=7)
    assert july.year_ago(date(2024, 7, 1), date(2024, 9, 30)) == (date(2023, 7, 1),
                                                                   date(2023, 9, 30))
    nrf = Calendar(week_start="sunday", fiscal_year_start_month=2, retail_calendar="4-4-5")
    start, end = nrf.year_ago(date(2024, 2, 4), date(2024, 5, 4))  # FY2025 Q1
    assert (start, end) == (date(2023, 1, 29), date(2023, 4, 29))  # FY2024 Q1
    assert start.weekday() == date(2024, 2, 4).weekday()
