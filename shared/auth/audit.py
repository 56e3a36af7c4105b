"""The audit log: who did what to whom, per tenant (`tenants/{tid}/audit/{id}`).

Ids sort by time (milliseconds, then randomness), so the newest entries are a simple
ordered query. Entries never hold secrets: no password, no token, no hash.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("tidemark.audit")

LOGIN_SUCCEEDED = "login.succeeded"
LOGIN_FAILED = "login.failed"
TENANT_REGISTERED = "tenant.registered"
USER_CREATED = "user.created"
USER_INVITED = "user.invited"
INVITE_ACCEPTED = "user.invite_accepted"
ROLE_CHANGED = "user.role_changed"
USER_DISABLED = "user.disabled"
USER_ENABLED = "user.enabled"
REFRESH_REUSED = "refresh.reused"
PASSWORD_RESET_REQUESTED = "password.reset_requested"  # noqa: S105 - an action name
PASSWORD_RESET = "password.reset"  # noqa: S105 - an action name
EMAIL_VERIFIED = "email.verified"
EMAIL_CHANGE_REQUESTED = "email.change_requested"
EMAIL_CHANGED = "email.changed"


def collection(tenant_id: str) -> str:
    return f"tenants/{tenant_id}/audit"


def record(docs, tenant_id: str, action: str, *, actor_id: str | None = None,
           target_id: str | None = None, ip: str | None = None,
           details: dict[str, Any] | None = None) -> str:
    """Append one entry; a failure to write it is logged, never raised to the user."""
    entry_id = f"{int(time.time() * 1000):013d}-{secrets.token_hex(4)}"
    entry = {"action": action, "actor_id": actor_id, "target_id": target_id, "ip": ip,
             "details": details or {}, "at": datetime.now(UTC)}
    try:
        docs.set(collection(tenant_id), entry_id, entry)
    except Exception:
        log.exception("audit entry not written", extra={"action": action,
                                                        "tenant_id": tenant_id})
    log.info("audit %s", action, extra={"tenant_id": tenant_id, "action": action,
                                        "actor_id": actor_id, "target_id": target_id})
    return entry_id


def entries(docs, tenant_id: str, limit: int = 100) -> list[dict[str, Any]]:
    from shared.ports import Order

    docs_ = docs.query(collection(tenant_id), order_by=[Order("at", descending=True)],
                       limit=limit)
    return [{"id": d.id, **d.data} for d in docs_]
