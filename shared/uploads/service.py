"""The upload service: signed upload URLs, the tenant's uploads (list, get, delete,
rejected rows), datasets created on first use. The ingest of a finalized object is
`shared.uploads.job.ingest_object`, re-exported here.

Every call is scoped to the caller's tenant; object names and document paths come
from `shared.uploads.records`, never from the client.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared import errors
from shared.ingest.rejects import LEAD_COLUMNS
from shared.uploads.claims import enqueue_metrics
from shared.uploads.job import ingest_object
from shared.uploads.models import UploadCreateRequest
from shared.uploads.records import (
    UPLOAD_ID,
    datasets_path,
    fingerprint_key,
    fingerprints_path,
    object_name,
    rejected_name,
    uploads_path,
)
from shared.web.authz import Principal

if TYPE_CHECKING:
    from shared.bootstrap import Deps
    from shared.ports import Transaction

__all__ = ["create_upload", "dataset_id_for", "delete_upload", "get_upload", "ingest_object",
           "list_uploads", "rejected_csv"]

MAX_PAGE = 100


def dataset_id_for(name: str) -> str:
    """Deterministic, so two first uploads to a new dataset name cannot race into two."""
    return "ds_" + hashlib.sha256(" ".join(name.lower().split()).encode()).hexdigest()[:20]


def _validate(body: UploadCreateRequest | Mapping[str, Any], max_bytes: int) -> dict[str, Any]:
    """The create body, checked by its model (every bad field named in one 400), then
    the size limit (413), which depends on this deployment's settings."""
    req = UploadCreateRequest.parse(body)
    if req.size_bytes > max_bytes:
        raise errors.TooLarge(f"the file is larger than the {max_bytes}-byte limit",
                              code="upload_too_large",
                              details={"size_bytes": req.size_bytes, "max_bytes": max_bytes})
    return {"filename": req.filename, "size_bytes": req.size_bytes,
            "content_type": req.content_type, "dataset_name": req.dataset, "mode": req.mode,
            "mapping": req.mapping, "date_order": req.date_order,
            "decimal_separator": req.decimal_separator, "sheet": req.sheet,
            "keep_rows_without_amount": req.keep_rows_without_amount,
            "confirm_duplicate": req.confirm_duplicate}


def _ensure_dataset(deps: Deps, tenant_id: str, name: str, now: datetime) -> str:
    dataset_id = dataset_id_for(name)
    if deps.docs.get(datasets_path(tenant_id), dataset_id) is None:
        # A concurrent first upload creates the same deterministic id: same dataset.
        with contextlib.suppress(errors.Conflict):
            deps.docs.create(datasets_path(tenant_id), dataset_id,
                             {"name": name, "version": 0, "row_count": 0, "created_at": now,
                              "updated_at": now})
    return dataset_id


def public(record: Mapping[str, Any]) -> dict[str, Any]:
    """The upload as the API shows it (internal fields dropped), with the count of its
    report's warnings, so a list can flag a load with warnings without the report."""
    out = {k: v for k, v in record.items() if not k.startswith("_")}
    report = out.get("report") or {}
    out["warning_count"] = len(report.get("warnings") or []) if isinstance(report, dict) \
        else 0
    return out


def create_upload(deps: Deps, principal: Principal,
                  body: UploadCreateRequest | Mapping[str, Any]) -> dict[str, Any]:
    """A pending upload and the signed PUT that lets the client send the file."""
    settings = deps.settings
    req = _validate(body, settings.max_upload_bytes)
    now = datetime.now(UTC)
    upload_id = "up_" + uuid.uuid4().hex
    name = object_name(principal.tenant_id, upload_id)
    signed = deps.blobs.signed_upload_url(
        settings.uploads_bucket, name, content_type=req["content_type"],
        max_bytes=req["size_bytes"], min_bytes=1, expires_in_s=settings.signed_url_ttl_s)
    dataset_id = _ensure_dataset(deps, principal.tenant_id, req["dataset_name"], now)
    record = {
        "id": upload_id, "tenant_id": principal.tenant_id, "dataset_id": dataset_id,
        "dataset_name": req["dataset_name"], "filename": req["filename"],
        "size_bytes": req["size_bytes"], "content_type": req["content_type"],
        "mode": req["mode"], "mapping": req["mapping"], "date_order": req["date_order"],
        "decimal_separator": req["decimal_separator"], "sheet": req["sheet"],
        "status": "pending",
        "keep_rows_without_amount": req["keep_rows_without_amount"],
        "progress": 0.0, "created_at": now, "updated_at": now,
        "created_by": principal.user_id, "bucket": settings.uploads_bucket,
        "object_name": name, "generation": None, "report": None, "error": None,
        "upload_expires_at": signed.expires_at, "confirm_duplicate": req["confirm_duplicate"],
    }
    deps.docs.create(uploads_path(principal.tenant_id), upload_id, record)
    return {"upload": public(record), "upload_url": signed.url, "method": signed.method,
            "headers": dict(signed.headers), "expires_at": signed.expires_at}


