"""The metric SQL, written once in BigQuery Standard SQL.

The canonical table appears as `{business_data}` (the warehouse adapter qualifies it)
and every value is an @parameter. The only text assembled here comes from fixed
tables in this module and shared.schema (dimension names, grains, period names),
never from a request: filter values become `@f_<dimension>_<n>` parameters.
"""
# The f-strings below join fixed fragments only (see above), hence:
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from shared import errors
from shared.calendars import Calendar
from shared.schema import DIMENSIONS

if TYPE_CHECKING:
    from shared.metrics.fields import Params
    from shared.metrics.selection import Selection

TABLE = "business_data"
PERIOD_NAMES = ("current", "previous", "year_ago")

# Orders are distinct order ids; a line without an order id counts as its own order.
ORDERS = "COUNT(DISTINCT {p}order_id) + COUNTIF({p}order_id IS NULL)"

_BUCKETS = {
    "day": "occurred_date",
    "week": "DATE_TRUNC(occurred_date, ISOWEEK)",
    "week_sunday": "DATE_TRUNC(occurred_date, WEEK(SUNDAY))",
    "month": "DATE_TRUNC(occurred_date, MONTH)",
    # A fiscal quarter / year starting in month m + 1: shift the date back m months,
    # truncate, shift forward again (m = 0 for the calendar quarter / year).
    "quarter": "DATE_ADD(DATE_TRUNC(DATE_SUB(occurred_date, INTERVAL @fiscal_shift MONTH), "
               "QUARTER), INTERVAL @fiscal_shift MONTH)",
    "year": "DATE_ADD(DATE_TRUNC(DATE_SUB(occurred_date, INTERVAL @fiscal_shift MONTH), "
            "YEAR), INTERVAL @fiscal_shift MONTH)",
}
# Retail periods (whole weeks, 52 or 53 a year) follow no date arithmetic BigQuery
# has: the date is compared with the period starts in the range, given as parameters.
# Far below the 10,000 parameters a BigQuery query may have
# (https://cloud.google.com/bigquery/quotas#query_jobs), and more than the retail
# months between 1900 and 2200, the dates an ingest accepts.
MAX_BOUNDARIES = 3700


def bucket_expression(grain: str, calendar: Calendar, start: date, end: date
                      ) -> tuple[str, dict[str, Any]]:
    """The SQL of the first day of `grain`'s period holding occurred_date, on the
    tenant's calendar (shared.calendars), and its parameters."""
    if grain == "week":
        return _BUCKETS["week_sunday" if calendar.week_start == "sunday" else "week"], {}
    if grain in ("month", "quarter", "year") and calendar.retail:
        starts = calendar.spine(start, end, grain)
        if len(starts) > MAX_BOUNDARIES:
            raise errors.InvalidInput(f"the range is too long for grain '{grain}'",
                                      code="range_too_long",
                                      details={"field": "grain",
                                               "limit_points": MAX_BOUNDARIES})
        names = [f"b_{i}" for i in range(len(starts))]
        whens = " ".join(f"WHEN occurred_date >= @{n} THEN @{n}" for n in reversed(names))
        return f"CASE {whens} END", dict(zip(names, starts, strict=True))
    if grain in ("quarter", "year"):
        return _BUCKETS[grain], {"fiscal_shift": calendar.fiscal_year_start_month - 1}
    return _BUCKETS[grain], {}

_SCOPE = "tenant_id = @tenant_id AND dataset_id = @dataset_id"

BOUNDS_SQL = f"""
SELECT MIN(occurred_date) AS first_date, MAX(occurred_date) AS last_date,
       COUNT(*) AS line_count
FROM {{business_data}}
WHERE {_SCOPE}
"""


