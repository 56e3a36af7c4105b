"""The upload path in process: create through the HTTP entry point, put the object,
deliver its finalize event to the ingest entry point. Shared by the upload suites."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from cloudevents.http import CloudEvent

ROOT = Path(__file__).resolve().parents[2]
FINALIZED = "google.cloud.storage.object.v1.finalized"


def load_upload_main() -> ModuleType:
    """functions/upload/main.py, loaded the way functions-framework loads it."""
    spec = importlib.util.spec_from_file_location("upload_main_under_test",
                                                  ROOT / "functions" / "upload" / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def create(client: Any, headers: dict[str, str], data: bytes, **body: Any) -> dict:
    payload = {"filename": "sales.csv", "size_bytes": len(data), "content_type": "text/csv",
               "dataset": "Sales", **body}
    resp = client.post("/api/uploads", json=payload, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def finalize_event(deps: Any, created: dict, data: bytes) -> CloudEvent:
    """Put the file where the signed URL points and build its finalize event."""
    up = created["upload"]
    info = deps.blobs.put(up["bucket"], up["object_name"], data, content_type="text/csv")
    return CloudEvent({"type": FINALIZED,
                       "source": f"//storage.googleapis.com/projects/_/buckets/{info.bucket}"},
                      {"bucket": info.bucket, "name": info.name,
                       "generation": info.generation, "size": str(info.size),
                       "contentType": "text/csv"})


def upload(client: Any, headers: dict[str, str], deps: Any, main: ModuleType, data: bytes,
           **body: Any) -> dict:
    """Create, send and ingest one file; the upload as GET /api/uploads/{id} answers."""
    created = create(client, headers, data, **body)
    main.ingest_finalized(finalize_event(deps, created, data))
    resp = client.get(f"/api/uploads/{created['upload']['id']}", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()
