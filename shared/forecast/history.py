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


def bounds(deps: Deps, tenant_id: str, req: PredictionRequest) -> tuple[date, date]:
    """The dataset's first and last dates; NotFound when it has no rows."""
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


# The top values of one dimension by revenue over the history window, and their
# measures per period over the whole range, in one query (the series of the metrics
# module's `series` query, grouped by value too). The dimension name comes from
# shared.schema.DIMENSIONS (checked below), never from the request's text.
_TOP_SERIES_SQL = """
WITH top_items AS (
  SELECT {dim} AS item, SUM(amount) AS item_revenue
  FROM {{business_data}}
  WHERE tenant_id = @tenant_id AND dataset_id = @dataset_id
    AND occurred_date BETWEEN @window_start AND @range_end AND {dim} IS NOT NULL
    {where}
  GROUP BY item
  ORDER BY item_revenue DESC, item
  LIMIT @top
)
SELECT t.item AS item, t.item_revenue AS item_revenue, {bucket} AS bucket,
  SUM(b.amount) AS revenue,
  {orders} AS orders,
  SUM(b.quantity) AS units,
  COUNT(DISTINCT b.customer) AS customers
FROM {{business_data}} AS b JOIN top_items AS t ON b.{dim} = t.item
WHERE b.tenant_id = @tenant_id AND b.dataset_id = @dataset_id
  AND b.occurred_date BETWEEN @range_start AND @range_end
  {where_b}
GROUP BY item, item_revenue, bucket
"""


def load_top(deps: Deps, tenant_id: str, req: PredictionRequest, dimension: str,
             top: int, known: tuple[date, date] | None = None,
             calendar: Calendar | None = None,
             ) -> list[tuple[str, float, list[tuple[date, float]]]]:
    """[(value, revenue over the history window, its history as `load` gives it)] for
    the `top` values of `dimension` by that revenue (the request's filters applied),
    largest first; fewer when the dimension has fewer values. `known`: the dataset's
    bounds when the caller read them already (the forecast task, once per version)."""
    from shared.calendars import Calendar
    from shared.metrics import queries, series

    cal = calendar or Calendar()
    if dimension not in DIMENSIONS:
        raise ValueError(f"not a dimension: {dimension!r}")
    first, last = known or bounds(deps, tenant_id, req)
    where, params = queries.filter_clause(req.filters)
    params.update({"tenant_id": tenant_id, "dataset_id": req.dataset_id,
                   "window_start": window_start(first, last, req.grain),
                   "range_start": first, "range_end": last, "top": top})
    # The periods of the tenant's calendar (its week start), as the metrics series;
    # `occurred_date` is the joined rows' (top_items has no such column).
    bucket, bucket_params = queries.bucket_expression(req.grain, cal, first, last)
    params.update(bucket_params)
    sql = _TOP_SERIES_SQL.format(
        # each filter fragment is "AND <dimension> IN (@params)": qualified for the join
        dim=dimension, where=where, where_b=where.replace("AND ", "AND b."),
        bucket=bucket, orders=queries.ORDERS.format(p="b."))
    by_item: dict[str, list[dict]] = {}
    revenue: dict[str, float] = {}
    for row in deps.warehouse.query(sql, params):
        item = str(row["item"])
        by_item.setdefault(item, []).append(row)
        revenue[item] = float(row["item_revenue"] or 0.0)
    ranked = sorted(revenue, key=lambda i: (-revenue[i], i))
    return [(item, revenue[item],
             _trim(series.fill(by_item[item], first, last, req.grain, cal), first, last, req))
            for item in ranked]


def _trim(points: list[dict], first: date, last: date,
          req: PredictionRequest) -> list[tuple[date, float]]:
    values = [(date.fromisoformat(p["period"]), float(p[req.measure])) for p in points]
    if len(values) > 1 and values[0][0] < first:
        values = values[1:]
    if len(values) > 1 and period_end(values[-1][0], req.grain) > last:
        values = values[:-1]
    return values[-MAX_PERIODS[req.grain]:]


def load(deps: Deps, tenant_id: str, req: PredictionRequest,
         calendar: Calendar | None = None) -> list[tuple[date, float]]:
    """[(period start, value)] oldest first, weeks from the tenant's week start;
    NotFound when there is nothing to fit."""
    from shared.metrics import queries, series

    first, last = bounds(deps, tenant_id, req)
    sql, params = queries.series(tenant_id, req.dataset_id, req.filters, req.grain,
                                 first, last, calendar=calendar)
    return _trim(series.fill(deps.warehouse.query(sql, params), first, last, req.grain,
                             calendar), first, last, req)
