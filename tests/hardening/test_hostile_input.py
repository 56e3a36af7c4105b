"""Hostile input against the running local stack: bodies and headers over the size
limits, malformed JSON, path traversal and odd unicode in every name field and path
parameter. Nothing may answer 5xx, and every refusal names the problem."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest
import requests

from shared.auth.models import MAX_BODY_BYTES
from shared.settings import Settings
from shared.web.http import MAX_HEADER_BYTES

AUTH_LIMIT = MAX_BODY_BYTES     # functions/auth reads at most this much JSON
# The stack here runs with the default body limit; both limits come from the code, so a
# change of either is tested at its new value rather than at a stale copy.
DEFAULT_LIMIT = Settings.model_fields["max_request_bytes"].default
HEADER_LIMIT = MAX_HEADER_BYTES

# (method, path, needs a token, role, body limit)
JSON_ROUTES = [
    ("POST", "/api/auth/register", None, AUTH_LIMIT),
    ("POST", "/api/auth/login", None, AUTH_LIMIT),
    ("POST", "/api/auth/refresh", None, AUTH_LIMIT),
    ("POST", "/api/auth/logout", None, AUTH_LIMIT),
    ("POST", "/api/auth/invites/accept", None, AUTH_LIMIT),
    ("POST", "/api/auth/users", "admin", AUTH_LIMIT),
    ("PATCH", "/api/auth/users/{user}", "admin", AUTH_LIMIT),
    ("POST", "/api/uploads", "analyst", DEFAULT_LIMIT),
]
ROUTE_IDS = [f"{m} {p}" for m, p, _, _ in JSON_ROUTES]

TRAVERSAL_AND_UNICODE = [
    "../../../../etc/passwd",
    "..\\..\\..\\windows\\win.ini",
    "/absolute/path.csv",
    "a/../../b.csv",
    "%2e%2e%2f%2e%2e%2fsecret",
    "\u202egnp.exe.csv",                      # right-to-left override
    "ｆｕｌｌｗｉｄｔｈ．ｃｓｖ",
    "e\u0301\u0301\u0301\u0301.csv",          # stacked combining marks
    "😀" * 60,
    "日本語のファイル名.csv",
    "\ufeffbom.csv",
    "con.csv",
    "x" * 255,
]
REJECTED_NAMES = ["nul\x00byte.csv", "line\nbreak.csv", "\x1b[31mred.csv"]


def _url(stack, own, path: str) -> str:
    return stack.url(path.replace("{user}", own.users["viewer"]["id"]))


def _headers(own, role: str | None, **extra: str) -> dict[str, str]:
    return {**(own.headers[role] if role else {}), **extra}


def _error(resp) -> dict:
    body = resp.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "details"} <= set(body["error"]), body
    return body["error"]


# --------------------------------------------------------------------------- sizes

@pytest.mark.parametrize(("method", "path", "role", "limit"), JSON_ROUTES, ids=ROUTE_IDS)
def test_a_body_over_the_limit_is_413(stack, own, method, path, role, limit):
    body = json.dumps({"padding": "x" * limit}).encode()
    resp = requests.request(method, _url(stack, own, path), data=body, timeout=30,
                            headers=_headers(own, role, **{"Content-Type": "application/json"}))
    assert resp.status_code == 413, resp.text[:300]
    err = _error(resp)
    assert err["code"] == "too_large"
    assert err["details"]["limit_bytes"] == limit


@pytest.mark.parametrize(("method", "path", "role", "limit"), JSON_ROUTES[:2] + JSON_ROUTES[-1:],
                         ids=ROUTE_IDS[:2] + ROUTE_IDS[-1:])
def test_a_chunked_body_over_the_limit_is_413(stack, own, method, path, role, limit):
    """No Content-Length to trust: the body is cut off at the limit while read."""
    def chunks():
        yield b'{"padding": "'
        for _ in range(limit // 8192 + 2):
            yield b"x" * 8192
        yield b'"}'
    resp = requests.request(method, _url(stack, own, path), data=chunks(), timeout=30,
                            headers=_headers(own, role, **{"Content-Type": "application/json"}))
    assert resp.status_code == 413, resp.text[:300]
    assert _error(resp)["code"] == "too_large"


@pytest.mark.parametrize("path", ["/api/auth/me", "/api/uploads", "/api/metrics/datasets",
                                  "/api/auth/login", "/api/health", "/api/predictions"])
def test_headers_over_the_limit_are_431(stack, own, path):
    headers = _headers(own, "admin", **{"X-Padding": "p" * (HEADER_LIMIT + 1)})
    resp = requests.get(stack.url(path), headers=headers, timeout=30)
    assert resp.status_code == 431, resp.text[:300]
    assert _error(resp)["code"] == "headers_too_large"


def test_headers_far_over_the_limit_are_431_before_any_function(stack):
    """Above the server's own header cap the connection is answered 431 by the server."""
    host, port = urlsplit(stack.base_url).hostname, urlsplit(stack.base_url).port
    pad = "p" * 300_000
    raw = (f"GET /api/auth/me HTTP/1.1\r\nHost: {host}\r\nX-Padding: {pad}\r\n"
           "Connection: close\r\n\r\n").encode()
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(raw)
        status_line = s.recv(200).split(b"\r\n", 1)[0]
    assert b" 431 " in status_line + b" ", status_line


