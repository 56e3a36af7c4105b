"""The predict function's entry points, in-process through functions-framework."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from tests.support.metrics_data import sales


@pytest.fixture
def client(function_client):
    return function_client("predict", "predict_http")


@pytest.fixture
def task_client(function_client):
    return function_client("predict", "forecast_task")


def test_a_viewer_gets_a_forecast_with_intervals_and_accuracy(client, make_user, deps,
                                                               tmp_path):
    user, headers = make_user("viewer")
    version = sales(user["tenant_id"], deps, tmp_path)
    resp = client.get("/api/predictions?dataset=ds_sales&measure=revenue&grain=day&horizon=14",
                      headers=headers)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["source"] == "on_demand"
    assert (body["dataset"], body["version"], body["measure"], body["grain"],
            body["horizon"]) == ("ds_sales", version, "revenue", "day", 14)
    assert len(body["history"]) == 140
    assert body["history"][0] == {"period": "2024-01-01", "label": "2024-01-01",
                                   "value": 100.0}
    periods = [p["period"] for p in body["forecast"]]
    assert periods[0] == (date(2024, 1, 1) + timedelta(days=140)).isoformat()
    assert len(periods) == 14
    for p in body["forecast"]:
        assert 0 <= p["lo95"] <= p["lo80"] <= p["value"] <= p["hi80"] <= p["hi95"]
    weights = [c["weight"] for c in body["model"]["components"]]
    assert math.isclose(sum(weights), 1.0, abs_tol=1e-3)
    acc = body["accuracy"]
    assert acc["backtest_origins"] >= 1
    assert acc["baseline"]["name"] == "seasonal_naive"
    assert acc["mase"] is not None and acc["smape"] is not None
    # A trending, weekly-seasonal series: the combination beats seasonal naive.
    assert acc["mase"] < acc["baseline"]["mase"]
    again = client.get("/api/predictions?dataset=ds_sales&measure=revenue&grain=day"
                       "&horizon=14", headers=headers).get_json()
    assert again["source"] == "cache"
    assert again["forecast"] == body["forecast"]


def test_filters_select_the_history(client, make_user, deps, tmp_path):
    user, headers = make_user("viewer")
    sales(user["tenant_id"], deps, tmp_path)
    body = client.get("/api/predictions?dataset=ds_sales&grain=day&measure=orders"
                      "&region=north&horizon=7", headers=headers).get_json()
    values = [p["value"] for p in body["history"]]
    assert values[:4] == [0.0, 1.0, 0.0, 1.0]  # odd days are "north"
    assert all(p["lo95"] >= 0 for p in body["forecast"])


def test_the_task_precomputes_the_defaults(client, task_client, make_user, deps, tmp_path):
    from shared.web.task_handler import SECRET_HEADER

    user, headers = make_user("viewer")
    version = sales(user["tenant_id"], deps, tmp_path)
    secret = deps.secrets.get("task-secret").decode()
    payload = {"tenant_id": user["tenant_id"], "dataset_id": "ds_sales", "version": version}
    resp = task_client.post("/", json=payload, headers={SECRET_HEADER: secret})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "done"
    done = resp.get_json()["result"]["forecasts"]
    assert len([f for f in done if "/by-" not in f]) == 12
    assert sorted(f for f in done if "/by-" in f) == [
        f"revenue/week/by-{d}" for d in ("category", "channel", "customer", "product",
                                         "region")]
    body = client.get("/api/predictions?dataset=ds_sales&measure=units&grain=week",
                      headers=headers).get_json()
    assert body["source"] == "snapshot" and body["horizon"] == 12


def test_a_stale_task_does_nothing(task_client, make_user, deps, tmp_path):
    from shared.web.task_handler import SECRET_HEADER

    user, _ = make_user("viewer")
    version = sales(user["tenant_id"], deps, tmp_path)
    secret = deps.secrets.get("task-secret").decode()
    payload = {"tenant_id": user["tenant_id"], "dataset_id": "ds_sales", "version": version - 1
               if version > 1 else version + 1}
    resp = task_client.post("/", json=payload, headers={SECRET_HEADER: secret})
    assert resp.get_json()["result"]["skipped"] == "superseded"
    assert deps.docs.query(f"tenants/{user['tenant_id']}/forecasts") == []


def test_the_task_rejects_other_callers_and_bad_payloads(task_client, deps):
    from shared.web.task_handler import SECRET_HEADER

    resp = task_client.post("/", json={"tenant_id": "t", "dataset_id": "d", "version": 1})
    assert resp.status_code == 403
    secret = deps.secrets.get("task-secret").decode()
    resp = task_client.post("/", json={"tenant_id": "t", "version": 1},
                            headers={SECRET_HEADER: secret})
    assert resp.status_code == 200  # permanent failure: not retried
    assert resp.get_json()["status"] == "failed"
    assert resp.get_json()["error"]["details"]["field"] == "dataset_id"


def test_tenants_are_isolated(client, make_user, deps, tmp_path):
    owner, _ = make_user("viewer")
    sales(owner["tenant_id"], deps, tmp_path)
    _, other_headers = make_user("admin")
    resp = client.get("/api/predictions?dataset=ds_sales", headers=other_headers)
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "dataset_not_found"


def test_without_a_token_it_is_401(client):
    resp = client.get("/api/predictions?dataset=ds_sales")
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "missing_token"


@pytest.mark.parametrize(("query", "field"), [
    ("measure=profit", "measure"),
    ("grain=hour", "grain"),
    ("horizon=0", "horizon"),
    ("horizon=abc", "horizon"),
    ("grain=month&horizon=25", "horizon"),
    ("grain=day&horizon=91", "horizon"),
    ("colour=red", "colour"),
    ("measure=revenue&measure=units", "measure"),
])
def test_bad_parameters_are_400_naming_the_field(client, make_user, deps, tmp_path, query,
                                                 field):
    user, headers = make_user("viewer")
    sales(user["tenant_id"], deps, tmp_path, days=30)
    resp = client.get(f"/api/predictions?dataset=ds_sales&{query}", headers=headers)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["details"]["field"] == field


def test_a_missing_dataset_parameter_is_400(client, make_user):
    _, headers = make_user("viewer")
    resp = client.get("/api/predictions", headers=headers)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "missing_parameter"


def test_only_get_is_allowed(client, make_user):
    _, headers = make_user("viewer")
    resp = client.post("/api/predictions?dataset=x", headers=headers)
    assert resp.status_code == 405
