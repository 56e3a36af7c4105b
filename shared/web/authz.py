"""The one dependency every function authorizes through: bearer token -> Principal."""

from __future__ import annotations

from dataclasses import dataclass

from shared import errors

ROLES = ("viewer", "analyst", "admin")
_RANK = {r: i for i, r in enumerate(ROLES)}


@dataclass(frozen=True)
class Principal:
    user_id: str
    tenant_id: str
    role: str
    email: str

    def at_least(self, role: str) -> bool:
        return _RANK.get(self.role, -1) >= _RANK[role]


def bearer_token(request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthenticated("a bearer access token is required", code="missing_token")
    return token.strip()


def authenticate(request, deps, *, role: str = "viewer") -> Principal:
    """Verify the request's bearer token and that its user is still active; then
    require at least `role`. Raises Unauthenticated (401) or Forbidden (403).
    `deps` is required: a silent fallback to the global would let a test or a second
    composition root authorize against the wrong stores."""
    from shared.auth.tokens import verify_access_token

    claims = verify_access_token(deps, bearer_token(request))
    user = deps.docs.get(f"tenants/{claims.tenant_id}/users", claims.user_id)
    if user is None or user.data.get("disabled"):
        raise errors.Unauthenticated("this account is disabled", code="account_disabled")
    # The stored role wins over the token's, so a demotion takes effect at once.
    principal = Principal(claims.user_id, claims.tenant_id, user.data.get("role", "viewer"),
                          claims.email)
    if not principal.at_least(role):
        raise errors.Forbidden(f"this action needs the {role} role",
                               code="insufficient_role",
                               details={"required": role, "role": principal.role})
    return principal


def client_ip(request) -> str:
    """The caller's address: with TIDEMARK_TRUSTED_PROXY_HOPS=N, the Nth X-Forwarded-For
    entry from the right (the one our own proxies appended; entries further left are
    whatever the client sent); else the socket peer. Always a valid IP or "unknown"."""
    import ipaddress

    from shared.settings import get_settings

    candidate = request.remote_addr or ""
    hops = get_settings().trusted_proxy_hops
    if hops:
        forwarded = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")
                     if h.strip()]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return "unknown"
