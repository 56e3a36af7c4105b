"""shared/openapi/predict.yaml describes every route of the predict function, and a
real response carries every field, type and enum value the description states."""

from __future__ import annotations

import importlib.util

import yaml

from tests.conftest import ROOT
from tests.functions.test_predict_http import sales

SPEC = yaml.safe_load((ROOT / "shared" / "openapi" / "predict.yaml").read_text())
BASE = yaml.safe_load((ROOT / "shared" / "openapi" / "base.yaml").read_text())
SCHEMAS = {**BASE["components"]["schemas"], **SPEC["components"]["schemas"]}
_TYPES = {"object": dict, "array": list, "string": str, "integer": int,
          "number": (int, float), "boolean": bool}


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


def _check(value, schema, where="$"):
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    if value is None:
        assert not kinds or "null" in kinds, f"{where} is null"
        return
    if kinds:
        ok = tuple(t for k in kinds if k != "null" for t in (
            _TYPES[k] if isinstance(_TYPES[k], tuple) else (_TYPES[k],)))
        assert isinstance(value, ok), f"{where}={value!r} is not {kinds}"
    for key in schema.get("required", []):
        assert key in value, f"{where}.{key} missing"
    for key, sub in schema.get("properties", {}).items():
        if isinstance(value, dict) and key in value:
            _check(value[key], sub, f"{where}.{key}")
    if "items" in schema and isinstance(value, list):
        for i, item in enumerate(value):
            _check(item, schema["items"], f"{where}[{i}]")
    if "enum" in schema:
        assert value in schema["enum"], f"{where}={value!r} not in {schema['enum']}"


def test_a_real_forecast_matches_the_schema(function_client, make_user, deps, tmp_path):
    user, headers = make_user("viewer")
    sales(user["tenant_id"], deps, tmp_path, days=120)
    client = function_client("predict", "predict_http")
    for query in ("grain=week&measure=customers", "grain=month&horizon=3"):
        body = client.get(f"/api/predictions?dataset=ds_sales&{query}",
                          headers=headers).get_json()
        _check(body, {"$ref": "#/components/schemas/Prediction"})
    # Three full months (the partial fourth is left out): too short to backtest.
    assert body["accuracy"]["backtest_origins"] == 0
    assert body["model"]["name"] in ("naive", "seasonal_naive")
