"""Firestore security rules: deny every Firebase client request (terraform/firestore.rules),
deployed by terraform. The emulator evaluates rules for client requests (those without
the emulator's `Bearer owner` admin token), so the deployed file is checked there."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
import uuid

import pytest

from tests.infra.terraform_config import TERRAFORM, load
from tests.support import emulators

RULES = (TERRAFORM / "firestore.rules").read_text(encoding="utf-8")


def test_terraform_releases_the_rules_file_for_the_default_database():
    cfg = load()
    ruleset = cfg.resources[("google_firebaserules_ruleset", "firestore")]
    files = ruleset["source"]["files"] if isinstance(ruleset["source"], dict) \
        else ruleset["source"][0]["files"]
    files = files if isinstance(files, list) else [files]
    assert [f["content"] for f in files] == ['${file("${path.module}/firestore.rules")}']
    release = cfg.resources[("google_firebaserules_release", "firestore")]
    assert release["name"] == "cloud.firestore"
    assert "google_firebaserules_ruleset.firestore.name" in release["ruleset_name"]


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def _user_token(project: str) -> str:
    """A Firebase Auth ID token as the emulator accepts it (unsigned)."""
    now = int(time.time())
    return _b64({"alg": "none", "typ": "JWT"}) + "." + _b64({
        "iss": f"https://securetoken.google.com/{project}", "aud": project,
        "sub": "u1", "user_id": "u1", "iat": now, "exp": now + 3600, "auth_time": now,
        "email": "someone@example.com", "firebase": {"sign_in_provider": "password"}}) + "."


def _call(url: str, method: str = "GET", body: dict | None = None,
          token: str | None = None) -> int:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _load_rules(emu, project: str, rules: str) -> None:
    status = _call(f"{emu.url}/emulator/v1/projects/{project}:securityRules", "PUT",
                   {"rules": {"files": [{"name": "firestore.rules", "content": rules}]}})
    assert status == 200


@pytest.mark.emulator
def test_the_rules_deny_every_client_request(request):
    emu = emulators.shared_emulator(request, "firestore")
    project = f"rules-{uuid.uuid4().hex[:8]}"  # rules are per project: no other test sees them
    docs = f"{emu.url}/v1/projects/{project}/databases/(default)/documents"
    doc = f"{docs}/tenants/t1/uploads/up1"
    fields = {"fields": {"status": {"stringValue": "loaded"}}}
    query = {"structuredQuery": {"from": [{"collectionId": "uploads", "allDescendants": True}]}}

    # What the functions write, through the admin path the rules do not govern.
    _load_rules(emu, project, RULES)
    assert _call(doc, "PATCH", fields, token="owner") == 200

    user = _user_token(project)
    for token in (None, user):  # signed out, and signed in with Firebase Auth
        assert _call(doc, token=token) == 403
        assert _call(doc, "PATCH", fields, token=token) == 403
        assert _call(f"{docs}/tenants/t2", "PATCH", fields, token=token) == 403
        assert _call(doc, "DELETE", token=token) == 403
        assert _call(f"{docs}:runQuery", "POST", query, token=token) == 403

    # The same requests pass under permissive rules: the emulator does enforce them.
    _load_rules(emu, project, RULES.replace("if false", "if true"))
    assert _call(doc, token=user) == 200
    assert _call(f"{docs}:runQuery", "POST", query, token=None) == 200
