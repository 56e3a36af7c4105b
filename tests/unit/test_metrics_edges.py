"""Hand-made edge cases: one day of data, a gap of months, a leap day, refunds, rows
without order ids, an empty dataset and a dimension with 100,000 values."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd
import pytest

from tests.support.metrics_data import load_frame

TENANT = "t_edges"


def compute(deps, dataset="ds_sales", **args):
    from shared.metrics.compute import compute_view
    from shared.metrics.view import parse_request

    return compute_view(deps.warehouse, TENANT, parse_request({"dataset": dataset, **args}),
                        version=1)


def frame(rows):
    return pd.DataFrame(rows, columns=["occurred_date", "amount", "quantity", "product",
                                       "category", "region", "customer", "channel",
                                       "order_id"])


def test_one_day_of_data(deps, tmp_path):
    day = date(2023, 5, 9)
    load_frame(deps, frame([(day, 10.0, 1, "A", "X", "N", "c1", "web", "o1"),
                            (day, 5.5, 2, "B", "X", "N", "c2", "web", "o2")]),
               tmp_path, tenant_id=TENANT)
    out = compute(deps)
    assert out["range"] == {"start": "2023-05-09", "end": "2023-05-09"}
    assert out["series"] == [{"period": "2023-05-09", "label": "2023-05-09",
                              "revenue": 15.5, "orders": 2, "units": 3.0, "customers": 2}]
    revenue = out["kpis"]["revenue"]
    assert revenue["value"] == 15.5
    # The comparison periods lie before the data: unknown, not zero.
    assert revenue["previous"] is None and revenue["change_pct"] is None
    assert revenue["year_ago"] is None and revenue["yoy_pct"] is None
    assert out["kpis"]["new_customers"]["value"] == 2
    assert out["anomalies"] == []


def test_a_gap_of_months_is_zero_filled(deps, tmp_path):
    load_frame(deps, frame([(date(2023, 1, 15), 100.0, 1, "A", "X", "N", "c1", "web", "o1"),
                            (date(2023, 5, 20), 40.0, 1, "A", "X", "N", "c1", "web", "o2")]),
               tmp_path, tenant_id=TENANT)
    out = compute(deps, start="2023-01-01", end="2023-05-31", grain="month")
    assert [(p["period"], p["revenue"]) for p in out["series"]] == [
        ("2023-01-01", 100.0), ("2023-02-01", 0.0), ("2023-03-01", 0.0),
        ("2023-04-01", 0.0), ("2023-05-01", 40.0)]
    daily = compute(deps, start="2023-01-10", end="2023-05-31", grain="day")
    assert len(daily["series"]) == (date(2023, 5, 31) - date(2023, 1, 10)).days + 1
    assert sum(p["revenue"] for p in daily["series"]) == 140.0
    # c1 came back in May: returning, not new.
    may = compute(deps, start="2023-05-01", end="2023-05-31")
    assert may["kpis"]["customers"]["value"] == 1
    assert may["kpis"]["new_customers"]["value"] == 0
    assert may["kpis"]["returning_customers"]["value"] == 1


def test_leap_day_is_compared_with_28_february(deps, tmp_path):
    from shared.metrics.view import periods, year_before

    assert year_before(date(2024, 2, 29)) == date(2023, 2, 28)
    load_frame(deps, frame([(date(2024, 2, 29), 50.0, 1, "A", "X", "N", "c1", "web", "o1"),
                            (date(2023, 2, 28), 20.0, 1, "A", "X", "N", "c2", "web", "o2"),
                            (date(2023, 3, 1), 999.0, 1, "A", "X", "N", "c3", "web", "o3")]),
               tmp_path, tenant_id=TENANT)
    out = compute(deps, start="2024-02-29", end="2024-02-29")
    assert out["comparison"]["year_ago"] == {"start": "2023-02-28", "end": "2023-02-28"}
    assert out["kpis"]["revenue"]["year_ago"] == 20.0
    assert out["kpis"]["revenue"]["yoy_pct"] == pytest.approx(150.0)
    p = periods(date(2024, 2, 1), date(2024, 2, 29))
    assert (p.prev_start, p.prev_end) == (date(2024, 1, 3), date(2024, 1, 31))


def test_refunds_are_negative_amounts(deps, tmp_path):
    rows = [(date(2023, 3, 1), 100.0, 2, "A", "X", "N", "c1", "web", "o1"),
            (date(2023, 3, 2), -30.0, -1, "A", "X", "N", "c1", "web", "o1-r"),
            (date(2023, 3, 3), 50.0, 1, "B", "Y", "S", "c2", "shop", "o2"),
            (date(2023, 2, 27), -80.0, -1, "B", "Y", "S", "c2", "shop", "o0-r")]
    load_frame(deps, frame(rows), tmp_path, tenant_id=TENANT)
    out = compute(deps, start="2023-03-01", end="2023-03-03")
    k = out["kpis"]
    assert k["revenue"]["value"] == 120.0
    assert k["units"]["value"] == 2.0
    assert k["orders"]["value"] == 3
    assert k["aov"]["value"] == pytest.approx(40.0)
    # Previous three days were a net refund of 80: the change is against its size.
    assert k["revenue"]["previous"] == -80.0
    assert k["revenue"]["change_pct"] == pytest.approx((120 - -80) / 80 * 100)
    products = {b["value"]: b for b in out["breakdowns"]["product"]}
    assert products["A"]["revenue"] == 70.0 and products["B"]["revenue"] == 50.0
    assert products["B"]["previous_rank"] == 1 and products["A"]["previous_rank"] is None
    assert products["B"]["growth_pct"] == pytest.approx((50 - -80) / 80 * 100)


def test_net_negative_revenue_has_no_concentration(deps, tmp_path):
    load_frame(deps, frame([(date(2023, 3, 1), -10.0, 1, "A", "X", "N", "c1", "web", "o1")]),
               tmp_path, tenant_id=TENANT)
    out = compute(deps)
    assert out["kpis"]["revenue"]["value"] == -10.0
    assert out["breakdowns"]["concentration"]["top10pct_share"] is None


def test_lines_without_order_id_count_as_orders(deps, tmp_path):
    d = date(2023, 6, 1)
    load_frame(deps, frame([(d, 1.0, 1, None, None, None, None, None, None),
                            (d, 2.0, 1, None, None, None, None, None, None),
                            (d, 3.0, 1, None, None, None, None, None, "o1"),
                            (d, 4.0, 1, None, None, None, None, None, "o1")]),
               tmp_path, tenant_id=TENANT)
    out = compute(deps)
    assert out["kpis"]["orders"]["value"] == 3
    assert out["kpis"]["customers"]["value"] == 0
    assert out["kpis"]["revenue_per_customer"]["value"] is None
    assert out["breakdowns"]["product"] == []


def test_empty_dataset_gives_an_empty_view(deps, tmp_path):
    from shared.metrics.kpis import KPI_NAMES

    load_frame(deps, frame([(date(2023, 1, 1), 1.0, 1, "A", "X", "N", "c", "w", "o")]),
               tmp_path, tenant_id="t_other")
    deps.docs.set(f"tenants/{TENANT}/datasets", "ds_empty", {"name": "Empty", "version": 1})
    out = compute(deps, dataset="ds_empty")
    assert out["range"] is None and out["series"] == [] and out["insights"] == []
    assert set(out["kpis"]) == set(KPI_NAMES)
    assert out["kpis"]["revenue"]["value"] == 0.0


def test_a_dimension_with_100k_values(deps, tmp_path):
    n = 100_000
    start = date(2023, 1, 1)
    rows = pd.DataFrame({
        "occurred_date": [start + timedelta(days=i % 28) for i in range(n)],
        "amount": [float(i % 997 + 1) for i in range(n)],
        "quantity": [1.0] * n,
        "product": [f"p{i:06d}" for i in range(n)],
        "customer": [f"c{i % 5000}" for i in range(n)],
        "order_id": [f"o{i}" for i in range(n)],
    })
    load_frame(deps, rows, tmp_path, tenant_id=TENANT)
    out = compute(deps, start="2023-01-01", end="2023-01-28", top="25")
    products = out["breakdowns"]["product"]
    ranked = sorted(zip(rows["amount"], rows["product"], strict=True),
                    key=lambda t: (-t[0], t[1]))
    assert [p["value"] for p in products] == [v for _, v in ranked[:25]]
    assert [p["rank"] for p in products] == list(range(1, 26))
    conc = out["breakdowns"]["concentration"]["by_dimension"]["product"]
    amounts = sorted(rows["amount"], reverse=True)
    assert conc["values"] == n
    assert conc["top10pct_share"] == pytest.approx(sum(amounts[: math.ceil(n / 10)])
                                                   / sum(amounts))
    assert out["kpis"]["orders"]["value"] == n
    assert out["kpis"]["customers"]["value"] == 5000
