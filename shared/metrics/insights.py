"""Insights: short sentences a manager would read, ranked by how much they matter,
each carrying the numbers it was built from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from shared.metrics.view import Periods

MAX_INSIGHTS = 10
FLAT_PCT = 0.5
_LEAD_DIMENSIONS = ("category", "region", "channel", "product")
_LABEL = {"product": "Product", "category": "Category", "region": "Region",
          "channel": "Channel", "customer": "Customer"}


def comparison_phrase(p: Periods) -> str:
    if p.days == 7:
        return "week over week"
    if 28 <= p.days <= 31 and p.start.day == 1:
        return "month over month"
    if 365 <= p.days <= 366:
        return "year over year"
    if p.days == 1:
        return "on the day before"
    return f"against the previous {p.days} days"


def money(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def pct(x: float) -> str:
    return f"{abs(x):.0f}%" if abs(x) >= 10 else f"{abs(x):.1f}%"


def signed_pct(x: float | None) -> str:
    if x is None:
        return "new"
    return ("+" if x >= 0 else "−") + pct(x)


def _verb(change: float, up: str = "rose", down: str = "fell") -> str:
    return up if change > 0 else down


def _leader(movers: Mapping[str, Sequence[Mapping[str, Any]]], direction: float
            ) -> tuple[str, Mapping[str, Any]] | None:
    """The value that moved most in the same direction as the total, preferring the
    coarser dimensions a manager reasons in."""
    for dim in _LEAD_DIMENSIONS:
        same = [m for m in movers.get(dim, ()) if m["change"] * direction > 0]
        if same:
            return dim, max(same, key=lambda m: abs(m["change"]))
    return None


def build(kpis: Mapping[str, Mapping[str, Any]], movers: Mapping[str, Sequence[Mapping]],
          anomalies: Sequence[Mapping[str, Any]], concentration: Mapping[str, Any],
          p: Periods) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    rev = kpis["revenue"]
    if rev["change_pct"] is not None:
        change = rev["change_pct"]
        numbers: dict[str, Any] = {"revenue": rev["value"], "previous": rev["previous"],
                                   "change_pct": change}
        if abs(change) < FLAT_PCT:
            text = f"Revenue was flat {comparison_phrase(p)} at {money(rev['value'])}"
        else:
            text = f"Revenue {_verb(change)} {pct(change)} {comparison_phrase(p)}"
            lead = _leader(movers, change)
            if lead:
                dim, m = lead
                text += f", led by {_LABEL[dim]} {m['value']} ({signed_pct(m['growth_pct'])})"
                numbers["leader"] = {"dimension": dim, "value": m["value"],
                                     "revenue": m["revenue"],
                                     "previous": m["previous_revenue"],
                                     "growth_pct": m["growth_pct"]}
        out.append(_insight(text, "revenue_change", 3 + min(abs(change), 100) / 10, numbers))
    if rev["yoy_pct"] is not None and abs(rev["yoy_pct"]) >= FLAT_PCT:
        y = rev["yoy_pct"]
        out.append(_insight(
            f"Revenue was {_verb(y, 'up', 'down')} {pct(y)} on the same period last year",
            "revenue_yoy", 2 + min(abs(y), 100) / 10,
            {"revenue": rev["value"], "year_ago": rev["year_ago"], "yoy_pct": y}))
    for name, label in (("orders", "Orders"), ("aov", "Average order value"),
                        ("customers", "Customers")):
        k = kpis[name]
        if k["change_pct"] is None or abs(k["change_pct"]) < 5:
            continue
        c = k["change_pct"]
        value = money(k["value"]) if name == "aov" else f"{k['value']:,.0f}"
        out.append(_insight(f"{label} {_verb(c)} {pct(c)} to {value}", f"{name}_change",
                            1 + min(abs(c), 100) / 10,
                            {"value": k["value"], "previous": k["previous"], "change_pct": c}))
    new, cust = kpis["new_customers"]["value"], kpis["customers"]["value"]
    if cust:
        share = new / cust * 100
        out.append(_insight(
            f"{new:,} new customers bought in the period, {pct(share)} of {cust:,}",
            "new_customers", 1.5,
            {"new_customers": new, "customers": cust,
             "returning_customers": kpis["returning_customers"]["value"],
             "new_share_pct": share}))
    top_share = concentration.get("top10pct_share")
    if top_share is not None and concentration.get("values", 0) >= 10:
        out.append(_insight(
            f"The top 10% of customers brought {pct(top_share * 100)} of revenue",
            "concentration", 1 + top_share * 2,
            {"top10pct_share": top_share, "customers": concentration["values"]}))
    for dim in ("region", "channel"):
        falls = [m for m in movers.get(dim, ()) if m["change"] < 0 and m["growth_pct"]]
        if falls:
            m = max(falls, key=lambda m: -m["change"])
            if abs(m["growth_pct"]) >= 10:
                out.append(_insight(
                    f"{_LABEL[dim]} {m['value']} fell {pct(m['growth_pct'])}"
                    f" ({money(m['change'])})", f"{dim}_decline",
                    1 + min(abs(m["growth_pct"]), 100) / 15,
                    {"dimension": dim, "value": m["value"], "revenue": m["revenue"],
                     "previous": m["previous_revenue"], "growth_pct": m["growth_pct"],
                     "change": m["change"]}))
    for a in sorted(anomalies, key=lambda a: -abs(a["score"]))[:3]:
        out.append(_anomaly_insight(a))
    out.sort(key=lambda i: -i["score"])
    return out[:MAX_INSIGHTS]


def _anomaly_insight(a: Mapping[str, Any]) -> dict[str, Any]:
    d = date.fromisoformat(a["date"])
    label = "Revenue" if a["measure"] == "revenue" else a["measure"].capitalize()
    day = f"{d.day} {d:%B %Y}"
    actual, expected = a["actual"], a["expected"]
    fmt = money if a["measure"] == "revenue" else (lambda x: f"{x:,.0f}")
    if expected > 0 and actual >= 2 * expected:
        how = f"{actual / expected:.1f}x the usual {a['weekday']}"
    elif expected > 0 and actual < expected:
        how = f"{pct((expected - actual) / expected * 100)} below the usual {a['weekday']}"
    else:
        how = f"{'above' if actual > expected else 'below'} the usual {a['weekday']}"
    verb = "were" if label.endswith("s") else "was"
    text = f"{label} on {day} {verb} {how} ({fmt(actual)} against {fmt(expected)} expected)"
    return _insight(text, "anomaly", 1 + min(abs(a["score"]), 20) / 4,
                    {"date": a["date"], "measure": a["measure"], "actual": actual,
                     "expected": expected, "score": a["score"],
                     "ratio": actual / expected if expected else None})


def _insight(text: str, kind: str, score: float, numbers: dict[str, Any]) -> dict[str, Any]:
    return {"text": text, "kind": kind, "score": round(score, 3), "numbers": numbers}
