"""The selection's figures added to a computed view: the requested measure (and the
business margin when the dataset has a profit column) as KPIs, per period of the
series and per breakdown value; the breakdown by any text field; and the insights
the margin allows ("margin fell 3 points in Furniture")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.metrics.kpis import pct_change
from shared.metrics.queries import PERIOD_NAMES
from shared.metrics.selection import FIELD_DIMENSION, Selection
from shared.metrics.series import as_date, num

MARGIN_POINTS = 1.0      # a margin move smaller than this (in points) is not news
_LABEL = {"product": "Product", "category": "Category", "region": "Region",
          "channel": "Channel", "customer": "Customer"}
_KPI_KEYS = {"m": "measure", "margin": "margin"}


def kpis(row: Mapping[str, Any], available: Mapping[str, bool], sel: Selection
         ) -> dict[str, dict[str, Any]]:
    out = {}
    for key, _ in sel.keys:
        figures = {p: num(row.get(f"m_{key}_{p}")) if available.get(p, True) else None
                   for p in PERIOD_NAMES}
        value, prev, ya = figures["current"], figures["previous"], figures["year_ago"]
        out[_KPI_KEYS[key]] = {"value": value, "previous": prev,
                               "change_pct": pct_change(value, prev), "year_ago": ya,
                               "yoy_pct": pct_change(value, ya)}
    return out


def series(points: list[dict[str, Any]], rows: Sequence[Mapping[str, Any]], sel: Selection
           ) -> None:
    """Adds `value` (the measure) and `margin` to each point; null where no line."""
    found = {as_date(r["bucket"]).isoformat(): r for r in rows}
    for point in points:
        r = found.get(point["period"], {})
        for key, _ in sel.keys:
            point["value" if key == "m" else key] = num(r.get(f"m_{key}"))


def breakdowns(brk: dict[str, Any], rows: Sequence[Mapping[str, Any]], sel: Selection,
               total: float | None, top: int) -> dict[str, Any] | None:
    """Adds measure/margin figures to the dimension breakdowns' items; returns the
    breakdown by the requested field ({field, items}) or None."""
    by_item = {(r["dimension"], r["item"]): r for r in rows}
    for dim, items in brk.items():
        if dim == "concentration":
            continue
        for item in items:
            _figures(item, by_item.get((dim, item["value"]), {}), sel)
    if sel.breakdown is None:
        return None
    items = []
    for r in rows:
        if r["dimension"] != FIELD_DIMENSION or r.get("rnk") is None or int(r["rnk"]) > top:
            continue
        revenue, prev = num(r["revenue"]) or 0.0, num(r["prev_revenue"]) or 0.0
        prev_rank = int(r["prev_rnk"]) if r.get("prev_rnk") is not None else None
        item = {"value": r["item"], "revenue": revenue,
                "share": revenue / total if total else None,
                "previous_revenue": prev if prev_rank is not None else None,
                "growth_pct": pct_change(revenue, prev) if prev_rank is not None else None,
                "rank": int(r["rnk"]), "previous_rank": prev_rank}
        _figures(item, r, sel)
        items.append(item)
    items.sort(key=lambda i: i["rank"])
    return {"field": sel.breakdown.name, "items": items}


def _figures(item: dict[str, Any], row: Mapping[str, Any], sel: Selection) -> None:
    for key, _ in sel.keys:
        name = "measure" if key == "m" else key
        item[name] = num(row.get(f"m_{key}_cur"))
        item[f"previous_{name}"] = num(row.get(f"m_{key}_prev"))


def margin_insights(brk: Mapping[str, Any], kpi: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The margin overall and the dimension value whose margin moved most (at least
    MARGIN_POINTS), among values with revenue in both periods."""
    out: list[dict[str, Any]] = []
    m = kpi.get("margin")
    if m and m["value"] is not None and m["previous"] is not None:
        moved = (m["value"] - m["previous"]) * 100
        if abs(moved) >= MARGIN_POINTS:
            out.append({"text": f"Margin {_verb(moved)} {abs(moved):.1f} points to "
                                f"{m['value'] * 100:.1f}%",
                        "kind": "margin_change", "score": 3 + min(abs(moved), 50) / 5,
                        "numbers": {"margin": m["value"], "previous": m["previous"],
                                    "points": moved}})
    best: tuple[float, str, dict[str, Any]] | None = None
    for dim in ("category", "region", "channel"):
        for item in brk.get(dim) or []:
            cur, prev = item.get("margin"), item.get("previous_margin")
            if cur is None or prev is None or not item.get("previous_revenue"):
                continue
            moved = (cur - prev) * 100
            if abs(moved) >= MARGIN_POINTS and (best is None or abs(moved) > abs(best[0])):
                best = (moved, dim, item)
    if best is not None:
        moved, dim, item = best
        out.append({"text": f"Margin {_verb(moved)} {abs(moved):.1f} points in "
                            f"{_LABEL[dim]} {item['value']} (to {item['margin'] * 100:.1f}%)",
                    "kind": "margin_segment", "score": 2 + min(abs(moved), 50) / 5,
                    "numbers": {"dimension": dim, "value": item["value"], "margin": item["margin"],
                                "previous": item["previous_margin"], "points": moved}})
    return out


def _verb(change: float) -> str:
    return "rose" if change > 0 else "fell"
