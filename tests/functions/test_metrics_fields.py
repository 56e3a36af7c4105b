"""Issue 19: every column counts. The Superstore orders go through the real upload
path; the field catalog, any field as a measure with every aggregation, breakdowns and
filters by any text field, business measures (profit, margin) and a calculated measure
are each checked against an independent pandas computation."""

from __future__ import annotations

import math
from datetime import date

import pytest

from tests.support.field_data import load_csv, superstore_csv, superstore_raw

START, END = "2017-01-01", "2017-12-30"
REL = 1e-6


@pytest.fixture
def metrics(function_client):
    return function_client("metrics", "metrics_http")


@pytest.fixture
def store(function_client, make_user, deps):
    _, headers = make_user("analyst")
    done = load_csv(function_client, headers, deps, superstore_csv(), dataset="Superstore")
    return headers, done["dataset_id"], superstore_raw()


def get(metrics, headers, dataset, **args):
    query = "&".join(f"{k}={v}" for k, v in
                     [("dataset", dataset), ("start", START), ("end", END), *args.items()])
    resp = metrics.get(f"/api/metrics?{query}", headers=headers)
    return resp


def close(a, b):
    return a is not None and math.isclose(a, b, rel_tol=REL, abs_tol=1e-9)


def in_range(raw):
    d = raw["Order Date"]
    return raw[(d >= date.fromisoformat(START)) & (d <= date.fromisoformat(END))]


