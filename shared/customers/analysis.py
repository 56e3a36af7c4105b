"""The whole customer analysis of one purchase history, as plain data: the summary
document's payload and the per-customer rows for the paged lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from shared.customers import at_risk, cohorts, rfm, value
from shared.customers.history import History

# The customer id shown is cut to this many characters, which bounds a row's size
# and so a page document's (see store.PAGE_ROWS).
MAX_ID_CHARS = 200


@dataclass(frozen=True)
class Analysis:
    summary: dict[str, Any]
    customers: list[dict[str, Any]]      # every customer, by predicted 12-month value
    at_risk: list[dict[str, Any]]


def analyse(history: History) -> Analysis:
    days = history.days
    as_of = pd.Timestamp(history.as_of)
    before = (as_of - pd.DateOffset(months=1)).normalize()
    now_rfm, prev_rfm = rfm.table(days, as_of), rfm.table(days, before)
    summary: dict[str, Any] = {
        "as_of": history.as_of.isoformat(), "previous_as_of": before.date().isoformat(),
        "lines": history.totals,
        "kpis": cohorts.kpis(days),
        "cohorts": {g: cohorts.cohorts(days, g) for g in ("month", "week")},
        "segments": rfm.segment_summary(now_rfm, prev_rfm),
        "model": None, "model_unavailable": None, "insight": None,
        "at_risk_share": None, "previous_at_risk_share": None,
    }
    table = now_rfm.copy()
    stats = value.summary_stats(days, as_of)
    fitted = value.fit(stats) if len(stats) else "no customer has bought anything"
    risky = pd.Series(False, index=table.index)
    if isinstance(fitted, str):
        summary["model_unavailable"] = fitted
    else:
        bg, gg = fitted
        summary["model"] = value.model_summary(bg, gg)
        fallback = float(stats.loc[stats["m_x"] > 0, "m_x"].mean()) if (
            stats["m_x"] > 0).any() else float(table["monetary"].clip(lower=0).mean())
        pred = value.predict(stats, bg, gg, fallback)
        table = table.join(pred)
        risky = at_risk.flag(table, table["p_alive"])
        prev_stats = value.summary_stats(days, before)
        if len(prev_rfm) and len(prev_stats):
            prev_alive = pd.Series(bg.p_alive(*(prev_stats[c].to_numpy()
                                                for c in ("x", "t_x", "T"))),
                                   index=prev_stats.index)
            table["p_alive_change"] = table["p_alive"] - prev_alive.reindex(table.index)
            prev_share = float(at_risk.flag(prev_rfm, prev_alive).mean())
            summary["previous_at_risk_share"] = round(prev_share, 4)
        share = float(risky.mean()) if len(risky) else 0.0
        summary["at_risk_share"] = round(share, 4)
        summary["insight"] = at_risk.insight(share, summary["previous_at_risk_share"],
                                             summary["previous_as_of"])
        totals = table.groupby("segment")[["value_12m", "purchases_12m"]].sum()
        for seg in summary["segments"]:
            if seg["segment"] in totals.index:
                seg["predicted_value_12m"] = round(float(totals.loc[seg["segment"],
                                                                    "value_12m"]), 2)
    table["at_risk"] = risky
    summary["at_risk_count"] = int(risky.sum())
    order = "value_12m" if "value_12m" in table else "monetary"
    ordered = table.sort_values([order, "monetary"], ascending=False)
    rows = _records(ordered)
    return Analysis(summary=summary, customers=rows,
                    at_risk=_records(ordered[ordered["at_risk"]]
                                     .sort_values(["monetary"], ascending=False)))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in frame.reset_index(names="customer").to_dict("records"):
        row: dict[str, Any] = {"customer": str(rec.pop("customer"))[:MAX_ID_CHARS]}
        for key, v in rec.items():
            k = str(key)
            if isinstance(v, (bool, np.bool_)):
                row[k] = bool(v)
            elif isinstance(v, (int, np.integer)):
                row[k] = int(v)
            elif isinstance(v, (float, np.floating)):
                row[k] = None if not np.isfinite(v) else round(float(v), 4)
            else:
                row[k] = v
        out.append(row)
    return out
