"""Password reset: a single-use, short-lived token sent by mail (OWASP ASVS 2.5,
https://cheatsheetseries.owasp.org/cheatsheets/Forgot_Password_Cheat_Sheet.html).

The request answers the same whether or not the address has an account, and does the
same work either way, so neither the answer nor its time tells them apart: it reads
the email index and a user document, writes one document, and sends one message (a
reset link, or a notice that no account uses the address). Tokens are stored only as
a SHA-256 hash (`password_resets/{hash}`). Setting the new password spends the token,
revokes every refresh-token family of the user, ends the access tokens already issued
(`tokens_valid_after_ms`) and confirms the address (the link reached it).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared import errors
from shared.auth import account_mail, audit, passwords, ratelimit, refresh
from shared.auth.collections import EMAILS, users_collection
from shared.auth.models import ForgotPasswordRequest, ResetPasswordRequest
from shared.auth.validation import email_key

if TYPE_CHECKING:
    from shared.bootstrap import Deps
    from shared.ports import Transaction

RESETS = "password_resets"
PREFIX = "tmp_"
_SHAPE = re.compile(r"^tmp_[A-Za-z0-9_-]{43}$")
# Where a request for an address without an account is read and audited, so that path
# reads and writes as much as the other. Generated tenant ids are "t_" + hex, so
# "t_none" is never a tenant; its audit log is the record of unmatched requests.
_NO_TENANT, _NO_USER = "t_none", "u_none"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _invalid() -> errors.InvalidInput:
    return errors.InvalidInput("this reset link is invalid, used or expired",
                               code="invalid_reset_token",
                               details={"fields": {"token": ["is invalid or expired"]}})


def _usable(data: Mapping[str, Any] | None) -> bool:
    """An account a reset applies to: active, with a password (an invited user sets
    theirs through the invite)."""
    return bool(data and not data.get("disabled") and data.get("password_hash"))


def request_reset(deps: Deps, body: ForgotPasswordRequest | Mapping[str, Any], *,
                  ip: str) -> None:
    req = ForgotPasswordRequest.parse(body)
    email = req.email
    limits = ratelimit.limits()
    ratelimit.hit(deps.docs, limits["reset-ip"], ip)
    ratelimit.hit(deps.docs, limits["reset-account"], email_key(email))

    index = deps.docs.get(EMAILS, email_key(email))
    tid = str(index.data["tenant_id"]) if index else _NO_TENANT
    uid = str(index.data["user_id"]) if index else _NO_USER
    user = deps.docs.get(users_collection(tid), uid)
    usable = index is not None and user is not None and _usable(user.data)

    token = PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    ttl = deps.settings.password_reset_ttl_s
    # An unmatched request stores an inert token (no user): the same write.
    deps.docs.create(RESETS, _hash(token), {
        "created_at": now, "expires_at": now + timedelta(seconds=ttl), "used_at": None,
        "tenant_id": tid if usable else None, "user_id": uid if usable else None})
    if usable:
        link = account_mail.app_link(deps.settings, "/reset-password", token)
        message = account_mail.password_reset(email, link, ttl // 60)
    else:
        signup = (deps.settings.app_url or deps.settings.base_url).rstrip("/") + "/register"
        message = account_mail.no_account(email, signup)
    deps.mailer.send(message)
    audit.record(deps.docs, tid if usable else _NO_TENANT, audit.PASSWORD_RESET_REQUESTED,
                 target_id=uid if usable else None, ip=ip,
                 details={} if usable else {"email_key": email_key(email)})


def reset_password(deps: Deps, body: ResetPasswordRequest | Mapping[str, Any], *,
                   ip: str) -> None:
    req = ResetPasswordRequest.parse(body)
    token, password = req.token, req.password
    ratelimit.hit(deps.docs, ratelimit.limits()["reset-ip"], ip)
    if not _SHAPE.match(token):
        raise _invalid()
    key = _hash(token)
    found = deps.docs.get(RESETS, key)
    if found is None or not _live(found.data):
        raise _invalid()
    tid, uid = str(found.data["tenant_id"]), str(found.data["user_id"])
    user = deps.docs.get(users_collection(tid), uid)
    if user is None or not _usable(user.data):
        raise _invalid()
    weak = passwords.policy_problems(password, user.data.get("email", ""))
    if weak:
        raise errors.InvalidInput("invalid fields: password", code="invalid_fields",
                                  details={"fields": {"password": weak}})
    password_hash = passwords.hash_password(password)

    def step(tx: Transaction) -> None:
        current = tx.get(RESETS, key)
        account = tx.get(users_collection(tid), uid)
        if current is None or not _live(current.data) or account is None \
                or not _usable(account.data):
            raise _invalid()
        now = datetime.now(UTC)
        tx.update(RESETS, key, {"used_at": now})
        tx.update(users_collection(tid), uid, {
            "password_hash": password_hash, "updated_at": now, "email_verified": True,
            # Access tokens issued before now stop working (shared.web.authz).
            "tokens_valid_after_ms": time.time_ns() // 1_000_000})

    deps.docs.transaction(step)
    revoked = refresh.revoke_user(deps.docs, uid)
    _spend_others(deps, uid, key)
    audit.record(deps.docs, tid, audit.PASSWORD_RESET, actor_id=uid, target_id=uid, ip=ip,
                 details={"sessions_revoked": revoked})


def _live(data: Mapping[str, Any]) -> bool:
    expires = data.get("expires_at")
    return (data.get("used_at") is None and data.get("user_id") is not None
            and expires is not None and expires > datetime.now(UTC))


def _spend_others(deps: Deps, user_id: str, used: str) -> None:
    """Other links sent to the user before this reset stop working too."""
    from shared.ports import Filter

    now = datetime.now(UTC)
    for doc in deps.docs.query(RESETS, filters=[Filter("user_id", "==", user_id)]):
        if doc.id != used and doc.data.get("used_at") is None:
            deps.docs.update(RESETS, doc.id, {"used_at": now, "superseded": True})
