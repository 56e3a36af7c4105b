"""KPIs with their comparisons: each figure for the current period, the previous
period of equal length and the same period a year ago, with percentage changes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.metrics.queries import PERIOD_NAMES
from shared.metrics.series import num

KPI_NAMES = ("revenue", "orders", "units", "aov", "customers", "new_customers",
             "returning_customers", "revenue_per_customer")


def pct_change(value: float | None, base: float | None) -> float | None:
    """Percentage change from base to value; None when it is undefined (no base, or
    a base of zero). A negative base (net refunds) is measured against its size."""
    if value is None or base is None or base == 0:
        return None
    return (value - base) / abs(base) * 100.0


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or not b:
        return None
    return a / b


def period_figures(row: Mapping[str, Any], period: str) -> dict[str, float | None]:
    """The KPI values of one period from the KPI query's row."""
    revenue = num(row.get(f"revenue_{period}")) or 0.0
    orders = int(num(row.get(f"orders_{period}")) or 0)
    units = num(row.get(f"units_{period}")) or 0.0
    customers = int(num(row.get(f"customers_{period}")) or 0)
    new = int(num(row.get(f"new_customers_{period}")) or 0)
    return {
        "revenue": revenue, "orders": orders, "units": units,
        "aov": _ratio(revenue, orders), "customers": customers, "new_customers": new,
        "returning_customers": customers - new,
        "revenue_per_customer": _ratio(revenue, customers),
    }


def build(row: Mapping[str, Any], available: Mapping[str, bool]) -> dict[str, dict[str, Any]]:
    """`available[period]` is False when that comparison period lies wholly before the
    dataset's first day: its figures are then unknown (None), not zero."""
    figures = {p: period_figures(row, p) if available.get(p, True) else None
               for p in PERIOD_NAMES}
    out: dict[str, dict[str, Any]] = {}
    for name in KPI_NAMES:
        value = figures["current"][name]  # type: ignore[index]
        prev = figures["previous"][name] if figures["previous"] else None
        ya = figures["year_ago"][name] if figures["year_ago"] else None
        out[name] = {"value": value, "previous": prev, "change_pct": pct_change(value, prev),
                     "year_ago": ya, "yoy_pct": pct_change(value, ya)}
    return out
