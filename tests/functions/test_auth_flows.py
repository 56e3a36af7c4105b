"""The auth function end to end through its HTTP entry point: sign-up, sign-in,
refresh, logout, me, admin user management, invites, JWKS, audit and logging."""

from __future__ import annotations

import json
import logging

import pytest

from tests.support.mailbox import confirm_email

PASSWORD = "correct horse battery staple"


@pytest.fixture
def client(function_client):
    return function_client("auth", "auth_http")


def register(client, email="owner@example.com", password=PASSWORD, tenant="Acme", **kw):
    r = client.post("/api/auth/register", json={"email": email, "password": password,
                                                "tenant_name": tenant, **kw})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def confirm(client, deps, email="owner@example.com"):
    """Open the confirmation link the registration mailed: an unconfirmed admin may not
    create users."""
    confirm_email(lambda path, body: client.post(path, json=body),
                  deps.settings.data_dir / "mail", email)


def bearer(session):
    return {"Authorization": f"Bearer {session['access_token']}"}


def test_register_creates_a_tenant_and_its_first_admin(client, deps):
    body = register(client, email="Owner@Example.com", name="Olive")
    user, tenant = body["user"], body["tenant"]
    assert user["role"] == "admin" and user["email"] == "owner@example.com"
    assert user["name"] == "Olive" and user["status"] == "active"
    assert tenant["name"] == "Acme" and user["tenant_id"] == tenant["id"]
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert "password_hash" not in json.dumps(body)
    stored = deps.docs.get(f"tenants/{tenant['id']}/users", user["id"]).data
    assert stored["password_hash"].startswith("$argon2id$")
    assert deps.docs.get("tenants", tenant["id"]).data["name"] == "Acme"
    from shared.auth.validation import email_key

    index = deps.docs.get("emails", email_key("owner@example.com")).data
    assert (index["tenant_id"], index["user_id"]) == (tenant["id"], user["id"])
    me = client.get("/api/auth/me", headers=bearer(body))
    assert me.status_code == 200
    assert me.get_json()["user"]["id"] == user["id"]
    assert me.get_json()["tenant"] == tenant


def test_an_email_registers_once_across_all_tenants(client):
    register(client)
    r = client.post("/api/auth/register", json={"email": "OWNER@example.com ",
                                                "password": PASSWORD, "tenant_name": "Other"})
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "email_taken"


@pytest.mark.parametrize("body,fields", [
    ({}, {"email", "password", "tenant_name"}),
    ({"email": "nope", "password": PASSWORD, "tenant_name": "A"}, {"email"}),
    ({"email": "a@b.co", "password": "short", "tenant_name": "A"}, {"password"}),
    ({"email": "a@b.co", "password": "password1234", "tenant_name": "A"}, {"password"}),
    ({"email": "jane.doe@b.co", "password": "jane.doe@b.co", "tenant_name": "A"},
     {"password"}),
    ({"email": "a@b.co", "password": PASSWORD, "tenant_name": "  "}, {"tenant_name"}),
    ({"email": 5, "password": ["x"], "tenant_name": "A" * 101}, {"email", "password",
                                                                 "tenant_name"}),
    ({"email": "a@b.co", "password": PASSWORD, "tenant_name": "A", "role": "admin"},
     {"role"}),
])
def test_malformed_registration_is_a_400_naming_the_fields(client, body, fields):
    r = client.post("/api/auth/register", json=body)
    assert r.status_code == 400
    assert set(r.get_json()["error"]["details"]["fields"]) == fields


def test_non_json_bodies_are_refused(client):
    r = client.post("/api/auth/login", data="{not json", content_type="application/json")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "malformed_json"
    r = client.post("/api/auth/login", data="email=a", content_type="text/plain")
    assert r.status_code == 415


def test_login_returns_a_session_and_wrong_credentials_look_the_same(client):
    register(client)
    r = client.post("/api/auth/login", json={"email": "OWNER@example.com",
                                             "password": PASSWORD})
    assert r.status_code == 200
    assert r.get_json()["user"]["email"] == "owner@example.com"
    wrong_pw = client.post("/api/auth/login", json={"email": "owner@example.com",
                                                    "password": PASSWORD + "!"})
    no_user = client.post("/api/auth/login", json={"email": "ghost@example.com",
                                                   "password": PASSWORD})
    for resp in (wrong_pw, no_user):
        assert resp.status_code == 401
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert wrong_pw.get_json() == no_user.get_json()
    assert wrong_pw.get_json()["error"]["code"] == "invalid_credentials"


