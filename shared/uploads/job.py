"""The ingest use case: a finalized object -> rows in the warehouse, exactly once.

Exactly-once comes from idempotent steps, each safe to repeat after a crash:
0. the upload goes pending -> uploaded as its object lands (a compare-and-set);
1. claim: the `ingest_events/<sha256(bucket/name#generation)>` document is created in
   a transaction (a lease, so a duplicate delivered while the first runs is sent back
   for a retry, and a delivery after a crash takes over once the lease lapses or is
   released);
2. load: the staged Parquet goes in with idempotency_key = upload id + generation, so
   the warehouse applies it at most once whatever happens around it;
3. commit: one transaction marks the upload loaded, bumps the dataset version and
   moves the event to `committed`; the named metrics task is then enqueued (a name
   used twice enqueues once) and the event marked `done`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared import errors
from shared.ingest.pipeline import IngestOptions, Staged, stage
from shared.ingest.report import IngestFailed
from shared.ports import TaskRef

log = logging.getLogger("tidemark.ingest")
EVENTS = "ingest_events"
_OBJECT = re.compile(r"^uploads/(?P<tenant>[A-Za-z0-9_-]{1,64})/(?P<upload>up_[0-9a-f]{32})\.csv$")
_PROGRESS_STEP = 0.05


def lease_seconds() -> int:
    from shared.settings import get_settings

    return get_settings().ingest_lease_s


def object_name(tenant_id: str, upload_id: str) -> str:
    return f"uploads/{tenant_id}/{upload_id}.csv"


def rejected_name(tenant_id: str, upload_id: str) -> str:
    return f"rejected/{tenant_id}/{upload_id}.csv"


def event_key(bucket: str, name: str, generation: str) -> str:
    return hashlib.sha256(f"{bucket}/{name}#{generation}".encode()).hexdigest()


def enqueue_metrics(deps, tenant_id: str, dataset_id: str, version: int) -> TaskRef:
    return deps.tasks.enqueue("metrics", {"tenant_id": tenant_id, "dataset_id": dataset_id,
                                          "version": version},
                              name=f"metrics-{tenant_id}-{dataset_id}-v{version}")


def _staging_dir(deps) -> Path:
    if deps.local:
        return Path(deps.settings.data_dir) / "staging"
    return Path(tempfile.gettempdir()) / "tidemark-staging"


def _claim(deps, key: str, bucket: str, name: str, generation: str, tid: str,
           upload_id: str, size: int | None, claim: str) -> str:
    """'claimed', 'committed' (loaded, follow-up pending) or a reason to ignore. The
    claim id tells this delivery's claim from another's."""
    uploads = f"tenants/{tid}/uploads"

    def tx_fn(tx) -> str:
        now = datetime.now(UTC)
        event = tx.get(EVENTS, key)
        upload = tx.get(uploads, upload_id)
        if event is not None:
            status = event.data.get("status")
            if status == "done":
                return "duplicate"
            if status == "committed":
                return "committed"
            lease = event.data.get("lease_until")
            if status == "processing" and lease and lease > now:
                return "in_progress"
        if upload is None:
            return "no_upload"
        if event is None and upload.data.get("status") == "processing":
            return "in_progress"  # another generation holds it; it may hand it back
        if event is None and upload.data.get("status") not in ("pending", "uploaded"):
            return "not_pending"
        lease_until = now + timedelta(seconds=lease_seconds())
        data = {"status": "processing", "bucket": bucket, "name": name,
                "generation": generation, "tenant_id": tid, "upload_id": upload_id,
                "lease_until": lease_until, "updated_at": now, "claim": claim,
                "attempts": int(event.data.get("attempts", 0)) + 1 if event else 1}
        if event is None:
            tx.create(EVENTS, key, {**data, "created_at": now})
        else:
            tx.update(EVENTS, key, data)
        tx.update(uploads, upload_id, {"status": "processing", "generation": generation,
                                       "received_bytes": size, "progress": 0.0,
                                       "updated_at": now})
        return "claimed"

    return deps.docs.transaction(tx_fn)


def _release(deps, key: str, claim: str | None = None) -> None:
    """After a failure, let the next delivery take over at once (a load that already
    committed is left alone: the follow-up is all that remains). With a claim id, only
    that claim is released, never another delivery's."""
    def tx_fn(tx) -> None:
        event = tx.get(EVENTS, key)
        if event is not None and event.data.get("status") == "processing" and \
                (claim is None or event.data.get("claim") == claim):
            tx.update(EVENTS, key, {"lease_until": datetime.now(UTC), "status": "retry"})

    try:
        deps.docs.transaction(tx_fn)
    except errors.AppError:
        log.warning("could not release the ingest lease", extra={"event": key})


def parse_object_name(bucket: str, name: str, settings) -> tuple[str, str] | None:
    """(tenant_id, upload_id) of an upload object, or None for any other object."""
    match = _OBJECT.match(name or "")
    if bucket != settings.uploads_bucket or match is None:
        return None
    return match.group("tenant"), match.group("upload")


