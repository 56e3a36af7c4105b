"""The states of an upload's ingest, each moved by one transaction.

    pending -> uploaded -> processing -> loaded | failed
                               ^ (superseded: a newer generation) -> uploaded

An ingest event document (`ingest_events/<event_key>`) holds the claim of one object
generation: a lease, so a duplicate delivered while the first runs is sent back for a
retry, and a delivery after a crash takes over once the lease lapses or is released.
Each step here is safe to repeat; the job (`shared.uploads.job`) strings them together.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared import errors
from shared.ports import TaskRef, Transaction
from shared.uploads.records import (
    EVENTS,
    TaskPayload,
    datasets_path,
    event_key,
    fingerprint_key,
    fingerprints_path,
    parse_object_name,
    uploads_path,
)

if TYPE_CHECKING:
    from shared.ingest.report import Report
    from shared.ports import Ports

log = logging.getLogger("tidemark.ingest")


@dataclass(frozen=True)
class IngestRun:
    """One delivery's attempt at one object generation. `claim` tells this delivery's
    claim from another's, so it only ever releases or fails its own."""

    bucket: str
    name: str
    generation: str
    tenant_id: str
    upload_id: str
    size: int | None = None
    claim: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The claim the finalize event took before handing the object to the ingest task
    # (shared.uploads.events.hand_off): the task takes that claim over while its lease
    # lasts; any other live claim still holds it off.
    handoff: str | None = None

    @classmethod
    def of(cls, deps: Ports, bucket: str, name: str, generation: str | int,
           size: int | None = None, handoff: str | None = None,
           claim: str | None = None) -> IngestRun | None:
        """The run for an upload object (its own fresh claim unless `claim` names
        one); None for any other object."""
        parsed = parse_object_name(bucket, name, deps.settings)
        if parsed is None:
            return None
        run = cls(bucket, name, str(generation), parsed[0], parsed[1], size,
                  handoff=handoff)
        return run if claim is None else replace(run, claim=claim)

    @property
    def key(self) -> str:
        return event_key(self.bucket, self.name, self.generation)

    @property
    def uploads(self) -> str:
        return uploads_path(self.tenant_id)


def lease_seconds() -> int:
    from shared.settings import get_settings

    return get_settings().ingest_lease_s


def enqueue_metrics(deps: Ports, tenant_id: str, dataset_id: str, version: int) -> TaskRef:
    task = TaskPayload(tenant_id, dataset_id, version)
    return deps.tasks.enqueue("metrics", task.to_dict(), name=task.task_name("metrics"))


def mark_uploaded(deps: Ports, bucket: str, name: str, generation: str | int,
                  size: int | None = None) -> bool:
    """pending -> uploaded: the object has landed and waits for its ingest. Only a
    pending upload changes (compare-and-set), so a late or repeated call never moves
    an upload backwards."""
    parsed = parse_object_name(bucket, name, deps.settings)
    if parsed is None:
        return False
    uploads = uploads_path(parsed[0])
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


def mark_received(deps: Ports, data: dict[str, Any]) -> bool:
    """mark_uploaded for the data of a finalize CloudEvent (a GCS object resource)."""
    size = str(data.get("size") or "")
    return mark_uploaded(deps, data["bucket"], data["name"], data["generation"],
                         int(size) if size.isdigit() and int(size) else None)


def start(deps: Ports, run: IngestRun) -> str:
    """The first steps of every delivery, the finalize event's and the ingest
    task's: the upload shows as received, then the run claims the object generation
    (`claim`'s outcome). A claim that may have committed with only its answer lost is
    undone before the error goes on, or the retry would find the object held for a
    whole lease."""
    mark_uploaded(deps, run.bucket, run.name, run.generation, run.size)
    try:
        return claim(deps, run)
    except BaseException:
        release(deps, run.key, run.claim)
        raise


