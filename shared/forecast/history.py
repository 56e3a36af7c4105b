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
from shared.schema import DIMENSIONS

if TYPE_CHECKING:
    from shared.bootstrap import Deps

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


def _bounds(deps: Deps, tenant_id: str, req: PredictionRequest) -> tuple[date, date]:
    from shared.metrics import queries, series

    sql, params = queries.bounds(tenant_id, req.dataset_id)
    rows = deps.warehouse.query(sql, params)
    if not rows or not rows[0].get("line_count") or rows[0].get("first_date") is None:
        raise errors.NotFound(f"dataset '{req.dataset_id}' has no rows to forecast from",
                              code="no_history", details={"field": "dataset"})
    return series.as_date(rows[0]["first_date"]), series.as_date(rows[0]["last_date"])


def window_start(first: date, last: date, grain: str) -> date:
    """The first day the kept history (MAX_PERIODS) can reach back to."""
    from shared.metrics import series

    periods = series.spine(first, last, grain)[-MAX_PERIODS[grain]:]
    return max(first, periods[0]) if periods else first


# Revenue per value of one dimension over the history window; the dimension name comes
# from shared.schema.DIMENSIONS (checked below), never from the request's text.
_TOP_SQL = """
SELECT {dim} AS item, SUM(amount) AS revenue
FROM {{business_data}}
WHERE tenant_id = @tenant_id AND dataset_id = @dataset_id
  AND occurred_date BETWEEN @range_start AND @range_end AND {dim} IS NOT NULL
  {where}
GROUP BY item
ORDER BY revenue DESC, item
LIMIT @top
"""


def top_values(deps: Deps, tenant_id: str, req: PredictionRequest, dimension: str,
               top: int) -> list[tuple[str, float]]:
    """The `top` values of `dimension` by revenue over the history window (the
    request's filters applied), largest first; fewer when the dimension has fewer."""
    from shared.metrics import queries

    if dimension not in DIMENSIONS:
        raise ValueError(f"not a dimension: {dimension!r}")
    first, last = _bounds(deps, tenant_id, req)
    where, params = queries.filter_clause(req.filters)
    params.update({"tenant_id": tenant_id, "dataset_id": req.dataset_id,
                   "range_start": window_start(first, last, req.grain),
                   "range_end": last, "top": top})
    rows = deps.warehouse.query(_TOP_SQL.format(dim=dimension, where=where), params)
    return [(str(r["item"]), float(r["revenue"] or 0.0)) for r in rows]


def load(deps: Deps, tenant_id: str, req: PredictionRequest) -> list[tuple[date, float]]:
    """[(period start, value)] oldest first; NotFound when there is nothing to fit."""
    from shared.metrics import queries, series

    first, last = _bounds(deps, tenant_id, req)
    sql, params = queries.series(tenant_id, req.dataset_id, req.filters, req.grain,
                                 first, last)
    points = series.fill(deps.warehouse.query(sql, params), first, last, req.grain)
    values = [(date.fromisoformat(p["period"]), float(p[req.measure])) for p in points]
    if len(values) > 1 and values[0][0] < first:
        values = values[1:]
    if len(values) > 1 and period_end(values[-1][0], req.grain) > last:
        values = values[:-1]
    return values[-MAX_PERIODS[req.grain]:]
