"""Issue 23: the tenant's time zone is chosen at registration, shown by /me, and an
admin reads and changes the tenant's settings (audited); bad values are 400s that
name the field, and nothing is half-written."""

from __future__ import annotations

import pytest


@pytest.fixture
def auth(function_client):
    return function_client("auth", "auth_http")


def _register(auth, **extra):
    body = {"email": "owner@zone.example.com", "password": "correct horse battery",
            "tenant_name": "Zone", **extra}
    return auth.post("/api/auth/register", json=body)


def test_registration_stores_the_time_zone_and_me_shows_the_settings(auth):
    resp = _register(auth, time_zone="America/Los_Angeles")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["tenant"]["settings"]["time_zone"] == "America/Los_Angeles"
    token = resp.get_json()["access_token"]
    me = auth.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["tenant"]["settings"] == {
        "time_zone": "America/Los_Angeles", "week_start": "monday",
        "fiscal_year_start_month": 1, "retail_calendar": "none", "holiday_country": None}


def test_registration_without_a_zone_is_utc(auth):
    resp = _register(auth)
    assert resp.status_code == 201
    assert resp.get_json()["tenant"]["settings"]["time_zone"] == "UTC"


def test_registration_refuses_an_unknown_zone_and_creates_nothing(auth, deps):
    resp = _register(auth, time_zone="Mars/Olympus_Mons")
    assert resp.status_code == 400
    assert "time_zone" in resp.get_json()["error"]["details"]["fields"]
    assert deps.docs.query("tenants") == []


def test_an_admin_changes_the_settings_and_the_change_is_audited(auth, deps, make_user):
    principal, headers = make_user(role="admin")
    resp = auth.patch("/api/auth/tenant/settings", headers=headers,
                      json={"time_zone": "Europe/Paris", "week_start": "sunday",
                            "fiscal_year_start_month": 7, "retail_calendar": "4-4-5"})
    assert resp.status_code == 200, resp.get_json()
    settings = auth.get("/api/auth/tenant/settings", headers=headers).get_json()["settings"]
    assert settings["time_zone"] == "Europe/Paris" and settings["week_start"] == "sunday"
    assert settings["fiscal_year_start_month"] == 7
    assert settings["retail_calendar"] == "4-4-5"
    from shared.auth import audit

    entries = audit.entries(deps.docs, principal["tenant_id"])
    changed = next(e for e in entries if e["action"] == "tenant.settings_changed")
    assert changed["actor_id"] == principal["user_id"]
    assert changed["details"]["changed"]["time_zone"] == {"from": "UTC", "to": "Europe/Paris"}


@pytest.mark.parametrize("body, field", [
    ({"time_zone": "Nowhere/Special"}, "time_zone"),
    ({"week_start": "friday"}, "week_start"),
    ({"fiscal_year_start_month": 13}, "fiscal_year_start_month"),
    ({"retail_calendar": "5-5-5"}, "retail_calendar"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_settings_are_refused_by_name_and_nothing_changes(auth, make_user, body, field):
    _, headers = make_user(role="admin")
    resp = auth.patch("/api/auth/tenant/settings", headers=headers,
                      json={"week_start": "sunday", **body})
    assert resp.status_code == 400
    assert field in resp.get_json()["error"]["details"]["fields"]
    settings = auth.get("/api/auth/tenant/settings", headers=headers).get_json()["settings"]
    assert settings["week_start"] == "monday"


def test_an_empty_change_is_refused(auth, make_user):
    _, headers = make_user(role="admin")
    resp = auth.patch("/api/auth/tenant/settings", headers=headers, json={})
    assert resp.status_code == 400


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_only_an_admin_reads_or_changes_the_settings(auth, make_user, role):
    _, headers = make_user(role=role)
    assert auth.get("/api/auth/tenant/settings", headers=headers).status_code == 403
    assert auth.patch("/api/auth/tenant/settings", headers=headers,
                      json={"week_start": "sunday"}).status_code == 403
