"""Admin user management inside one tenant: list, create or invite, change role,
disable; and accepting an invite. Every lookup is under the admin's own tenant, so a
user id from another tenant is simply not found."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared import errors
from shared.auth import audit, passwords, ratelimit
from shared.auth.models import (
    AcceptInviteRequest,
    CreateUserRequest,
    UpdateUserRequest,
)
from shared.auth.service import (
    create_account,
    new_id,
    public_tenant,
    public_user,
    session,
    users_collection,
)
from shared.auth.validation import valid_id
from shared.ports import Filter

if TYPE_CHECKING:
    from shared.bootstrap import Deps
    from shared.ports import Transaction
    from shared.web.authz import Principal

INVITE_TTL = timedelta(days=7)
INVITE_PATH = "/api/auth/invites/accept"
_INVITE = re.compile(r"^inv_([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{43})$")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _user_not_found(user_id: str) -> errors.NotFound:
    return errors.NotFound("no such user in this tenant", code="user_not_found",
                           details={"user_id": user_id})


def list_users(deps: Deps, principal: Principal) -> dict[str, Any]:
    docs = deps.docs.query(users_collection(principal.tenant_id))
    users = [public_user(d.id, principal.tenant_id, d.data) for d in docs]
    users.sort(key=lambda u: (str(u["created_at"]), u["id"]))
    return {"users": users}


def create_user(deps: Deps, principal: Principal, body: CreateUserRequest | Mapping[str, Any], *,
                ip: str) -> dict[str, Any]:
    """With a password: an active user. Without: an invited user and a one-time token
    the admin passes on; the email is reserved at once either way."""
    req = CreateUserRequest.parse(body)
    email, role, name, password = req.email, req.role, req.name, req.password
    from shared.auth import verification

    verification.require_verified(deps, principal)
    tid, uid = principal.tenant_id, new_id("u_")
    now = datetime.now(UTC)
    user: dict[str, Any] = {"email": email, "name": name, "role": role, "disabled": False,
                            "email_verified": False, "created_at": now, "updated_at": now,
                            "created_by": principal.user_id}
    invite_token = None
    if password is not None:
        user["password_hash"] = passwords.hash_password(password)
    else:
        secret = secrets.token_urlsafe(32)
        invite_token = f"inv_{tid}.{uid}.{secret}"
        user.update({"password_hash": None, "invite_hash": _hash(secret),
                     "invite_expires_at": now + INVITE_TTL})

    create_account(deps.docs, email=email, tenant_id=tid, user_id=uid, user=user)
    audit.record(deps.docs, tid, audit.USER_INVITED if invite_token else audit.USER_CREATED,
                 actor_id=principal.user_id, target_id=uid, ip=ip, details={"role": role})
    if password is not None:  # an invitee gets theirs on accepting the invite
        verification.send_link(deps, tid, uid, email, best_effort=True)
    out: dict[str, Any] = {"user": public_user(uid, tid, user)}
    if invite_token:
        out["invite"] = {"token": invite_token, "accept_url": INVITE_PATH, "method": "POST",
                         "expires_at": user["invite_expires_at"]}
    return out


def accept_invite(deps: Deps, body: AcceptInviteRequest | Mapping[str, Any], *,
                  ip: str) -> dict[str, Any]:
    """Set the password of an invited user (once) and sign them in."""
    req = AcceptInviteRequest.parse(body)
    token, password = req.token, req.password
    limits = ratelimit.limits()
    ratelimit.hit(deps.docs, limits["register-ip"], ip)
    invalid = errors.InvalidInput("this invite is invalid, used or expired",
                                  code="invalid_invite",
                                  details={"fields": {"token": ["is invalid or expired"]}})
    m = _INVITE.match(token)
    if not m:
        raise invalid
    tid, uid, secret = m.groups()
    # Guesses at one account's invite secret, whichever address they come from.
    ratelimit.hit(deps.docs, limits["register-account"], f"invite:{tid}/{uid}")
    user = deps.docs.get(users_collection(tid), uid)
    if user is None or not _invite_matches(user.data, secret):
        raise invalid
    # The policy compares with the invitee's email, known only once the token is read.
    weak = passwords.policy_problems(password, user.data.get("email", ""))
    if weak:
        raise errors.InvalidInput("invalid fields: password", code="invalid_fields",
                                  details={"fields": {"password": weak}})
    password_hash = passwords.hash_password(password)

    def step(tx: Transaction) -> dict[str, Any]:
        doc = tx.get(users_collection(tid), uid)
        if doc is None or not _invite_matches(doc.data, secret):
            raise invalid
        tx.update(users_collection(tid), uid,
                  {"password_hash": password_hash, "invite_hash": None,
                   "invite_expires_at": None, "updated_at": datetime.now(UTC)})
        return {**doc.data, "password_hash": password_hash, "invite_hash": None}

    data = deps.docs.transaction(step)
    audit.record(deps.docs, tid, audit.INVITE_ACCEPTED, actor_id=uid, target_id=uid, ip=ip)
    from shared.auth import verification

    if not verification.is_verified(data):
        verification.send_link(deps, tid, uid, str(data["email"]), best_effort=True)
    tenant = deps.docs.get("tenants", tid)
    return {"user": public_user(uid, tid, data),
            "tenant": public_tenant(tid, tenant.data if tenant else {}),
            **session(deps, user_id=uid, tenant_id=tid, role=data["role"],
                      email=data["email"])}


def _invite_matches(data: dict[str, Any], secret: str) -> bool:
    stored, expires = data.get("invite_hash"), data.get("invite_expires_at")
    if not stored or data.get("disabled") or expires is None or expires <= datetime.now(UTC):
        return False
    return hmac.compare_digest(stored, _hash(secret))


def update_user(deps: Deps, principal: Principal, user_id: str,
                body: UpdateUserRequest | Mapping[str, Any], *,
                ip: str) -> dict[str, Any]:
    """Change role and/or disable; never leaves the tenant without an active admin."""
    from shared.auth import refresh

    req = UpdateUserRequest.parse(body)
    role, disabled = req.role, req.disabled
    tid = principal.tenant_id
    if not valid_id(user_id):
        raise _user_not_found(user_id)
    col = users_collection(tid)
    # Admins are few; read them inside the transaction so two admins demoting each
    # other at once cannot both succeed.
    admin_ids = [d.id for d in deps.docs.query(col, filters=[Filter("role", "==", "admin")])]

    def step(tx: Transaction) -> tuple[dict[str, Any], dict[str, Any]]:
        doc = tx.get(col, user_id)
        if doc is None:
            raise _user_not_found(user_id)
        before = doc.data
        after = {**before, **({"role": role} if role else {}),
                 **({"disabled": disabled} if disabled is not None else {})}
        if _active_admin(before) and not _active_admin(after):
            others = [tx.get(col, a) for a in admin_ids if a != user_id]
            if not any(o is not None and _active_admin(o.data) for o in others):
                raise errors.Conflict("a tenant must keep at least one active admin",
                                      code="last_admin", details={"user_id": user_id})
        changes = {k: after[k] for k in ("role", "disabled") if after.get(k) != before.get(k)}
        if changes:
            tx.update(col, user_id, {**changes, "updated_at": datetime.now(UTC)})
        return before, {**after, **({"updated_at": datetime.now(UTC)} if changes else {})}

    before, after = deps.docs.transaction(step)
    if after.get("role") != before.get("role"):
        audit.record(deps.docs, tid, audit.ROLE_CHANGED, actor_id=principal.user_id,
                     target_id=user_id, ip=ip,
                     details={"from": before.get("role"), "to": after.get("role")})
    if bool(after.get("disabled")) != bool(before.get("disabled")):
        if after.get("disabled"):
            refresh.revoke_user(deps.docs, user_id)
        audit.record(deps.docs, tid,
                     audit.USER_DISABLED if after.get("disabled") else audit.USER_ENABLED,
                     actor_id=principal.user_id, target_id=user_id, ip=ip)
    return {"user": public_user(user_id, tid, after)}


def _active_admin(data: dict[str, Any]) -> bool:
    return (data.get("role") == "admin" and not data.get("disabled")
            and not data.get("invite_hash"))
