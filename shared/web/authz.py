"""The one dependency every function authorizes through: bearer token -> Principal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared import errors

if TYPE_CHECKING:
    import ipaddress

    from flask import Request

    from shared.bootstrap import Deps

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


def bearer_token(request: Request) -> str:
    header: str = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthenticated("a bearer access token is required", code="missing_token")
    return token.strip()


def authenticate(request: Request, deps: Deps, *, role: str = "viewer") -> Principal:
    """Verify the request's bearer token and that its user is still active; then
    require at least `role`. Raises Unauthenticated (401) or Forbidden (403).
    `deps` is required: a silent fallback to the global would let a test or a second
    composition root authorize against the wrong stores."""
    from shared.auth.tokens import verify_access_token

    claims = verify_access_token(deps, bearer_token(request))
    user = deps.docs.get(f"tenants/{claims.tenant_id}/users", claims.user_id)
    if user is None or user.data.get("disabled"):
        raise errors.Unauthenticated("this account is disabled", code="account_disabled")
    # A password reset (or "sign out everywhere") ends every session at once, not when
    # the access tokens it already issued expire.
    if claims.issued_at_ms < int(user.data.get("tokens_valid_after_ms") or 0):
        raise errors.Unauthenticated("this session was signed out; sign in again",
                                     code="session_revoked")
    # The stored role wins over the token's, so a demotion takes effect at once.
    principal = Principal(claims.user_id, claims.tenant_id, user.data.get("role", "viewer"),
                          claims.email)
    if not principal.at_least(role):
        raise errors.Forbidden(f"this action needs the {role} role",
                               code="insufficient_role",
                               details={"required": role, "role": principal.role})
    return principal


def client_ip(request: Request) -> str:
    """The caller's address, for rate limits: always a valid IP or "unknown".

    The API is reachable two ways, with different proxies in front (docs/auth.md,
    "Client addresses"):
    - directly at its run.app URL: Google's front end appends the address that
      connected to it to X-Forwarded-For, so the right-most entry is the caller;
    - through Firebase Hosting's rewrites: Hosting's CDN appends the caller, then
      Google's front end appends the CDN node, so the right-most entry is a CDN address.
    So walk X-Forwarded-For from the right, past entries inside the trusted proxy
    networks (the CDN's published ranges); the first entry outside them is the
    caller. Entries further left are whatever the client sent and never read, so a
    client cannot choose its address on either path, and clients behind one CDN node
    are not lumped together. Without a front end (the local stack) the socket peer
    is the caller and X-Forwarded-For is ignored."""
    from shared.settings import get_settings

    settings = get_settings()
    candidate = request.remote_addr or ""
    if settings.forwarded_by_front_end:
        forwarded = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")
                     if h.strip()]
        trusted = _networks(settings.trusted_proxy_networks)
        candidate = ""
        while forwarded:
            candidate = forwarded.pop()
            address = _address(candidate)
            if address is None or not any(address in net for net in trusted):
                break
    address = _address(candidate)
    return str(address) if address is not None else "unknown"


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    import ipaddress

    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated CIDRs -> networks (validated by Settings on load)."""
    import ipaddress

    return tuple(ipaddress.ip_network(part.strip(), strict=False)
                 for part in spec.split(",") if part.strip())
