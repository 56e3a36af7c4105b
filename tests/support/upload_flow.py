"""The upload path a client and the platform take, in process: create the upload
through the API, PUT the file to the signed URL (its signature, headers and size range
checked by the local blob store, as the local server does), and the finalize event
that storage then emits."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from cloudevents.http import CloudEvent

FINALIZED = "google.cloud.storage.object.v1.finalized"
_UPLOAD_PREFIX = "/storage/upload/"


def create_upload(client, headers: dict[str, str], data: bytes, **body: Any) -> dict:
    payload = {"filename": "sales.csv", "size_bytes": len(data), "content_type": "text/csv",
               "dataset": "Sales", **body}
    resp = client.post("/api/uploads", json=payload, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def put_to_signed_url(deps, created: dict, data: bytes) -> CloudEvent:
    """PUT `data` to the upload's signed URL with exactly the headers the API gave;
    returns the object.finalized event for the stored object."""
    url = urlsplit(created["upload_url"])
    assert url.path.startswith(_UPLOAD_PREFIX), created["upload_url"]
    bucket, _, name = url.path[len(_UPLOAD_PREFIX):].partition("/")
    info = deps.blobs.receive_signed_put(bucket, unquote(name), dict(parse_qsl(url.query)),
                                         created["headers"], io.BytesIO(data), len(data))
    return CloudEvent({"type": FINALIZED,
                       "source": f"//storage.googleapis.com/projects/_/buckets/{info.bucket}"},
                      {"bucket": info.bucket, "name": info.name,
                       "generation": info.generation, "size": str(info.size),
                       "contentType": "text/csv"})