def claim(deps: Ports, run: IngestRun) -> str:
    """'claimed', 'committed' (loaded, follow-up pending) or a reason to ignore."""
    def tx_fn(tx: Transaction) -> str:
        now = datetime.now(UTC)
        event = tx.get(EVENTS, run.key)
        upload = tx.get(run.uploads, run.upload_id)
        if event is not None:
            status = event.data.get("status")
            if status == "done":
                return "duplicate"
            if status == "committed":
                return "committed"
            lease = event.data.get("lease_until")
            if status == "processing" and lease and lease > now and \
                    (run.handoff is None or event.data.get("claim") != run.handoff):
                return "in_progress"
        if upload is None:
            return "no_upload"
        if event is None and upload.data.get("status") == "processing":
            return "in_progress"  # another generation holds it; it may hand it back
        if event is None and upload.data.get("status") not in ("pending", "uploaded"):
            return "not_pending"
        lease_until = now + timedelta(seconds=lease_seconds())
        data = {"status": "processing", "bucket": run.bucket, "name": run.name,
                "generation": run.generation, "tenant_id": run.tenant_id,
                "upload_id": run.upload_id, "lease_until": lease_until, "updated_at": now,
                "claim": run.claim,
                "attempts": int(event.data.get("attempts", 0)) + 1 if event else 1}
        if event is None:
            tx.create(EVENTS, run.key, {**data, "created_at": now})
        else:
            tx.update(EVENTS, run.key, data)
        tx.update(run.uploads, run.upload_id, {
            "status": "processing", "generation": run.generation,
            "received_bytes": run.size, "progress": 0.0, "updated_at": now})
        return "claimed"

    return deps.docs.transaction(tx_fn)


def release(deps: Ports, key: str, claim_id: str | None = None) -> None:
    """After a failure, let the next delivery take over at once (a load that already
    committed is left alone: the follow-up is all that remains). With a claim id, only
    that claim is released, never another delivery's."""
    def tx_fn(tx: Transaction) -> None:
        event = tx.get(EVENTS, key)
        if event is not None and event.data.get("status") == "processing" and \
                (claim_id is None or event.data.get("claim") == claim_id):
            tx.update(EVENTS, key, {"lease_until": datetime.now(UTC), "status": "retry"})

    try:
        deps.docs.transaction(tx_fn)
    except errors.AppError:
        log.warning("could not release the ingest lease", extra={"event": key})


def release_claims(deps: Ports) -> int:
    """Release every claim still marked processing, so the next delivery takes over at
    once. Only for a restart of the single process that held them (the local stack):
    anywhere else a live ingest may hold one."""
    from shared.ports import Filter

    held = deps.docs.query(EVENTS, filters=[Filter("status", "==", "processing")])
    for doc in held:
        release(deps, doc.id)
    return len(held)


def superseded(deps: Ports, run: IngestRun, live: str) -> dict[str, Any]:
    """The client PUT the file again (a retry) before this generation's event came:
    hand the upload back to `uploaded`, so the newer generation's event ingests it."""
    now = datetime.now(UTC)

    def tx_fn(tx: Transaction) -> None:
        tx.get(EVENTS, run.key)
        tx.update(run.uploads, run.upload_id, {
            "status": "uploaded", "generation": live, "progress": 0.0, "updated_at": now})
        tx.update(EVENTS, run.key, {"status": "done", "outcome": "superseded",
                                    "updated_at": now})

    deps.docs.transaction(tx_fn)
    log.info("finalize event superseded by a newer generation",
             extra={"upload_id": run.upload_id, "generation": live})
    return {"status": "ignored", "reason": "superseded", "upload_id": run.upload_id}


