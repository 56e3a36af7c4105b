"""One metrics view computed in the warehouse: a handful of queries (bounds, KPIs, the
daily series, the series at the requested grain, breakdowns), then the pure-Python
steps (spine, anomalies, insights). The result is a JSON-ready dict."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.calendars import Calendar
from shared.metrics import anomalies, breakdowns, insights, kpis, measured, queries, series
from shared.metrics.selection import FIELD_DIMENSION, Selection
from shared.metrics.view import (
    DEFAULT_TOP,
    ViewRequest,
    check_points,
    default_grain,
    periods,
    resolve_range,
)
from shared.ports import Warehouse
from shared.schema import DIMENSIONS

ANOMALY_MEASURES = ("revenue", "orders")
MAX_ANOMALIES = 20
# Under the 60 s Firebase Hosting allows a proxied request, so a slow query ends in an
# answer of ours, not Hosting's 504 (https://firebase.google.com/docs/hosting/functions).
QUERY_TIMEOUT_S = 45.0


def compute_view(warehouse: Warehouse, tenant_id: str, req: ViewRequest, *, version: int,
                 parallel: bool = False, sel: Selection | None = None,
                 calendar: Calendar | None = None) -> dict[str, Any]:
    """The full payload of one view (without `source`, which the caller sets), its
    periods on the tenant's calendar. `sel`: the measure, breakdown and field filters
    resolved against the catalog."""
    cal = calendar or Calendar()

    def run(q: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
        return warehouse.query(q[0], q[1], timeout_s=QUERY_TIMEOUT_S)

    b = run(queries.bounds(tenant_id, req.dataset_id))[0]
    first = series.as_date(b["first_date"]) if b.get("first_date") else None
    last = series.as_date(b["last_date"]) if b.get("last_date") else None
    top = req.top or DEFAULT_TOP
    filters = {k: list(v) for k, v in sorted(req.filters.items())}
    if sel is not None:
        filters.update({f.name: list(v) for f, v in sel.filters})
    base: dict[str, Any] = {
        "dataset": req.dataset_id, "version": version, "filters": filters, "top": top,
        "data_range": {"start": _iso(first), "end": _iso(last)},
        "computed_at": datetime.now(UTC).isoformat(), "calendar": cal.describe(),
    }
    rng = resolve_range(req, first, last)
    if sel is not None and sel.measure is not None:
        base["measure"] = sel.measure.echo()
    if rng is None:
        return {**base, **_empty(req.grain or "day")}
    start, end = rng
    grain = req.grain or default_grain((end - start).days + 1)
    check_points(start, end, grain)
    p = periods(start, end, cal)
    ranges = {"current": (p.start, p.end), "previous": (p.prev_start, p.prev_end),
              "year_ago": (p.ya_start, p.ya_end)}
    daily_start = start - timedelta(days=anomalies.HISTORY_DAYS)
    dims = {k: v for k, v in filters.items() if k in DIMENSIONS}
    jobs: dict[str, Callable[[], list[dict[str, Any]]]] = {
        "kpis": lambda: run(queries.kpis(tenant_id, req.dataset_id, dims, ranges, sel)),
        "daily": lambda: run(queries.series(tenant_id, req.dataset_id, dims, "day",
                                            daily_start, end, sel)),
        "breakdowns": lambda: run(queries.breakdowns(tenant_id, req.dataset_id, dims,
                                                     (start, end), p.prev_start, top,
                                                     sel=sel)),
    }
    if grain != "day":
        jobs["series"] = lambda: run(queries.series(tenant_id, req.dataset_id, dims,
                                                    grain, start, end, sel, calendar=cal))
    results = _run_all(jobs, parallel)

    available = {"current": True, "previous": first is not None and p.prev_end >= first,
                 "year_ago": first is not None and p.ya_end >= first}
    kpi = kpis.build(results["kpis"][0] if results["kpis"] else {}, available)
    if grain == "day":
        in_range = [r for r in results["daily"] if series.as_date(r["bucket"]) >= start]
        points = series.fill(in_range, start, end, "day")
    else:
        in_range = results["series"]
        points = series.fill(in_range, start, end, grain, cal)
    total = kpi["revenue"]["value"] or 0.0
    rows = results["breakdowns"]
    brk, movers = breakdowns.build([r for r in rows if r["dimension"] != FIELD_DIMENSION],
                                   total, top)
    extra: dict[str, Any] = {}
    if sel is not None and (sel.keys or sel.breakdown is not None):
        kpi.update(measured.kpis(results["kpis"][0] if results["kpis"] else {}, available,
                                 sel))
        measured.series(points, in_range, sel)
        field_brk = measured.breakdowns(brk, rows, sel, total, top)
        if field_brk is not None:
            extra["breakdown"] = field_brk
    found: list[dict[str, Any]] = []
    for measure in ANOMALY_MEASURES:
        values = series.daily_values(results["daily"], daily_start, end, measure)
        found += anomalies.detect(values, start, end, first=first, last=last,
                                  measure=measure)
    found = sorted(found, key=lambda a: -abs(a["score"]))[:MAX_ANOMALIES]
    found.sort(key=lambda a: (a["date"], a["measure"]))
    return {
        **base,
        "range": {"start": start.isoformat(), "end": end.isoformat()},
        "comparison": {"previous": {"start": p.prev_start.isoformat(),
                                    "end": p.prev_end.isoformat()},
                       "year_ago": {"start": p.ya_start.isoformat(),
                                    "end": p.ya_end.isoformat()}},
        "grain": grain, "kpis": kpi, "series": points, "breakdowns": brk,
        "anomalies": found, **extra,
        "insights": _insights(kpi, movers, found, brk, p),
    }


def _insights(kpi: dict[str, Any], movers: dict[str, Any], found: list[dict[str, Any]],
              brk: dict[str, Any], p: Any) -> list[dict[str, Any]]:
    out = insights.build(kpi, movers, found, brk["concentration"], p)
    extra = measured.margin_insights(brk, kpi)
    if not extra:
        return out
    ranked = sorted(out + extra, key=lambda i: -i["score"])
    return ranked[:insights.MAX_INSIGHTS]


def _run_all(jobs: dict[str, Callable[[], list[dict[str, Any]]]], parallel: bool
             ) -> dict[str, list[dict[str, Any]]]:
    if not parallel:
        return {k: f() for k, f in jobs.items()}
    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="metrics-q") as pool:
        futures = {k: pool.submit(f) for k, f in jobs.items()}
        return {k: fut.result() for k, fut in futures.items()}


def _empty(grain: str) -> dict[str, Any]:
    zero = kpis.build({}, {"current": True, "previous": False, "year_ago": False})
    brk: dict[str, Any] = {d: [] for d in DIMENSIONS}
    brk["concentration"] = breakdowns.concentration({})
    return {"range": None, "comparison": None, "grain": grain, "kpis": zero, "series": [],
            "breakdowns": brk, "anomalies": [], "insights": []}


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None
