"""Attacks on the auth function that must fail: forged tokens, replays, reaching into
another tenant, climbing roles, brute force."""

from __future__ import annotations

import base64
import json
import time

import pytest

from tests.support.mailbox import confirm_email

PASSWORD = "correct horse battery staple"


@pytest.fixture
def client(function_client):
    return function_client("auth", "auth_http")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def register(client, email, tenant="Acme", ip="198.51.100.1"):
    r = client.post("/api/auth/register", json={"email": email, "password": PASSWORD,
                                                "tenant_name": tenant},
                    environ_base={"REMOTE_ADDR": ip})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _unauthorized(resp):
    assert resp.status_code == 401, resp.get_json()
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    return resp.get_json()["error"]["code"]


def test_requests_without_a_usable_bearer_token_get_401(client):
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "},
                    {"Authorization": "Bearer not.a.jwt"}):
        _unauthorized(client.get("/api/auth/me", headers=headers))
        _unauthorized(client.get("/api/auth/users", headers=headers))


def test_forged_tokens_are_refused_over_http(client, deps):
    s = register(client, "a@example.com")
    header, payload, sig = s["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    none_header = _b64(json.dumps({"alg": "none", "typ": "at+jwt",
                                   "kid": json.loads(base64.urlsafe_b64decode(
                                       header + "=="))["kid"]}).encode())
    tampered = _b64(json.dumps({**claims, "role": "admin", "tid": "t_victim"}).encode())
    expired = _b64(json.dumps({**claims, "exp": int(time.time()) - 3600}).encode())
    for token in (f"{none_header}.{payload}.", f"{header}.{tampered}.{sig}",
                  f"{header}.{expired}.{sig}", f"{header}.{payload}.{sig[:-4]}AAAA"):
        _unauthorized(client.get("/api/auth/me", headers=bearer(token)))
    assert client.get("/api/auth/me", headers=bearer(s["access_token"])).status_code == 200


def test_an_admin_cannot_see_or_touch_another_tenants_users(client):
    a = register(client, "a@example.com", "Tenant A")
    b = register(client, "b@example.com", "Tenant B", ip="198.51.100.2")
    victim = b["user"]["id"]
    listed = client.get("/api/auth/users", headers=bearer(a["access_token"])).get_json()
    assert [u["id"] for u in listed["users"]] == [a["user"]["id"]]
    r = client.patch(f"/api/auth/users/{victim}", headers=bearer(a["access_token"]),
                     json={"disabled": True})
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "user_not_found"
    me_b = client.get("/api/auth/me", headers=bearer(b["access_token"])).get_json()
    assert me_b["user"]["disabled"] is False and me_b["tenant"]["name"] == "Tenant B"


@pytest.mark.parametrize("user_id", ["..%2F..%2Ftenants", "u_1%00", "' OR 1=1 --",
                                     "x" * 65])
def test_user_ids_with_path_or_sql_characters_are_not_found(client, user_id):
    a = register(client, "a@example.com")
    r = client.patch(f"/api/auth/users/{user_id}", headers=bearer(a["access_token"]),
                     json={"role": "viewer"})
    assert r.status_code == 404


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_non_admins_cannot_manage_users(client, make_user, role):
    a = register(client, "a@example.com")
    _, headers = make_user(role=role, tenant_id=a["tenant"]["id"])
    assert client.get("/api/auth/users", headers=headers).status_code == 403
    r = client.post("/api/auth/users", headers=headers,
                    json={"email": "new@example.com", "role": "admin", "password": PASSWORD})
    assert r.status_code == 403
    assert r.get_json()["error"]["details"] == {"required": "admin", "role": role}
    r = client.patch(f"/api/auth/users/{a['user']['id']}", headers=headers,
                     json={"role": "viewer"})
    assert r.status_code == 403
    assert client.get("/api/auth/me", headers=headers).status_code == 200


def test_a_token_minted_for_a_demoted_user_loses_its_old_role(client, deps, make_user):
    a = register(client, "a@example.com")
    principal, headers = make_user(role="admin", tenant_id=a["tenant"]["id"])
    client.patch(f"/api/auth/users/{principal['user_id']}",
                 headers=bearer(a["access_token"]), json={"role": "viewer"})
    assert client.get("/api/auth/users", headers=headers).status_code == 403


def test_a_disabled_users_token_is_refused(client, make_user):
    a = register(client, "a@example.com")
    principal, headers = make_user(role="analyst", tenant_id=a["tenant"]["id"])
    client.patch(f"/api/auth/users/{principal['user_id']}",
                 headers=bearer(a["access_token"]), json={"disabled": True})
    assert _unauthorized(client.get("/api/auth/me", headers=headers)) == "account_disabled"


