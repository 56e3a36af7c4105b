"""Cohorts and retention: customers grouped by the period (month or ISO week) of their
first purchase; for each cohort and each following period the share of its customers
who bought and the revenue per cohort customer; the repeat-purchase rate and the time
between purchases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shared.customers.history import purchases

# Enough periods for two years of monthly or half a year of weekly cohorts; older
# cohorts still count in the KPIs, the heatmap shows the recent ones.
MAX_COHORTS = {"month": 24, "week": 26}


def period_start(days: pd.Series, grain: str) -> pd.Series:
    if grain == "month":
        return days.dt.to_period("M").dt.start_time
    return (days - pd.to_timedelta(days.dt.day_of_week, unit="D")).dt.normalize()


def period_index(start: pd.Series, cohort: pd.Series, grain: str) -> pd.Series:
    if grain == "month":
        return (start.dt.year - cohort.dt.year) * 12 + (start.dt.month - cohort.dt.month)
    return (start - cohort).dt.days // 7


def cohorts(days: pd.DataFrame, grain: str) -> list[dict[str, Any]]:
    """[{cohort, customers, retention: [share per period 0..], revenue_per_customer}],
    the newest MAX_COHORTS cohorts, oldest first. Period 0 is the first purchase's
    period (share 1 by definition); revenue includes refunds netted on any day."""
    bought = purchases(days)
    if bought.empty:
        return []
    first = bought.groupby("customer")["day"].min()
    cohort_of = period_start(first, grain)
    frame = days.assign(cohort=days["customer"].map(cohort_of))
    frame = frame[frame["cohort"].notna()]
    frame = frame.assign(period=period_index(period_start(frame["day"], grain),
                                             frame["cohort"], grain))
    frame = frame[frame["period"] >= 0]  # a refund before the first purchase
    sizes = cohort_of.value_counts().sort_index()
    active = (frame[frame["purchase"]].groupby(["cohort", "period"])["customer"]
              .nunique())
    revenue = frame.groupby(["cohort", "period"])["net"].sum()
    last_period = period_start(days["day"], grain).max()
    out = []
    for cohort, size in sizes.iloc[-MAX_COHORTS[grain]:].items():
        span = int(period_index(pd.Series([last_period]), pd.Series([cohort]), grain)[0]) + 1
        shares, money = [], []
        for p in range(span):
            shares.append(round(float(active.get((cohort, p), 0)) / size, 4))
            money.append(round(float(revenue.get((cohort, p), 0.0)) / size, 2))
        out.append({"cohort": str(cohort)[:10], "customers": int(size),
                    "retention": shares, "revenue_per_customer": money})
    return out


def kpis(days: pd.DataFrame) -> dict[str, Any]:
    """Repeat-purchase rate (customers with two or more purchase days over customers
    with one) and the median and mean days between a customer's consecutive
    purchases."""
    bought = purchases(days)
    counts = bought.groupby("customer").size()
    gaps = bought.groupby("customer")["day"].diff().dt.days.dropna()
    customers = len(counts)
    return {
        "customers": customers,
        "repeat_customers": int((counts >= 2).sum()),
        "repeat_purchase_rate": round(float((counts >= 2).mean()), 4) if customers else None,
        "median_days_between_purchases": float(np.median(gaps)) if len(gaps) else None,
        "mean_days_between_purchases": round(float(gaps.mean()), 2) if len(gaps) else None,
        "purchases_per_customer": round(float(counts.mean()), 4) if customers else None,
    }
