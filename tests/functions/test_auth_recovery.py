"""Password reset through the auth function: the mailed link, its single use and
expiry, the end of every session, and no way to tell registered addresses apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.auth import recovery
from tests.support.mailbox import link_token, messages_to, text_of

PASSWORD = "correct horse battery staple"
NEW = "an entirely different passphrase"


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


def forgot(client, email, ip="198.51.100.7"):
    return client.post("/api/auth/password/forgot", json={"email": email},
                       environ_base={"REMOTE_ADDR": ip})


def test_a_reset_sets_the_password_and_ends_every_session(client, deps):
    first = register(client)
    second = client.post("/api/auth/login", json={"email": "owner@example.com",
                                                  "password": PASSWORD}).get_json()
    assert forgot(client, "owner@example.com").status_code == 202
    token = link_token(_mail(deps), "owner@example.com", "/reset-password")
    assert client.post("/api/auth/password/reset",
                       json={"token": token, "password": NEW}).status_code == 204
    # Both sign-ins are over: refresh tokens revoked, access tokens refused at once.
    for session in (first, second):
        assert client.post("/api/auth/refresh", json={
            "refresh_token": session["refresh_token"]}).status_code == 401
        me = client.get("/api/auth/me", headers=bearer(session))
        assert me.status_code == 401 and me.get_json()["error"]["code"] == "session_revoked"
    assert client.post("/api/auth/login", json={"email": "owner@example.com",
                                                "password": PASSWORD}).status_code == 401
    fresh = client.post("/api/auth/login", json={"email": "owner@example.com",
                                                 "password": NEW})
    assert fresh.status_code == 200
    assert client.get("/api/auth/me", headers=bearer(fresh.get_json())).status_code == 200
    # The link reached the inbox: the address counts as confirmed.
    assert fresh.get_json()["user"]["email_verified"] is True
    actions = [e["action"] for e in _audit(deps, first["tenant"]["id"])]
    assert "password.reset_requested" in actions and "password.reset" in actions


def _audit(deps, tenant_id):
    from shared.auth import audit

    return audit.entries(deps.docs, tenant_id)


def test_a_link_works_once_and_older_links_die_with_it(client, deps):
    register(client)
    forgot(client, "owner@example.com")
    older = link_token(_mail(deps), "owner@example.com", "/reset-password")
    forgot(client, "owner@example.com")
    newer = link_token(_mail(deps), "owner@example.com", "/reset-password")
    assert older != newer
    ok = client.post("/api/auth/password/reset", json={"token": newer, "password": NEW})
    assert ok.status_code == 204
    for token in (newer, older):
        r = client.post("/api/auth/password/reset", json={"token": token,
                                                          "password": NEW + " again"})
        assert r.status_code == 400
        assert r.get_json()["error"]["code"] == "invalid_reset_token"


def test_an_expired_link_is_refused(client, deps):
    register(client)
    forgot(client, "owner@example.com")
    token = link_token(_mail(deps), "owner@example.com", "/reset-password")
    key = recovery._hash(token)
    deps.docs.update(recovery.RESETS, key,
                     {"expires_at": datetime.now(UTC) - timedelta(seconds=1)})
    r = client.post("/api/auth/password/reset", json={"token": token, "password": NEW})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_reset_token"


@pytest.mark.parametrize("token", ["", "tmp_short", "tmr_" + "A" * 43, "tmp_" + "A" * 43,
                                   "tmp_" + "A" * 42 + "!", "../password_resets/x"])
def test_malformed_and_unknown_tokens_are_refused(client, token):
    r = client.post("/api/auth/password/reset", json={"token": token, "password": NEW})
    assert r.status_code == 400


def test_a_weak_new_password_is_refused_and_the_link_still_works(client, deps):
    register(client)
    forgot(client, "owner@example.com")
    token = link_token(_mail(deps), "owner@example.com", "/reset-password")
    weak = client.post("/api/auth/password/reset",
                       json={"token": token, "password": "owner@example.com"})
    assert weak.status_code == 400
    assert "password" in weak.get_json()["error"]["details"]["fields"]
    assert client.post("/api/auth/password/reset",
                       json={"token": token, "password": NEW}).status_code == 204


def test_the_answer_is_the_same_for_every_kind_of_address(client, deps):
    """Registered, unknown, disabled and invited addresses get byte-identical answers,
    and each gets one message (a link, or a notice that no account uses it)."""
    admin = register(client)
    from tests.support.mailbox import confirm_email

    confirm_email(lambda p, b: client.post(p, json=b), _mail(deps), "owner@example.com")
    made = client.post("/api/auth/users", headers=bearer(admin), json={
        "email": "gone@example.com", "role": "viewer", "password": PASSWORD}).get_json()
    client.patch(f"/api/auth/users/{made['user']['id']}", headers=bearer(admin),
                 json={"disabled": True})
    client.post("/api/auth/users", headers=bearer(admin),
                json={"email": "invited@example.com", "role": "viewer"})
    answers = set()
    for i, email in enumerate(["owner@example.com", "nobody@example.com",
                               "gone@example.com", "invited@example.com"]):
        before = len(messages_to(_mail(deps), email))
        r = forgot(client, email, ip=f"198.51.100.{i + 20}")
        answers.add((r.status_code, r.get_data()))
        assert len(messages_to(_mail(deps), email)) == before + 1
    assert len(answers) == 1
    notice = text_of(messages_to(_mail(deps), "nobody@example.com")[-1])
    assert "no account uses it" in notice and "#token=" not in notice


class _Recorder:
    """Wraps a port and records the name of every call made through it."""

    def __init__(self, inner, calls, label):
        self._inner, self._calls, self._label = inner, calls, label

    def __getattr__(self, name):
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            collection = args[0] if args and isinstance(args[0], str) else ""
            # The collection, with the tenant part of a tenant path made generic.
            shape = "/".join("*" if part.startswith("t_") else part
                             for part in collection.split("/"))
            self._calls.append((self._label, name, shape))
            return attr(*args, **kwargs)
        return call


def test_known_and_unknown_addresses_cost_the_same_work(client, deps):
    """A structural timing test: the request makes the same kinds and number of reads,
    writes and sends whether or not the address has an account."""
    register(client)

    def trace(email, ip):
        calls: list[tuple[str, str, str]] = []
        real_docs, real_mailer = deps.docs, deps.mailer
        deps.__dict__["docs"] = _Recorder(real_docs, calls, "docs")
        deps.__dict__["mailer"] = _Recorder(real_mailer, calls, "mail")
        try:
            recovery.request_reset(deps, {"email": email}, ip=ip)
        finally:
            deps.__dict__["docs"], deps.__dict__["mailer"] = real_docs, real_mailer
        return calls

    known = trace("owner@example.com", "198.51.100.40")
    unknown = trace("nobody@example.com", "198.51.100.41")
    assert [c[:2] for c in known] == [c[:2] for c in unknown]
    assert ("mail", "send", "") in known and ("mail", "send", "") in unknown


def test_requests_are_limited_per_address_and_per_client(client, deps, setenv):
    setenv("TIDEMARK_RATE_RESET_ACCOUNT", "2/3600")
    setenv("TIDEMARK_RATE_RESET_IP", "3/3600")
    register(client)
    assert forgot(client, "owner@example.com", "198.51.100.1").status_code == 202
    assert forgot(client, "owner@example.com", "198.51.100.2").status_code == 202
    limited = forgot(client, "owner@example.com", "198.51.100.3")
    assert limited.status_code == 429
    assert limited.get_json()["error"]["details"]["limit"] == "reset-account"
    # One client guessing tokens meets its own limit.
    codes = [client.post("/api/auth/password/reset",
                         json={"token": "tmp_" + "B" * 43, "password": NEW},
                         environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code
             for _ in range(4)]
    assert codes[:3] == [400, 400, 400] and codes[3] == 429


def test_without_a_mail_server_every_address_gets_the_same_503(client, deps):
    from shared.adapters.smtp import SmtpMailer

    register(client)
    deps.__dict__["mailer"] = SmtpMailer("", 587, "no-reply@example.com")
    answers = {(r.status_code, r.get_json()["error"]["code"])
               for r in (forgot(client, "owner@example.com", "198.51.100.50"),
                         forgot(client, "nobody@example.com", "198.51.100.51"))}
    assert answers == {(503, "mail_unavailable")}
