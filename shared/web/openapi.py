"""/api/openapi.json, generated from the routes (shared.web.http.Route: path, methods,
role, body, query and answer models) and the task targets of shared.web.catalog.

Generated, never hand-kept, so a field cannot change in the code and not in the
document. The local stack serves it; the build writes it into the frontend bundle for
Firebase Hosting (scripts/generate_openapi.py). No YAML and no runtime dependency
beyond pydantic."""

from __future__ import annotations

import copy
import importlib.util
import inspect
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

ROOT = Path(__file__).resolve().parents[2]
REF = "#/components/schemas/{model}"
DESCRIPTION = (
    "Serverless business intelligence: upload sales CSVs, read KPIs, insights and "
    "forecasts. Every route except sign-in and health needs a bearer access token. "
    'Errors are JSON: {"error": {"code", "message", "details"}}; validation errors put '
    "per-field messages in error.details.fields.<field> (a list of strings).\n\n"
    "Generated from the routes and their pydantic models (shared/web/openapi.py).")
# Answers any route may give, by what the route declares.
COMMON_ERRORS = {
    "body": {400: "Malformed body or invalid fields (codes invalid_fields, malformed_json, "
                  "body_required, invalid_unicode); details.fields names every bad field",
             413: "Request body too large", 415: "Body is not JSON"},
    "query": {400: "A query parameter is invalid; the error names it"},
    "role": {401: "UNAUTH", 403: "FORBIDDEN",
             503: "A dependency is unavailable; retry"},
}


def openapi_path(rule: str) -> str:
    """werkzeug `/a/<rid:upload_id>` -> OpenAPI `/a/{upload_id}`."""
    return re.sub(r"<(?:[a-z_]+:)?([a-zA-Z_]+)>", r"{\1}", rule)


def load_routers() -> dict[str, Any]:
    """Every HTTP function's Router, loaded from functions/<name>/main.py (as the
    functions framework loads it: by file, not as a package)."""
    from shared.web.catalog import ENTRY_POINTS

    routers: dict[str, Any] = {}
    for ep in ENTRY_POINTS:
        if ep.kind != "http" or ep.function in routers:
            continue
        path = ROOT / "functions" / ep.function / "main.py"
        spec = importlib.util.spec_from_file_location(f"tidemark_fn_{ep.function}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        routers[ep.function] = module.router
    return routers


def _tasks() -> list[tuple[str, tuple[str, str], type[BaseModel]]]:
    """(mount, (summary, description), payload model) of every task target: they are
    not routed by a Router (run_task takes the whole request) but are part of the
    contract."""
    from shared.forecast.api_models import TASK_DOC as FORECAST
    from shared.metrics.models import TASK_DOC as METRICS
    from shared.uploads.models import INGEST_TASK_DOC, IngestTaskPayload
    from shared.web.catalog import ENTRY_POINTS
    from shared.web.models import TaskPayload

    docs: dict[str, tuple[tuple[str, str], type[BaseModel]]] = {
        "metrics": (METRICS, TaskPayload), "predict": (FORECAST, TaskPayload),
        "upload": (INGEST_TASK_DOC, IngestTaskPayload)}
    return [(ep.mount, docs[ep.function][0], docs[ep.function][1])
            for ep in ENTRY_POINTS if ep.kind == "task"]


def _doc(fn: Any) -> tuple[str, str]:
    text = inspect.getdoc(fn) or ""
    summary, _, rest = text.partition("\n")
    return summary.strip(), " ".join(rest.split())


def _strip_titles(node: Any) -> Any:
    """pydantic titles every schema after its field name: noise in a reader's view."""
    if isinstance(node, dict):
        return {k: _strip_titles(v) for k, v in node.items()
                if not (k == "title" and isinstance(v, str))}
    if isinstance(node, list):
        return [_strip_titles(v) for v in node]
    return node


def _schema(model: Any) -> dict[str, Any]:
    if model is None:
        return {}
    if isinstance(model, dict):
        return model
    return {"$ref": REF.format(model=model.__name__)}


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = _strip_titles(model.model_json_schema(ref_template=REF))
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", None)
        options = [o for o in prop.get("anyOf", []) if o.get("type") != "null"]
        if len(options) == 1:  # an optional parameter is absent, never null
            default = prop.get("default")
            prop = {**options[0], **({"default": default} if default is not None else {})}
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                 "schema": prop}
        if description:
            param["description"] = description
        if prop.get("type") == "array":  # repeat the parameter for several values
            param.update(style="form", explode=True)
        params.append(param)
    return params


def _error(description: str) -> dict[str, Any]:
    if description == "UNAUTH":
        return {"$ref": "#/components/responses/Unauthenticated"}
    if description == "FORBIDDEN":
        return {"$ref": "#/components/responses/Forbidden"}
    return {"description": description,
            "content": {"application/json": {"schema": _schema(_models()["Error"])}}}


