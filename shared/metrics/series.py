"""Time series over a complete date spine: every day / week / month / quarter / year
of the range, on the tenant's calendar (shared.calendars), is present, and a period
without data carries zeros rather than being absent. Each point carries its label
("FY2025 Q1", "Week of 2024-07-07")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.calendars import Calendar

MEASURES = ("revenue", "orders", "units", "customers")
_INTS = ("orders", "customers")


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def num(value: Any) -> float | None:
    """Warehouse numbers (NUMERIC arrives as Decimal) as floats at the edge."""
    if value is None:
        return None
    if isinstance(value, Decimal | int | float):
        return float(value)
    return float(value)


def bucket(d: date, grain: str, calendar: Calendar | None = None) -> date:
    return (calendar or Calendar()).bucket(d, grain)


def spine(start: date, end: date, grain: str, calendar: Calendar | None = None
          ) -> list[date]:
    """The first day of every period touching [start, end], in order."""
    if grain == "day":
        return [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return (calendar or Calendar()).spine(start, end, grain)


def fill(rows: Iterable[Mapping[str, Any]], start: date, end: date, grain: str,
         calendar: Calendar | None = None) -> list[dict[str, Any]]:
    """Rows of the series query (`bucket` + measures) on the full spine."""
    cal = calendar or Calendar()
    found = {as_date(r["bucket"]): r for r in rows}
    out = []
    for period in spine(start, end, grain, cal):
        r = found.get(period, {})
        point: dict[str, Any] = {"period": period.isoformat(),
                                 "label": cal.label(period, grain)}
        for m in MEASURES:
            v = num(r.get(m)) or 0.0
            point[m] = int(v) if m in _INTS else v
        out.append(point)
    return out


def daily_values(rows: Iterable[Mapping[str, Any]], start: date, end: date, measure: str
                 ) -> list[tuple[date, float]]:
    """One measure of a daily series query, zero-filled over [start, end]."""
    found = {as_date(r["bucket"]): num(r.get(measure)) or 0.0 for r in rows}
    return [(d, found.get(d, 0.0)) for d in spine(start, end, "day")]
