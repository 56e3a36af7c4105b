"""Where the account documents live: the global email index and a tenant's users.
Its own module so that everything under shared.auth can name them without importing
the session service (which itself reaches the verification and recovery flows)."""

from __future__ import annotations

EMAILS = "emails"


def users_collection(tenant_id: str) -> str:
    return f"tenants/{tenant_id}/users"
