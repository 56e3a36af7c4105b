"""The ingest use case: a finalized object -> rows in the warehouse, exactly once.

Exactly-once comes from idempotent steps, each safe to repeat after a crash (the
states and their transactions are in `shared.uploads.claims`):
0. the upload goes pending -> uploaded as its object lands (a compare-and-set);
1. claim: the ingest event of the object generation is created or taken over in a
   transaction (a lease, so a duplicate delivered while the first runs is sent back
   for a retry, and a delivery after a crash takes over once the lease lapses or is
   released). The finalize event takes the claim and hands the object to a named
   ingest task (`shared.uploads.events.hand_off`); the task takes that claim over
   under a claim of its own, so a second delivery of the task finds it held;
2. stage and load: the staged Parquet is written to the staging bucket as shards
   under names fixed by upload id + generation (`shared.uploads.staging`; a repeat
   rewrites the same names), and the warehouse loads them from their URIs with
   idempotency_key = upload id + generation, so it applies them at most once whatever
   happens around it;
3. commit: one transaction marks the upload loaded, bumps the dataset version and
   moves the event to `committed`; the named metrics task is then enqueued (a name
   used twice enqueues once), the shards deleted, and the event marked `done`.
An ingest that ends for good (a bad file, a missing object, an error the backend will
give again) leaves the upload `failed` with a reason the user can read.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared import errors, tenants
from shared.ingest.options import IngestOptions
from shared.ingest.pipeline import Staged, stage
from shared.ingest.report import IngestFailed
from shared.uploads import claims, locale_hints, staging
from shared.uploads.claims import IngestRun
from shared.uploads.duplicates import Fingerprint, duplicates_of
from shared.uploads.records import rejected_name

if TYPE_CHECKING:
    from shared.bootstrap import Deps

log = logging.getLogger("tidemark.ingest")
_PROGRESS_STEP = 0.05


def staging_dir(deps: Deps) -> Path:
    """Where a run stages its Parquet and rejected rows: the data directory locally, the
    instance's temporary directory (memory, on Cloud Run functions) on GCP."""
    if deps.local:
        return Path(deps.settings.data_dir) / "staging"
    return Path(tempfile.gettempdir()) / "tidemark-staging"


def ingest_object(deps: Deps, bucket: str, name: str, generation: str | int,
                  size: int | None = None, handoff: str | None = None) -> dict[str, Any]:
    """Ingest one finalized object. Returns an outcome dict; permanent problems (a bad
    file, an unknown object, a backend error that will not go away by itself) are
    outcomes, transient ones raise for a retry. `handoff` is the claim the finalize
    event took for this object, which this run may take over."""
    run = IngestRun.of(deps, bucket, name, generation, size, handoff=handoff)
    if run is None:
        log.info("ignored: not an upload object", extra={"bucket": bucket, "object": name})
        return {"status": "ignored", "reason": "not_an_upload"}
    outcome = claims.start(deps, run)
    if outcome == "in_progress":
        # Another delivery holds the claim. If it died, dropping this one would leave
        # the upload processing for good: ask for a retry, which finds the upload done
        # or takes over once the lease lapses.
        raise errors.Unavailable("this object is being ingested by another delivery",
                                 code="ingest_in_progress")
    if outcome not in ("claimed", "committed"):
        log.info("ignored finalize event: %s", outcome,
                 extra={"object": name, "generation": run.generation, "reason": outcome})
        return {"status": "ignored", "reason": outcome}
    try:
        if outcome == "claimed":
            result = _run(deps, run)
            if result["status"] != "loaded":
                staging.discard(deps, run)
                return result
        # After the commit (this run's or a crashed one's): the shards served their load.
        staging.discard(deps, run)
        return claims.follow_up(deps, run)
    except errors.AppError as exc:
        if exc.retryable:
            claims.release(deps, run.key, run.claim)
            raise
        # Not retryable: the entry point then completes successfully, and an event
        # whose function completed is not delivered again
        # (https://cloud.google.com/functions/docs/writing/retries), so nothing else
        # would ever move the upload on from `processing`. Record the failure; if even
        # that cannot be written, ask for a retry, which records it then.
        try:
            failed = claims.fail(deps, run, _reason(exc))
        except BaseException:
            claims.release(deps, run.key, run.claim)
            raise
        if failed["status"] != "failed":  # loaded already, or no longer this claim's
            claims.release(deps, run.key, run.claim)
            raise
        return failed
    except BaseException:
        claims.release(deps, run.key, run.claim)
        raise


def _reason(exc: errors.AppError) -> dict[str, Any]:
    """The upload's error for a backend failure, in words a user can act on."""
    return {"code": exc.code,
            "message": f"the file could not be ingested: {exc.message}. Nothing was "
                       "loaded; delete the upload and send the file again once the "
                       "problem is fixed",
            "details": exc.details if isinstance(exc.details, dict) else {}}


