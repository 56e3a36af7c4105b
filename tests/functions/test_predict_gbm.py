"""The predictions endpoint reports the gradient-boosting candidate where the
backtest chose it (a weekday and holiday pattern) and not where it did not (a random
walk), in a response that matches the OpenAPI description."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from shared import tenants
from shared.forecast import calendar
from tests.openapi_shape import check
from tests.support.metrics_data import load_frame

START = date(2023, 1, 2)
DAYS = 480


def _load(deps, tmp_path, tenant_id: str, dataset_id: str, values) -> None:
    rows = [(START + timedelta(days=i), round(float(v), 2), 1.0, "p", "cat", "north",
             f"c{i % 5}", "web", f"o{i}") for i, v in enumerate(values)]
    frame = pd.DataFrame(rows, columns=["occurred_date", "amount", "quantity", "product",
                                        "category", "region", "customer", "channel",
                                        "order_id"])
    load_frame(deps, frame, tmp_path, tenant_id=tenant_id, dataset_id=dataset_id)


def _daily(client, headers, dataset_id: str) -> dict:
    resp = client.get(f"/api/predictions?dataset={dataset_id}&grain=day&horizon=28",
                      headers=headers)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    check(body, {"$ref": "#/components/schemas/Prediction"})
    return body


def test_a_holiday_and_weekday_pattern_is_forecast_with_the_gbm(
        function_client, make_user, deps, tmp_path):
    user, headers = make_user("viewer")
    tenants.update(deps.docs, user["tenant_id"], {"holiday_country": "US"})
    rows = calendar.features(START, "day", "US")(np.arange(DAYS))
    weekday = np.array([0.0, 5.0, 10.0, 10.0, 20.0, 40.0, -30.0])[rows[:, 0].astype(int)]
    noise = np.random.default_rng(4).normal(0, 4, DAYS)
    values = (100 + weekday) * (1 - 0.8 * rows[:, 2]) + noise
    _load(deps, tmp_path, user["tenant_id"], "ds_holidays", values)
    body = _daily(function_client("predict", "predict_http"), headers, "ds_holidays")
    weights = {c["name"]: c["weight"] for c in body["model"]["components"]}
    assert weights.get("gbm", 0) >= 0.5
    assert abs(sum(weights.values()) - 1.0) <= 1e-3
    assert body["accuracy"]["backtest_origins"] == 6
    assert body["accuracy"]["mase"] < body["accuracy"]["baseline"]["mase"]


def test_a_random_walk_is_forecast_without_the_gbm(function_client, make_user, deps,
                                                   tmp_path):
    user, headers = make_user("viewer")
    values = 500 + np.cumsum(np.random.default_rng(9).normal(0, 5, DAYS))
    _load(deps, tmp_path, user["tenant_id"], "ds_walk", values)
    body = _daily(function_client("predict", "predict_http"), headers, "ds_walk")
    names = [c["name"] for c in body["model"]["components"]]
    assert "gbm" not in names
    assert body["model"]["name"] == "combination" and len(names) == 4
