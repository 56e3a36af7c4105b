"""Issue 23: the tenant's calendar in every answer: a July fiscal year gives fiscal
quarters on the dashboard, in exports and the comparison with the same fiscal quarter
last year; Sunday weeks reach the metrics and the forecast; a change of calendar is
never answered from a view computed on the old one; a pending re-derive is said."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pandas as pd
import pytest

from shared import tenants
from tests.support.metrics_data import load_frame, sales


@pytest.fixture
def metrics(function_client):
    return function_client("metrics", "metrics_http")


@pytest.fixture
def predict(function_client):
    return function_client("predict", "predict_http")


def _two_years(deps, tmp_path, tenant_id: str) -> None:
    """One sale a day, 2023-07-01 to 2025-06-30, of (month number) units of revenue."""
    days = [date(2023, 7, 1) + timedelta(days=i) for i in range(731)]
    frame = pd.DataFrame({"occurred_date": days, "amount": [float(d.month) for d in days],
                          "quantity": [1.0] * len(days),
                          "order_id": [f"o{i}" for i in range(len(days))]})
    load_frame(deps, frame, tmp_path, tenant_id=tenant_id)


def test_a_july_fiscal_year_shows_fiscal_quarters_and_exports_them(metrics, deps, tmp_path,
                                                                    make_user):
    user, headers = make_user("viewer")
    tenants.update(deps.docs, user["tenant_id"], {"fiscal_year_start_month": 7})
    _two_years(deps, tmp_path, user["tenant_id"])
    query = "dataset=ds_sales&start=2024-07-01&end=2025-06-30&grain=quarter"
    body = metrics.get(f"/api/metrics?{query}", headers=headers).get_json()
    assert body["calendar"] == {"time_zone": "UTC", "week_start": "monday",
                                "fiscal_year_start_month": 7, "retail_calendar": "none"}
    assert [(p["period"], p["label"]) for p in body["series"]] == [
        ("2024-07-01", "FY2025 Q1"), ("2024-10-01", "FY2025 Q2"),
        ("2025-01-01", "FY2025 Q3"), ("2025-04-01", "FY2025 Q4")]
    # Q1 is July-September: 31*7 + 31*8 + 30*9 per day-month
    assert body["series"][0]["revenue"] == 31 * 7 + 31 * 8 + 30 * 9
    assert body["comparison"]["year_ago"] == {"start": "2023-07-01", "end": "2024-06-30"}
    resp = metrics.get(f"/api/metrics/export?{query}&part=series", headers=headers)
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [r["label"] for r in rows] == ["FY2025 Q1", "FY2025 Q2", "FY2025 Q3", "FY2025 Q4"]
    year = metrics.get("/api/metrics?dataset=ds_sales&start=2023-07-01&end=2025-06-30"
                       "&grain=year", headers=headers).get_json()
    assert [p["label"] for p in year["series"]] == ["FY2024", "FY2025"]


def test_a_change_of_calendar_is_not_answered_from_the_old_one(metrics, deps, tmp_path,
                                                               make_user):
    user, headers = make_user("viewer")
    _two_years(deps, tmp_path, user["tenant_id"])
    query = "/api/metrics?dataset=ds_sales&start=2024-07-01&end=2025-06-30&grain=quarter"
    first = metrics.get(query, headers=headers).get_json()
    assert first["series"][0]["label"] == "2024 Q3"
    assert metrics.get(query, headers=headers).get_json()["source"] == "cache"
    tenants.update(deps.docs, user["tenant_id"], {"fiscal_year_start_month": 7})
    again = metrics.get(query, headers=headers).get_json()
    assert again["source"] == "on_demand"
    assert again["series"][0]["label"] == "FY2025 Q1"
    default = metrics.get("/api/metrics?dataset=ds_sales", headers=headers).get_json()
    assert default["calendar"]["fiscal_year_start_month"] == 7


def test_sunday_weeks_reach_the_dashboard_and_the_forecast(metrics, predict, deps, tmp_path,
                                                           make_user):
    user, headers = make_user("viewer")
    tenants.update(deps.docs, user["tenant_id"], {"week_start": "sunday"})
    sales(user["tenant_id"], deps, tmp_path)
    view = metrics.get("/api/metrics?dataset=ds_sales&start=2024-01-07&end=2024-03-30"
                       "&grain=week", headers=headers).get_json()
    assert {date.fromisoformat(p["period"]).weekday() for p in view["series"]} == {6}
    assert view["series"][0]["label"] == "Week of 2024-01-07"
    body = predict.get("/api/predictions?dataset=ds_sales&grain=week&horizon=4",
                       headers=headers).get_json()
    assert body["calendar"]["week_start"] == "sunday"
    assert {date.fromisoformat(p["period"]).weekday() for p in body["forecast"]} == {6}
    assert [p["label"] for p in body["forecast"]] == [
        f"Week of {p['period']}" for p in body["forecast"]]
    month = predict.get("/api/predictions?dataset=ds_sales&grain=month&horizon=2",
                        headers=headers).get_json()
    # 2024-01-01 to 2024-05-19: the partial May is left out of the history.
    assert [p["label"] for p in month["forecast"]] == ["May 2024", "Jun 2024"]


def test_metrics_say_when_a_re_derive_is_pending(metrics, function_client, deps, tmp_path,
                                                  make_user):
    user, headers = make_user("admin")
    _two_years(deps, tmp_path, user["tenant_id"])
    assert metrics.get("/api/metrics?dataset=ds_sales", headers=headers).get_json().get(
        "dates_pending") is None
    auth = function_client("auth", "auth_http")
    resp = auth.patch("/api/auth/tenant/settings", json={"time_zone": "Asia/Tokyo"},
                      headers=headers)
    assert resp.status_code == 200
    body = metrics.get("/api/metrics?dataset=ds_sales", headers=headers).get_json()
    assert body["dates_pending"] == {"time_zone": "Asia/Tokyo", "previous": "UTC"}
