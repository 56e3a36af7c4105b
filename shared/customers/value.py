"""Per-customer predictions from the fitted BG/NBD and Gamma-Gamma models: P(alive),
expected purchases and value over 3, 6 and 12 months with an 80% interval.

Time runs in weeks, as in the papers; a customer's clock starts at their first
purchase and the calibration ends on the data's last day.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shared.customers import btyd
from shared.customers.history import purchases

HORIZONS = {"3m": 13.0, "6m": 26.0, "12m": 52.0}  # weeks
Z80 = 1.2815515655446004
# Below this many customers with a repeat purchase the fit says more about the start
# values than about the customers; the predictions are then left out, with the reason.
MIN_REPEAT_CUSTOMERS = 5


def summary_stats(days: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """x (repeat purchases), t_x and T (weeks), m_x (mean repeat spend) per customer."""
    bought = purchases(days, as_of)
    g = bought.groupby("customer")
    first, last = g["day"].min(), g["day"].max()
    out = pd.DataFrame({"x": g.size() - 1, "t_x": (last - first).dt.days / 7.0,
                        "T": (as_of - first).dt.days / 7.0})
    repeat = bought[bought["day"] > g["day"].transform("min")]
    out["m_x"] = repeat.groupby("customer")["net"].mean().reindex(out.index).fillna(0.0)
    return out


def fit(stats: pd.DataFrame) -> tuple[btyd.BgNbd, btyd.GammaGamma | None] | str:
    """The two models, or the reason there are none."""
    if int((stats["x"] > 0).sum()) < MIN_REPEAT_CUSTOMERS:
        return (f"fewer than {MIN_REPEAT_CUSTOMERS} customers bought twice: too little "
                "repeat behaviour to fit")
    bg = btyd.fit_bgnbd(stats["x"].to_numpy(), stats["t_x"].to_numpy(), stats["T"].to_numpy())
    spenders = stats[(stats["x"] > 0) & (stats["m_x"] > 0)]
    gg = None
    if len(spenders) >= MIN_REPEAT_CUSTOMERS:
        gg = btyd.fit_gamma_gamma(spenders["x"].to_numpy(), spenders["m_x"].to_numpy())
        if not np.isfinite([gg.p, gg.q, gg.gamma]).all() or gg.q <= 1:  # E[spend] needs q > 1
            gg = None
    return bg, gg


def predict(stats: pd.DataFrame, bg: btyd.BgNbd, gg: btyd.GammaGamma | None,
            fallback_spend: float) -> pd.DataFrame:
    x, t_x, T = (stats[c].to_numpy() for c in ("x", "t_x", "T"))
    out = pd.DataFrame(index=stats.index)
    out["p_alive"] = bg.p_alive(x, t_x, T)
    spend = (gg.expected_spend(x, stats["m_x"].to_numpy()) if gg is not None
             else np.full(len(stats), fallback_spend))
    out["expected_spend"] = spend
    for name, weeks in HORIZONS.items():
        mean = bg.expected_purchases(weeks, x, t_x, T)
        sd = np.sqrt(np.maximum(bg.variance_purchases(weeks, x, t_x, T), 0.0))
        out[f"purchases_{name}"] = mean
        out[f"value_{name}"] = mean * spend
        out[f"value_{name}_lo"] = np.maximum(mean - Z80 * sd, 0.0) * spend
        out[f"value_{name}_hi"] = (mean + Z80 * sd) * spend
    return out


def model_summary(bg: btyd.BgNbd, gg: btyd.GammaGamma | None) -> dict[str, Any]:
    return {"bgnbd": {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b,
                      "log_likelihood": bg.log_likelihood, "time_unit": "week"},
            "gamma_gamma": None if gg is None else {
                "p": gg.p, "q": gg.q, "gamma": gg.gamma,
                "log_likelihood": gg.log_likelihood}}
