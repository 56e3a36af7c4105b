"""Fixed-window rate limits kept in the document store, so every instance of a
function shares them (`rate_limits/{sha256(key)}`).

A window document holds the start of the window and the count; it is read and
written in one transaction, so concurrent instances never lose an increment. When a
limit is exceeded the caller gets errors.RateLimited (429) with Retry-After set to
the seconds left in the window.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from shared import errors

COLLECTION = "rate_limits"


@dataclass(frozen=True)
class Limit:
    name: str          # what is limited, e.g. "login-ip"
    limit: int         # attempts allowed per window
    window_s: int

    @classmethod
    def from_env(cls, name: str, limit: int, window_s: int) -> Limit:
        """Defaults overridable with TIDEMARK_RATE_<NAME>="<limit>/<window_s>"."""
        from shared.settings import get_settings

        raw = getattr(get_settings(), "rate_" + name.replace("-", "_"), "")
        if raw:
            count, _, window = raw.partition("/")
            limit, window_s = int(count), int(window or window_s)
        return cls(name, limit, window_s)


def limits() -> dict[str, Limit]:
    return {
        # Every login attempt from one address.
        "login-ip": Limit.from_env("login-ip", 30, 300),
        # Failed logins against one account, whichever address they come from.
        "login-account": Limit.from_env("login-account", 10, 900),
        # Tenant sign-ups and invite acceptances from one address.
        "register-ip": Limit.from_env("register-ip", 10, 3600),
        # Sign-ups for one email address, and acceptances of one account's invite,
        # whichever address they come from: a botnet spreading its attempts over many
        # addresses still meets a limit per account.
        "register-account": Limit.from_env("register-account", 5, 3600),
        # Token refreshes from one address, and per refresh-token family (one sign-in
        # and its successors), so neither many addresses nor one busy edge decide alone.
        "refresh-ip": Limit.from_env("refresh-ip", 120, 300),
        "refresh-family": Limit.from_env("refresh-family", 30, 300),
        # Password-reset requests and redemptions from one address, and requests for
        # one email address (each sends a message: a cap on mail to any one inbox).
        "reset-ip": Limit.from_env("reset-ip", 20, 3600),
        "reset-account": Limit.from_env("reset-account", 5, 3600),
        # Verification messages one user may ask to be sent again.
        "verify-resend": Limit.from_env("verify-resend", 5, 3600),
    }


def _doc_id(limit: Limit, subject: str) -> str:
    return hashlib.sha256(f"{limit.name}\x00{subject}".encode()).hexdigest()


def _retry_after(start: float, limit: Limit, now: float) -> int:
    return max(1, int(start + limit.window_s - now + 0.999))


def _exceeded(limit: Limit, retry_after: int) -> errors.RateLimited:
    return errors.RateLimited("too many attempts; try again later", retry_after_s=retry_after,
                              details={"limit": limit.name, "retry_after_s": retry_after})


def hit(docs, limit: Limit, subject: str, *, now: float | None = None) -> None:
    """Count one attempt; RateLimited if this one goes over the limit (not counted)."""
    now = time.time() if now is None else now
    doc_id = _doc_id(limit, subject)

    def step(tx):
        doc = tx.get(COLLECTION, doc_id)
        start, count = (doc.data.get("window_start", 0.0), doc.data.get("count", 0)) if doc \
            else (0.0, 0)
        if now - start >= limit.window_s:
            start, count = now, 0
        if count >= limit.limit:
            return _retry_after(start, limit, now)
        tx.set(COLLECTION, doc_id, {"limit": limit.name, "window_start": start,
                                    "count": count + 1,
                                    # a timestamp, so a Firestore TTL policy can purge it
                                    "expires_at": datetime.fromtimestamp(
                                        start + limit.window_s, UTC)})
        return 0

    retry_after = docs.transaction(step)
    if retry_after:
        raise _exceeded(limit, retry_after)


def check(docs, limit: Limit, subject: str, *, now: float | None = None) -> None:
    """RateLimited if the window is already full; counts nothing."""
    now = time.time() if now is None else now
    doc = docs.get(COLLECTION, _doc_id(limit, subject))
    if doc is None:
        return
    start, count = doc.data.get("window_start", 0.0), doc.data.get("count", 0)
    if now - start < limit.window_s and count >= limit.limit:
        raise _exceeded(limit, _retry_after(start, limit, now))