def test_refresh_rotates_and_a_replay_revokes_the_family(client):
    first = register(client)
    r = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200
    second = r.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get("/api/auth/me", headers=bearer(second)).status_code == 200
    replay = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert replay.get_json()["error"]["code"] == "refresh_token_reused"
    stolen = client.post("/api/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert stolen.status_code == 401


def test_logout_revokes_the_refresh_token_and_is_idempotent(client):
    s = register(client)
    r = client.post("/api/auth/logout", json={"refresh_token": s["refresh_token"]})
    assert r.status_code == 204 and r.data == b""
    again = client.post("/api/auth/logout", json={"refresh_token": s["refresh_token"]})
    assert again.status_code == 204
    r = client.post("/api/auth/refresh", json={"refresh_token": s["refresh_token"]})
    assert r.status_code == 401
    assert client.post("/api/auth/logout", json={}).status_code == 400


def test_admin_creates_lists_and_manages_users(client, deps):
    admin = register(client)
    confirm(client, deps)
    r = client.post("/api/auth/users", headers=bearer(admin),
                    json={"email": "ana@example.com", "role": "analyst", "password": PASSWORD})
    assert r.status_code == 201
    ana = r.get_json()["user"]
    assert ana["role"] == "analyst" and ana["status"] == "active" and "invite" not in r.get_json()
    listed = client.get("/api/auth/users", headers=bearer(admin)).get_json()["users"]
    assert [u["email"] for u in listed] == ["owner@example.com", "ana@example.com"]

    r = client.patch(f"/api/auth/users/{ana['id']}", headers=bearer(admin),
                     json={"role": "viewer"})
    assert r.status_code == 200 and r.get_json()["user"]["role"] == "viewer"
    login = client.post("/api/auth/login", json={"email": "ana@example.com",
                                                 "password": PASSWORD}).get_json()
    assert client.get("/api/auth/me", headers=bearer(login)).get_json()["user"]["role"] == \
        "viewer"

    r = client.patch(f"/api/auth/users/{ana['id']}", headers=bearer(admin),
                     json={"disabled": True})
    assert r.status_code == 200 and r.get_json()["user"]["status"] == "disabled"
    # Her live access token, her refresh token and her password all stop working.
    me = client.get("/api/auth/me", headers=bearer(login))
    assert me.status_code == 401 and me.get_json()["error"]["code"] == "account_disabled"
    assert client.post("/api/auth/refresh",
                       json={"refresh_token": login["refresh_token"]}).status_code == 401
    r = client.post("/api/auth/login", json={"email": "ana@example.com", "password": PASSWORD})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "account_disabled"

    r = client.patch(f"/api/auth/users/{ana['id']}", headers=bearer(admin),
                     json={"disabled": False})
    assert r.get_json()["user"]["status"] == "active"
    assert client.post("/api/auth/login", json={"email": "ana@example.com",
                                                "password": PASSWORD}).status_code == 200

    from shared.auth import audit

    actions = [e["action"] for e in audit.entries(deps.docs, admin["tenant"]["id"])]
    for expected in (audit.ROLE_CHANGED, audit.USER_DISABLED, audit.USER_ENABLED,
                     audit.LOGIN_SUCCEEDED, audit.LOGIN_FAILED, audit.USER_CREATED):
        assert expected in actions
    role_change = next(e for e in audit.entries(deps.docs, admin["tenant"]["id"])
                       if e["action"] == audit.ROLE_CHANGED)
    assert role_change["details"] == {"from": "analyst", "to": "viewer"}
    assert role_change["actor_id"] == admin["user"]["id"]
    assert role_change["target_id"] == ana["id"]


def test_an_invite_is_accepted_once(client, deps):
    admin = register(client)
    confirm(client, deps)
    r = client.post("/api/auth/users", headers=bearer(admin),
                    json={"email": "vic@example.com", "role": "viewer"})
    assert r.status_code == 201
    body = r.get_json()
    assert body["user"]["status"] == "invited"
    invite = body["invite"]
    assert invite["accept_url"] == "/api/auth/invites/accept"
    # Not usable before acceptance: no password is set.
    assert client.post("/api/auth/login", json={"email": "vic@example.com",
                                                "password": PASSWORD}).status_code == 401
    weak = client.post("/api/auth/invites/accept",
                       json={"token": invite["token"], "password": "vic@example.com"})
    assert weak.status_code == 400
    assert "password" in weak.get_json()["error"]["details"]["fields"]
    r = client.post("/api/auth/invites/accept", json={"token": invite["token"],
                                                      "password": PASSWORD})
    assert r.status_code == 200
    accepted = r.get_json()
    assert accepted["user"]["status"] == "active" and accepted["user"]["role"] == "viewer"
    assert client.get("/api/auth/me", headers=bearer(accepted)).status_code == 200
    again = client.post("/api/auth/invites/accept", json={"token": invite["token"],
                                                          "password": PASSWORD + "2"})
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "invalid_invite"
    assert client.post("/api/auth/login", json={"email": "vic@example.com",
                                                "password": PASSWORD}).status_code == 200


def test_the_last_active_admin_cannot_be_demoted_or_disabled(client, deps, make_user):
    admin = register(client)
    confirm(client, deps)
    me = admin["user"]["id"]
    for change in ({"role": "analyst"}, {"disabled": True}):
        r = client.patch(f"/api/auth/users/{me}", headers=bearer(admin), json=change)
        assert r.status_code == 409 and r.get_json()["error"]["code"] == "last_admin"
    r = client.post("/api/auth/users", headers=bearer(admin),
                    json={"email": "second@example.com", "role": "admin", "password": PASSWORD})
    second = r.get_json()["user"]["id"]
    r = client.patch(f"/api/auth/users/{me}", headers=bearer(admin), json={"role": "analyst"})
    assert r.status_code == 200
    # The first admin is no longer one: the stored role wins over the token's.
    r = client.patch(f"/api/auth/users/{second}", headers=bearer(admin),
                     json={"disabled": True})
    assert r.status_code == 403


@pytest.mark.parametrize("body", [{}, {"role": "owner"}, {"disabled": "yes"},
                                  {"role": "viewer", "email": "x@y.z"}])
def test_malformed_user_changes_are_400(client, body):
    admin = register(client)
    r = client.patch(f"/api/auth/users/{admin['user']['id']}", headers=bearer(admin), json=body)
    assert r.status_code == 400 and r.get_json()["error"]["details"]["fields"]


def test_jwks_publishes_only_public_keys(client):
    r = client.get("/api/auth/jwks.json")
    assert r.status_code == 200 and "max-age" in r.headers["Cache-Control"]
    (key,) = r.get_json()["keys"]
    assert key["kty"] == "EC" and key["alg"] == "ES256" and key["use"] == "sig"
    assert "d" not in key and "private_pem" not in key


def test_health_and_unknown_routes(client):
    assert client.get("/api/auth/health").get_json()["status"] == "ok"
    assert client.get("/api/auth/nope").status_code == 404
    assert client.delete("/api/auth/login").status_code == 405


def test_logs_never_hold_passwords_or_refresh_tokens(client):
    from shared.log import JsonFormatter, configure

    configure()
    lines: list[str] = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = lambda record: lines.append(JsonFormatter().format(record))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        s = register(client)
        client.post("/api/auth/login", json={"email": "owner@example.com",
                                             "password": "Wrong-Secret-123"})
        client.post("/api/auth/login", json={"email": "ghost@example.com",
                                             "password": "Ghost-Secret-456"})
        r = client.post("/api/auth/refresh", json={"refresh_token": s["refresh_token"]})
        client.post("/api/auth/refresh", json={"refresh_token": s["refresh_token"]})
        client.post("/api/auth/logout", json={"refresh_token": r.get_json()["refresh_token"]})
    finally:
        root.removeHandler(handler)
    text = "\n".join(lines)
    assert "audit login.failed" in text  # the failure was logged, without its secrets
    for secret in (PASSWORD, "Wrong-Secret-123", "Ghost-Secret-456", s["refresh_token"],
                   r.get_json()["refresh_token"], s["access_token"]):
        assert secret not in text
