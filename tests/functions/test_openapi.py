"""The one OpenAPI test: the generated document describes every route of every
function's Router (methods, role and security, body and answer models) and the task
targets, every reference resolves, and each handler, driven through
create_app(...).test_client() with a body the document describes, answers what the
document says it answers."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from shared.web.catalog import ENTRY_POINTS
from shared.web.openapi import build_spec, load_routers, openapi_path
from tests.openapi_shape import check
from tests.support.mailbox import link_token
from tests.support.metrics_data import load_frame, sales

SPEC = build_spec()
ROUTERS = load_routers()
HTTP = {ep.function: ep.target for ep in ENTRY_POINTS if ep.kind == "http"}
METHODS = {"get", "post", "put", "patch", "delete"}


def _operations(spec):
    return {(m.upper(), p) for p, item in spec["paths"].items() for m in item if m in METHODS}


def test_every_http_function_has_a_router_with_routes():
    assert set(ROUTERS) == set(HTTP)
    assert all(router.routes for router in ROUTERS.values())


@pytest.mark.parametrize("function", sorted(HTTP))
def test_every_route_is_described_with_its_methods_role_and_models(function):
    for route in ROUTERS[function].routes:
        item = SPEC["paths"].get(openapi_path(route.path))
        assert item is not None, route.path
        for method in route.methods:
            op = item.get(method.lower())
            assert op is not None, f"{method} {route.path} missing"
            codes = set(op["responses"])
            assert any(c.startswith("2") for c in codes), (method, route.path)
            if route.role is None:
                assert op["security"] == [] and "x-required-role" not in op
            else:
                assert op["security"] == [{"bearerAuth": []}]
                assert op["x-required-role"] == route.role
                assert {"401", "403"} <= codes, (method, route.path)
            if route.request is None:
                assert "requestBody" not in op
            elif isinstance(route.request, dict):  # a raw body, e.g. the preview's CSV
                assert op["requestBody"] == {"required": True, "content": route.request}
            else:
                assert op["requestBody"]["required"] is True
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/" + route.request.__name__)
                assert {"400", "413", "415"} <= codes
            for status, model in route.responses.items():
                answer = op["responses"][str(status)]
                if isinstance(model, type):
                    schema = answer["content"][route.media_type]["schema"]
                    assert schema == {"$ref": f"#/components/schemas/{model.__name__}"}
                elif model is None:
                    assert "content" not in answer, (method, route.path, status)


def test_the_document_has_no_operation_the_code_does_not_serve():
    routed = {(m, openapi_path(r.path)) for router in ROUTERS.values() for r in router.routes
              for m in r.methods}
    tasks = {("POST", ep.mount) for ep in ENTRY_POINTS if ep.kind == "task"}
    served_by_the_stack = {("GET", "/api/openapi.json"), ("GET", "/api/health")}
    assert _operations(SPEC) == routed | tasks | served_by_the_stack


def test_task_targets_take_the_task_payload_and_answer_an_outcome():
    # The ingest task carries the object generation the finalize event claimed; the
    # others a dataset version.
    payloads = {"ingest_task": "IngestTaskPayload"}
    for ep in (e for e in ENTRY_POINTS if e.kind == "task"):
        op = SPEC["paths"][ep.mount]["post"]
        assert op["security"] == []
        body = op["requestBody"]["content"]["application/json"]["schema"]
        model = payloads.get(ep.target, "TaskPayload")
        assert body == {"$ref": f"#/components/schemas/{model}"}
        assert model in SPEC["components"]["schemas"]
        assert {"200", "403", "503"} <= set(op["responses"])
    ingest = SPEC["components"]["schemas"]["IngestTaskPayload"]
    assert set(ingest["required"]) == {"bucket", "name", "generation"}


def test_document_is_3_1_every_operation_has_responses_and_every_reference_resolves():
    assert SPEC["openapi"].startswith("3.1")
    assert SPEC["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            assert op.get("responses"), f"{method.upper()} {path} has no responses"
            assert op.get("summary"), f"{method.upper()} {path} has no summary"
    refs: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            refs.extend([node["$ref"]] if "$ref" in node else [])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(SPEC)
    assert refs
    for ref in refs:
        top, section, name = ref.removeprefix("#/").split("/")
        assert top == "components" and name in SPEC["components"][section], ref


def test_the_upload_mapping_roles_are_the_ingest_roles():
    from shared.ingest.mapping import MAPPABLE

    mapping = SPEC["components"]["schemas"]["UploadCreateRequest"]["properties"]["mapping"]
    options = [o for o in mapping["anyOf"] if o.get("type") == "object"]
    assert options[0]["propertyNames"]["enum"] == list(MAPPABLE)


def test_validation_errors_are_described_with_the_error_schema():
    error = SPEC["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "message", "details"}
    op = SPEC["paths"]["/api/uploads"]["post"]
    schema = op["responses"]["400"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Error"}


# ------------------------------------------------- handlers answer what is described

def _request_schema(method, path):
    op = SPEC["paths"][path][method.lower()]
    return op["requestBody"]["content"]["application/json"]["schema"]


class Contract:
    """Send a request to a function and check both sides against the document."""

    def __init__(self, function_client):
        self.clients = {f: function_client(f, t) for f, t in HTTP.items()}
        self.seen: set[tuple[str, str]] = set()

    def call(self, function, method, path, template=None, *, json=None, headers=None,
             status=200, data=None, content_type=None):
        template = template or path
        if json is not None:
            check(json, _request_schema(method, template), f"{method} {template} body")
        if data is not None:  # a raw body: its media type must be the declared one
            body = SPEC["paths"][template][method.lower()]["requestBody"]["content"]
            assert content_type in body, (method, template, content_type)
            resp = self.clients[function].open(path, method=method, data=data,
                                               headers=headers, content_type=content_type)
        else:
            resp = self.clients[function].open(path, method=method, json=json,
                                               headers=headers)
        assert resp.status_code == status, (method, path, resp.get_data(as_text=True)[:300])
        declared = SPEC["paths"][template][method.lower()]["responses"][str(status)]
        content = declared.get("content")
        if content is None:
            assert not resp.get_data()
        else:
            media, spec = next(iter(content.items()))
            assert resp.mimetype == media, (method, path, resp.mimetype)
            if media == "application/json":
                check(resp.get_json(), spec["schema"], f"{method} {template} {status}")
        self.seen.add((method, template))
        return resp


def test_every_handler_accepts_and_answers_what_the_document_describes(
        function_client, make_user, deps, tmp_path):
    c = Contract(function_client)
    for function, router in ROUTERS.items():
        health = next(r.path for r in router.routes if r.path.endswith("/health"))
        c.call(function, "GET", health)

    # auth: the whole account life cycle
    creds = {"email": "owner@contract.example.com", "password": "correct horse battery"}
    session = c.call("auth", "POST", "/api/auth/register",
                     json={**creds, "tenant_name": "Contract", "name": "Owner",
                           "time_zone": "America/Los_Angeles"},
                     status=201).get_json()
    admin = {"Authorization": f"Bearer {session['access_token']}"}
    c.call("auth", "POST", "/api/auth/login", json=creds)
    refreshed = c.call("auth", "POST", "/api/auth/refresh",
                       json={"refresh_token": session["refresh_token"]}).get_json()
    c.call("auth", "POST", "/api/auth/logout",
           json={"refresh_token": refreshed["refresh_token"]}, status=204)
    c.call("auth", "GET", "/api/auth/me", headers=admin)
    c.call("auth", "GET", "/api/auth/jwks.json")
    mail = deps.settings.data_dir / "mail"
    c.call("auth", "POST", "/api/auth/email/resend", headers=admin, status=202)
    c.call("auth", "POST", "/api/auth/email/verify", status=200,
           json={"token": link_token(mail, creds["email"], "/verify-email")})
    c.call("auth", "POST", "/api/auth/email/change", headers=admin, status=202,
           json={"email": "new-owner@contract.example.com", "password": creds["password"]})
    c.call("auth", "POST", "/api/auth/password/forgot", status=202,
           json={"email": creds["email"]})
    c.call("auth", "POST", "/api/auth/password/reset", status=204,
           json={"token": link_token(mail, creds["email"], "/reset-password"),
                 "password": "a brand new passphrase"})
    session = c.call("auth", "POST", "/api/auth/login", json={
        "email": creds["email"], "password": "a brand new passphrase"}).get_json()
    admin = {"Authorization": f"Bearer {session['access_token']}"}
    c.call("auth", "GET", "/api/auth/tenant/settings", headers=admin)
    c.call("auth", "PATCH", "/api/auth/tenant/settings", headers=admin,
           json={"week_start": "sunday", "fiscal_year_start_month": 7})
    created = c.call("auth", "POST", "/api/auth/users", headers=admin, status=201,
                     json={"email": "invitee@contract.example.com", "role": "viewer"}
                     ).get_json()
    c.call("auth", "GET", "/api/auth/users", headers=admin)
    c.call("auth", "PATCH", f"/api/auth/users/{created['user']['id']}",
           "/api/auth/users/{user_id}", headers=admin, json={"role": "analyst"})
    c.call("auth", "POST", "/api/auth/invites/accept",
           json={"token": created["invite"]["token"], "password": "another fine passphrase"})

    # upload: create, list, read, rejected rows (not ingested yet: the declared 409), delete
    user, analyst = make_user("analyst")
    up = c.call("upload", "POST", "/api/uploads", headers=analyst, status=201,
                json={"filename": "sales.csv", "size_bytes": 120, "dataset": "Sales",
                      "mode": "append", "mapping": {"amount": "Total"}}).get_json()
    one = "/api/uploads/{upload_id}"
    path = f"/api/uploads/{up['upload']['id']}"
    c.call("upload", "GET", "/api/uploads?page_size=5", "/api/uploads", headers=analyst)
    c.call("upload", "GET", path, one, headers=analyst)
    c.call("upload", "GET", path + "/rejected", one + "/rejected", headers=analyst,
           status=409)
    c.call("upload", "DELETE", path, one, headers=analyst)
    c.call("upload", "POST", "/api/uploads/preview?partial=true", "/api/uploads/preview",
           headers=analyst, data=b"date,amount,region\n2024-01-01,5,EU\n2024-01-0",
           content_type="text/csv")
    c.call("upload", "POST", "/api/uploads", headers=analyst, status=400,
           json={"filename": "", "size_bytes": 0})

    # metrics and predict over a loaded dataset
    rows = [(date(2024, 1, 1) + timedelta(days=i), 5.0 + i % 7, 1.0, f"p{i % 4}", "c",
             "r", f"u{i % 6}", "web", f"o{i}") for i in range(120)]
    frame = pd.DataFrame(rows, columns=["occurred_date", "amount", "quantity", "product",
                                        "category", "region", "customer", "channel",
                                        "order_id"])
    load_frame(deps, frame, tmp_path, tenant_id=user["tenant_id"])
    view = c.call("metrics", "GET", "/api/metrics?dataset=ds_sales&grain=week",
                  "/api/metrics", headers=analyst).get_json()
    assert view["breakdowns"]["product"] and view["insights"]
    c.call("metrics", "GET", "/api/metrics/datasets", headers=analyst)
    base = "/api/metrics/datasets/{dataset_id}"
    c.call("metrics", "GET", "/api/metrics/datasets/ds_sales/fields", base + "/fields",
           headers=analyst)
    c.call("metrics", "POST", "/api/metrics/datasets/ds_sales/measures", base + "/measures",
           headers=analyst, status=201,
           json={"name": "units_share", "expression": "sum(quantity) / sum(amount)"})
    c.call("metrics", "GET", "/api/metrics/datasets/ds_sales/measures", base + "/measures",
           headers=analyst)
    measured = c.call("metrics", "GET", "/api/metrics?dataset=ds_sales&measure=units_share"
                      "&breakdown=region", "/api/metrics", headers=analyst).get_json()
    assert measured["measure"]["name"] == "units_share" and measured["breakdown"]["items"]
    c.call("metrics", "DELETE", "/api/metrics/datasets/ds_sales/measures/units_share",
           base + "/measures/{name}", headers=analyst)
    c.call("metrics", "GET", "/api/metrics/export?dataset=ds_sales&part=breakdowns",
           "/api/metrics/export", headers=analyst)
    viewer_user, viewer = make_user("viewer")
    sales(viewer_user["tenant_id"], deps, tmp_path, days=120)
    for query in ("grain=week&measure=customers", "grain=month&horizon=3"):
        body = c.call("predict", "GET", f"/api/predictions?dataset=ds_sales&{query}",
                      "/api/predictions", headers=viewer).get_json()
    # Three full months (the partial fourth is left out): too short to backtest.
    assert body["accuracy"]["backtest_origins"] == 0
    assert body["model"]["name"] in ("naive", "seasonal_naive")

    # customers: the stored analysis (as the forecast task writes it), every part
    from shared.customers import task as customers

    customers.refresh(deps, viewer_user["tenant_id"], "ds_sales", 1)
    for part in ("summary", "cohorts", "segments", "predictions", "at_risk"):
        c.call("metrics", "GET", f"/api/metrics/customers?dataset=ds_sales&part={part}",
               "/api/metrics/customers", headers=viewer)
    c.call("metrics", "GET", "/api/metrics/customers?dataset=ds_sales&part=nope",
           "/api/metrics/customers", headers=viewer, status=400)
    c.call("metrics", "GET", "/api/metrics/customers/export?dataset=ds_sales&part=at_risk",
           "/api/metrics/customers/export", headers=viewer)

    routed = {(m, openapi_path(r.path)) for router in ROUTERS.values() for r in router.routes
              for m in r.methods}
    assert routed <= c.seen, f"no contract call for {sorted(routed - c.seen)}"