def _get(deps: Deps, principal: Principal, upload_id: str) -> dict[str, Any]:
    doc = None
    if UPLOAD_ID.match(upload_id or ""):
        doc = deps.docs.get(uploads_path(principal.tenant_id), upload_id)
    if doc is None:
        raise errors.NotFound(f"no upload {upload_id!r}", code="upload_not_found")
    return doc.data


def get_upload(deps: Deps, principal: Principal, upload_id: str) -> dict[str, Any]:
    return public(_get(deps, principal, upload_id))


def list_uploads(deps: Deps, principal: Principal, *, page_size: int | str | None = None,
                 page_token: str | None = None) -> dict[str, Any]:
    """Newest first. page_token is the opaque token of the previous page."""
    from shared.ports import Order

    try:
        size = int(page_size) if page_size not in (None, "") else 20
        offset = int(page_token) if page_token else 0
    except ValueError:
        raise errors.InvalidInput("page_size and page_token must be integers",
                                  code="invalid_page") from None
    if not 1 <= size <= MAX_PAGE or offset < 0:
        raise errors.InvalidInput(f"page_size must be 1..{MAX_PAGE}", code="invalid_page")
    docs = deps.docs.query(uploads_path(principal.tenant_id),
                           order_by=[Order("created_at", descending=True)],
                           limit=size + 1, offset=offset)
    items = [public(d.data) for d in docs[:size]]
    return {"items": items, "next_page_token": str(offset + size) if len(docs) > size else None}


def delete_upload(deps: Deps, principal: Principal, upload_id: str) -> dict[str, Any]:
    """Remove the upload's rows, object, rejected rows and record; the dataset version is
    bumped and its metrics recomputed."""
    record = _get(deps, principal, upload_id)
    if record["status"] == "processing":
        raise errors.Conflict("the upload is being ingested; delete it when it is done",
                              code="upload_busy")
    tid, ds = principal.tenant_id, record["dataset_id"]
    bucket = record.get("bucket") or deps.settings.uploads_bucket
    deps.blobs.delete(bucket, record["object_name"])
    deps.blobs.delete(bucket, rejected_name(tid, upload_id))
    removed = 0
    if record["status"] == "loaded":
        table = deps.settings.warehouse_table
        deps.warehouse.ensure_table(table)
        removed = deps.warehouse.delete_where(
            table, {"tenant_id": tid, "dataset_id": ds, "upload_id": upload_id},
            idempotency_key=f"delete-{upload_id}")

    fp_key = fingerprint_key(ds, record["fingerprint"]) if record.get("fingerprint") else None

    def commit(tx: Transaction) -> int | None:
        tx.get(uploads_path(tid), upload_id)
        dataset = tx.get(datasets_path(tid), ds)
        fp = tx.get(fingerprints_path(tid), fp_key) if fp_key else None
        version = None
        if dataset is not None and record["status"] == "loaded":
            version = int(dataset.data.get("version", 0)) + 1
            rows = max(0, int(dataset.data.get("row_count", 0)) - removed)
            tx.update(datasets_path(tid), ds, {"version": version, "row_count": rows,
                                                "updated_at": datetime.now(UTC)})
        tx.delete(uploads_path(tid), upload_id)
        if fp_key and fp is not None and fp.data.get("upload_id") == upload_id:
            tx.delete(fingerprints_path(tid), fp_key)  # its content is no longer loaded
        return version

    version = deps.docs.transaction(commit)
    if version is not None:
        enqueue_metrics(deps, tid, ds, version)
    return {"id": upload_id, "deleted": True, "rows_removed": removed,
            "dataset_version": version}


def rejected_csv(deps: Deps, principal: Principal, upload_id: str) -> Iterator[bytes]:
    """The rejected rows as CSV (formula-neutralized when written). An upload with no
    rejected rows yields just the header."""
    record = _get(deps, principal, upload_id)
    if record["status"] not in ("loaded", "failed"):
        raise errors.Conflict("the upload has not been ingested yet", code="not_ingested",
                              details={"status": record["status"]})
    bucket = record.get("bucket") or deps.settings.uploads_bucket
    try:
        stream = deps.blobs.open(bucket, rejected_name(principal.tenant_id, upload_id))
    except errors.NotFound:
        return iter([(",".join(LEAD_COLUMNS) + "\r\n").encode()])

    def chunks() -> Iterator[bytes]:
        with stream:
            while chunk := stream.read(256 * 1024):
                yield chunk
    return chunks()
