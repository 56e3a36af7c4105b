"""Access tokens: short-lived ES256 JWTs. Signing needs the private key set (auth
function only); verification needs only the public JWKS."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared import errors
from shared.auth.keys import ALGORITHM

if TYPE_CHECKING:
    from shared.bootstrap import Deps

TOKEN_TYPE = "at+jwt"  # noqa: S105 - the JWT typ header value
_KID = re.compile(r"^[0-9a-f]{16}$")
_CACHE_TTL_S = 60.0
_REFETCH_S = 5.0


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    tenant_id: str
    role: str
    email: str
    jti: str
    expires_at: int
    issued_at: int = 0
    # `iat` is in whole seconds; a reset in the same second as a sign-in must still tell
    # the tokens before it from those after, so the issue time is also carried in ms.
    issued_at_ms: int = 0


class _KeyCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[int, str], tuple[float, Any]] = {}

    def get(self, secrets, name: str, build):
        key = (id(secrets), name)
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit and now - hit[0] < _CACHE_TTL_S:
                return hit[1]
        value = build(secrets.get(name))
        with self._lock:
            self._entries[key] = (now, value)
        return value

    def refresh_allowed(self, secrets, name: str) -> bool:
        """Drop a cached entry older than _REFETCH_S so the next get re-reads it."""
        key = (id(secrets), name)
        with self._lock:
            hit = self._entries.get(key)
            if hit is None or time.monotonic() - hit[0] < _REFETCH_S:
                return False
            del self._entries[key]
            return True

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_cache = _KeyCache()


class _VerifiedTokens:
    """A small LRU of tokens whose signature and claims were verified in full, keyed
    by the token's SHA-256 (the token itself is never kept). An entry is honoured only
    until the token's exp, and only while the very key object that verified it is
    still the one our cached key set holds for its kid: a rotation, a withdrawn key,
    another key store or a key-cache refresh (every _CACHE_TTL_S) means a full
    verification again. Only successful verifications are stored."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._lock = threading.Lock()
        self._max = max_entries
        self._entries: OrderedDict[tuple, tuple[str, Any, AccessClaims]] = OrderedDict()

    @staticmethod
    def key(deps: Deps, token: str) -> tuple:
        s = deps.settings
        return (id(deps.secrets), s.jwt_issuer, s.jwt_audience,
                hashlib.sha256(token.encode()).digest())

    def get(self, key: tuple, current_keys: dict[str, Any]) -> AccessClaims | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return None
            kid, verified_with, claims = hit
            if time.time() >= claims.expires_at or current_keys.get(kid) is not verified_with:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return claims

    def put(self, key: tuple, kid: str, verified_with: Any, claims: AccessClaims) -> None:
        with self._lock:
            self._entries[key] = (kid, verified_with, claims)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_verified = _VerifiedTokens()


def _signing_key(secrets) -> tuple[str, Any]:
    from cryptography.hazmat.primitives import serialization

    def build(raw: bytes):
        newest = json.loads(raw)["keys"][0]
        return newest["kid"], serialization.load_pem_private_key(
            newest["private_pem"].encode(), password=None)
    return _cache.get(secrets, "jwt-signing-keys", build)


def _verification_keys(secrets) -> dict[str, Any]:
    import jwt

    def build(raw: bytes):
        return {k["kid"]: jwt.algorithms.ECAlgorithm.from_jwk(json.dumps(k))
                for k in json.loads(raw)["keys"] if k.get("alg") == ALGORITHM}
    return _cache.get(secrets, "jwt-public-keys", build)


def clear_key_cache() -> None:
    _cache.clear()
    _verified.clear()


def issue_access_token(deps: Deps, *, user_id: str, tenant_id: str, role: str,
                       email: str) -> tuple[str, int]:
    """Returns (token, expires_in_seconds)."""
    import jwt

    s = deps.settings
    kid, key = _signing_key(deps.secrets)
    now_ms = time.time_ns() // 1_000_000
    now = now_ms // 1000
    claims = {"iss": s.jwt_issuer, "aud": s.jwt_audience, "sub": user_id, "tid": tenant_id,
              "role": role, "email": email, "iat": now, "nbf": now, "iat_ms": now_ms,
              "exp": now + s.access_token_ttl_s, "jti": uuid.uuid4().hex}
    token = jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid, "typ": TOKEN_TYPE})
    return token, s.access_token_ttl_s


def verify_access_token(deps: Deps, token: str) -> AccessClaims:
    """Pinned algorithm, kid from our own key set only, iss/aud/exp/nbf/iat/typ checked.
    A token already verified in full by this instance is answered from a small cache
    (see _VerifiedTokens); the caller still checks that the user is active."""
    invalid = errors.Unauthenticated("invalid access token", code="invalid_token")
    if not token or len(token) > 4096:
        raise invalid
    cache_key = _VerifiedTokens.key(deps, token)
    cached = _verified.get(cache_key, _verification_keys(deps.secrets))
    if cached is not None:
        return cached
    kid, key, claims = _verify(deps, token, invalid)
    _verified.put(cache_key, kid, key, claims)
    return claims


def _verify(deps: Deps, token: str,
            invalid: errors.Unauthenticated) -> tuple[str, Any, AccessClaims]:
    import jwt

    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise invalid from None
    kid = header.get("kid")
    if (header.get("alg") != ALGORITHM or header.get("typ") != TOKEN_TYPE
            or not isinstance(kid, str) or not _KID.match(kid)):
        raise invalid
    key = _verification_keys(deps.secrets).get(kid)
    if key is None and _cache.refresh_allowed(deps.secrets, "jwt-public-keys"):
        # A kid we do not know yet may come from a rotation newer than our cached
        # set: re-read it, at most once per _REFETCH_S, so random kids cannot flood
        # the secret store.
        key = _verification_keys(deps.secrets).get(kid)
    if key is None:
        raise invalid
    s = deps.settings
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=s.jwt_audience,
                            issuer=s.jwt_issuer, leeway=5,
                            options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"]})
    except jwt.ExpiredSignatureError:
        raise errors.Unauthenticated("access token expired", code="token_expired") from None
    except jwt.PyJWTError:
        raise invalid from None
    if claims["iat"] > time.time() + 5:
        raise invalid
    try:
        return kid, key, AccessClaims(
            user_id=str(claims["sub"]), tenant_id=str(claims["tid"]), role=str(claims["role"]),
            email=str(claims.get("email", "")), jti=str(claims["jti"]),
            expires_at=int(claims["exp"]), issued_at=int(claims["iat"]),
            issued_at_ms=int(claims.get("iat_ms") or int(claims["iat"]) * 1000))
    except (KeyError, TypeError, ValueError):
        raise invalid from None