def _operation(function: str, route: Any, method: str) -> dict[str, Any]:
    summary, description = _doc(route.handler)
    op: dict[str, Any] = {"operationId": f"{function}_{route.handler.__name__.strip('_')}"
                                         f"_{method.lower()}",
                          "summary": summary, "tags": list(route.tags)}
    if description:
        op["description"] = description
    op["security"] = [{"bearerAuth": []}] if route.role else []
    if route.role:
        op["x-required-role"] = route.role
    params = [{"name": name, "in": "path", "required": True,
               "schema": route.params.get(name, {"type": "string"})}
              for name in re.findall(r"<(?:[a-z_]+:)?([a-zA-Z_]+)>", route.path)]
    if route.query is not None:
        params += _query_parameters(route.query)
    if params:
        op["parameters"] = params
    if isinstance(route.request, dict):  # a raw body (e.g. text/csv), described as is
        op["requestBody"] = {"required": True, "content": route.request}
    elif route.request is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _schema(route.request)}}}
    responses: dict[str, Any] = {}
    for status, model in route.responses.items():
        if status == 204 or model is None:
            responses[str(status)] = {"description": "No content"}
            continue
        doc = _doc(model)[0] if _is_model(model) else ""
        responses[str(status)] = {"description": doc or "OK", "content": {
            route.media_type: {"schema": _schema(model)}}}
    errors: dict[int, str] = {}
    for kind, present in (("body", route.request), ("query", route.query),
                          ("role", route.role)):
        if present is not None:
            errors.update(COMMON_ERRORS[kind])
    errors.update(route.errors)
    for status, text in sorted(errors.items()):
        responses[str(status)] = _error(text)
    op["responses"] = responses
    return op


@lru_cache(maxsize=1)
def _models() -> dict[str, type[BaseModel]]:
    from shared.web.models import Error, StackHealth, TaskOutcome, TaskPayload

    return {"Error": Error, "StackHealth": StackHealth, "TaskOutcome": TaskOutcome,
            "TaskPayload": TaskPayload}


def generate(routers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The whole document for `routers` (function name -> Router; default: all)."""
    routers = load_routers() if routers is None else routers
    base = _models()
    paths: dict[str, dict[str, Any]] = {
        "/api/openapi.json": {"get": {
            "operationId": "openapi_document_get", "summary": "This document",
            "tags": ["meta"], "security": [], "responses": {"200": {
                "description": "The OpenAPI description",
                "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        "/api/health": {"get": {
            "operationId": "stack_health_get", "summary": "Health of every function "
            "(local stack)", "tags": ["health"], "security": [], "responses": {"200": {
                "description": "Health", "content": {"application/json": {
                    "schema": _schema(base["StackHealth"])}}}}}},
    }
    requests: set[type[BaseModel]] = {base["TaskPayload"]}
    answers: set[type[BaseModel]] = {base["Error"], base["StackHealth"], base["TaskOutcome"]}
    for function, router in routers.items():
        for route in router.routes:
            if _is_model(route.request):
                requests.add(route.request)
            answers.update(m for m in route.responses.values() if _is_model(m))
            item = paths.setdefault(openapi_path(route.path), {})
            for method in route.methods:
                item[method.lower()] = _operation(function, route, method)
    for mount, (summary, description), payload in _tasks():
        requests.add(payload)
        paths[mount] = {"post": {
            "operationId": f"task_{mount.rsplit('/', 1)[1]}_post", "summary": summary,
            "description": description, "tags": ["tasks"], "security": [],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _schema(payload)}}},
            "responses": {"200": {"description": "Done, superseded by a newer version, or "
                                  "failed permanently", "content": {"application/json": {
                                      "schema": _schema(base["TaskOutcome"])}}},
                          **{str(s): _error(t) for s, t in (
                              (403, "Not called by the task queue (code not_task_queue)"),
                              (413, "Payload too large"), (415, "Payload is not JSON"),
                              (500, "Unexpected failure; the queue retries"),
                              (503, "A dependency is unavailable; the queue retries"))}}}}
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (m, "validation") for m in sorted(requests, key=lambda m: m.__name__)]
    wanted += [(m, "serialization") for m in sorted(answers, key=lambda m: m.__name__)]
    _, defs = models_json_schema(wanted, ref_template=REF)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tidemark API", "version": "0.1.0", "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "bearerFormat": "JWT"}},
            "responses": {
                "Unauthenticated": {
                    "description": "Missing, malformed, forged, expired or revoked "
                                   "credentials (codes missing_token, invalid_token, "
                                   "token_expired, account_disabled)",
                    "headers": {"WWW-Authenticate": {"schema": {"type": "string"},
                                                     "description": 'Bearer realm="tidemark"'}},
                    "content": {"application/json": {"schema": _schema(base["Error"])}}},
                "Forbidden": {
                    "description": "The caller's role is too low (code insufficient_role; "
                                   "details.required, details.role)",
                    "content": {"application/json": {"schema": _schema(base["Error"])}}},
            },
            "schemas": _strip_titles(defs.get("$defs", {})),
        },
    }


@lru_cache(maxsize=1)
def _cached() -> dict[str, Any]:
    return generate()


def build_spec() -> dict[str, Any]:
    """The document for every function (built once per process, copied per caller)."""
    return copy.deepcopy(_cached())