def test_the_catalog_lists_every_column_with_its_type(metrics, store):
    headers, dataset, raw = store
    resp = metrics.get(f"/api/metrics/datasets/{dataset}/fields", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    fields = {f["name"]: f for f in body["fields"]}
    assert fields["Profit"]["type"] == "number" and fields["Profit"]["role"] == "measure"
    assert fields["Profit"]["unit"] == "currency" and not fields["Profit"]["canonical"]
    assert fields["Discount"]["unit"] == "percent"
    assert fields["Segment"]["type"] == "text" and fields["Segment"]["role"] == "dimension"
    assert fields["Segment"]["distinct_estimate"] == raw["Segment"].nunique()
    assert fields["Segment"]["examples"] == sorted(raw["Segment"].unique())[:5]
    assert fields["amount"]["canonical"] and fields["amount"]["unit"] == "currency"
    assert fields["State"]["null_share"] == 0.0
    assert {"profit", "margin", "discount_rate", "units_per_order"} <= set(body["business"])
    assert body["version"] == 1 and body["measures"] == []


@pytest.mark.parametrize("agg", ["sum", "avg", "min", "max", "count", "count_distinct"])
def test_every_aggregation_of_profit_matches_pandas(metrics, store, agg):
    headers, dataset, raw = store
    resp = get(metrics, headers, dataset, measure="Profit", agg=agg, breakdown="Segment")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    cur = in_range(raw)["Profit"]
    expected = {"sum": cur.sum(), "avg": cur.mean(), "min": cur.min(), "max": cur.max(),
                "count": cur.count(), "count_distinct": cur.nunique()}[agg]
    assert body["measure"]["name"] == "Profit" and body["measure"]["agg"] == agg
    assert close(body["kpis"]["measure"]["value"], float(expected)), (agg, body["kpis"])
    by_segment = in_range(raw).groupby("Segment")["Profit"]
    want = getattr(by_segment, {"avg": "mean", "count_distinct": "nunique"}.get(agg, agg))()
    got = {i["value"]: i["measure"] for i in body["breakdown"]["items"]}
    assert body["breakdown"]["field"] == "Segment" and set(got) == set(want.index)
    for seg, value in want.items():
        assert close(got[seg], float(value)), (agg, seg)
    # ranked by the measure
    values = [i["measure"] for i in body["breakdown"]["items"]]
    assert values == sorted(values, reverse=True)


def test_average_discount_by_segment_monthly_series(metrics, store):
    headers, dataset, raw = store
    body = get(metrics, headers, dataset, measure="Discount", agg="avg", breakdown="Segment",
               grain="month").get_json()
    cur = in_range(raw)
    month = cur["Order Date"].map(lambda d: d.replace(day=1).isoformat())
    want = cur.groupby(month)["Discount"].mean()
    points = {p["period"]: p["value"] for p in body["series"]}
    assert set(points) == set(want.index)
    for period, value in want.items():
        assert close(points[period], value), period


def test_margin_kpi_and_a_filter_by_any_text_field(metrics, store):
    headers, dataset, raw = store
    body = get(metrics, headers, dataset, **{"Ship Mode": "First Class"}).get_json()
    cur = in_range(raw)
    cur = cur[cur["Ship Mode"] == "First Class"]
    assert body["filters"] == {"Ship Mode": ["First Class"]}
    assert close(body["kpis"]["revenue"]["value"], cur["Sales"].sum())
    assert close(body["kpis"]["margin"]["value"], cur["Profit"].sum() / cur["Sales"].sum())
    margin = {i["value"]: i["margin"] for i in body["breakdowns"]["category"]}
    for cat, part in cur.groupby("Category"):
        assert close(margin[cat], part["Profit"].sum() / part["Sales"].sum()), cat


def test_the_default_view_shows_margin_and_its_insights(metrics, store):
    headers, dataset, _ = store
    body = metrics.get(f"/api/metrics?dataset={dataset}", headers=headers).get_json()
    assert body["kpis"]["margin"]["value"] is not None
    assert "measure" not in body or body["measure"] is None
    kinds = {i["kind"] for i in body["insights"]}
    assert kinds & {"margin_change", "margin_segment"}, body["insights"]


def test_business_measures_match_pandas(metrics, store):
    headers, dataset, raw = store
    cur = in_range(raw)
    want = {"profit": cur["Profit"].sum(),
            "margin": cur["Profit"].sum() / cur["Sales"].sum(),
            "discount_rate": cur["Discount"].mean(),
            "units_per_order": cur["Quantity"].sum() / cur["Order ID"].nunique()}
    for name, value in want.items():
        body = get(metrics, headers, dataset, measure=name).get_json()
        assert body["measure"]["name"] == name and body["measure"]["agg"] is None
        assert close(body["kpis"]["measure"]["value"], value), name


def test_a_calculated_measure_is_usable_like_a_field(metrics, store):
    headers, dataset, raw = store
    base = f"/api/metrics/datasets/{dataset}/measures"
    resp = metrics.post(base, headers=headers, json={
        "name": "profit_per_unit", "expression": 'sum(Profit) / sum("Quantity")',
        "label": "Profit per unit"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["expression"] == "(sum(Profit) / sum(Quantity))"
    again = metrics.post(base, headers=headers, json={"name": "profit_per_unit",
                                                      "expression": "sum(Profit)"})
    assert again.status_code == 409
    body = get(metrics, headers, dataset, measure="profit_per_unit",
               breakdown="Region").get_json()
    cur = in_range(raw)
    assert close(body["kpis"]["measure"]["value"], cur["Profit"].sum() / cur["Quantity"].sum())
    for item in body["breakdown"]["items"]:
        part = cur[cur["Region"] == item["value"]]
        assert close(item["measure"], part["Profit"].sum() / part["Quantity"].sum())
    listed = metrics.get(base, headers=headers).get_json()["measures"]
    assert [m["name"] for m in listed] == ["profit_per_unit"]
    assert metrics.delete(f"{base}/profit_per_unit", headers=headers).status_code == 200
    gone = get(metrics, headers, dataset, measure="profit_per_unit")
    assert gone.status_code == 400 and gone.get_json()["error"]["code"] == "unknown_measure"


@pytest.mark.parametrize("args,code", [
    ({"measure": "Nope"}, "unknown_measure"),
    ({"measure": "Segment", "agg": "sum"}, "not_a_number"),
    ({"measure": "Profit", "agg": "median"}, "invalid_parameter"),
    ({"breakdown": "Profit"}, "not_a_text_field"),
    ({"breakdown": "Nope"}, "unknown_field"),
    ({"Colour": "red"}, "unknown_filter"),
    ({"measure": "margin", "agg": "sum"}, "invalid_parameter"),
])
def test_bad_measures_are_400_with_a_code(metrics, store, args, code):
    headers, dataset, _ = store
    resp = get(metrics, headers, dataset, **args)
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["error"]["code"] == code
