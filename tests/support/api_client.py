"""A small HTTP client of a running local stack, for tests that arrange or check state
through the public API (register, sign in, upload a file end to end, read metrics)."""

from __future__ import annotations

import time
from pathlib import Path

import requests


class Api:
    """A tiny client of the running stack for arranging and checking state."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.token: str | None = None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def call(self, method: str, path: str, expect: int | tuple[int, ...] = (200, 201), **kw):
        resp = requests.request(method, self.base + path, headers=self.headers(), timeout=60,
                                **kw)
        expected = (expect,) if isinstance(expect, int) else expect
        assert resp.status_code in expected, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.content and "json" in resp.headers.get(
            "Content-Type", "") else resp

    def register(self, email: str, password: str, tenant: str) -> dict:
        body = self.call("POST", "/api/auth/register", expect=201,
                         json={"email": email, "password": password, "tenant_name": tenant})
        self.token = body["access_token"]
        return body

    def confirm(self, mail_dir: Path, email: str) -> None:
        """Open the newest confirmation link mailed to `email` (the local mailer's
        folder): an unconfirmed admin may not create users."""
        from tests.support.mailbox import link_token

        self.call("POST", "/api/auth/email/verify", expect=200,
                  json={"token": link_token(mail_dir, email, "/verify-email")})

    def login(self, email: str, password: str) -> dict:
        body = self.call("POST", "/api/auth/login", expect=200,
                         json={"email": email, "password": password})
        self.token = body["access_token"]
        return body

    def upload(self, path: Path, dataset: str = "sales", mode: str = "append",
               timeout: float = 180) -> dict:
        """The whole upload flow a client does: create, PUT to the signed URL, wait."""
        created = self.call("POST", "/api/uploads", json={
            "filename": path.name, "size_bytes": path.stat().st_size,
            "content_type": "text/csv", "dataset": dataset, "mode": mode})
        headers = {k: v for k, v in (created.get("headers") or {}).items()
                   if k.lower() != "content-length"}
        put = requests.request(created.get("method", "PUT"), created["upload_url"],
                               data=path.read_bytes(), headers=headers, timeout=120)
        assert put.status_code in (200, 201, 204), put.text
        return self.wait_upload(created["upload"]["id"], timeout)

    def wait_upload(self, upload_id: str, timeout: float = 180) -> dict:
        deadline = time.time() + timeout
        while time.time() < deadline:
            up = self.call("GET", f"/api/uploads/{upload_id}")
            if up["status"] in ("loaded", "failed"):
                return up
            time.sleep(0.25)
        raise AssertionError(f"upload {upload_id} did not finish in {timeout}s")

    def metrics(self, **query) -> dict:
        return self.call("GET", "/api/metrics", params=query)
