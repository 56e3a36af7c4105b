"""Document-store rate limits: shared by every instance, 429 with Retry-After."""

from __future__ import annotations

import pytest

from shared import errors
from shared.auth import ratelimit
from shared.auth.ratelimit import Limit


def test_allows_the_limit_then_refuses_with_the_time_left(deps):
    limit = Limit("login-ip", 3, 60)
    for _ in range(3):
        ratelimit.hit(deps.docs, limit, "203.0.113.7", now=1000.0)
    with pytest.raises(errors.RateLimited) as info:
        ratelimit.hit(deps.docs, limit, "203.0.113.7", now=1010.0)
    assert info.value.status == 429
    assert info.value.headers["Retry-After"] == "50"
    assert info.value.details == {"limit": "login-ip", "retry_after_s": 50}
    # Other subjects and other limits have their own windows.
    ratelimit.hit(deps.docs, limit, "203.0.113.8", now=1010.0)
    ratelimit.hit(deps.docs, Limit("register-ip", 3, 60), "203.0.113.7", now=1010.0)


def test_a_new_window_starts_after_the_old_one_ends(deps):
    limit = Limit("x", 1, 60)
    ratelimit.hit(deps.docs, limit, "s", now=0.0 + 5000)
    with pytest.raises(errors.RateLimited):
        ratelimit.hit(deps.docs, limit, "s", now=5059.0)
    ratelimit.hit(deps.docs, limit, "s", now=5060.0)


def test_check_counts_nothing(deps):
    limit = Limit("acct", 2, 60)
    for _ in range(5):
        ratelimit.check(deps.docs, limit, "k", now=100.0)
    ratelimit.hit(deps.docs, limit, "k", now=100.0)
    ratelimit.hit(deps.docs, limit, "k", now=100.0)
    with pytest.raises(errors.RateLimited):
        ratelimit.check(deps.docs, limit, "k", now=101.0)
    ratelimit.check(deps.docs, limit, "k", now=160.0)


def test_instances_sharing_the_store_share_the_count(deps, settings):
    from shared.adapters.local.sqlite_docs import SqliteDocumentStore

    other = SqliteDocumentStore(settings.data_dir / "documents.sqlite")
    limit = Limit("login-ip", 2, 60)
    ratelimit.hit(deps.docs, limit, "ip", now=10.0)
    ratelimit.hit(other, limit, "ip", now=10.0)
    with pytest.raises(errors.RateLimited):
        ratelimit.hit(deps.docs, limit, "ip", now=11.0)


def test_document_ids_do_not_reveal_the_subject(deps):
    ratelimit.hit(deps.docs, Limit("login-account", 5, 60), "jane@example.com")
    (doc,) = deps.docs.query("rate_limits")
    assert "jane" not in doc.id and len(doc.id) == 64
    assert "jane" not in str(doc.data)


def test_limits_are_configurable_from_the_environment(monkeypatch, setenv):
    setenv("TIDEMARK_RATE_LOGIN_IP", "7/30")
    assert ratelimit.limits()["login-ip"] == Limit("login-ip", 7, 30)
    assert ratelimit.limits()["register-ip"] == Limit("register-ip", 10, 3600)
