"""Every route x role (none, viewer, analyst, admin) x whose resource (the caller's own
tenant's, another tenant's) against the running local stack, with the status each
must answer. Role checks come first (403 whatever the resource); a resource of
another tenant is indistinguishable from a missing one (404); lists show only the
caller's tenant."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import pytest
import requests

from tests.support.hardening import ROLES

CSV = b"Order Date,Product,Region,Sales,Quantity\n" + b"".join(
    f"2025-01-{d:02d},Item {d % 5},North,{10 + d}.50,{1 + d % 3}\n".encode() for d in range(1, 29))
RANK = {None: -1, "viewer": 0, "analyst": 1, "admin": 2}


@dataclass(frozen=True)
class Route:
    method: str
    path: str              # {upload}, {user}, {dataset} filled per tenant
    min_role: str | None   # None: only the task queue may call it
    ok: int                # status for a sufficient role on the caller's own resource
    scoped: bool           # has a resource that belongs to a tenant
    body: dict | None = None


ROUTES = [
    Route("GET", "/api/auth/me", "viewer", 200, False),
    Route("GET", "/api/auth/users", "admin", 200, False),
    Route("POST", "/api/auth/users", "admin", 201, False, {"email": "new", "role": "viewer"}),
    Route("PATCH", "/api/auth/users/{user}", "admin", 200, True, {"role": "viewer"}),
    Route("POST", "/api/uploads", "analyst", 201, False, {"filename": "m.csv", "size_bytes": 9}),
    Route("GET", "/api/uploads", "viewer", 200, False),
    Route("GET", "/api/uploads/{upload}", "viewer", 200, True),
    Route("DELETE", "/api/uploads/{fresh_upload}", "analyst", 200, True),
    Route("GET", "/api/uploads/{upload}/rejected", "viewer", 409, True),
    Route("GET", "/api/metrics?dataset={dataset}", "viewer", 200, True),
    Route("GET", "/api/metrics/datasets", "viewer", 200, False),
    Route("GET", "/api/metrics/export?dataset={dataset}&part=series", "viewer", 200, True),
    Route("GET", "/api/predictions?dataset={dataset}", "viewer", 200, True),
    Route("GET", "/api/metrics/datasets/{dataset}/fields", "viewer", 200, True),
    Route("GET", "/api/metrics/datasets/{dataset}/measures", "viewer", 200, True),
    Route("POST", "/api/metrics/datasets/{dataset}/measures", "analyst", 201, True,
          {"name": "new", "expression": "sum(amount)"}),
    Route("DELETE", "/api/metrics/datasets/{dataset}/measures/{fresh_measure}", "analyst",
          200, True),
    Route("POST", "/tasks/metrics", None, 403, False, {"tenant_id": "t", "dataset_id": "d",
                                                      "version": 1}),
    Route("POST", "/tasks/forecast", None, 403, False, {"tenant_id": "t", "dataset_id": "d",
                                                       "version": 1}),
]
CASES = [(r, role, whose) for r in ROUTES for role in (None, *ROLES)
         for whose in (("own", "other") if r.scoped else ("own",))]


def _id(case) -> str:
    r, role, whose = case
    return f"{r.method} {r.path.split('?')[0]} as {role or 'anonymous'} on {whose}"


def _upload(stack, tenant, dataset: str, data: bytes | None) -> dict:
    resp = requests.post(stack.url("/api/uploads"), headers=tenant.headers["analyst"], timeout=30,
                         json={"filename": "m.csv", "size_bytes": len(data or b"x" * 9),
                               "dataset": dataset})
    assert resp.status_code == 201, resp.text
    created = resp.json()
    stack.remember(created["upload_url"])
    if data is not None:
        put = requests.put(created["upload_url"], data=data, headers=created["headers"],
                           timeout=30)
        assert put.status_code == 200, put.text
    return created["upload"]


def _measure(stack, tenant, dataset_id: str) -> str:
    name = f"m_{uuid.uuid4().hex[:10]}"
    resp = requests.post(stack.url(f"/api/metrics/datasets/{dataset_id}/measures"),
                         headers=tenant.headers["analyst"], timeout=30,
                         json={"name": name, "expression": "sum(amount)"})
    assert resp.status_code == 201, resp.text
    return name


def _wait_ready(stack, tenant, upload_id: str, dataset_id: str, timeout_s: float = 90) -> None:
    h = tenant.headers["viewer"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        up = requests.get(stack.url(f"/api/uploads/{upload_id}"), headers=h, timeout=30).json()
        if up["status"] == "loaded":
            m = requests.get(stack.url("/api/metrics"), params={"dataset": dataset_id}, headers=h,
                             timeout=30)
            p = requests.get(stack.url("/api/predictions"), params={"dataset": dataset_id},
                             headers=h, timeout=60)
            if m.status_code == 200 and p.status_code == 200:
                return
        assert up["status"] != "failed", up
        time.sleep(0.3)
    pytest.fail("the dataset was not ingested and served in time")


@pytest.fixture(scope="module")
def resources(stack, own, other):
    """Per tenant: an ingested dataset, a pending upload, the viewer's user id."""
    out = {}
    for label, tenant, dataset in (("own", own, "sales"), ("other", other, "other-sales")):
        loaded = _upload(stack, tenant, dataset, CSV)
        pending = _upload(stack, tenant, dataset, None)
        _wait_ready(stack, tenant, loaded["id"], loaded["dataset_id"])
        out[label] = {"dataset": loaded["dataset_id"], "upload": pending["id"],
                      "user": tenant.users["viewer"]["id"], "tenant": tenant}
    return out


