"""Time series over a complete date spine: every day / ISO week / month of the range
is present, and a period without data carries zeros rather than being absent."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

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


def bucket(d: date, grain: str) -> date:
    if grain == "week":
        return d - timedelta(days=d.weekday())
    if grain == "month":
        return d.replace(day=1)
    return d


def spine(start: date, end: date, grain: str) -> list[date]:
    """The first day of every period touching [start, end], in order."""
    out: list[date] = []
    cur = bucket(start, grain)
    while cur <= end:
        out.append(cur)
        if grain == "day":
            cur += timedelta(days=1)
        elif grain == "week":
            cur += timedelta(days=7)
        else:
            cur = date(cur.year + cur.month // 12, cur.month % 12 + 1, 1)
    return out


def fill(rows: Iterable[Mapping[str, Any]], start: date, end: date, grain: str
         ) -> list[dict[str, Any]]:
    """Rows of the series query (`bucket` + measures) on the full spine."""
    found = {as_date(r["bucket"]): r for r in rows}
    out = []
    for period in spine(start, end, grain):
        r = found.get(period, {})
        point: dict[str, Any] = {"period": period.isoformat()}
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
