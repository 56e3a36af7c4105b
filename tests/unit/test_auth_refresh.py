"""Refresh tokens: hashed at rest, rotated on use, replay revokes the family."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared import errors
from shared.auth import refresh


def _issue(deps, **kw):
    return refresh.issue(deps.docs, user_id="u_1", tenant_id="t_1", ttl_s=3600, **kw)


def test_only_the_hash_is_stored(deps):
    token = _issue(deps)
    assert token.startswith("tmr_") and len(token) == 47
    (doc,) = deps.docs.query("refresh_tokens")
    assert doc.id == refresh.token_hash(token)
    assert token not in str(doc.data) and token[4:] not in str(doc.data)


def test_rotation_returns_a_new_token_of_the_same_family(deps):
    first = _issue(deps)
    second, rec = refresh.rotate(deps.docs, first, ttl_s=3600)
    third, rec2 = refresh.rotate(deps.docs, second, ttl_s=3600)
    assert len({first, second, third}) == 3
    assert (rec.user_id, rec.tenant_id) == ("u_1", "t_1")
    assert rec.family_id == rec2.family_id


def test_replaying_a_rotated_token_revokes_the_whole_family(deps):
    first = _issue(deps)
    other_family = _issue(deps)
    second, _ = refresh.rotate(deps.docs, first, ttl_s=3600)
    with pytest.raises(errors.Unauthenticated) as info:
        refresh.rotate(deps.docs, first, ttl_s=3600)
    assert info.value.code == "refresh_token_reused"
    # The legitimate-looking successor is dead too...
    with pytest.raises(errors.Unauthenticated) as info:
        refresh.rotate(deps.docs, second, ttl_s=3600)
    assert info.value.code == "invalid_refresh_token"
    # ...but another session of the same user is not.
    refresh.rotate(deps.docs, other_family, ttl_s=3600)


@pytest.mark.parametrize("token", ["", "tmr_", "tmr_" + "a" * 42, "x" * 47,
                                   "tmr_" + "a" * 43, "tmr_../../" + "a" * 37, None, 5])
def test_unknown_or_malformed_tokens_are_refused(deps, token):
    _issue(deps)
    with pytest.raises(errors.Unauthenticated) as info:
        refresh.rotate(deps.docs, token, ttl_s=3600)
    assert info.value.code == "invalid_refresh_token"


def test_expired_tokens_are_refused(deps):
    token = _issue(deps)
    deps.docs.update("refresh_tokens", refresh.token_hash(token),
                     {"expires_at": datetime.now(UTC) - timedelta(seconds=1)})
    with pytest.raises(errors.Unauthenticated):
        refresh.rotate(deps.docs, token, ttl_s=3600)


def test_revoking_a_user_kills_all_their_sessions_only(deps):
    a, b = _issue(deps), _issue(deps)
    mine = refresh.issue(deps.docs, user_id="u_2", tenant_id="t_1", ttl_s=3600)
    assert refresh.revoke_user(deps.docs, "u_1") == 2
    for token in (a, b):
        with pytest.raises(errors.Unauthenticated):
            refresh.rotate(deps.docs, token, ttl_s=3600)
    refresh.rotate(deps.docs, mine, ttl_s=3600)
