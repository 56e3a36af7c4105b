"""The upload path a client and the platform take, in process: create the upload
through the API, put the file (either through the signed URL, its signature, headers
and size range checked by the local blob store as the local server does, or straight
into the store), the finalize event that storage then emits, and the ingest task the
event hands off to."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from cloudevents.http import CloudEvent

from tests.support.ingest_tasks import finalize_and_ingest

ROOT = Path(__file__).resolve().parents[2]
FINALIZED = "google.cloud.storage.object.v1.finalized"
_UPLOAD_PREFIX = "/storage/upload/"


def load_upload_main() -> ModuleType:
    """functions/upload/main.py, loaded the way functions-framework loads it."""
    spec = importlib.util.spec_from_file_location("upload_main_under_test",
                                                  ROOT / "functions" / "upload" / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def create_upload(client: Any, headers: dict[str, str], data: bytes, **body: Any) -> dict:
    payload = {"filename": "sales.csv", "size_bytes": len(data), "content_type": "text/csv",
               "dataset": "Sales", **body}
    resp = client.post("/api/uploads", json=payload, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _event(info: Any) -> CloudEvent:
    return CloudEvent({"type": FINALIZED,
                       "source": f"//storage.googleapis.com/projects/_/buckets/{info.bucket}"},
                      {"bucket": info.bucket, "name": info.name,
                       "generation": info.generation, "size": str(info.size),
                       "contentType": "text/csv"})


def put_to_signed_url(deps: Any, created: dict, data: bytes) -> CloudEvent:
    """PUT `data` to the upload's signed URL with exactly the headers the API gave;
    returns the object.finalized event for the stored object."""
    url = urlsplit(created["upload_url"])
    assert url.path.startswith(_UPLOAD_PREFIX), created["upload_url"]
    bucket, _, name = url.path[len(_UPLOAD_PREFIX):].partition("/")
    info = deps.blobs.receive_signed_put(bucket, unquote(name), dict(parse_qsl(url.query)),
                                         created["headers"], io.BytesIO(data), len(data))
    return _event(info)


def finalize_event(deps: Any, created: dict, data: bytes) -> CloudEvent:
    """Put the file where the signed URL points and build its finalize event."""
    up = created["upload"]
    return _event(deps.blobs.put(up["bucket"], up["object_name"], data,
                                 content_type="text/csv"))


def upload(client: Any, headers: dict[str, str], deps: Any, main: ModuleType, data: bytes,
           **body: Any) -> dict:
    """Create, send and ingest one file (the finalize event, then its ingest task); the
    upload as GET /api/uploads/{id} answers."""
    created = create_upload(client, headers, data, **body)
    finalize_and_ingest(main, finalize_event(deps, created, data))
    resp = client.get(f"/api/uploads/{created['upload']['id']}", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()
