"""The metrics function's entry points, in-process through functions-framework."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pandas as pd
import pytest

from tests.support.metrics_data import load_frame


@pytest.fixture
def client(function_client):
    return function_client("metrics", "metrics_http")


@pytest.fixture
def task_client(function_client):
    return function_client("metrics", "metrics_task")


def sales(tenant_id, deps, tmp_path, dataset_id="ds_sales"):
    rows = [(date(2024, 1, 1) + timedelta(days=i), 10.0 + i, 1.0, f"=p{i % 3}", "cat",
             "north" if i % 2 else "south", f"c{i % 4}", "web", f"o{i}") for i in range(60)]
    frame = pd.DataFrame(rows, columns=["occurred_date", "amount", "quantity", "product",
                                        "category", "region", "customer", "channel",
                                        "order_id"])
    return load_frame(deps, frame, tmp_path, tenant_id=tenant_id, dataset_id=dataset_id)


def test_a_viewer_reads_the_metrics(client, make_user, deps, tmp_path):
    user, headers = make_user("viewer")
    sales(user["tenant_id"], deps, tmp_path)
    resp = client.get("/api/metrics?dataset=ds_sales", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["source"] == "on_demand" and body["dataset"] == "ds_sales"
    assert body["range"] == {"start": "2024-01-01", "end": "2024-02-29"}
    assert body["kpis"]["revenue"]["value"] == sum(10.0 + i for i in range(60))
    assert len(body["series"]) == 60
    again = client.get("/api/metrics?dataset=ds_sales", headers=headers).get_json()
    assert again["source"] == "snapshot"


def test_filters_and_grain_from_the_query_string(client, make_user, deps, tmp_path):
    user, headers = make_user("viewer")
    sales(user["tenant_id"], deps, tmp_path)
    resp = client.get("/api/metrics?dataset=ds_sales&grain=month&region=north&region=south"
                      "&start=2024-01-01&end=2024-02-29&top=2", headers=headers)
    body = resp.get_json()
    assert resp.status_code == 200
    assert body["filters"] == {"region": ["north", "south"]}
    assert [p["period"] for p in body["series"]] == ["2024-01-01", "2024-02-01"]
    assert len(body["breakdowns"]["product"]) == 2


def test_without_a_token_it_is_401(client):
    resp = client.get("/api/metrics?dataset=ds_sales")
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "missing_token"


def test_another_tenant_cannot_read_the_dataset(client, make_user, deps, tmp_path):
    owner, _ = make_user("admin")
    sales(owner["tenant_id"], deps, tmp_path)
    _, stranger = make_user("admin")
    resp = client.get("/api/metrics?dataset=ds_sales", headers=stranger)
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "dataset_not_found"
    listed = client.get("/api/metrics/datasets", headers=stranger).get_json()
    assert listed == {"datasets": []}
    export = client.get("/api/metrics/export?dataset=ds_sales", headers=stranger)
    assert export.status_code == 404


@pytest.mark.parametrize(("query", "field"), [
    ("dataset=ds_sales&colour=red", "colour"),
    ("dataset=ds_sales&order_id=o1", "order_id"),
    ("dataset=ds_sales&grain=fortnight", "grain"),
    ("dataset=ds_sales&start=2024-02-30", "start"),
    ("grain=day", "dataset"),
])
def test_bad_filters_are_400_naming_the_field(client, make_user, query, field):
    _, headers = make_user("viewer")
    resp = client.get(f"/api/metrics?{query}", headers=headers)
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["details"]["field"] == field and field in err["message"]


def test_datasets_lists_the_tenants_datasets(client, make_user, deps, tmp_path):
    user, headers = make_user("viewer")
    sales(user["tenant_id"], deps, tmp_path)
    resp = client.get("/api/metrics/datasets", headers=headers)
    assert resp.status_code == 200
    [ds] = resp.get_json()["datasets"]
    assert ds["id"] == "ds_sales" and ds["version"] == 1 and ds["row_count"] == 60


def test_export_series_and_breakdowns_as_csv(client, make_user, deps, tmp_path):
    user, headers = make_user("viewer")
    sales(user["tenant_id"], deps, tmp_path)
    resp = client.get("/api/metrics/export?format=csv&dataset=ds_sales&grain=month",
                      headers=headers)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [r["period"] for r in rows] == ["2024-01-01", "2024-02-01"]
    assert float(rows[0]["revenue"]) == sum(10.0 + i for i in range(31))
    brk = client.get("/api/metrics/export?dataset=ds_sales&part=breakdowns", headers=headers)
    rows = list(csv.DictReader(io.StringIO(brk.get_data(as_text=True))))
    products = [r["value"] for r in rows if r["dimension"] == "product"]
    # Values a spreadsheet would run as formulas are neutralised.
    assert products and all(p.startswith("'=p") for p in products)
    bad = client.get("/api/metrics/export?dataset=ds_sales&format=xlsx", headers=headers)
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["field"] == "format"


def test_the_task_needs_the_queue_identity(task_client, deps):
    resp = task_client.post("/tasks/metrics", json={"tenant_id": "t", "dataset_id": "d",
                                                    "version": 1})
    assert resp.status_code == 403


def test_the_task_writes_the_snapshot_and_enqueues_the_forecast(task_client, client,
                                                                 make_user, deps, tmp_path):
    from shared.web.task_handler import SECRET_HEADER

    user, headers = make_user("viewer")
    tenant = user["tenant_id"]
    version = sales(tenant, deps, tmp_path)
    secret = {SECRET_HEADER: deps.secrets.get("task-secret").decode()}
    payload = {"tenant_id": tenant, "dataset_id": "ds_sales", "version": version}
    resp = task_client.post("/tasks/metrics", json=payload, headers=secret)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["result"]["status"] == "computed"
    assert deps.tasks.get(f"forecast-{tenant}-ds_sales-v{version}")["target"] == "forecast"
    body = client.get("/api/metrics?dataset=ds_sales", headers=headers).get_json()
    assert body["source"] == "snapshot" and body["version"] == version


def test_a_task_for_a_missing_dataset_fails_without_retry(task_client, deps):
    from shared.web.task_handler import SECRET_HEADER

    secret = {SECRET_HEADER: deps.secrets.get("task-secret").decode()}
    resp = task_client.post("/tasks/metrics", headers=secret,
                            json={"tenant_id": "t_x", "dataset_id": "gone", "version": 1})
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "failed"
    malformed = task_client.post("/tasks/metrics", headers=secret, json={"version": 1})
    assert malformed.status_code == 200
    assert malformed.get_json()["error"]["details"]["field"] == "tenant_id"