def mark_uploaded(deps, bucket: str, name: str, generation: str | int,
                  size: int | None = None) -> bool:
    """pending -> uploaded: the object has landed and waits for its ingest. Only a
    pending upload changes (compare-and-set), so a late or repeated call never moves
    an upload backwards."""
    parsed = parse_object_name(bucket, name, deps.settings)
    if parsed is None:
        return False
    uploads = f"tenants/{parsed[0]}/uploads"
    doc = deps.docs.get(uploads, parsed[1])
    if doc is None or doc.data.get("status") != "pending":
        return False
    try:
        deps.docs.update(uploads, parsed[1], {
            "status": "uploaded", "generation": str(generation), "received_bytes": size,
            "updated_at": datetime.now(UTC)}, if_version=doc.version)
    except (errors.PreconditionFailed, errors.NotFound):
        return False  # the ingest (or a delete) got there first
    return True


def release_claims(deps) -> int:
    """Release every claim still marked processing, so the next delivery takes over at
    once. Only for a restart of the single process that held them (the local stack):
    anywhere else a live ingest may hold one."""
    from shared.ports import Filter

    held = deps.docs.query(EVENTS, filters=[Filter("status", "==", "processing")])
    for doc in held:
        _release(deps, doc.id)
    return len(held)


def ingest_object(deps, bucket: str, name: str, generation: str | int,
                  size: int | None = None) -> dict[str, Any]:
    """Ingest one finalized object. Returns an outcome dict; permanent problems (a bad
    file, an unknown object) are outcomes, transient ones raise for a retry."""
    generation = str(generation)
    match = _OBJECT.match(name or "")
    if bucket != deps.settings.uploads_bucket or match is None:
        log.info("ignored: not an upload object", extra={"bucket": bucket, "object": name})
        return {"status": "ignored", "reason": "not_an_upload"}
    tid, upload_id = match.group("tenant"), match.group("upload")
    key = event_key(bucket, name, generation)
    mark_uploaded(deps, bucket, name, generation, size)
    claim = uuid.uuid4().hex
    try:
        outcome = _claim(deps, key, bucket, name, generation, tid, upload_id, size, claim)
    except BaseException:
        # The claim may have committed with only its answer lost: undo it, or the
        # retry would find the object held for a whole lease.
        _release(deps, key, claim)
        raise
    if outcome == "in_progress":
        # Another delivery holds the claim. If it died, dropping this one would leave
        # the upload processing for good: ask for a retry, which finds the upload done
        # or takes over once the lease lapses.
        raise errors.Unavailable("this object is being ingested by another delivery",
                                 code="ingest_in_progress")
    if outcome not in ("claimed", "committed"):
        log.info("ignored finalize event: %s", outcome,
                 extra={"object": name, "generation": generation, "reason": outcome})
        return {"status": "ignored", "reason": outcome}
    try:
        if outcome == "claimed":
            result = _run(deps, key, bucket, name, generation, tid, upload_id)
            if result["status"] != "loaded":
                return result
        return _follow_up(deps, key, tid, upload_id)
    except BaseException:
        _release(deps, key, claim)
        raise


def _run(deps, key, bucket, name, generation, tid, upload_id) -> dict[str, Any]:
    uploads = f"tenants/{tid}/uploads"
    record = deps.docs.get(uploads, upload_id).data
    opts = IngestOptions(tenant_id=tid, dataset_id=record["dataset_id"], upload_id=upload_id,
                         mapping=record.get("mapping") or None,
                         date_order=record.get("date_order"),
                         decimal_separator=record.get("decimal_separator"),
                         max_reject_share=deps.settings.max_reject_share)
    info = deps.blobs.stat(bucket, name)
    if info is not None and info.generation.isdigit() and generation.isdigit() \
            and int(info.generation) > int(generation):
        return _superseded(deps, key, tid, upload_id, info.generation)
    if info is None or info.generation != generation:
        return _fail(deps, key, tid, upload_id, IngestFailed(
            "the uploaded object is gone or was replaced", code="object_missing"), None)
    if info.size > deps.settings.max_upload_bytes:
        return _fail(deps, key, tid, upload_id, IngestFailed(
            "the object exceeds the upload size limit", code="upload_too_large"), None)
    last = [0.0]

    def progress(fraction: float) -> None:
        # It may go back once: when the file needs a second read (see ingest.passes).
        if abs(fraction - last[0]) >= _PROGRESS_STEP:
            last[0] = fraction
            deps.docs.update(uploads, upload_id, {"progress": round(fraction, 3),
                                                  "updated_at": datetime.now(UTC)})

    staged: Staged | None = None
    try:
        staged = stage(lambda: deps.blobs.open(bucket, name, generation=generation), opts,
                       _staging_dir(deps), size=info.size, progress=progress,
                       name=f"{upload_id}-{generation}")
    except IngestFailed as exc:
        rejected = _staging_dir(deps) / f"{upload_id}-{generation}.rejected.csv"
        report = getattr(exc, "report", None)
        if report is not None and report.rows_rejected and rejected.exists():
            _store_rejected(deps, bucket, tid, upload_id, rejected)
        rejected.unlink(missing_ok=True)
        return _fail(deps, key, tid, upload_id, exc, report)
    try:
        if staged.rejected_path:
            _store_rejected(deps, bucket, tid, upload_id, staged.rejected_path)
        table = deps.settings.warehouse_table
        deps.warehouse.ensure_table(table)
        replace = {"tenant_id": tid, "dataset_id": opts.dataset_id} \
            if record.get("mode") == "replace" else None
        result = deps.warehouse.load_parquet(table, str(staged.parquet_path),
                                             idempotency_key=f"{upload_id}-{generation}",
                                             replace_where=replace)
    finally:
        staged.parquet_path.unlink(missing_ok=True)
        if staged.rejected_path:
            staged.rejected_path.unlink(missing_ok=True)
    report = staged.report.to_dict()
    report["rows_loaded"] = result.rows_loaded
    _commit(deps, key, tid, upload_id, opts.dataset_id, record.get("mode"), report)
    return {"status": "loaded", "upload_id": upload_id, "rows_loaded": result.rows_loaded}


