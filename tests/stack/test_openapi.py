"""/api/openapi.json describes every routed path and method of every function."""

from __future__ import annotations

import importlib.util
import re

import pytest

from shared.devstack.serve import function_source
from shared.web.catalog import ENTRY_POINTS
from shared.web.openapi import build_spec

HTTP_FUNCTIONS = sorted({ep.function for ep in ENTRY_POINTS if ep.kind == "http"})


def load_router(function: str):
    ep = next(e for e in ENTRY_POINTS if e.function == function and e.kind == "http")
    spec = importlib.util.spec_from_file_location(f"tidemark_fn_{function}", function_source(ep))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.router


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z_]+:)?([a-zA-Z_]+)>", r"{\1}", rule)


@pytest.mark.parametrize("function", HTTP_FUNCTIONS)
def test_every_route_of_the_function_is_in_the_openapi_document(function):
    spec = build_spec()
    router = load_router(function)
    assert router.rules, f"{function} routes nothing"
    missing = []
    for rule, methods in router.rules:
        item = spec["paths"].get(openapi_path(rule), {})
        missing += [f"{m} {rule}" for m in methods if m.lower() not in item]
    assert not missing, f"routes missing from openapi: {missing}"


def test_openapi_document_is_3_1_and_every_operation_has_responses():
    spec = build_spec()
    assert spec["openapi"].startswith("3.1")
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                assert op.get("responses"), f"{method.upper()} {path} has no responses"


def test_openapi_is_served_by_the_local_stack(running_stack):
    import requests

    resp = requests.get(running_stack.settings.base_url + "/api/openapi.json", timeout=5)
    assert resp.status_code == 200
    assert "/api/auth/health" in resp.json()["paths"]
