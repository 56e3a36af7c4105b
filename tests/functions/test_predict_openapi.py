"""shared/web/openapi/predict.yaml describes every route of the predict function, and a
real response carries every field, type and enum value the description states."""

from __future__ import annotations

import importlib.util

import yaml

from tests.openapi_shape import check
from tests.support.environment import ROOT
from tests.support.metrics_data import sales

SPEC = yaml.safe_load((ROOT / "shared" / "web" / "openapi" / "predict.yaml").read_text())


def _router():
    spec = importlib.util.spec_from_file_location(
        "predict_main_for_spec", ROOT / "functions" / "predict" / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.router


def test_every_route_and_method_is_described():
    for path, methods in _router().rules:
        assert path in SPEC["paths"], path
        for m in methods:
            op = SPEC["paths"][path][m.lower()]
            assert "200" in op["responses"], (path, m)
    assert "post" in SPEC["paths"]["/tasks/forecast"]
    errors = SPEC["paths"]["/api/predictions"]["get"]["responses"]
    assert {"400", "401", "403", "404"} <= set(errors)


def test_a_real_forecast_matches_the_schema(function_client, make_user, deps, tmp_path):
    user, headers = make_user("viewer")
    sales(user["tenant_id"], deps, tmp_path, days=120)
    client = function_client("predict", "predict_http")
    for query in ("grain=week&measure=customers", "grain=month&horizon=3"):
        body = client.get(f"/api/predictions?dataset=ds_sales&{query}",
                          headers=headers).get_json()
        check(body, {"$ref": "#/components/schemas/Prediction"})
    # Three full months (the partial fourth is left out): too short to backtest.
    assert body["accuracy"]["backtest_origins"] == 0
    assert body["model"]["name"] in ("naive", "seasonal_naive")