def _superseded(deps, key, tid, upload_id, live: str) -> dict[str, Any]:
    """The client PUT the file again (a retry) before this generation's event came:
    hand the upload back to `uploaded`, so the newer generation's event ingests it."""
    now = datetime.now(UTC)

    def tx_fn(tx) -> None:
        tx.get(EVENTS, key)
        tx.update(f"tenants/{tid}/uploads", upload_id, {
            "status": "uploaded", "generation": live, "progress": 0.0, "updated_at": now})
        tx.update(EVENTS, key, {"status": "done", "outcome": "superseded", "updated_at": now})

    deps.docs.transaction(tx_fn)
    log.info("finalize event superseded by a newer generation",
             extra={"upload_id": upload_id, "generation": live})
    return {"status": "ignored", "reason": "superseded", "upload_id": upload_id}


def _store_rejected(deps, bucket: str, tid: str, upload_id: str, path: Path) -> None:
    with open(path, "rb") as fh:
        deps.blobs.put(bucket, rejected_name(tid, upload_id), fh, content_type="text/csv")


def _fail(deps, key, tid, upload_id, exc: IngestFailed, report) -> dict[str, Any]:
    now = datetime.now(UTC)
    error = {"code": exc.code, "message": exc.message, "details": exc.details or {}}

    def tx_fn(tx) -> None:
        tx.get(EVENTS, key)
        tx.update(f"tenants/{tid}/uploads", upload_id, {
            "status": "failed", "error": error, "updated_at": now,
            "report": report.to_dict() if report is not None else None})
        tx.update(EVENTS, key, {"status": "done", "outcome": "failed", "updated_at": now})

    deps.docs.transaction(tx_fn)
    # ingest_result: the stable field the log-based metric matches (terraform/monitoring.tf)
    log.info("upload failed: %s", exc.code, extra={"upload_id": upload_id, "code": exc.code,
                                                   "ingest_result": "upload_failed"})
    return {"status": "failed", "upload_id": upload_id, "error": error}


def _commit(deps, key, tid, upload_id, dataset_id, mode, report) -> None:
    datasets = f"tenants/{tid}/datasets"

    def tx_fn(tx) -> None:
        now = datetime.now(UTC)
        event = tx.get(EVENTS, key)
        dataset = tx.get(datasets, dataset_id)
        tx.get(f"tenants/{tid}/uploads", upload_id)
        if event is not None and event.data.get("status") in ("committed", "done"):
            return
        current = dataset.data if dataset is not None else {"version": 0, "row_count": 0}
        version = int(current.get("version", 0)) + 1
        rows = report["rows_loaded"] + (0 if mode == "replace"
                                         else int(current.get("row_count", 0)))
        changes = {"version": version, "row_count": rows, "updated_at": now}
        if dataset is None:
            tx.set(datasets, dataset_id, {"name": dataset_id, "created_at": now, **changes})
        else:
            tx.update(datasets, dataset_id, changes)
        tx.update(f"tenants/{tid}/uploads", upload_id, {
            "status": "loaded", "progress": 1.0, "report": report, "error": None,
            "dataset_version": version, "updated_at": now})
        tx.update(EVENTS, key, {"status": "committed", "dataset_version": version,
                                "dataset_id": dataset_id, "updated_at": now})

    deps.docs.transaction(tx_fn)


def _follow_up(deps, key, tid, upload_id) -> dict[str, Any]:
    event = deps.docs.get(EVENTS, key)
    data = event.data if event else {}
    version = data.get("dataset_version")
    if data.get("status") == "committed" and version is not None:
        enqueue_metrics(deps, tid, data["dataset_id"], int(version))
        deps.docs.update(EVENTS, key, {"status": "done", "outcome": "loaded",
                                       "updated_at": datetime.now(UTC)})
    return {"status": "loaded", "upload_id": upload_id, "dataset_version": version}