def filter_clause(filters: Mapping[str, Sequence[str]]) -> tuple[str, dict[str, Any]]:
    """`AND <dim> IN (@f_<dim>_0, ...)` for each filtered dimension, and its params."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    for dim in DIMENSIONS:  # fixed order and names from the schema only
        values = filters.get(dim)
        if not values:
            continue
        names = [f"f_{dim}_{i}" for i in range(len(values))]
        params.update(zip(names, values, strict=True))
        parts.append(f"AND {dim} IN ({', '.join('@' + n for n in names)})")
    unknown = set(filters) - set(DIMENSIONS)
    if unknown:  # the view validation rejects these first; this is the last line
        raise ValueError(f"not a dimension: {sorted(unknown)}")
    return "\n  ".join(parts), params


def _extend(where: str, params: dict[str, Any], sel: Selection | None,
            have: Sequence[str]) -> tuple[str, str, Params, Selection | None]:
    """The selection's filter clause appended to `where`, the extra CTE columns it
    needs (fixed names only, those not in `have`), and the shared parameters."""
    from shared.metrics.fields import Params

    p = Params(params)
    if sel is None:
        return where, "", p, None
    extra = "".join(f", `{c}`" for c in sel.columns() if c not in have)
    clause = sel.where(p)
    return (where + ("\n  " + clause if clause else "")), extra, p, sel


def bounds(tenant_id: str, dataset_id: str) -> tuple[str, dict[str, Any]]:
    return BOUNDS_SQL, {"tenant_id": tenant_id, "dataset_id": dataset_id}


def kpis(tenant_id: str, dataset_id: str, filters: Mapping[str, Sequence[str]],
         ranges: Mapping[str, tuple[date, date]], sel: Selection | None = None
         ) -> tuple[str, dict[str, Any]]:
    """One row: revenue/orders/units/customers/new customers/line count for each of
    the periods current, previous and year_ago (columns `<measure>_<period>`).
    A customer is new in a period when their first purchase (under the same
    filters, over the whole history) falls inside it."""
    where, params = filter_clause(filters)
    params.update({"tenant_id": tenant_id, "dataset_id": dataset_id})
    where, more, p, sel = _extend(where, params, sel,
                                  ("amount", "quantity", "order_id", "customer"))
    cols: list[str] = []
    for name in PERIOD_NAMES:
        s, e = f"@{name}_start", f"@{name}_end"
        params[f"{name}_start"], params[f"{name}_end"] = ranges[name]
        inside = f"l.d BETWEEN {s} AND {e}"
        cols += [
            f"SUM(IF({inside}, l.amount, NULL)) AS revenue_{name}",
            f"COUNT(DISTINCT IF({inside}, l.order_id, NULL))"
            f" + COUNTIF({inside} AND l.order_id IS NULL) AS orders_{name}",
            f"SUM(IF({inside}, l.quantity, NULL)) AS units_{name}",
            f"COUNT(DISTINCT IF({inside}, l.customer, NULL)) AS customers_{name}",
            f"COUNT(DISTINCT IF({inside} AND f.first_date >= {s}, l.customer, NULL))"
            f" AS new_customers_{name}",
            f"COUNTIF({inside}) AS lines_{name}",
        ]
        if sel is not None:
            cols += sel.aggregates(p, inside, f"_{name}", prefix="l.")
    params["window_start"] = min(r[0] for r in ranges.values())
    select = ",\n  ".join(cols)
    sql = f"""
WITH history AS (
  SELECT occurred_date AS d, amount, quantity, order_id, customer{more}
  FROM {{business_data}}
  WHERE {_SCOPE} AND occurred_date <= @current_end
  {where}
),
firsts AS (
  SELECT customer, MIN(d) AS first_date
  FROM history WHERE customer IS NOT NULL GROUP BY customer
)
SELECT
  {select}
