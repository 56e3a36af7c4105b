"""Sessions: register a tenant, log in, refresh, log out, who am I, the JWKS.

Functions take the Deps (ports + settings) and plain values, raise only
`shared.errors`, and know nothing of HTTP. Admin user management lives in
`shared.auth.users`.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared import errors, tenants
from shared.auth import audit, passwords, ratelimit, refresh
from shared.auth.collections import EMAILS, users_collection
from shared.auth.models import LoginRequest, RefreshRequest, RegisterRequest
from shared.auth.validation import email_key, valid_id

if TYPE_CHECKING:
    from shared.bootstrap import Deps
    from shared.ports import DocumentStore, Transaction
    from shared.web.authz import Principal

log = logging.getLogger("tidemark.auth")

def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(8)


def public_user(user_id: str, tenant_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """What the API shows of a user: never the hash or invite secrets."""
    status = "disabled" if data.get("disabled") else (
        "invited" if data.get("invite_hash") else "active")
    return {"id": user_id, "tenant_id": tenant_id, "email": data.get("email"),
            "name": data.get("name"), "role": data.get("role"),
            "disabled": bool(data.get("disabled")), "status": status,
            "email_verified": bool(data.get("email_verified", True)),
            "pending_email": data.get("pending_email"),
            "created_at": data.get("created_at"), "updated_at": data.get("updated_at")}


def public_tenant(tenant_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": tenant_id, "name": data.get("name"), "created_at": data.get("created_at"),
            "settings": tenants.from_document(data).model_dump()}


def session(deps: Deps, *, user_id: str, tenant_id: str, role: str, email: str,
            family_id: str | None = None) -> dict[str, Any]:
    """A fresh access token and a refresh token (a new family unless given)."""
    from shared.auth.tokens import issue_access_token

    s = deps.settings
    access, expires_in = issue_access_token(deps, user_id=user_id, tenant_id=tenant_id,
                                            role=role, email=email)
    rt = refresh.issue(deps.docs, user_id=user_id, tenant_id=tenant_id,
                       ttl_s=s.refresh_token_ttl_s, family_id=family_id)
    return {"access_token": access, "token_type": "Bearer", "expires_in": expires_in,
            "refresh_token": rt, "refresh_expires_in": s.refresh_token_ttl_s}


# ------------------------------------------------------------------------- register

def register(deps: Deps, body: RegisterRequest | Mapping[str, Any], *, ip: str) -> dict[str, Any]:
    """A new tenant and its first admin, signed in."""
    req = RegisterRequest.parse(body)
    email, password, tenant_name, name = req.email, req.password, req.tenant_name, req.name
    limits = ratelimit.limits()
    ratelimit.hit(deps.docs, limits["register-ip"], ip)
    ratelimit.hit(deps.docs, limits["register-account"], email_key(email))

    password_hash = passwords.hash_password(password)
    tenant_id, user_id = new_id("t_"), new_id("u_")
    now = datetime.now(UTC)
    user = {"email": email, "name": name, "role": "admin", "disabled": False,
            "password_hash": password_hash, "email_verified": False,
            "created_at": now, "updated_at": now}
    tenant = {"name": tenant_name, "created_at": now,
              "settings": tenants.TenantSettings.model_validate(
                  {"time_zone": req.time_zone or "UTC"}).model_dump()}

    create_account(deps.docs, email=email, tenant_id=tenant_id, user_id=user_id, user=user,
                   tenant=tenant)
    audit.record(deps.docs, tenant_id, audit.TENANT_REGISTERED, actor_id=user_id,
                 target_id=user_id, ip=ip)
    from shared.auth import verification

    verification.send_link(deps, tenant_id, user_id, email, best_effort=True)
    return {"user": public_user(user_id, tenant_id, user),
            "tenant": public_tenant(tenant_id, tenant),
            **session(deps, user_id=user_id, tenant_id=tenant_id, role="admin", email=email)}


def _email_taken() -> errors.Conflict:
    return errors.Conflict("an account with this email already exists", code="email_taken",
                           details={"fields": {"email": ["is already registered"]}})


def create_account(docs: DocumentStore, *, email: str, tenant_id: str, user_id: str,
                   user: dict[str, Any], tenant: dict[str, Any] | None = None) -> None:
    """Create a user (and, given `tenant`, its new tenant) and reserve its email, all in
    one transaction: the email index entry is what makes an address unique across
    tenants, so a user must never exist without it, nor it without the user.

    Registration and an admin's create/invite both come here. errors.Conflict
    `email_taken` when the address is in use, including when a concurrent creation
    reserved it first (its create of the index entry is what conflicts then)."""
    key = email_key(email)

    def step(tx: Transaction) -> None:
        if tx.get(EMAILS, key) is not None:
            raise _email_taken()
        tx.create(EMAILS, key, {"tenant_id": tenant_id, "user_id": user_id,
                                "created_at": user["created_at"]})
        if tenant is not None:
            tx.create("tenants", tenant_id, tenant)
        tx.create(users_collection(tenant_id), user_id, user)

    try:
        docs.transaction(step)
    except errors.Conflict as exc:
        if exc.code == "email_taken":
            raise
        raise _email_taken() from None


# ---------------------------------------------------------------------------- login

def _invalid_credentials() -> errors.Unauthenticated:
    return errors.Unauthenticated("invalid email or password", code="invalid_credentials")


def find_user(deps: Deps, email: str) -> tuple[str, str, dict[str, Any]] | None:
    """(tenant_id, user_id, user data) of the account with this email, or None."""
    index = deps.docs.get(EMAILS, email_key(email))
    if index is None:
        return None
    tid, uid = index.data.get("tenant_id", ""), index.data.get("user_id", "")
    if not (valid_id(tid) and valid_id(uid)):
        return None
    user = deps.docs.get(users_collection(tid), uid)
    return (tid, uid, user.data) if user is not None else None


def login(deps: Deps, body: LoginRequest | Mapping[str, Any], *, ip: str) -> dict[str, Any]:
    """Email + password -> tokens. Unknown email, wrong password and an unfinished
    invite all take the same time and give the same answer."""
    req = LoginRequest.parse(body)
    email, password = req.email, req.password
    assert email and password is not None
    limits = ratelimit.limits()
    ratelimit.hit(deps.docs, limits["login-ip"], ip)
    account = email_key(email)
    ratelimit.check(deps.docs, limits["login-account"], account)

    found = find_user(deps, email)
    stored_hash = found[2].get("password_hash") if found else None
    ok = passwords.verify_password(stored_hash, password)
    if not ok:
        if found:
            audit.record(deps.docs, found[0], audit.LOGIN_FAILED, target_id=found[1], ip=ip,
                         details={"reason": "bad_password"})
        else:
            log.info("login failed for an unknown account", extra={"ip": ip})
        ratelimit.hit(deps.docs, limits["login-account"], account)
        raise _invalid_credentials()
    assert found is not None
    tenant_id, user_id, user = found
    if user.get("disabled"):
        audit.record(deps.docs, tenant_id, audit.LOGIN_FAILED, target_id=user_id, ip=ip,
                     details={"reason": "disabled"})
        raise errors.Forbidden("this account is disabled", code="account_disabled")
    if passwords.needs_rehash(stored_hash or ""):
        deps.docs.update(users_collection(tenant_id), user_id,
                         {"password_hash": passwords.hash_password(password)})
    audit.record(deps.docs, tenant_id, audit.LOGIN_SUCCEEDED, actor_id=user_id,
                 target_id=user_id, ip=ip)
    tenant = deps.docs.get("tenants", tenant_id)
    return {"user": public_user(user_id, tenant_id, user),
            "tenant": public_tenant(tenant_id, tenant.data if tenant else {}),
            **session(deps, user_id=user_id, tenant_id=tenant_id, role=user["role"],
                      email=user["email"])}


# -------------------------------------------------------------------- refresh/logout

def refresh_session(deps: Deps, body: RefreshRequest | Mapping[str, Any], *,
                    ip: str) -> dict[str, Any]:
    token = RefreshRequest.parse(body).refresh_token
    assert token is not None
    limits = ratelimit.limits()
    ratelimit.hit(deps.docs, limits["refresh-ip"], ip)
    # Keyed on the family, not the token: every refresh presents a new token.
    known = refresh.lookup(deps.docs, token)
    ratelimit.hit(deps.docs, limits["refresh-family"],
                  known.family_id if known else "token:" + refresh.token_hash(token))
    try:
        new_token, rec = refresh.rotate(deps.docs, token, ttl_s=deps.settings.refresh_token_ttl_s)
    except errors.Unauthenticated as exc:
        if exc.code == "refresh_token_reused":
            reused = refresh.lookup(deps.docs, token)
            if reused is not None:
                audit.record(deps.docs, reused.tenant_id, audit.REFRESH_REUSED,
                             target_id=reused.user_id, ip=ip)
        raise
    user = deps.docs.get(users_collection(rec.tenant_id), rec.user_id)
    if user is None or user.data.get("disabled"):
        refresh.revoke_family(deps.docs, rec.family_id)
        raise errors.Unauthenticated("this account is disabled", code="account_disabled")
    from shared.auth.tokens import issue_access_token

    access, expires_in = issue_access_token(deps, user_id=rec.user_id, tenant_id=rec.tenant_id,
                                            role=user.data["role"], email=user.data["email"])
    return {"access_token": access, "token_type": "Bearer", "expires_in": expires_in,
            "refresh_token": new_token, "refresh_expires_in": deps.settings.refresh_token_ttl_s,
            "user": public_user(rec.user_id, rec.tenant_id, user.data)}


def logout(deps: Deps, body: RefreshRequest | Mapping[str, Any]) -> None:
    """Revoke the token's family. Unknown tokens are accepted silently (idempotent)."""
    token = RefreshRequest.parse(body).refresh_token
    rec = refresh.lookup(deps.docs, token or "")
    if rec is not None:
        refresh.revoke_family(deps.docs, rec.family_id)


# ------------------------------------------------------------------------------- me

def me(deps: Deps, principal: Principal) -> dict[str, Any]:
    user = deps.docs.get(users_collection(principal.tenant_id), principal.user_id)
    tenant = deps.docs.get("tenants", principal.tenant_id)
    if user is None:
        raise errors.Unauthenticated("this account no longer exists", code="account_missing")
    return {"user": public_user(principal.user_id, principal.tenant_id, user.data),
            "tenant": public_tenant(principal.tenant_id, tenant.data if tenant else {})}


def jwks(deps: Deps) -> dict[str, Any]:
    keys: dict[str, Any] = json.loads(deps.secrets.get("jwt-public-keys"))
    return keys
