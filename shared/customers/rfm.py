"""RFM scores and the named segments.

Recency (days since the last purchase, as of the data's last day), frequency
(purchase days) and monetary value (net revenue, refunds included) are scored 1..5 by
quintile of their percentile rank; tied values share their average rank, so equal
customers always get equal scores (a base where most customers bought once puts them
all in one frequency score). The segment comes from the recency and frequency scores,
on the grid retailers' RFM tools commonly use.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shared.customers.history import purchases
from shared.customers.models import SEGMENTS

# SEGMENT_GRID[r - 1][f - 1]: the segment of recency score r and frequency score f.
SEGMENT_GRID = (
    ("lost", "lost", "at_risk", "at_risk", "cant_lose"),
    ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),
    ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    ("promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"),
    ("new", "potential_loyalists", "potential_loyalists", "champions", "champions"),
)


def quintile_score(values: pd.Series, *, higher_is_better: bool = True) -> pd.Series:
    ranked = (values if higher_is_better else -values).rank(method="average", pct=True)
    return (ranked * 5).apply(np.ceil).clip(1, 5).astype(int)


def table(days: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per customer with a purchase up to `as_of`: recency_days, frequency,
    monetary, r, f, m and segment, indexed by customer."""
    window = days[days["day"] <= as_of]
    bought = purchases(window)
    if bought.empty:
        return pd.DataFrame(columns=["recency_days", "frequency", "monetary", "r", "f",
                                     "m", "segment"])
    grouped = bought.groupby("customer")
    out = pd.DataFrame({
        "recency_days": (as_of - grouped["day"].max()).dt.days,
        "frequency": grouped.size(),
    })
    out["monetary"] = window.groupby("customer")["net"].sum().reindex(out.index)
    out["r"] = quintile_score(out["recency_days"], higher_is_better=False)
    out["f"] = quintile_score(out["frequency"])
    out["m"] = quintile_score(out["monetary"])
    grid = np.array(SEGMENT_GRID, dtype=object)
    out["segment"] = grid[out["r"].to_numpy() - 1, out["f"].to_numpy() - 1]
    return out


def segment_summary(now: pd.DataFrame, before: pd.DataFrame) -> list[dict]:
    """Counts and revenue per segment, and the change in count since `before` (the
    table as of the previous period's end)."""
    counts = now.groupby("segment").size()
    revenue = now.groupby("segment")["monetary"].sum()
    previous = before.groupby("segment").size() if len(before) else pd.Series(dtype=int)
    total = max(len(now), 1)
    return [{"segment": s, "customers": int(counts.get(s, 0)),
             "share": round(float(counts.get(s, 0)) / total, 4),
             "revenue": round(float(revenue.get(s, 0.0)), 2),
             "previous_customers": int(previous.get(s, 0)),
             "change": int(counts.get(s, 0)) - int(previous.get(s, 0))}
            for s in SEGMENTS]
