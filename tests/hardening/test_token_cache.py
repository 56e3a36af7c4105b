"""The cache of verified access tokens: it saves the signature check on repeat
requests but never widens what is accepted."""

from __future__ import annotations

import time

import pytest

from shared import errors
from shared.auth import tokens


@pytest.fixture
def token(deps, make_user):
    principal, headers = make_user("viewer")
    return principal, headers["Authorization"].split(" ", 1)[1]


def _count_decodes(monkeypatch) -> list[int]:
    import jwt

    calls = [0]
    real = jwt.decode

    def counting(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)
    monkeypatch.setattr(jwt, "decode", counting)
    return calls


def test_a_verified_token_is_not_verified_again(deps, token, monkeypatch):
    principal, tok = token
    calls = _count_decodes(monkeypatch)
    first = tokens.verify_access_token(deps, tok)
    second = tokens.verify_access_token(deps, tok)
    assert first == second
    assert first.user_id == principal["user_id"] and first.tenant_id == principal["tenant_id"]
    assert calls[0] == 1


def test_a_tampered_token_is_never_answered_from_the_cache(deps, token):
    _, tok = token
    tokens.verify_access_token(deps, tok)
    head, body, sig = tok.split(".")
    forged = f"{head}.{body}.{sig[:-4]}{'AAAA' if sig[-4:] != 'AAAA' else 'BBBB'}"
    with pytest.raises(errors.Unauthenticated):
        tokens.verify_access_token(deps, forged)
    with pytest.raises(errors.Unauthenticated):
        tokens.verify_access_token(deps, tok + "x")


def test_a_rotated_out_key_stops_cached_tokens(deps, token):
    from shared.auth.keys import new_keyset

    _, tok = token
    tokens.verify_access_token(deps, tok)
    # A key set that no longer holds the token's key; the key cache then refreshes.
    deps.secrets.add_version("jwt-signing-keys", new_keyset())
    tokens._cache.clear()
    with pytest.raises(errors.Unauthenticated):
        tokens.verify_access_token(deps, tok)


def test_an_expired_entry_is_dropped():
    cache = tokens._VerifiedTokens(max_entries=4)
    key = ("k",)
    claims = tokens.AccessClaims("u", "t", "viewer", "e@x", "j", int(time.time()) - 1)
    cache.put(key, "kid", object(), claims)
    assert cache.get(key, {"kid": object()}) is None


def test_an_entry_is_tied_to_the_key_object_that_verified_it():
    cache = tokens._VerifiedTokens(max_entries=4)
    verified_with = object()
    claims = tokens.AccessClaims("u", "t", "viewer", "e@x", "j", int(time.time()) + 60)
    cache.put(("k",), "kid", verified_with, claims)
    assert cache.get(("k",), {"kid": verified_with}) == claims
    assert cache.get(("k",), {"kid": object()}) is None      # same kid, another key
    assert cache.get(("k",), {"kid": verified_with}) is None  # and the entry is gone


def test_the_cache_is_bounded():
    cache = tokens._VerifiedTokens(max_entries=3)
    key_obj = object()
    exp = int(time.time()) + 60
    for i in range(10):
        cache.put((i,), "kid", key_obj, tokens.AccessClaims("u", "t", "r", "e", str(i), exp))
    assert len(cache._entries) == 3
    assert cache.get((9,), {"kid": key_obj}) is not None
    assert cache.get((0,), {"kid": key_obj}) is None


def test_a_disabled_user_is_refused_even_with_a_cached_token(deps, make_user):
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from shared.web.authz import authenticate

    principal, headers = make_user("analyst")
    request = Request(EnvironBuilder(headers=headers).get_environ())
    assert authenticate(request, deps).user_id == principal["user_id"]
    deps.docs.update(f"tenants/{principal['tenant_id']}/users", principal["user_id"],
                     {"disabled": True})
    with pytest.raises(errors.Unauthenticated) as exc:
        authenticate(request, deps)
    assert exc.value.code == "account_disabled"
