"""The history a forecast is fitted on: one measure per period over a complete date
spine (zeros where nothing happened), read through the metrics module's series query
so the dashboard and the forecast agree on every number.

Partial periods at either end (a month the data starts or stops in the middle of)
are dropped: their totals look like a collapse that did not happen.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from shared import errors
from shared.forecast.request import PredictionRequest

if TYPE_CHECKING:
    from shared.bootstrap import Deps
    from shared.calendars import Calendar

# The most recent periods kept: enough for several seasons, bounded fit time.
MAX_PERIODS = {"day": 3 * 365, "week": 5 * 52, "month": 10 * 12}


def period_end(start: date, grain: str) -> date:
    if grain == "day":
        return start
    if grain == "week":
        return start + timedelta(days=6)
    nxt = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def next_periods(last: date, grain: str, h: int) -> list[date]:
    out, cur = [], last
    for _ in range(h):
        cur = period_end(cur, grain) + timedelta(days=1)
        out.append(cur)
    return out


def load(deps: Deps, tenant_id: str, req: PredictionRequest,
         calendar: Calendar | None = None) -> list[tuple[date, float]]:
    """[(period start, value)] oldest first, weeks from the tenant's week start;
    NotFound when there is nothing to fit."""
    from shared.metrics import queries, series

    sql, params = queries.bounds(tenant_id, req.dataset_id)
    rows = deps.warehouse.query(sql, params)
    if not rows or not rows[0].get("line_count") or rows[0].get("first_date") is None:
        raise errors.NotFound(f"dataset '{req.dataset_id}' has no rows to forecast from",
                              code="no_history", details={"field": "dataset"})
    first, last = series.as_date(rows[0]["first_date"]), series.as_date(rows[0]["last_date"])
    sql, params = queries.series(tenant_id, req.dataset_id, req.filters, req.grain,
                                 first, last, calendar=calendar)
    points = series.fill(deps.warehouse.query(sql, params), first, last, req.grain,
                         calendar)
    values = [(date.fromisoformat(p["period"]), float(p[req.measure])) for p in points]
    if len(values) > 1 and values[0][0] < first:
        values = values[1:]
    if len(values) > 1 and period_end(values[-1][0], req.grain) > last:
        values = values[:-1]
    return values[-MAX_PERIODS[req.grain]:]
