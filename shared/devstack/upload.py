"""`tidemark upload FILE`: create the upload, PUT the file to its signed URL, wait for
ingestion and print the validation report (as JSON)."""

from __future__ import annotations

import json
import mimetypes
import os
import sys
import time
from pathlib import Path
from typing import Any

POLL_S = 1.0
WAIT_LIMIT_S = 3600.0
_DONE = ("loaded", "failed")


def _fail(message: str) -> int:
    print(f"tidemark upload: {message}", file=sys.stderr)
    return 1


def _error_text(resp) -> str:
    try:
        err = resp.json()["error"]
        return f"{resp.status_code} {err.get('code')}: {err.get('message')}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {resp.status_code}"


def _token(session, server: str, args) -> str | None:
    token = os.environ.get("TIDEMARK_TOKEN")
    if token:
        return token
    email = getattr(args, "email", None)
    password = getattr(args, "password", None) or os.environ.get("TIDEMARK_PASSWORD")
    if not email or not password:
        return None
    resp = session.post(f"{server}/api/auth/login", json={"email": email,
                                                          "password": password}, timeout=30)
    if resp.status_code != 200:
        raise RuntimeError("sign-in failed: " + _error_text(resp))
    return resp.json()["access_token"]


def upload_command(args) -> int:
    import requests
    from tqdm import tqdm

    from shared.settings import Settings

    path = Path(args.file)
    if not path.is_file():
        return _fail(f"no such file: {path}")
    server = (args.server or Settings().base_url).rstrip("/")
    session = requests.Session()
    try:
        token = _token(session, server, args)
    except (RuntimeError, requests.RequestException) as exc:
        return _fail(str(exc))
    if not token:
        return _fail("give --email and --password, or set TIDEMARK_TOKEN")
    session.headers["Authorization"] = f"Bearer {token}"
    size = path.stat().st_size
    ctype = mimetypes.guess_type(path.name)[0] or "text/csv"
    if ctype not in ("text/csv", "text/plain", "text/tab-separated-values",
                     "application/vnd.ms-excel"):
        ctype = "text/csv"
    body: dict[str, Any] = {"filename": path.name, "size_bytes": size, "content_type": ctype,
                            "dataset": args.dataset or "sales",
                            "mode": "replace" if args.replace else "append"}
    try:
        resp = session.post(f"{server}/api/uploads", json=body, timeout=30)
        if resp.status_code != 201:
            return _fail("could not start the upload: " + _error_text(resp))
        created = resp.json()
        # disable=None: the bars show on a terminal only, never in piped output.
        with open(path, "rb") as raw, tqdm.wrapattr(
                raw, "read", total=size, desc="uploading", unit="B", unit_scale=True,
                unit_divisor=1024, disable=None, leave=True) as fh:
            put = requests.put(created["upload_url"], data=fh,
                               headers={**created["headers"], "Content-Length": str(size)},
                               timeout=None)  # noqa: S113 - large files take long
        if put.status_code >= 300:
            return _fail("the file was not accepted: " + _error_text(put))
        upload = created["upload"]
        if getattr(args, "no_wait", False):
            print(json.dumps({"id": upload["id"], "status": "uploaded"}))
            return 0
        deadline = time.monotonic() + WAIT_LIMIT_S
        with tqdm(total=100, desc=upload["status"], unit="%", disable=None,
                  bar_format="{desc} {bar} {n:.0f}%") as bar:
            while True:
                resp = session.get(f"{server}/api/uploads/{upload['id']}", timeout=30)
                if resp.status_code != 200:
                    return _fail("could not read the upload: " + _error_text(resp))
                upload = resp.json()
                if upload["status"] in _DONE or time.monotonic() > deadline:
                    break
                bar.set_description_str(upload["status"], refresh=False)
                bar.update(100 * (upload.get("progress") or 0) - bar.n)
                time.sleep(POLL_S)
    except requests.RequestException as exc:
        return _fail(f"cannot reach {server}: {exc}")
    print(json.dumps({k: upload.get(k) for k in ("id", "status", "dataset_name",
                                                 "report", "error")}, indent=2))
    return 0 if upload["status"] == "loaded" else 1
