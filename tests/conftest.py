"""Fixtures every suite shares: an isolated local stack per test, function clients,
and users with real access tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from tests.support.environment import ROOT


@pytest.fixture
def settings(tmp_path):
    from shared.settings import Settings

    return Settings(backend="local", data_dir=tmp_path / "data", port=8080,
                    public_url="http://127.0.0.1:8080", task_backoff_base_s=0.01)


@pytest.fixture
def deps(settings):
    """A local Deps installed as the process's composition root for the test."""
    from shared.auth.tokens import clear_key_cache
    from shared.bootstrap import Deps, override

    clear_key_cache()
    d = Deps(settings)
    with override(d):
        yield d
    clear_key_cache()


@pytest.fixture
def function_client(deps):
    """function_client("auth", "auth_http") -> a Flask test client of that entry point,
    loaded the way functions-framework loads it in the cloud."""
    from functions_framework import create_app

    def make(function: str, target: str, signature_type: str = "http"):
        source = ROOT / "functions" / function / "main.py"
        app = create_app(target, str(source), signature_type)
        return app.test_client()
    return make


@pytest.fixture
def make_user(deps):
    """make_user(role="analyst", tenant_id=None) -> (principal dict, auth headers).
    Writes the tenant and user documents in the layout the auth service uses and
    issues a real access token."""
    from shared.auth.tokens import issue_access_token

    def make(role: str = "analyst", tenant_id: str | None = None, email: str | None = None):
        tenant_id = tenant_id or "t_" + uuid.uuid4().hex[:12]
        user_id = "u_" + uuid.uuid4().hex[:12]
        email = email or f"{user_id}@example.com"
        now = datetime.now(UTC)
        if deps.docs.get("tenants", tenant_id) is None:
            deps.docs.set("tenants", tenant_id, {"name": f"Tenant {tenant_id}", "created_at": now})
        deps.docs.set(f"tenants/{tenant_id}/users", user_id,
                      {"email": email, "role": role, "disabled": False, "created_at": now})
        token, _ = issue_access_token(deps, user_id=user_id, tenant_id=tenant_id, role=role,
                                      email=email)
        principal = {"user_id": user_id, "tenant_id": tenant_id, "role": role, "email": email}
        return principal, {"Authorization": f"Bearer {token}"}
    return make


@pytest.fixture(autouse=True)
def _fresh_settings():
    """Settings are cached per process; each test starts and ends with a fresh read."""
    from shared.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def setenv(monkeypatch):
    """setenv(NAME, value): set a TIDEMARK_* variable and re-read the settings."""
    from shared.settings import get_settings

    def set_(name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        get_settings.cache_clear()
    return set_
