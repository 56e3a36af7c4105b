"""The purchase history the customer analysis works on, read from the warehouse.

A purchase is a customer-day: lines of the same customer on the same day are one
purchase, as in the BG/NBD and Gamma-Gamma papers (Fader, Hardie & Lee 2005), which
keeps a basket split over several order ids from reading as several visits. A refund
(a negative amount) is netted into its day; a day whose net is negative is no
purchase (a refund-only day) but its amount still counts in the customer's revenue. A
zero net is a purchase: the CDNOW sample has zero-dollar transactions and the papers
count them.
Lines without a customer id cannot belong to anyone: they are counted and reported,
never silently dropped.
"""
# The SQL joins fixed fragments only; values are @parameters.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from shared import errors

if TYPE_CHECKING:
    from shared.bootstrap import Deps

_SCOPE = "tenant_id = @tenant_id AND dataset_id = @dataset_id"
_NO_ID = "(customer IS NULL OR TRIM(customer) = '')"

DAYS_SQL = f"""
SELECT customer, occurred_date AS day,
       CAST(SUM(COALESCE(amount, 0)) AS FLOAT64) AS net,
       COUNT(DISTINCT order_id) + COUNTIF(order_id IS NULL) AS orders
FROM {{business_data}}
WHERE {_SCOPE} AND NOT {_NO_ID}
GROUP BY customer, occurred_date
"""

TOTALS_SQL = f"""
SELECT COUNT(*) AS lines,
       COUNTIF({_NO_ID}) AS lines_without_customer,
       CAST(SUM(IF({_NO_ID}, COALESCE(amount, 0), 0)) AS FLOAT64) AS revenue_without_customer,
       COUNTIF(amount < 0) AS refund_lines,
       CAST(SUM(IF(amount < 0, amount, 0)) AS FLOAT64) AS refund_amount,
       MIN(occurred_date) AS first_date, MAX(occurred_date) AS last_date
FROM {{business_data}}
WHERE {_SCOPE}
"""


@dataclass(frozen=True)
class History:
    days: pd.DataFrame          # customer, day (datetime64), net, orders, purchase (bool)
    totals: dict[str, Any]
    as_of: date                 # the last day of the data: "today" for the analysis


def load(deps: Deps, tenant_id: str, dataset_id: str) -> History:
    params = {"tenant_id": tenant_id, "dataset_id": dataset_id}
    totals = deps.warehouse.query(TOTALS_SQL, params)[0]
    if not totals.get("lines") or totals.get("last_date") is None:
        raise errors.NotFound(f"dataset '{dataset_id}' has no rows",
                              code="no_history", details={"field": "dataset"})
    rows = deps.warehouse.query(DAYS_SQL, params)
    return from_rows(rows, totals)


def from_rows(rows: list[dict[str, Any]], totals: dict[str, Any]) -> History:
    days = pd.DataFrame(rows, columns=["customer", "day", "net", "orders"])
    days["day"] = pd.to_datetime(days["day"])
    days["net"] = days["net"].astype(float)
    days["purchase"] = days["net"] >= 0
    days = days.sort_values(["customer", "day"], kind="stable").reset_index(drop=True)
    last = totals["last_date"]
    as_of = last if isinstance(last, date) else pd.Timestamp(last).date()
    clean = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in totals.items()}
    buyers = int(days.loc[days["purchase"], "customer"].nunique())
    clean["customers"] = buyers
    clean["customers_without_purchase"] = int(days["customer"].nunique()) - buyers
    return History(days=days, totals=clean, as_of=as_of)


def purchases(days: pd.DataFrame, until: pd.Timestamp | None = None) -> pd.DataFrame:
    """The purchase days (net not negative), up to and including `until`."""
    out = days[days["purchase"]]
    return out if until is None else out[out["day"] <= until]
