"""Refresh tokens: opaque, random, stored only as a SHA-256 hash, rotated on every use.

Each login starts a *family*; every refresh replaces the presented token with a new
one of the same family. Presenting a token that was already rotated means it was
copied: the whole family is revoked, so both the thief and the victim must sign in
again. Logout revokes the family too. Documents: `refresh_tokens/{sha256(token)}`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared import errors
from shared.ports import Filter

COLLECTION = "refresh_tokens"
PREFIX = "tmr_"
_SHAPE = re.compile(r"^tmr_[A-Za-z0-9_-]{43}$")

log = logging.getLogger("tidemark.auth.refresh")


@dataclass(frozen=True)
class RefreshRecord:
    user_id: str
    tenant_id: str
    family_id: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _invalid() -> errors.Unauthenticated:
    return errors.Unauthenticated("invalid or expired refresh token",
                                  code="invalid_refresh_token")


def issue(docs, *, user_id: str, tenant_id: str, ttl_s: int,
          family_id: str | None = None, tx=None) -> str:
    """A new refresh token (the caller hands it to the client; only its hash is kept)."""
    token = PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    data = {"user_id": user_id, "tenant_id": tenant_id,
            "family_id": family_id or uuid.uuid4().hex, "created_at": now,
            "expires_at": now + timedelta(seconds=ttl_s), "rotated_at": None,
            "revoked": False}
    (tx or docs).create(COLLECTION, token_hash(token), data)
    return token


def rotate(docs, token: str, *, ttl_s: int) -> tuple[str, RefreshRecord]:
    """Spend `token` and return its successor. A replayed token revokes its family."""
    if not isinstance(token, str) or not _SHAPE.match(token):
        raise _invalid()
    old_id = token_hash(token)
    new_token = PREFIX + secrets.token_urlsafe(32)

    def step(tx):
        doc = tx.get(COLLECTION, old_id)
        if doc is None:
            return None, None
        d = doc.data
        if d.get("revoked") or _expired(d):
            return None, None
        if d.get("rotated_at") is not None:
            return "replay", d["family_id"]
        now = datetime.now(UTC)
        tx.update(COLLECTION, old_id, {"rotated_at": now, "replaced_by": token_hash(new_token)})
        tx.create(COLLECTION, token_hash(new_token),
                  {"user_id": d["user_id"], "tenant_id": d["tenant_id"],
                   "family_id": d["family_id"], "created_at": now,
                   "expires_at": now + timedelta(seconds=ttl_s), "rotated_at": None,
                   "revoked": False})
        return "ok", RefreshRecord(d["user_id"], d["tenant_id"], d["family_id"])

    outcome, value = docs.transaction(step)
    if outcome == "replay":
        revoked = revoke_family(docs, value)
        log.warning("refresh token replayed; family revoked",
                    extra={"family_id": value, "revoked": revoked})
        raise errors.Unauthenticated("this refresh token was already used; sign in again",
                                     code="refresh_token_reused")
    if outcome != "ok":
        raise _invalid()
    return new_token, value


def lookup(docs, token: str) -> RefreshRecord | None:
    if not isinstance(token, str) or not _SHAPE.match(token):
        return None
    doc = docs.get(COLLECTION, token_hash(token))
    if doc is None:
        return None
    d = doc.data
    return RefreshRecord(d["user_id"], d["tenant_id"], d["family_id"])


def revoke_family(docs, family_id: str) -> int:
    return _revoke(docs, Filter("family_id", "==", family_id))


def revoke_user(docs, user_id: str) -> int:
    """Every refresh token of one user (the account was disabled)."""
    return _revoke(docs, Filter("user_id", "==", user_id))


def _revoke(docs, flt: Filter) -> int:
    count = 0
    for doc in docs.query(COLLECTION, filters=[flt]):
        if not doc.data.get("revoked"):
            docs.update(COLLECTION, doc.id, {"revoked": True,
                                             "revoked_at": datetime.now(UTC)})
            count += 1
    return count


def _expired(d) -> bool:
    exp = d.get("expires_at")
    return exp is None or exp <= datetime.now(UTC)