FROM history AS l
LEFT JOIN firsts AS f ON f.customer = l.customer
WHERE l.d >= @window_start
"""
    return sql, params


def series(tenant_id: str, dataset_id: str, filters: Mapping[str, Sequence[str]],
           grain: str, start: date, end: date, sel: Selection | None = None,
           calendar: Calendar | None = None
           ) -> tuple[str, dict[str, Any]]:
    """Revenue, orders, units and distinct customers per period (`bucket` is the
    first day of the day / week / month / quarter / year on the tenant's calendar).
    Periods without data are absent here; the series module fills the spine."""
    bucket, bucket_params = bucket_expression(grain, calendar or Calendar(), start, end)
    where, params = filter_clause(filters)
    params.update(bucket_params)
    params.update({"tenant_id": tenant_id, "dataset_id": dataset_id,
                   "range_start": start, "range_end": end})
    where, _, p, sel = _extend(where, params, sel, ())
    measured = "".join(f",\n  {c}" for c in sel.aggregates(p, None, "")) if sel else ""
    sql = f"""
SELECT {bucket} AS bucket,
  SUM(amount) AS revenue,
  {ORDERS.format(p="")} AS orders,
  SUM(quantity) AS units,
  COUNT(DISTINCT customer) AS customers{measured}
FROM {{business_data}}
WHERE {_SCOPE} AND occurred_date BETWEEN @range_start AND @range_end
  {where}
GROUP BY bucket
ORDER BY bucket
"""
    return sql, params


def breakdowns(tenant_id: str, dataset_id: str, filters: Mapping[str, Sequence[str]],
               cur: tuple[date, date], prev_start: date, top: int,
               movers: int = 3, sel: Selection | None = None) -> tuple[str, dict[str, Any]]:
    """For every dimension: the top values by current revenue with their previous
    revenue and ranks, plus the `movers` values whose revenue changed most (for
    insights), plus per-dimension totals for the concentration of the top 10%."""
    where, params = filter_clause(filters)
    params.update({"tenant_id": tenant_id, "dataset_id": dataset_id, "cur_start": cur[0],
                   "cur_end": cur[1], "prev_start": prev_start, "top": top,
                   "movers": movers})
    cols = ", ".join(DIMENSIONS)
    where, more, p, sel = _extend(where, params, sel, (*DIMENSIONS, "amount"))
    dims = [(f"'{dim}'", dim) for dim in DIMENSIONS]
    brk = sel.breakdown_ref(p) if sel else None
    if brk is not None:
        more += f", {brk} AS b_field"
        dims.append(("'_field'", "b_field"))
    measured, sort = "", "revenue"
    if sel is not None and sel.keys:
        measured = "".join(f",\n    {c}" for c in
                           sel.aggregates(p, "d >= @cur_start", "_cur")
                           + sel.aggregates(p, "d < @cur_start", "_prev"))
        if sel.measure is not None:
            sort = "m_m_cur"
    keys = "".join(f", m_{k}_cur, m_{k}_prev" for k, _ in (sel.keys if sel else []))
    per_dim = "\n  UNION ALL\n  ".join(
        f"""SELECT {label} AS dimension, {col} AS item,
    SUM(IF(d >= @cur_start, amount, 0)) AS revenue,
    SUM(IF(d < @cur_start, amount, 0)) AS prev_revenue,
    COUNTIF(d >= @cur_start) AS cur_lines,
    COUNTIF(d < @cur_start) AS prev_lines{measured}
  FROM lines WHERE {col} IS NOT NULL GROUP BY {col}"""
        for label, col in dims)
    sql = f"""
WITH lines AS (
  SELECT occurred_date AS d, amount, {cols}{more}
  FROM {{business_data}}
  WHERE {_SCOPE} AND occurred_date BETWEEN @prev_start AND @cur_end
  {where}
),
per_item AS (
  {per_dim}
),
ranked AS (
  SELECT dimension, item, revenue, prev_revenue, cur_lines, prev_lines{keys},
    IF(cur_lines > 0, ROW_NUMBER() OVER (PARTITION BY dimension, cur_lines > 0
                                         ORDER BY {sort} DESC, item), NULL) AS rnk,
    IF(prev_lines > 0, ROW_NUMBER() OVER (PARTITION BY dimension, prev_lines > 0
                                          ORDER BY prev_revenue DESC, item), NULL) AS prev_rnk,
    ROW_NUMBER() OVER (PARTITION BY dimension
                       ORDER BY ABS(revenue - prev_revenue) DESC, item) AS mover_rnk,
    SUM(IF(cur_lines > 0, 1, 0)) OVER (PARTITION BY dimension) AS n_items
  FROM per_item
)
SELECT dimension, item, revenue, prev_revenue{keys}, rnk, prev_rnk, mover_rnk, n_items,
  SUM(IF(rnk <= CEIL(n_items / 10), revenue, 0)) OVER (PARTITION BY dimension)
    AS top_decile_revenue,
  SUM(IF(cur_lines > 0, revenue, 0)) OVER (PARTITION BY dimension) AS dimension_revenue
FROM ranked
WHERE TRUE
QUALIFY rnk <= @top OR mover_rnk <= @movers
ORDER BY dimension, rnk
"""
    return sql, params