def test_a_signed_put_over_the_signed_size_is_413(stack, own):
    created = requests.post(stack.url("/api/uploads"), headers=own.headers["analyst"],
                            json={"filename": "s.csv", "size_bytes": 10}, timeout=30)
    assert created.status_code == 201, created.text
    c = created.json()
    stack.remember(c["upload_url"])
    resp = requests.put(c["upload_url"], data=b"x" * 5000, headers=c["headers"], timeout=30)
    assert resp.status_code == 413, resp.text[:300]
    assert _error(resp)["code"] == "too_large"


# ------------------------------------------------------------------ malformed JSON

MALFORMED = {
    "truncated": b'{"email": "a@b.c", "password": ',
    "trailing_garbage": b'{"email": "a@b.c"} trailing',
    "single_quotes": b"{'email': 'a@b.c'}",
    "invalid_utf8": b'{"email": "\xff\xfe"}',
    "bare_word": b"undefined",
    "deep_nesting": b"[" * 30_000 + b"]" * 30_000,
    "deep_object": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
}


@pytest.mark.parametrize(("method", "path", "role", "limit"), JSON_ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_json_is_400_naming_the_problem(stack, own, method, path, role, limit, kind):
    resp = requests.request(method, _url(stack, own, path), data=MALFORMED[kind], timeout=30,
                            headers=_headers(own, role, **{"Content-Type": "application/json"}))
    assert resp.status_code == 400, resp.text[:300]
    err = _error(resp)
    assert err["code"] == "malformed_json"
    assert "JSON" in err["message"]


@pytest.mark.parametrize(("method", "path", "role", "limit"), JSON_ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42", b"null"])
def test_a_json_body_that_is_not_an_object_is_400(stack, own, method, path, role, limit, body):
    resp = requests.request(method, _url(stack, own, path), data=body, timeout=30,
                            headers=_headers(own, role, **{"Content-Type": "application/json"}))
    assert resp.status_code == 400, resp.text[:300]
    assert _error(resp)["code"] in {"malformed_json", "body_required"}


@pytest.mark.parametrize(("method", "path", "role", "limit"), JSON_ROUTES, ids=ROUTE_IDS)
def test_a_body_that_is_not_json_is_415(stack, own, method, path, role, limit):
    resp = requests.request(method, _url(stack, own, path), data=b"email=a@b.c", timeout=30,
                            headers=_headers(own, role, **{
                                "Content-Type": "application/x-www-form-urlencoded"}))
    assert resp.status_code == 415, resp.text[:300]
    assert _error(resp)["code"] == "unsupported_media_type"


@pytest.mark.parametrize(("method", "path", "role", "limit"), JSON_ROUTES, ids=ROUTE_IDS)
def test_a_lone_surrogate_escape_is_400_naming_the_problem(stack, own, method, path, role,
                                                           limit):
    """\\ud800 parses into a str that is not Unicode; no store could keep it."""
    body = b'{"name": "x\\ud800y", "email": "s@hardening.example.com", "filename": "\\udfff"}'
    resp = requests.request(method, _url(stack, own, path), data=body, timeout=30,
                            headers=_headers(own, role, **{"Content-Type": "application/json"}))
    assert resp.status_code == 400, resp.text[:300]
    err = _error(resp)
    assert err["code"] == "invalid_unicode"
    assert "Unicode" in err["message"]


def test_a_valid_surrogate_pair_escape_is_accepted(stack, own):
    body = b'{"filename": "smile \\ud83d\\ude00.csv", "size_bytes": 10}'
    resp = requests.post(stack.url("/api/uploads"), data=body, timeout=30,
                         headers=_headers(own, "analyst", **{"Content-Type": "application/json"}))
    assert resp.status_code == 201, resp.text[:300]
    stack.remember(resp.json()["upload_url"])
    assert resp.json()["upload"]["filename"] == "smile \U0001f600.csv"


# ------------------------------------------------------------ names and path params

@pytest.mark.parametrize("name", TRAVERSAL_AND_UNICODE)
def test_upload_names_never_reach_a_path(stack, own, name):
    resp = requests.post(stack.url("/api/uploads"), headers=own.headers["analyst"], timeout=30,
                         json={"filename": name, "size_bytes": 100, "dataset": name[:100]})
    assert resp.status_code == 201, resp.text[:300]
    body = resp.json()
    stack.remember(body["upload_url"])
    up = body["upload"]
    assert up["filename"] == name.strip()
    assert up["object_name"] == f"uploads/{own.id}/{up['id']}.csv"
    assert urlsplit(body["upload_url"]).path.endswith(f"/uploads/{own.id}/{up['id']}.csv")
    assert up["dataset_id"].startswith("ds_") and up["dataset_id"][3:].isalnum()


@pytest.mark.parametrize("name", REJECTED_NAMES, ids=["nul", "newline", "escape"])
def test_control_characters_in_upload_names_are_400(stack, own, name):
    body = json.dumps({"filename": name, "size_bytes": 100})
    resp = requests.post(stack.url("/api/uploads"), data=body, timeout=30,
                         headers=_headers(own, "analyst", **{"Content-Type": "application/json"}))
    assert resp.status_code == 400, resp.text[:300]
    assert "filename" in _error(resp)["details"]["fields"]


@pytest.mark.parametrize("name", TRAVERSAL_AND_UNICODE[:-1] + REJECTED_NAMES)
def test_odd_names_for_users_and_tenants_are_kept_verbatim_or_refused(stack, own, name):
    body = json.dumps({"email": f"odd{abs(hash(name)) % 10**9}@hardening.example.com",
                       "role": "viewer", "name": name[:100]})
    resp = requests.post(stack.url("/api/auth/users"), data=body, timeout=30,
                         headers=_headers(own, "admin", **{"Content-Type": "application/json"}))
    assert resp.status_code in (201, 400), resp.text[:300]
    if resp.status_code == 201:
        stack.remember(resp.json().get("invite", {}).get("token", ""))
        assert resp.json()["user"]["name"] == name[:100].strip()
        assert not any(ord(c) < 32 for c in name)
    else:
        assert "name" in _error(resp)["details"]["fields"]


@pytest.mark.parametrize("segment", ["..", "%2e%2e", "..%2f..%2fetc%2fpasswd", "%00",
                                     "up_" + "0" * 32 + "%2f..", "\u202e", "😀", "up_x" * 40])
def test_odd_path_parameters_are_4xx(stack, own, segment):
    for method, path in (("GET", f"/api/uploads/{segment}"),
                         ("DELETE", f"/api/uploads/{segment}"),
                         ("GET", f"/api/uploads/{segment}/rejected"),
                         ("PATCH", f"/api/auth/users/{segment}")):
        resp = requests.request(method, stack.url(path), headers=own.headers["admin"],
                                json={"role": "viewer"}, timeout=30)
        assert 400 <= resp.status_code < 500, (method, path, resp.status_code)
        _error(resp)


@pytest.mark.parametrize("path", [
    "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2f..%2fetc%2fpasswd",
    "/assets/..%2f..%2fpyproject.toml", "/storage/upload/tidemark-uploads/..%2f..%2fsecrets%2fx"])
def test_static_and_storage_paths_do_not_escape_their_roots(stack, path):
    for method in ("GET", "PUT"):
        resp = requests.request(method, stack.url(path), data=b"x", timeout=30)
        assert resp.status_code < 500, (method, path)
        assert b"root:" not in resp.content and b"[project]" not in resp.content


@pytest.mark.parametrize("value", ["../x", "ds/../../x", "\u202e", "😀", "a" * 129, "%00"])
def test_odd_dataset_ids_in_metrics_are_400(stack, own, value):
    resp = requests.get(stack.url("/api/metrics"), params={"dataset": value},
                        headers=own.headers["viewer"], timeout=30)
    assert resp.status_code == 400, resp.text[:300]
    assert _error(resp)["details"]["field"] == "dataset"


# --------------------------------------------------------------------------- fields

# Column headers built to break out of SQL, of a JSON path or of the expression parser;
# each is a field of the dataset below and must be read as exactly that field.
HOSTILE_FIELDS = ['a"b', "x`) OR 1=1; DROP TABLE business_data; --", "__class__",
                  "é ü", "$.x", "/p~q", "it's -- c", "b\\n"]
HOSTILE_EXPRESSIONS = [
    "__import__('os').system('id')", "sum(amount).__class__", "sum(amount)[0]",
    "lambda: 1", "sum(amount); DROP TABLE business_data", "sum(`amount`)",
    "sum(amount) -- comment", "sum(amount) /* c */", "f'{sum(amount)}'",
    "sum(amount) if 1 else 0", "sum(amount=1)", "sum(sum(amount))", "open('x')",
    "amount", "sum(amount) ** 2", "sum(amount) > 1", "[sum(amount)]", "sum(*amount)",
    "sum('amount\\' OR 1=1 --')", "1e999 * sum(amount)", "sum(amount)\x00",
    "(" * 400 + "sum(amount)" + ")" * 400, " + ".join(["sum(amount)"] * 200),
    "-" * 300 + "sum(amount)", "sum(ａｍｏｕｎｔ)" * 3, "",
]


@pytest.fixture(scope="module")
def fielded(stack, own, tmp_path_factory):
    """A dataset whose extra columns carry the hostile names, loaded end to end."""
    import csv
    import io

    from tests.support.api_client import Api

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["date", "amount", "region", *HOSTILE_FIELDS])
    for i in range(20):
        w.writerow([f"2024-01-{i + 1:02d}", 10 + i, "north" if i % 2 else "south",
                    *[str(i + k) for k in range(len(HOSTILE_FIELDS))]])
    path = tmp_path_factory.mktemp("fields") / "hostile.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    api = Api(stack.base_url)
    api.token = own.users["analyst"]["token"]
    up = api.upload(path, dataset="hostile fields")
    assert up["status"] == "loaded", up
    return up["dataset_id"]


def _metrics(stack, own, params):
    return requests.get(stack.url("/api/metrics"), params=params, timeout=60,
                        headers=_headers(own, "viewer"))


@pytest.mark.parametrize("k", range(len(HOSTILE_FIELDS)))
def test_hostile_field_names_are_measured_as_the_field_itself(stack, own, fielded, k):
    name = HOSTILE_FIELDS[k]
    resp = _metrics(stack, own, {"dataset": fielded, "measure": name, "agg": "sum",
                                 "start": "2024-01-01", "end": "2024-01-20"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["kpis"]["measure"]["value"] == sum(i + k for i in range(20))
    filtered = _metrics(stack, own, {"dataset": fielded, name: "3", "start": "2024-01-01",
                                     "end": "2024-01-20"})
    assert filtered.status_code == 400  # a number field does not filter
    assert _error(filtered)["code"] == "not_a_text_field"


@pytest.mark.parametrize("name", ["amount`) OR 1=1 --", "extra", "x' OR '1'='1",
                                  "__class__.__init__", "a\"b\" OR 1=1", "\u202eamount",
                                  "ａｍｏｕｎｔ", "x" * 201])
def test_names_that_are_not_fields_are_400_naming_them(stack, own, fielded, name):
    for param in ("measure", "breakdown"):
        resp = _metrics(stack, own, {"dataset": fielded, param: name})
        assert resp.status_code == 400, (param, resp.text)
        assert _error(resp)["code"] in ("unknown_measure", "unknown_field",
                                        "invalid_parameter")
    resp = _metrics(stack, own, {"dataset": fielded, name: "v"})
    assert resp.status_code == 400 and _error(resp)["code"] in ("unknown_filter",
                                                                "not_a_text_field")


@pytest.mark.parametrize("expression", HOSTILE_EXPRESSIONS,
                         ids=[f"e{i}" for i in range(len(HOSTILE_EXPRESSIONS))])
def test_hostile_expressions_are_400_with_a_named_error(stack, own, fielded, expression):
    resp = requests.post(stack.url(f"/api/metrics/datasets/{fielded}/measures"), timeout=60,
                         headers=_headers(own, "analyst"),
                         json={"name": "hostile", "expression": expression})
    assert resp.status_code == 400, (expression[:60], resp.text)
    err = _error(resp)
    assert err["code"] in ("invalid_expression", "expression_too_long", "unsupported_syntax",
                           "unknown_function", "invalid_arguments", "bare_field",
                           "unknown_field", "invalid_fields"), err
    listed = requests.get(stack.url(f"/api/metrics/datasets/{fielded}/measures"), timeout=60,
                          headers=_headers(own, "viewer")).json()
    assert listed == {"measures": []}


def test_an_expression_over_hostile_names_reads_them_as_fields(stack, own, fielded):
    expression = 'sum("x`) OR 1=1; DROP TABLE business_data; --") - sum("a\\"b")'
    made = requests.post(stack.url(f"/api/metrics/datasets/{fielded}/measures"), timeout=60,
                         headers=_headers(own, "analyst"),
                         json={"name": "gap", "expression": expression})
    assert made.status_code == 201, made.text
    resp = _metrics(stack, own, {"dataset": fielded, "measure": "gap",
                                 "start": "2024-01-01", "end": "2024-01-20"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["kpis"]["measure"]["value"] == 20  # (i + 1) - (i + 0), 20 rows
    assert resp.json()["kpis"]["revenue"]["value"] == sum(10 + i for i in range(20))
    gone = requests.delete(stack.url(f"/api/metrics/datasets/{fielded}/measures/gap"),
                           timeout=60, headers=_headers(own, "analyst"))
    assert gone.status_code == 200
