"""Access-token verification refuses every forged, stale or foreign token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from shared import errors
from shared.auth import keys
from shared.auth.tokens import clear_key_cache, issue_access_token, verify_access_token


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signing_entry(deps) -> dict:
    return json.loads(deps.secrets.get("jwt-signing-keys"))["keys"][0]


def _claims(deps, **over) -> dict:
    now = int(time.time())
    s = deps.settings
    claims = {"iss": s.jwt_issuer, "aud": s.jwt_audience, "sub": "u_1", "tid": "t_1",
              "role": "admin", "email": "a@example.com", "iat": now, "nbf": now,
              "exp": now + 900, "jti": "j1"}
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(deps, claims: dict, *, header: dict | None = None, entry: dict | None = None) -> str:
    """A real ES256 signature over exactly the header given (built by hand, so headers
    PyJWT itself would refuse to write can be tested too)."""
    entry = entry or _signing_entry(deps)
    key = serialization.load_pem_private_key(entry["private_pem"].encode(), password=None)
    headers = {"alg": "ES256", "kid": entry["kid"], "typ": "at+jwt", **(header or {})}
    signing_input = (_b64(json.dumps(headers).encode()) + "."
                     + _b64(json.dumps(claims).encode()))
    sig = jwt.algorithms.ECAlgorithm(jwt.algorithms.ECAlgorithm.SHA256).sign(
        signing_input.encode(), key)
    return f"{signing_input}.{_b64(sig)}"


def _rejected(deps, token: str) -> errors.Unauthenticated:
    with pytest.raises(errors.Unauthenticated) as info:
        verify_access_token(deps, token)
    assert info.value.status == 401
    assert "WWW-Authenticate" in info.value.headers
    return info.value


def test_a_token_we_issued_verifies_with_its_claims(deps):
    token, ttl = issue_access_token(deps, user_id="u_1", tenant_id="t_1", role="analyst",
                                    email="a@example.com")
    claims = verify_access_token(deps, token)
    assert (claims.user_id, claims.tenant_id, claims.role) == ("u_1", "t_1", "analyst")
    assert ttl == 900
    assert claims.expires_at - time.time() == pytest.approx(900, abs=5)
    assert jwt.get_unverified_header(token)["alg"] == "ES256"


def test_a_correctly_forged_control_token_is_accepted(deps):
    # Guards the helpers below: only the one property each attack changes makes it fail.
    assert verify_access_token(deps, _sign(deps, _claims(deps))).user_id == "u_1"


def test_alg_none_is_rejected(deps):
    kid = _signing_entry(deps)["kid"]
    header = _b64(json.dumps({"alg": "none", "typ": "at+jwt", "kid": kid}).encode())
    payload = _b64(json.dumps(_claims(deps)).encode())
    _rejected(deps, f"{header}.{payload}.")
    _rejected(deps, f"{header}.{payload}")


def test_hs256_signed_with_the_public_key_is_rejected(deps):
    entry = _signing_entry(deps)
    priv = serialization.load_pem_private_key(entry["private_pem"].encode(), password=None)
    public_pem = priv.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    jwks_text = deps.secrets.get("jwt-public-keys")
    for secret in (public_pem, jwks_text, json.dumps(keys.public_jwk(entry)).encode()):
        header = _b64(json.dumps({"alg": "HS256", "typ": "at+jwt",
                                  "kid": entry["kid"]}).encode())
        payload = _b64(json.dumps(_claims(deps)).encode())
        sig = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        _rejected(deps, f"{header}.{payload}.{_b64(sig)}")


def test_a_tampered_payload_is_rejected(deps):
    token = _sign(deps, _claims(deps, role="viewer"))
    header, _, sig = token.split(".")
    forged = _b64(json.dumps(_claims(deps, role="admin", tid="t_other")).encode())
    _rejected(deps, f"{header}.{forged}.{sig}")


def test_an_expired_token_is_rejected(deps):
    now = int(time.time())
    exc = _rejected(deps, _sign(deps, _claims(deps, iat=now - 2000, nbf=now - 2000,
                                              exp=now - 60)))
    assert exc.code == "token_expired"


def test_a_not_yet_valid_token_is_rejected(deps):
    now = int(time.time())
    _rejected(deps, _sign(deps, _claims(deps, nbf=now + 600)))
    _rejected(deps, _sign(deps, _claims(deps, iat=now + 600, nbf=now)))


@pytest.mark.parametrize("claim,value", [("aud", "someone-else"), ("iss", "evil"),
                                         ("aud", None), ("iss", None), ("exp", None)])
def test_wrong_or_missing_audience_issuer_or_expiry_is_rejected(deps, claim, value):
    _rejected(deps, _sign(deps, _claims(deps, **{claim: value})))


def test_a_wrong_typ_is_rejected(deps):
    _rejected(deps, _sign(deps, _claims(deps), header={"typ": "JWT"}))


def test_a_token_signed_by_a_key_not_in_our_set_is_rejected(deps):
    foreign = json.loads(keys.new_keyset())["keys"][0]
    _rejected(deps, _sign(deps, _claims(deps), entry=foreign))
    # ...even when it claims one of our kids.
    foreign["kid"] = _signing_entry(deps)["kid"]
    _rejected(deps, _sign(deps, _claims(deps), entry=foreign))


@pytest.mark.parametrize("kid", ["../../etc/passwd", "jwt-signing-keys/1",
                                 "' OR '1'='1", "1; DROP TABLE users--", "",
                                 "0123456789abcdef/..", 42, None])
def test_a_kid_with_path_or_sql_characters_is_rejected(deps, kid):
    _rejected(deps, _sign(deps, _claims(deps), header={"kid": kid}))


def test_garbage_and_oversized_tokens_are_rejected(deps):
    for token in ("", "abc", "a.b.c", "x" * 5000):
        _rejected(deps, token)


def test_rotation_keeps_the_previous_key_valid_for_one_rotation(deps):
    old_token, _ = issue_access_token(deps, user_id="u_1", tenant_id="t_1", role="viewer",
                                      email="a@example.com")
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    first = keys.rotate_in_store(deps.secrets)
    clear_key_cache()
    assert first["valid_kids"] == [first["kid"], old_kid]
    new_token, _ = issue_access_token(deps, user_id="u_1", tenant_id="t_1", role="viewer",
                                      email="a@example.com")
    assert jwt.get_unverified_header(new_token)["kid"] == first["kid"]
    assert verify_access_token(deps, old_token).user_id == "u_1"
    assert verify_access_token(deps, new_token).user_id == "u_1"
    published = json.loads(deps.secrets.get("jwt-public-keys"))
    assert [k["kid"] for k in published["keys"]] == first["valid_kids"]
    assert all("d" not in k and "private_pem" not in k for k in published["keys"])

    keys.rotate_in_store(deps.secrets)
    clear_key_cache()
    _rejected(deps, old_token)
    assert verify_access_token(deps, new_token).user_id == "u_1"


def test_a_verifier_with_a_stale_key_cache_learns_a_new_kid(deps, monkeypatch):
    from shared.auth import tokens

    first, _ = issue_access_token(deps, user_id="u_1", tenant_id="t_1", role="viewer",
                                  email="a@example.com")
    verify_access_token(deps, first)  # caches the public set
    keys.rotate_in_store(deps.secrets)
    signer = json.loads(deps.secrets.get("jwt-signing-keys"))["keys"][0]
    fresh = _sign(deps, _claims(deps), entry=signer)
    monkeypatch.setattr(tokens, "_REFETCH_S", 3600.0)
    _rejected(deps, fresh)  # the cache is too young to be re-read
    monkeypatch.setattr(tokens, "_REFETCH_S", 0.0)
    assert verify_access_token(deps, fresh).user_id == "u_1"


class _MemorySecrets:
    """Stands in for Secret Manager: secrets are created only explicitly."""

    def __init__(self):
        self.versions: dict[str, list[bytes]] = {}

    def get(self, name, version="latest"):
        if name not in self.versions:
            raise errors.NotFound(name)
        return self.versions[name][-1]

    def add_version(self, name, value):
        self.versions.setdefault(name, []).append(value)
        return str(len(self.versions[name]))


def test_keys_are_created_once_and_rotated_with_their_public_set():
    store = _MemorySecrets()
    kid = keys.ensure_in_store(store)
    assert keys.ensure_in_store(store) == kid
    assert len(store.versions["jwt-signing-keys"]) == 1
    public = json.loads(store.get("jwt-public-keys"))
    assert [k["kid"] for k in public["keys"]] == [kid]
    result = keys.rotate_in_store(store)
    assert result["valid_kids"] == [result["kid"], kid] and result["version"] == "2"
    public = json.loads(store.get("jwt-public-keys"))
    assert [k["kid"] for k in public["keys"]] == [result["kid"], kid]
    assert "private_pem" not in store.get("jwt-public-keys").decode()
