"""No password, token, invite token, signed-URL signature or secret value ever appears
in a log line. A session's worth of sensitive traffic — including the failure paths
that tend to log what they were given — is sent to the stack, then every line it
logged is searched (the stack fixture repeats the search for each module)."""

from __future__ import annotations

import uuid

import requests

from tests.hardening.logscan import PATTERNS, leaks, stored_secret_values
from tests.support.hardening import PASSWORD


def _post(stack, path, body=None, headers=None, data=None):
    return requests.post(stack.url(path), json=body, data=data, headers=headers, timeout=30)


def test_sensitive_traffic_leaves_no_credential_in_the_logs(stack, own):
    email = f"logs-{uuid.uuid4().hex[:8]}@hardening.example.com"
    wrong = "Wrong-" + uuid.uuid4().hex
    stack.remember(wrong)
    admin = own.headers["admin"]

    invite = _post(stack, "/api/auth/users", {"email": email, "role": "analyst"}, admin).json()
    invite_token = invite["invite"]["token"]
    stack.remember(invite_token)
    assert _post(stack, "/api/auth/invites/accept", {"token": invite_token + "x",
                                                     "password": PASSWORD}).status_code == 400
    accepted = _post(stack, "/api/auth/invites/accept", {"token": invite_token,
                                                         "password": PASSWORD})
    assert accepted.status_code == 200, accepted.text
    stack.session_from(accepted.json())

    assert _post(stack, "/api/auth/login", {"email": email, "password": wrong}).status_code == 401
    assert _post(stack, "/api/auth/login", {"email": "nobody-" + email,
                                            "password": wrong}).status_code == 401
    session = _post(stack, "/api/auth/login", {"email": email, "password": PASSWORD}).json()
    stack.session_from(session)
    rotated = _post(stack, "/api/auth/refresh", {"refresh_token": session["refresh_token"]})
    stack.session_from(rotated.json())
    reused = _post(stack, "/api/auth/refresh", {"refresh_token": session["refresh_token"]})
    assert reused.status_code == 401
    assert _post(stack, "/api/auth/logout",
                 {"refresh_token": rotated.json()["refresh_token"]}).status_code == 204

    bearer = {"Authorization": f"Bearer {session['access_token']}"}
    tampered = {"Authorization": f"Bearer {session['access_token'][:-3]}abc"}
    assert requests.get(stack.url("/api/auth/me"), headers=tampered, timeout=30).status_code == 401
    created = _post(stack, "/api/uploads", {"filename": "l.csv", "size_bytes": 40},
                    bearer).json()
    stack.remember(created["upload_url"])
    from tests.hardening.logscan import signed_url_secrets

    for sig in signed_url_secrets(created["upload_url"]):
        stack.remember(sig)
    bad_sig = created["upload_url"].replace("Signature=", "Signature=00")
    assert requests.put(bad_sig, data=b"x" * 40, headers=created["headers"],
                        timeout=30).status_code == 403
    put = requests.put(created["upload_url"], data=b"Order Date,Sales\n2025-01-01,1\n",
                       headers=created["headers"], timeout=30)
    assert put.status_code in (200, 400), put.text

    known = stack.known_secrets | set(stored_secret_values(stack.data_dir))
    assert PASSWORD in known and wrong in known and invite_token in known
    lines = list(stack.logs.lines)
    assert any('"tidemark.audit"' in ln and "login.failed" in ln for ln in lines)
    found = leaks(lines, known)
    assert not found, "credentials in log lines:\n" + "\n".join(found[:10])


def test_the_leak_search_finds_what_it_looks_for():
    """Guards the search itself: each kind of credential in a line is reported."""
    jwt_like = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1XzEyMzQ1Njc4In0.c2lnbmF0dXJlc2lnbmF0dXJlMTIz"
    samples = {
        "jwt": f'{{"message": "got {jwt_like}"}}',
        "refresh_token": '{"token": "tmr_abcdefghijklmnopqrstuvwxyz012345"}',
        "invite_token": '{"m": "inv_t_1.u_2.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}',
        "password_hash": '{"hash": "$argon2id$v=19$m=19456,t=2,p=1$abc"}',
        "private_key": '{"k": "-----BEGIN PRIVATE KEY-----"}',
        "url_signature": '{"url": "/storage/upload/b/o?X-Goog-Signature=0123456789abcdef0123"}',
    }
    assert set(samples) == set(PATTERNS)
    for name, line in samples.items():
        assert any(name in hit for hit in leaks([line])), name
    assert leaks(['{"message": "hello Sup3r-Secret-Value"}'], ["Sup3r-Secret-Value"])
    assert not leaks(['{"message": "GET /api/auth/me 200", "latency_ms": 1.2}'],
                     ["Sup3r-Secret-Value"])
