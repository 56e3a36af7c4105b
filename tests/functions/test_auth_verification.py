"""Email verification: links at sign-up and on an email change, what an unconfirmed
account may not do, and the email index moving with a confirmed change."""

from __future__ import annotations

import re

import pytest

from shared.auth.validation import email_key
from tests.support.mailbox import confirm_email, link_token, messages_to, text_of

PASSWORD = "correct horse battery staple"


@pytest.fixture
def client(function_client):
    return function_client("auth", "auth_http")


def _mail(deps):
    return deps.settings.data_dir / "mail"


def register(client, email="owner@example.com"):
    r = client.post("/api/auth/register", json={"email": email, "password": PASSWORD,
                                                "tenant_name": "Acme"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def bearer(session):
    return {"Authorization": f"Bearer {session['access_token']}"}


def verify(client, token):
    return client.post("/api/auth/email/verify", json={"token": token})


def test_an_unconfirmed_admin_signs_in_but_cannot_add_users_until_the_link_is_opened(
        client, deps):
    admin = register(client)
    assert admin["user"]["email_verified"] is False
    body = {"email": "ana@example.com", "role": "viewer"}
    r = client.post("/api/auth/users", headers=bearer(admin), json=body)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "email_unverified"
    assert client.get("/api/auth/me", headers=bearer(admin)).status_code == 200

    token = link_token(_mail(deps), "owner@example.com", "/verify-email")
    ok = verify(client, token)
    assert ok.status_code == 200 and ok.get_json() == {"email": "owner@example.com",
                                                       "verified": True}
    assert verify(client, token).status_code == 400  # once
    me = client.get("/api/auth/me", headers=bearer(admin)).get_json()
    assert me["user"]["email_verified"] is True
    assert client.post("/api/auth/users", headers=bearer(admin), json=body).status_code == 201


def test_users_an_admin_creates_get_their_own_link(client, deps):
    admin = register(client)
    confirm_email(lambda p, b: client.post(p, json=b), _mail(deps), "owner@example.com")
    made = client.post("/api/auth/users", headers=bearer(admin), json={
        "email": "bo@example.com", "role": "analyst", "password": PASSWORD}).get_json()
    assert made["user"]["email_verified"] is False
    assert len(messages_to(_mail(deps), "bo@example.com")) == 1
    invited = client.post("/api/auth/users", headers=bearer(admin), json={
        "email": "cy@example.com", "role": "viewer"}).get_json()
    assert messages_to(_mail(deps), "cy@example.com") == []  # mailed on acceptance
    client.post("/api/auth/invites/accept", json={"token": invited["invite"]["token"],
                                                  "password": PASSWORD})
    assert len(messages_to(_mail(deps), "cy@example.com")) == 1


def test_resend_is_limited_and_refused_once_confirmed(client, deps, setenv):
    setenv("TIDEMARK_RATE_VERIFY_RESEND", "2/3600")
    admin = register(client)
    codes = [client.post("/api/auth/email/resend", headers=bearer(admin)).status_code
             for _ in range(3)]
    assert codes == [202, 202, 429]
    assert len(messages_to(_mail(deps), "owner@example.com")) == 3  # sign-up + 2
    # Every link sent still works until one is used.
    confirm_email(lambda p, b: client.post(p, json=b), _mail(deps), "owner@example.com")


def test_resend_of_a_confirmed_address_is_a_conflict(client, deps):
    admin = register(client)
    confirm_email(lambda p, b: client.post(p, json=b), _mail(deps), "owner@example.com")
    r = client.post("/api/auth/email/resend", headers=bearer(admin))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_verified"


def test_an_email_change_takes_effect_when_the_new_address_confirms(client, deps):
    admin = register(client)
    tid, uid = admin["tenant"]["id"], admin["user"]["id"]
    wrong = client.post("/api/auth/email/change", headers=bearer(admin), json={
        "email": "new@example.com", "password": "not the password"})
    assert wrong.status_code == 401
    same = client.post("/api/auth/email/change", headers=bearer(admin), json={
        "email": "owner@example.com", "password": PASSWORD})
    assert same.status_code == 400
    r = client.post("/api/auth/email/change", headers=bearer(admin), json={
        "email": "new@example.com", "password": PASSWORD})
    assert r.status_code == 202
    me = client.get("/api/auth/me", headers=bearer(admin)).get_json()["user"]
    assert me["email"] == "owner@example.com" and me["pending_email"] == "new@example.com"

    confirm_email(lambda p, b: client.post(p, json=b), _mail(deps), "new@example.com")
    me = client.get("/api/auth/me", headers=bearer(admin)).get_json()["user"]
    assert me["email"] == "new@example.com" and me["pending_email"] is None
    assert deps.docs.get("emails", email_key("owner@example.com")) is None
    assert deps.docs.get("emails", email_key("new@example.com")).data["user_id"] == uid
    assert client.post("/api/auth/login", json={"email": "new@example.com",
                                                "password": PASSWORD}).status_code == 200
    # The old address is free for someone else.
    register(client, "owner@example.com")
    from shared.auth import audit

    actions = [e["action"] for e in audit.entries(deps.docs, tid)]
    assert "email.change_requested" in actions and "email.changed" in actions


def test_a_change_link_loses_to_a_later_change_and_to_a_taken_address(client, deps):
    admin = register(client)
    for email in ("first@example.com", "second@example.com"):
        client.post("/api/auth/email/change", headers=bearer(admin),
                    json={"email": email, "password": PASSWORD})
    stale = link_token(_mail(deps), "first@example.com", "/verify-email")
    assert verify(client, stale).status_code == 400
    # Someone registers the pending address before its link is opened.
    register(client, "second@example.com")
    # The first message to second@ is the change's link; the newest, the sign-up's.
    change_mail = text_of(messages_to(_mail(deps), "second@example.com")[0])
    token = re.search(r"#token=([A-Za-z0-9_-]+)", change_mail).group(1)
    taken = verify(client, token)
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "email_taken"
    me = client.get("/api/auth/me", headers=bearer(admin)).get_json()["user"]
    assert me["email"] == "owner@example.com"


def test_a_link_for_an_address_the_account_no_longer_has_does_nothing(client, deps):
    admin = register(client)
    old_link = link_token(_mail(deps), "owner@example.com", "/verify-email")
    client.post("/api/auth/email/change", headers=bearer(admin),
                json={"email": "moved@example.com", "password": PASSWORD})
    confirm_email(lambda p, b: client.post(p, json=b), _mail(deps), "moved@example.com")
    assert verify(client, old_link).status_code == 400


@pytest.mark.parametrize("token", ["", "tmv_x", "tmp_" + "A" * 43, "tmv_" + "A" * 43])
def test_malformed_and_unknown_verification_tokens_are_refused(client, token):
    r = verify(client, token)
    assert r.status_code == 400
