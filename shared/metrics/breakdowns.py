"""Breakdowns: the top values of each dimension by revenue, with share, growth and
rank change, and the concentration of revenue in the top 10% of customers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.metrics.kpis import pct_change
from shared.metrics.series import num
from shared.schema import DIMENSIONS

CONCENTRATION_DIMENSION = "customer"


def build(rows: Iterable[Mapping[str, Any]], total_revenue: float, top: int
          ) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Returns (breakdowns, movers). `total_revenue` is the current period's revenue
    under the same filters (lines without a value for a dimension included), so
    shares of one dimension need not add up to 1. `movers` holds, per dimension, the
    values whose revenue changed most, for the insights."""
    lists: dict[str, list[dict[str, Any]]] = {d: [] for d in DIMENSIONS}
    movers: dict[str, list[dict[str, Any]]] = {d: [] for d in DIMENSIONS}
    totals: dict[str, tuple[int, float, float]] = {}
    for r in rows:
        dim = r["dimension"]
        revenue, prev = num(r["revenue"]) or 0.0, num(r["prev_revenue"]) or 0.0
        rank = int(r["rnk"]) if r.get("rnk") is not None else None
        prev_rank = int(r["prev_rnk"]) if r.get("prev_rnk") is not None else None
        item = {"value": r["item"], "revenue": revenue,
                "share": revenue / total_revenue if total_revenue else None,
                "previous_revenue": prev if prev_rank is not None else None,
                "growth_pct": pct_change(revenue, prev) if prev_rank is not None else None,
                "rank": rank, "previous_rank": prev_rank}
        totals[dim] = (int(r["n_items"]), num(r["top_decile_revenue"]) or 0.0,
                       num(r["dimension_revenue"]) or 0.0)
        if rank is not None and rank <= top:
            lists[dim].append(item)
        if int(r["mover_rnk"]) <= 3:
            movers[dim].append({**item, "change": revenue - prev})
    for dim in DIMENSIONS:
        lists[dim].sort(key=lambda i: i["rank"])
        movers[dim].sort(key=lambda i: -abs(i["change"]))
    out: dict[str, Any] = dict(lists)
    out["concentration"] = concentration(totals)
    return out, movers


def concentration(totals: Mapping[str, tuple[int, float, float]]) -> dict[str, Any]:
    by_dimension: dict[str, Any] = {}
    for dim in DIMENSIONS:
        n, top, whole = totals.get(dim, (0, 0.0, 0.0))
        by_dimension[dim] = {"top10pct_share": top / whole if whole > 0 else None,
                             "values": n}
    main = by_dimension[CONCENTRATION_DIMENSION]
    return {"dimension": CONCENTRATION_DIMENSION, "top10pct_share": main["top10pct_share"],
            "values": main["values"], "by_dimension": by_dimension}