def test_a_token_for_a_user_of_no_tenant_is_refused(client, deps):
    from shared.auth.tokens import issue_access_token

    token, _ = issue_access_token(deps, user_id="u_ghost", tenant_id="t_ghost",
                                  role="admin", email="g@example.com")
    _unauthorized(client.get("/api/auth/users", headers=bearer(token)))


def test_invite_tokens_cannot_be_guessed_or_pointed_elsewhere(client, deps):
    a = register(client, "a@example.com")
    confirm_email(lambda path, body: client.post(path, json=body),
                  deps.settings.data_dir / "mail", "a@example.com")
    b = register(client, "b@example.com", ip="198.51.100.2")
    invite = client.post("/api/auth/users", headers=bearer(a["access_token"]),
                         json={"email": "v@example.com", "role": "viewer"}).get_json()["invite"]
    secret = invite["token"].rsplit(".", 1)[1]
    aimed_at_b = f"inv_{b['tenant']['id']}.{b['user']['id']}.{secret}"
    # One character changed (never replaced by itself: a token may end in "A").
    altered = invite["token"][:-1] + ("B" if invite["token"].endswith("A") else "A")
    for token in (aimed_at_b, altered, "inv_../x.y.z", "garbage"):
        r = client.post("/api/auth/invites/accept", json={"token": token, "password": PASSWORD},
                        environ_base={"REMOTE_ADDR": "198.51.100.9"})
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_invite"
    assert client.post("/api/auth/login", json={"email": "b@example.com",
                                                "password": PASSWORD}).status_code == 200


def test_login_is_rate_limited_per_address(client, monkeypatch, setenv):
    setenv("TIDEMARK_RATE_LOGIN_IP", "3/600")
    register(client, "a@example.com")
    env = {"REMOTE_ADDR": "203.0.113.5"}
    for _ in range(3):
        assert client.post("/api/auth/login", json={"email": "a@example.com", "password": "x"},
                           environ_base=env).status_code == 401
    r = client.post("/api/auth/login", json={"email": "a@example.com", "password": PASSWORD},
                    environ_base=env)
    assert r.status_code == 429
    assert 590 <= int(r.headers["Retry-After"]) <= 600
    assert r.get_json()["error"]["details"]["limit"] == "login-ip"
    # Another address is not affected.
    assert client.post("/api/auth/login", json={"email": "a@example.com", "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": "203.0.113.6"}).status_code == 200


def test_login_failures_are_rate_limited_per_account_across_addresses(client, monkeypatch, setenv):
    setenv("TIDEMARK_RATE_LOGIN_ACCOUNT", "2/900")
    register(client, "a@example.com")
    for i in range(2):
        r = client.post("/api/auth/login", json={"email": "a@example.com", "password": "bad"},
                        environ_base={"REMOTE_ADDR": f"203.0.113.{10 + i}"})
        assert r.status_code == 401
    r = client.post("/api/auth/login", json={"email": "A@example.com", "password": PASSWORD},
                    environ_base={"REMOTE_ADDR": "203.0.113.99"})
    assert r.status_code == 429 and r.get_json()["error"]["details"]["limit"] == "login-account"
    # Unknown emails are limited the same way, so the limit reveals nothing either.
    for _ in range(2):
        client.post("/api/auth/login", json={"email": "ghost@example.com", "password": "bad"})
    r = client.post("/api/auth/login", json={"email": "ghost@example.com", "password": "bad"})
    assert r.status_code == 429


def test_registration_is_rate_limited_per_address(client, monkeypatch, setenv):
    setenv("TIDEMARK_RATE_REGISTER_IP", "2/3600")
    for i in range(2):
        register(client, f"u{i}@example.com", ip="203.0.113.50")
    r = client.post("/api/auth/register", json={"email": "u9@example.com", "password": PASSWORD,
                                                "tenant_name": "X"},
                    environ_base={"REMOTE_ADDR": "203.0.113.50"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0


def test_forwarded_for_is_trusted_only_behind_a_proxy(client, monkeypatch, setenv):
    setenv("TIDEMARK_RATE_LOGIN_IP", "1/600")
    spoof = {"X-Forwarded-For": "192.0.2.1"}
    env = {"REMOTE_ADDR": "203.0.113.77"}
    body = {"email": "x@example.com", "password": "bad"}
    assert client.post("/api/auth/login", json=body, headers=spoof,
                       environ_base=env).status_code == 401
    # Without a trusted proxy a fresh X-Forwarded-For does not buy a fresh budget.
    r = client.post("/api/auth/login", json=body, headers={"X-Forwarded-For": "192.0.2.2"},
                    environ_base=env)
    assert r.status_code == 429
    # Behind Google's front end the right-most entry, which it appended, is the caller.
    setenv("TIDEMARK_FORWARDED_BY_FRONT_END", "true")
    r = client.post("/api/auth/login", json=body,
                    headers={"X-Forwarded-For": "203.0.113.77, 192.0.2.3"}, environ_base=env)
    assert r.status_code == 401