def fail(deps: Ports, run: IngestRun, error: dict[str, Any],
         report: Report | None = None) -> dict[str, Any]:
    """processing -> failed, for good: the user sees `error` (code, message, details)
    and may delete the upload or send the file again. A claim that is no longer this
    run's (a later delivery took over) or a load that already committed is left as
    it is: the outcome says `ignored` then."""
    now = datetime.now(UTC)

    def tx_fn(tx: Transaction) -> bool:
        event = tx.get(EVENTS, run.key)
        if event is not None and (event.data.get("status") in ("committed", "done")
                                  or event.data.get("claim") not in (None, run.claim)):
            return False
        tx.update(run.uploads, run.upload_id, {
            "status": "failed", "error": error, "updated_at": now,
            "report": report.to_dict() if report is not None else None})
        if event is not None:
            tx.update(EVENTS, run.key, {"status": "done", "outcome": "failed",
                                        "updated_at": now})
        return True

    if not deps.docs.transaction(tx_fn):
        return {"status": "ignored", "reason": "not_held", "upload_id": run.upload_id}
    # ingest_result: the stable field the log-based metric matches (terraform/monitoring.tf)
    log.info("upload failed: %s", error["code"],
             extra={"upload_id": run.upload_id, "code": error["code"],
                    "ingest_result": "upload_failed"})
    return {"status": "failed", "upload_id": run.upload_id, "error": error}


def commit(deps: Ports, run: IngestRun, dataset_id: str, mode: str | None,
           report: dict[str, Any], facts: dict[str, Any] | None = None) -> None:
    """processing -> loaded, with the dataset's version bumped, in one transaction.
    `facts` (fingerprint, first/last date, rows, repeated lines) go on the upload, and
    the fingerprint's document then names this upload (see shared.uploads.duplicates);
    a replace records its version, before which no earlier content counts as loaded."""
    datasets = datasets_path(run.tenant_id)
    facts = dict(facts or {})

    def tx_fn(tx: Transaction) -> None:
        now = datetime.now(UTC)
        event = tx.get(EVENTS, run.key)
        dataset = tx.get(datasets, dataset_id)
        tx.get(run.uploads, run.upload_id)
        if event is not None and event.data.get("status") in ("committed", "done"):
            return
        current: dict[str, Any] = dataset.data if dataset is not None \
            else {"version": 0, "row_count": 0}
        version = int(current.get("version", 0)) + 1
        rows = report["rows_loaded"] + (0 if mode == "replace"
                                         else int(current.get("row_count", 0)))
        changes: dict[str, Any] = {"version": version, "row_count": rows, "updated_at": now}
        if mode == "replace":
            changes["replaced_version"] = version
            # Rows re-derived in the tenant's new zone end the pending re-derive
            # (shared.auth.tenant_settings).
            zone = (report.get("dates") or {}).get("time_zone")
            pending = current.get("dates_pending") or {}
            if zone and pending.get("time_zone") == zone:
                changes["dates_pending"] = None
        if dataset is None:
            tx.set(datasets, dataset_id, {"name": dataset_id, "created_at": now, **changes})
        else:
            tx.update(datasets, dataset_id, changes)
        tx.update(run.uploads, run.upload_id, {
            "status": "loaded", "progress": 1.0, "report": report, "error": None,
            "dataset_version": version, "updated_at": now, **facts})
        if facts.get("fingerprint"):
            tx.set(fingerprints_path(run.tenant_id),
                   fingerprint_key(dataset_id, facts["fingerprint"]),
                   {"upload_id": run.upload_id, "dataset_id": dataset_id,
                    "dataset_version": version, "loaded_at": now})
        tx.update(EVENTS, run.key, {"status": "committed", "dataset_version": version,
                                    "dataset_id": dataset_id, "updated_at": now})

    deps.docs.transaction(tx_fn)


def follow_up(deps: Ports, run: IngestRun) -> dict[str, Any]:
    """committed -> done: the named metrics task of the new version is enqueued."""
    event = deps.docs.get(EVENTS, run.key)
    data = event.data if event else {}
    version = data.get("dataset_version")
    if data.get("status") == "committed" and version is not None:
        enqueue_metrics(deps, run.tenant_id, data["dataset_id"], int(version))
        deps.docs.update(EVENTS, run.key, {"status": "done", "outcome": "loaded",
                                           "updated_at": datetime.now(UTC)})
    return {"status": "loaded", "upload_id": run.upload_id, "dataset_version": version}

