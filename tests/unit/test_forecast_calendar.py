"""The forecast calendar: the holidays of the tenant's country from the `holidays`
package (observed days included), built once per (country, years), and no holiday
columns at all without a country."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import numpy as np
import pytest

from shared.forecast import calendar
from shared.forecast.request import PredictionRequest


@pytest.mark.parametrize("country", ["FR", "US"])
def test_daily_holiday_flags_are_the_packages_holidays(country):
    start = date(2021, 1, 1)
    n = (date(2024, 12, 31) - start).days + 1
    rows = calendar.features(start, "day", country)(np.arange(n))
    expected = holidays.country_holidays(country, years=range(2021, 2025))
    flagged = {start + timedelta(days=int(i)) for i in np.flatnonzero(rows[:, 2])}
    assert flagged == {d for d in expected if start <= d <= date(2024, 12, 31)}
    # the day-next-to-a-holiday flag never marks a holiday itself
    assert not np.any((rows[:, 2] == 1) & (rows[:, 3] == 1))


def test_the_two_countries_differ_where_their_holidays_do():
    start = date(2024, 7, 1)
    us = calendar.features(start, "day", "US")(np.arange(20))
    fr = calendar.features(start, "day", "FR")(np.arange(20))
    assert us[3, 2] == 1 and fr[3, 2] == 0      # 4 July
    assert fr[13, 2] == 1 and us[13, 2] == 0    # 14 July, Fête nationale
    # Whit Monday 2024 (20 May) is a French public holiday, not a US one
    assert date(2024, 5, 20) in calendar.holiday_dates("FR", (2024,))
    assert date(2024, 5, 20) not in calendar.holiday_dates("US", (2024,))


def test_weekly_rows_count_the_countrys_holidays_in_each_week():
    start = date(2024, 4, 29)  # a Monday
    fr = calendar.features(start, "week", "FR")(np.arange(4))
    us = calendar.features(start, "week", "US")(np.arange(4))
    # 1 May; 8 May and Ascension (9 May); none; Whit Monday (20 May)
    assert fr[:, 2].tolist() == [1.0, 2.0, 0.0, 1.0]
    assert us[:, 2].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_without_a_country_the_holiday_columns_drop_out():
    day = calendar.features(date(2024, 7, 1), "day")(np.arange(10))
    week = calendar.features(date(2024, 7, 1), "week")(np.arange(10))
    assert day.shape == (10, 2) and week.shape == (10, 2)
    assert day[:, 0].tolist()[:7] == [0, 1, 2, 3, 4, 5, 6]
    with_country = calendar.features(date(2024, 7, 1), "day", "US")(np.arange(10))
    assert with_country.shape == (10, 4)
    np.testing.assert_array_equal(with_country[:, :2], day)


def test_a_countrys_calendar_is_built_once_per_years():
    calendar.holiday_dates.cache_clear()
    for _ in range(3):
        calendar.features(date(2023, 1, 2), "day", "DE")(np.arange(400))
    info = calendar.holiday_dates.cache_info()
    assert info.misses == 1 and info.hits == 2


def test_a_day_beyond_the_covered_years_still_gets_its_holidays():
    rows = calendar.features(date(2020, 1, 1), "day", "US")
    far = (date(2031, 7, 4) - date(2020, 1, 1)).days
    assert rows(np.array([far]))[0, 2] == 1


def test_a_change_of_holiday_country_changes_the_forecast_keys():
    req = PredictionRequest("ds_sales", "revenue", "day", 28)
    keys = {req.with_country(c).key() for c in (None, "US", "FR")}
    versioned = {req.with_country(c).key(3) for c in (None, "US", "FR")}
    assert len(keys) == 3 and len(versioned) == 3
    assert req.with_country("FR").key() == req.with_country("FR").key()