class _ProgressWriter:
    """Writes the upload's progress, at most once per step of 5%. The share may go back
    once: when the file needs a second read (see shared.ingest.passes)."""

    def __init__(self, deps: Deps, run: IngestRun) -> None:
        self._deps, self._run, self._last = deps, run, 0.0

    def __call__(self, fraction: float) -> None:
        if abs(fraction - self._last) >= _PROGRESS_STEP:
            self._last = fraction
            self._deps.docs.update(self._run.uploads, self._run.upload_id, {
                "progress": round(fraction, 3), "updated_at": datetime.now(UTC)})


def _time_zone(deps: Deps, tenant_id: str) -> str:
    """The tenant's zone, which decides each sale's business date (a tenant document
    without settings, or none at all, is UTC)."""
    doc = deps.docs.get(tenants.TENANTS, tenant_id)
    return tenants.from_document(doc.data if doc else None).time_zone


def _failure(exc: IngestFailed) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message, "details": exc.details or {}}


def _run(deps: Deps, run: IngestRun) -> dict[str, Any]:
    doc = deps.docs.get(run.uploads, run.upload_id)
    if doc is None:
        # The claim found the record and made it `processing`, which delete_upload
        # refuses; only a deleted tenant takes it away. The retry then ignores the object.
        raise errors.Unavailable("the upload's record is gone", code="upload_gone")
    record = doc.data
    opts = IngestOptions(tenant_id=run.tenant_id, dataset_id=record["dataset_id"],
                         upload_id=run.upload_id, mapping=record.get("mapping") or None,
                         date_order=record.get("date_order"),
                         decimal_separator=record.get("decimal_separator"),
                         sheet=record.get("sheet"),
                         keep_rows_without_amount=bool(record.get("keep_rows_without_amount")),
                         max_reject_share=deps.settings.max_reject_share,
                         time_zone=_time_zone(deps, run.tenant_id))
    generation = run.generation
    info = deps.blobs.stat(run.bucket, run.name)
    if info is not None and info.generation.isdigit() and generation.isdigit() \
            and int(info.generation) > int(generation):
        return claims.superseded(deps, run, info.generation)
    if info is None or info.generation != generation:
        return claims.fail(deps, run, _failure(IngestFailed(
            "the uploaded object is gone or was replaced", code="object_missing")))
    if info.size > deps.settings.max_upload_bytes:
        return claims.fail(deps, run, _failure(IngestFailed(
            "the object exceeds the upload size limit", code="upload_too_large")))
    staged: Staged | None = None
    workdir = staging_dir(deps)
    fingerprint = Fingerprint(
        lambda: deps.blobs.open(run.bucket, run.name, generation=generation), info.size)
    try:
        staged = stage(fingerprint, opts, workdir, size=info.size,
                       progress=_ProgressWriter(deps, run),
                       name=f"{run.upload_id}-{generation}")
    except IngestFailed as exc:
        rejected = workdir / f"{run.upload_id}-{generation}.rejected.csv"
        report = getattr(exc, "report", None)
        if report is not None and report.rows_rejected and rejected.exists():
            _store_rejected(deps, run, rejected)
        rejected.unlink(missing_ok=True)
        return claims.fail(deps, run, _failure(exc), report)
    try:
        table = deps.settings.warehouse_table
        deps.warehouse.ensure_table(table)  # the duplicate checks read it
        facts = duplicates_of(deps, run, record, staged, fingerprint.result(),
                              workdir / f"{run.upload_id}-{generation}.rejected.csv")
        if "error" in facts:
            return claims.fail(deps, run, facts["error"])
        if staged.rejected_path:
            _store_rejected(deps, run, staged.rejected_path)
        replace = {"tenant_id": run.tenant_id, "dataset_id": opts.dataset_id} \
            if record.get("mode") == "replace" else None
        uris = staging.write_shards(deps, run, staged.parquet_path)
        staged.parquet_path.unlink(missing_ok=True)  # /tmp is memory on GCP
        result = deps.warehouse.load_staged(table, uris,
                                            idempotency_key=f"{run.upload_id}-{generation}",
                                            replace_where=replace,
                                            tenant_id=run.tenant_id)
    finally:
        staged.parquet_path.unlink(missing_ok=True)
        if staged.rejected_path:
            staged.rejected_path.unlink(missing_ok=True)
    report = staged.report.to_dict()
    report["rows_loaded"] = result.rows_loaded
    locale_hints.apply_first_upload(deps, run.tenant_id, report, fingerprint)
    claims.commit(deps, run, opts.dataset_id, record.get("mode"), report, facts)
    return {"status": "loaded", "upload_id": run.upload_id, "rows_loaded": result.rows_loaded}


def _store_rejected(deps: Deps, run: IngestRun, path: Path) -> None:
    with open(path, "rb") as fh:
        deps.blobs.put(run.bucket, rejected_name(run.tenant_id, run.upload_id), fh,
                       content_type="text/csv")
