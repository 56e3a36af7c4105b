"""shared/web/openapi/metrics.yaml describes every route of the metrics function, and a
real response carries every field the description says is required."""

from __future__ import annotations

import importlib.util
from datetime import date, timedelta

import pandas as pd
import yaml

from tests.openapi_shape import check
from tests.support.environment import ROOT
from tests.support.metrics_data import load_frame

SPEC = yaml.safe_load((ROOT / "shared" / "web" / "openapi" / "metrics.yaml").read_text())
BASE = yaml.safe_load((ROOT / "shared" / "web" / "openapi" / "base.yaml").read_text())


def _router():
    spec = importlib.util.spec_from_file_location(
        "metrics_main_for_spec", ROOT / "functions" / "metrics" / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.router


def test_every_route_and_method_is_described():
    paths = {**SPEC["paths"], **BASE["paths"]}
    for path, methods in _router().rules:
        assert path in paths, path
        for m in methods:
            op = paths[path][m.lower()]
            assert "200" in op["responses"], (path, m)
    assert "post" in SPEC["paths"]["/tasks/metrics"]


def test_a_real_view_has_every_required_field(function_client, make_user, deps, tmp_path):
    user, headers = make_user("viewer")
    rows = [(date(2024, 1, 1) + timedelta(days=i), 5.0 + i % 7, 1.0, f"p{i % 4}", "c",
             "r", f"u{i % 6}", "web", f"o{i}") for i in range(120)]
    frame = pd.DataFrame(rows, columns=["occurred_date", "amount", "quantity", "product",
                                        "category", "region", "customer", "channel",
                                        "order_id"])
    load_frame(deps, frame, tmp_path, tenant_id=user["tenant_id"])
    client = function_client("metrics", "metrics_http")
    body = client.get("/api/metrics?dataset=ds_sales&grain=week", headers=headers).get_json()
    check(body, {"$ref": "#/components/schemas/MetricsView"})
    assert body["breakdowns"]["product"] and body["insights"]
    listed = client.get("/api/metrics/datasets", headers=headers).get_json()
    for ds in listed["datasets"]:
        check(ds, {"$ref": "#/components/schemas/MetricsDataset"})