def _expected(route: Route, role: str | None, whose: str) -> int:
    if route.min_role is None:
        return route.ok                      # task targets refuse every user
    if role is None:
        return 401
    if RANK[role] < RANK[route.min_role]:
        return 403
    return route.ok if whose == "own" else 404


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_route_role_tenant_matrix(stack, own, other, resources, case):
    route, role, whose = case
    target = resources[whose]
    values = dict(target)
    if "{fresh_upload}" in route.path:
        values["fresh_upload"] = _upload(stack, target["tenant"], "scratch", None)["id"]
    if "{fresh_measure}" in route.path:
        values["fresh_measure"] = _measure(stack, target["tenant"], target["dataset"])
    path = route.path.format(**{k: v for k, v in values.items() if isinstance(v, str)})
    body = dict(route.body) if route.body else None
    if body and body.get("email") == "new":
        body["email"] = f"m-{uuid.uuid4().hex[:10]}@hardening.example.com"
    if body and body.get("name") == "new":
        body["name"] = f"m_{uuid.uuid4().hex[:10]}"
    headers = own.headers[role] if role else {}
    resp = requests.request(route.method, stack.url(path), headers=headers, json=body, timeout=60)
    expected = _expected(route, role, whose)
    assert resp.status_code == expected, (path, role, resp.text[:300])
    if expected >= 400:
        assert resp.json()["error"]["code"], resp.text[:300]
    if expected == 401:
        assert resp.headers.get("WWW-Authenticate", "").startswith("Bearer")
    if resp.status_code == 201 and "invite" in resp.json():
        stack.remember(resp.json()["invite"].get("token", ""))


@pytest.mark.parametrize("role", ROLES)
def test_lists_show_only_the_callers_tenant(stack, own, other, resources, role):
    h = own.headers[role]
    ups = requests.get(stack.url("/api/uploads?page_size=100"), headers=h, timeout=30).json()
    assert ups["items"] and {u["tenant_id"] for u in ups["items"]} == {own.id}
    assert resources["other"]["upload"] not in {u["id"] for u in ups["items"]}
    ds = requests.get(stack.url("/api/metrics/datasets"), headers=h, timeout=30).json()
    ids = {d["id"] for d in ds["datasets"]}
    assert resources["own"]["dataset"] in ids
    assert resources["other"]["dataset"] not in ids
    if role == "admin":
        users = requests.get(stack.url("/api/auth/users"), headers=h, timeout=30).json()["users"]
        assert {u["tenant_id"] for u in users} == {own.id}
        assert other.users["viewer"]["id"] not in {u["id"] for u in users}


def test_a_token_of_a_disabled_user_stops_working_at_once(stack, own):
    """Verified tokens may be cached; the account check never is."""
    email = f"d-{uuid.uuid4().hex[:8]}@hardening.example.com"
    from tests.support.hardening import PASSWORD

    made = requests.post(stack.url("/api/auth/users"), headers=own.headers["admin"], timeout=30,
                         json={"email": email, "role": "viewer", "password": PASSWORD})
    assert made.status_code == 201
    login = requests.post(stack.url("/api/auth/login"), timeout=30,
                          json={"email": email, "password": PASSWORD}).json()
    stack.session_from(login)
    h = {"Authorization": f"Bearer {login['access_token']}"}
    assert requests.get(stack.url("/api/auth/me"), headers=h, timeout=30).status_code == 200
    off = requests.patch(stack.url(f"/api/auth/users/{made.json()['user']['id']}"),
                         headers=own.headers["admin"], json={"disabled": True}, timeout=30)
    assert off.status_code == 200
    for path in ("/api/auth/me", "/api/uploads", "/api/metrics/datasets"):
        resp = requests.get(stack.url(path), headers=h, timeout=30)
        assert resp.status_code == 401, path
        assert resp.json()["error"]["code"] == "account_disabled"
