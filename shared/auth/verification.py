"""Email verification: a link sent at registration, to users an admin creates or
invites, and to the new address on an email change (OWASP ASVS 2.1 / 3.7).

An unverified user can sign in but cannot invite or create users (and receives no
digests: `is_verified`). Tokens are single use, stored as a SHA-256 hash
(`email_verifications/{hash}`), and bound to the address they were sent to: a link
for an address the account no longer has does nothing. An email change takes effect
only when the link sent to the new address is opened; the email index moves in the
same transaction, so an address is never held by two accounts.
Users created before verification existed have no `email_verified` field and count as
verified: their addresses had already received their invites or been used for months.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared import errors
from shared.auth import account_mail, audit, passwords, ratelimit
from shared.auth.collections import EMAILS, users_collection
from shared.auth.models import ChangeEmailRequest, VerifyEmailRequest
from shared.auth.validation import email_key

if TYPE_CHECKING:
    from shared.bootstrap import Deps
    from shared.ports import Transaction
    from shared.web.authz import Principal

log = logging.getLogger("tidemark.auth")

VERIFICATIONS = "email_verifications"
PREFIX = "tmv_"
_SHAPE = re.compile(r"^tmv_[A-Za-z0-9_-]{43}$")


def is_verified(user: Mapping[str, Any]) -> bool:
    return bool(user.get("email_verified", True))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _invalid() -> errors.InvalidInput:
    return errors.InvalidInput("this confirmation link is invalid, used or expired",
                               code="invalid_verification_token",
                               details={"fields": {"token": ["is invalid or expired"]}})


def send_link(deps: Deps, tenant_id: str, user_id: str, email: str, *,
              change: bool = False, best_effort: bool = False) -> None:
    """Store a new token for (user, address) and mail its link. `best_effort`: a mail
    server that is down does not undo what the caller did (a registration); the user
    asks for the link again."""
    token = PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    ttl = deps.settings.email_verification_ttl_s
    deps.docs.create(VERIFICATIONS, _hash(token), {
        "tenant_id": tenant_id, "user_id": user_id, "email": email, "change": change,
        "created_at": now, "expires_at": now + timedelta(seconds=ttl), "used_at": None})
    link = account_mail.app_link(deps.settings, "/verify-email", token)
    try:
        deps.mailer.send(account_mail.verify_address(email, link, ttl // 3600))
    except errors.Unavailable:
        if not best_effort:
            raise
        log.warning("verification mail not sent; the user can ask again",
                    extra={"tenant_id": tenant_id, "user_id": user_id})


def verify(deps: Deps, body: VerifyEmailRequest | Mapping[str, Any], *,
           ip: str) -> dict[str, Any]:
    token = VerifyEmailRequest.parse(body).token
    ratelimit.hit(deps.docs, ratelimit.limits()["reset-ip"], ip)
    if not _SHAPE.match(token):
        raise _invalid()
    key = _hash(token)

    def step(tx: Transaction) -> dict[str, Any]:
        found = tx.get(VERIFICATIONS, key)
        if found is None or not _live(found.data):
            raise _invalid()
        t = found.data
        tid, uid, email = str(t["tenant_id"]), str(t["user_id"]), str(t["email"])
        user = tx.get(users_collection(tid), uid)
        if user is None or user.data.get("disabled"):
            raise _invalid()
        now = datetime.now(UTC)
        changes: dict[str, Any] = {"email_verified": True, "updated_at": now}
        old = str(user.data.get("email", ""))
        if t.get("change"):
            if user.data.get("pending_email") != email:
                raise _invalid()  # a later change request replaced this one
            if tx.get(EMAILS, email_key(email)) is not None:
                raise errors.Conflict("an account with this email already exists",
                                      code="email_taken")
            tx.create(EMAILS, email_key(email), {"tenant_id": tid, "user_id": uid,
                                                 "created_at": now})
            tx.delete(EMAILS, email_key(old))
            changes.update({"email": email, "pending_email": None})
        elif old != email:
            raise _invalid()  # sent to an address the account no longer has
        tx.update(VERIFICATIONS, key, {"used_at": now})
        tx.update(users_collection(tid), uid, changes)
        return {"tenant_id": tid, "user_id": uid, "email": email, "old": old,
                "change": bool(t.get("change"))}

    done = deps.docs.transaction(step)
    action = audit.EMAIL_CHANGED if done["change"] else audit.EMAIL_VERIFIED
    audit.record(deps.docs, done["tenant_id"], action, actor_id=done["user_id"],
                 target_id=done["user_id"], ip=ip,
                 details={"changed": True} if done["change"] else {})
    return {"email": done["email"], "verified": True}


def resend(deps: Deps, principal: Principal) -> None:
    ratelimit.hit(deps.docs, ratelimit.limits()["verify-resend"],
                  f"{principal.tenant_id}/{principal.user_id}")
    user = deps.docs.get(users_collection(principal.tenant_id), principal.user_id)
    if user is None:
        raise errors.Unauthenticated("this account no longer exists", code="account_missing")
    if is_verified(user.data):
        raise errors.Conflict("this address is already confirmed", code="already_verified")
    send_link(deps, principal.tenant_id, principal.user_id, str(user.data["email"]))


def request_change(deps: Deps, principal: Principal,
                   body: ChangeEmailRequest | Mapping[str, Any], *, ip: str) -> None:
    """Send a link to the new address; the account keeps its address until it is
    opened. The password is asked again: a session left open must not be enough to
    take the account over by moving its address."""
    req = ChangeEmailRequest.parse(body)
    limits = ratelimit.limits()
    ratelimit.hit(deps.docs, limits["verify-resend"],
                  f"{principal.tenant_id}/{principal.user_id}")
    ratelimit.hit(deps.docs, limits["login-account"], f"{principal.tenant_id}/"
                  f"{principal.user_id}")
    col = users_collection(principal.tenant_id)
    user = deps.docs.get(col, principal.user_id)
    if user is None:
        raise errors.Unauthenticated("this account no longer exists", code="account_missing")
    if not passwords.verify_password(user.data.get("password_hash") or "", req.password):
        raise errors.Unauthenticated("the password is wrong", code="invalid_credentials")
    if req.email == user.data.get("email"):
        raise errors.InvalidInput("this is already the account's address",
                                  code="same_email",
                                  details={"fields": {"email": ["is the current address"]}})
    if deps.docs.get(EMAILS, email_key(req.email)) is not None:
        raise errors.Conflict("an account with this email already exists",
                              code="email_taken",
                              details={"fields": {"email": ["is already registered"]}})
    deps.docs.update(col, principal.user_id, {"pending_email": req.email,
                                              "updated_at": datetime.now(UTC)})
    send_link(deps, principal.tenant_id, principal.user_id, req.email, change=True)
    audit.record(deps.docs, principal.tenant_id, audit.EMAIL_CHANGE_REQUESTED,
                 actor_id=principal.user_id, target_id=principal.user_id, ip=ip)


def require_verified(deps: Deps, principal: Principal) -> None:
    """For actions an unverified account may not take (inviting or creating users)."""
    user = deps.docs.get(users_collection(principal.tenant_id), principal.user_id)
    if user is None or not is_verified(user.data):
        raise errors.Forbidden("confirm your email address first: we sent you a link",
                               code="email_unverified")


def _live(data: Mapping[str, Any]) -> bool:
    expires = data.get("expires_at")
    return data.get("used_at") is None and expires is not None and \
        expires > datetime.now(UTC)
