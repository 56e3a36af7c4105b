"""The embedded stack as a whole: function mounts, signed uploads, finalize events."""

from __future__ import annotations

import time

import requests

from shared.web.catalog import ENTRY_POINTS


def test_every_http_function_answers_health_through_serve(running_stack):
    base = running_stack.settings.base_url
    for ep in ENTRY_POINTS:
        if ep.kind != "http":
            continue
        resp = requests.get(f"{base}{ep.mount}/health", timeout=5)
        assert resp.status_code == 200, ep
        assert resp.json() == {"status": "ok", "function": ep.function}
        assert resp.headers["X-Request-Id"]
    agg = requests.get(f"{base}/api/health", timeout=5).json()
    assert agg["status"] == "ok"
    assert set(agg["functions"]) == {e.function for e in ENTRY_POINTS if e.kind == "http"}


def test_unknown_api_route_is_a_json_404(running_stack):
    resp = requests.get(f"{running_stack.settings.base_url}/api/nope", timeout=5)
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "no_route"


def _signed(stack, name="uploads/t1/u1.csv", max_bytes=100, ttl=60):
    return stack.deps.blobs.signed_upload_url(stack.settings.uploads_bucket, name,
                                              content_type="text/csv", max_bytes=max_bytes,
                                              expires_in_s=ttl)


def test_signed_url_accepts_the_right_file_and_delivers_finalize_once(running_stack):
    stack = running_stack
    received = []
    stack.deps.tasks.dispatcher = lambda d, h: (received.append(d), 200)[1]
    su = _signed(stack)
    resp = requests.put(su.url, data=b"a,b\n1,2\n", headers=dict(su.headers), timeout=5)
    assert resp.status_code == 200, resp.text
    info = stack.deps.blobs.stat(stack.settings.uploads_bucket, "uploads/t1/u1.csv")
    assert info is not None and info.size == 8 and info.content_type == "text/csv"
    deadline = time.time() + 10
    while not received and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # give a duplicate delivery the chance to show up
    assert len(received) == 1
    event = received[0].payload
    assert event["type"] == "google.cloud.storage.object.v1.finalized"
    assert event["data"]["name"] == "uploads/t1/u1.csv"
    assert event["data"]["generation"] == info.generation


def test_signed_url_rejects_tampering_expiry_type_and_size(running_stack):
    stack = running_stack
    bucket = stack.settings.uploads_bucket
    su = _signed(stack, max_bytes=10)
    h = dict(su.headers)
    tampered = su.url.replace("X-Tidemark-Signature=", "X-Tidemark-Signature=0")
    assert requests.put(tampered, data=b"x", headers=h, timeout=5).status_code == 403
    other_object = su.url.replace("u1.csv", "u2.csv")
    assert requests.put(other_object, data=b"x", headers=h, timeout=5).status_code == 403
    wrong_type = {**h, "Content-Type": "application/octet-stream"}
    r = requests.put(su.url, data=b"x", headers=wrong_type, timeout=5)
    assert r.status_code == 403 and r.json()["error"]["code"] == "signature_invalid"
    widened = {**h, "x-goog-content-length-range": "1,1000000"}
    assert requests.put(su.url, data=b"x", headers=widened, timeout=5).status_code == 403
    r = requests.put(su.url, data=b"x" * 11, headers=h, timeout=5)
    assert r.status_code == 413
    expired = _signed(stack, ttl=1)
    time.sleep(2.1)
    r = requests.put(expired.url, data=b"x", headers=dict(expired.headers), timeout=5)
    assert r.status_code == 403 and r.json()["error"]["code"] == "signature_expired"
    assert stack.deps.blobs.stat(bucket, "uploads/t1/u1.csv") is None
    assert stack.deps.tasks.counts() == {}


def test_frontend_is_served_with_security_headers(running_stack):
    resp = requests.get(running_stack.settings.base_url + "/", timeout=5)
    assert resp.status_code == 200
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_openapi_is_served_by_the_local_stack(running_stack):
    resp = requests.get(running_stack.settings.base_url + "/api/openapi.json", timeout=5)
    assert resp.status_code == 200
    assert "/api/auth/health" in resp.json()["paths"]
