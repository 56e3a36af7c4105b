"""The auth flows on the GCP adapters: Firestore (emulator) holds tenants, users, the
email index, refresh-token families, rate-limit windows and the audit log; the key
sets come from Secret Manager (an in-process fake of its client: no emulator exists).
"""

from __future__ import annotations

import uuid

import pytest

from tests.infra.firestore_queries import QueryRecorder, assert_indexed
from tests.support import emulators
from tests.support.mailbox import confirm_email, link_token

pytestmark = [pytest.mark.emulator, pytest.mark.slow]
PASSWORD = "a long enough passphrase 42"


@pytest.fixture
def queries():
    """Every Firestore query the run issues, to check against the declared indexes."""
    return QueryRecorder()


@pytest.fixture
def auth_client(request, tmp_path, function_client, queries):
    from shared.adapters.gcp.firestore import FirestoreDocumentStore
    from shared.adapters.gcp.secret_manager import SecretManagerStore
    from shared.auth import keys
    from shared.auth.tokens import clear_key_cache
    from shared.bootstrap import Deps, override
    from shared.settings import Settings

    firestore = emulators.shared_emulator(request, "firestore")
    settings = Settings(backend="gcp", gcp_project=emulators.PROJECT,
                        data_dir=tmp_path / "data", mail_backend="folder")
    deps = Deps(settings,
                docs=FirestoreDocumentStore(
                    client=queries.client(emulators.firestore_client(firestore))),
                secrets=SecretManagerStore(emulators.PROJECT,
                                           client=emulators.FakeSecretManagerClient()))
    keys.ensure_in_store(deps.secrets)
    clear_key_cache()
    with override(deps):
        yield function_client("auth", "auth_http"), deps
    clear_key_cache()


def bearer(session: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['access_token']}"}


def test_accounts_tokens_and_roles_work_on_firestore(auth_client, queries):
    client, deps = auth_client
    email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    reg = client.post("/api/auth/register", json={
        "email": email, "password": PASSWORD, "tenant_name": "Emulated Ltd"})
    assert reg.status_code == 201, reg.get_json()
    owner = reg.get_json()
    tenant_id = owner["tenant"]["id"]
    assert client.post("/api/auth/register", json={
        "email": email.upper(), "password": PASSWORD, "tenant_name": "Again"}).status_code == 409

    login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200
    me = client.get("/api/auth/me", headers=bearer(login.get_json())).get_json()
    assert me["user"]["role"] == "admin" and me["tenant"]["id"] == tenant_id
    assert client.post("/api/auth/login", json={
        "email": email, "password": "not the password at all"}).status_code == 401

    # Refresh rotates; replaying the spent token revokes the whole family.
    first = owner["refresh_token"]
    rotated = client.post("/api/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    assert client.post("/api/auth/refresh", json={"refresh_token": first}).status_code == 401
    assert client.post("/api/auth/refresh", json={
        "refresh_token": rotated.get_json()["refresh_token"]}).status_code == 401

    # The admin confirms the address, then adds a viewer; the viewer cannot manage
    # users; disabling is immediate.
    mail = deps.settings.data_dir / "mail"
    assert client.post("/api/auth/users", headers=bearer(owner), json={
        "email": "early@example.com", "role": "viewer"}).status_code == 403
    confirm_email(lambda path, body: client.post(path, json=body), mail, email)
    viewer_email = f"viewer-{uuid.uuid4().hex[:8]}@example.com"
    created = client.post("/api/auth/users", headers=bearer(owner), json={
        "email": viewer_email, "role": "viewer", "password": PASSWORD})
    assert created.status_code == 201, created.get_json()
    viewer_id = created.get_json()["user"]["id"]
    viewer = client.post("/api/auth/login", json={
        "email": viewer_email, "password": PASSWORD}).get_json()
    assert client.get("/api/auth/users", headers=bearer(viewer)).status_code == 403
    assert client.patch(f"/api/auth/users/{viewer_id}", headers=bearer(owner),
                        json={"disabled": True}).status_code == 200
    assert client.get("/api/auth/me", headers=bearer(viewer)).status_code == 401

    users = deps.docs.get(f"tenants/{tenant_id}/users", viewer_id)
    assert users is not None and users.data["disabled"] is True
    actions = {d.data.get("action") for d in deps.docs.query(f"tenants/{tenant_id}/audit")}
    assert {"login.succeeded", "login.failed", "user.disabled"} <= actions, actions
    assert client.post("/api/auth/logout", json={
        "refresh_token": login.get_json()["refresh_token"]}).status_code == 204
    assert_indexed(queries)


def test_reset_and_email_change_hold_on_firestore(auth_client):
    """The reset and the email change run their transactions on Firestore: a reset ends
    every session, an email change moves the email index entry."""
    from shared.auth.validation import email_key

    client, deps = auth_client
    mail = deps.settings.data_dir / "mail"
    email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    owner = client.post("/api/auth/register", json={
        "email": email, "password": PASSWORD, "tenant_name": "Reset Ltd"}).get_json()
    assert client.post("/api/auth/password/forgot", json={"email": email}).status_code == 202
    token = link_token(mail, email, "/reset-password")
    new_password = "an entirely new passphrase"
    assert client.post("/api/auth/password/reset", json={
        "token": token, "password": new_password}).status_code == 204
    assert client.post("/api/auth/refresh", json={
        "refresh_token": owner["refresh_token"]}).status_code == 401
    assert client.post("/api/auth/password/reset", json={
        "token": token, "password": new_password + "!"}).status_code == 400
    session = client.post("/api/auth/login", json={"email": email,
                                                   "password": new_password}).get_json()
    moved = f"moved-{uuid.uuid4().hex[:8]}@example.com"
    assert client.post("/api/auth/email/change", headers=bearer(session), json={
        "email": moved, "password": new_password}).status_code == 202
    confirm_email(lambda path, body: client.post(path, json=body), mail, moved)
    assert deps.docs.get("emails", email_key(email)) is None
    assert deps.docs.get("emails", email_key(moved)).data["user_id"] == owner["user"]["id"]
    assert client.post("/api/auth/login", json={"email": moved,
                                                "password": new_password}).status_code == 200
