"""Rate limits keyed on the account or token as well as the address: attempts spread
over many addresses (a botnet, or addresses a proxy path got wrong) still meet a limit.
The limits' defaults are read from shared.auth.ratelimit, not retyped."""

from __future__ import annotations

import pytest

from shared.auth.ratelimit import limits
from tests.support.mailbox import confirm_email

PASSWORD = "correct horse battery staple"


@pytest.fixture
def client(function_client):
    return function_client("auth", "auth_http")


def addresses():
    """A fresh address per request: the per-address limits never decide here."""
    n = 0
    while True:
        n += 1
        yield {"REMOTE_ADDR": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}


def register(client, email, env):
    return client.post("/api/auth/register", environ_base=env,
                       json={"email": email, "password": PASSWORD, "tenant_name": "Acme"})


def test_sign_ups_for_one_email_are_limited_across_addresses(client):
    budget = limits()["register-account"].limit
    ips = addresses()
    assert register(client, "target@example.com", next(ips)).status_code == 201
    for _ in range(budget - 1):
        assert register(client, "target@example.com", next(ips)).status_code == 409
    r = register(client, "target@example.com", next(ips))
    assert r.status_code == 429, r.get_json()
    assert r.get_json()["error"]["details"]["limit"] == "register-account"
    # Another email is its own account.
    assert register(client, "other@example.com", next(ips)).status_code == 201


def test_refreshes_of_one_sign_in_are_limited_across_addresses(client):
    budget = limits()["refresh-family"].limit
    ips = addresses()
    token = register(client, "r@example.com", next(ips)).get_json()["refresh_token"]
    for _ in range(budget):
        r = client.post("/api/auth/refresh", json={"refresh_token": token},
                        environ_base=next(ips))
        assert r.status_code == 200, r.get_json()
        token = r.get_json()["refresh_token"]
    r = client.post("/api/auth/refresh", json={"refresh_token": token}, environ_base=next(ips))
    assert r.status_code == 429, r.get_json()
    assert r.get_json()["error"]["details"]["limit"] == "refresh-family"
    # Another sign-in is another family, with a budget of its own.
    other = register(client, "r2@example.com", next(ips)).get_json()["refresh_token"]
    assert client.post("/api/auth/refresh", json={"refresh_token": other},
                       environ_base=next(ips)).status_code == 200


def test_guesses_at_one_invite_are_limited_across_addresses(client, deps):
    budget = limits()["register-account"].limit
    ips = addresses()
    admin = register(client, "admin@example.com", next(ips)).get_json()
    confirm_email(lambda path, body: client.post(path, json=body, environ_base=next(ips)),
                  deps.settings.data_dir / "mail", "admin@example.com")
    invite = client.post("/api/auth/users", environ_base=next(ips),
                         headers={"Authorization": f"Bearer {admin['access_token']}"},
                         json={"email": "v@example.com", "role": "viewer"}).get_json()["invite"]
    stem, secret = invite["token"].rsplit(".", 1)
    wrong = f"{stem}.{'A' * 43}" if secret != "A" * 43 else f"{stem}.{'B' * 43}"
    for _ in range(budget):
        r = client.post("/api/auth/invites/accept", environ_base=next(ips),
                        json={"token": wrong, "password": PASSWORD})
        assert r.status_code == 400, r.get_json()
    # Even the right secret now waits: the account's window is spent.
    r = client.post("/api/auth/invites/accept", environ_base=next(ips),
                    json={"token": invite["token"], "password": PASSWORD})
    assert r.status_code == 429, r.get_json()
    assert r.get_json()["error"]["details"]["limit"] == "register-account"
