"""The finalize event's part of the ingest: claim and hand off; and the bounds on an
ingest's life: how long it may be retried, and what a run leaves.

The event function returns in seconds whatever the file's size: it claims the object
generation (shared.uploads.claims) and enqueues a named ingest task, which runs the
ingest job (shared.uploads.job) on an instance sized for it. An event-driven function
may run for 9 minutes at most, an HTTP function (the task's target) for 60
(https://cloud.google.com/functions/docs/configuring/timeout), and Cloud Tasks waits up
to 30 minutes for an HTTP target's answer (Task.dispatchDeadline,
https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks).
The task's name is derived from the object generation, so every delivery of the event
enqueues the same task and duplicates collapse; the claim keeps it exactly-once when a
duplicate gets through anyway (a name is refused only for some hours after use).

The ingest function is deployed with retry on (terraform/functions.tf): a delivery that
raises is delivered again, with backoff, until it succeeds or the retry window closes
(24 hours for Eventarc triggers). An ingest that cannot succeed (a timeout every time,
an outage that outlasts the day) would be re-run at full cost all that while and then
dropped, the upload left `processing`. Google's advice is an end condition: compare the
event's time with now and stop retrying an old event
(https://cloud.google.com/functions/docs/writing/retries, "Set an end condition to avoid
infinite retry loops"). Here an event older than `ingest_event_max_age_s` is
acknowledged without running, and its upload marked `failed` with a reason a user can
read.

Every run also stages Parquet and rejected-row files on the instance's disk, which on
Cloud Run functions is memory (https://cloud.google.com/run/docs/container-contract,
"Filesystem access"): a run that raises must not leave them behind, and what a run cut
short at the timeout left is removed by the next run on the instance.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared import errors
from shared.uploads import claims
from shared.uploads.claims import IngestRun
from shared.uploads.job import ingest_object, staging_dir
from shared.uploads.records import EVENTS, event_key, parse_object_name, uploads_path

if TYPE_CHECKING:
    from shared.bootstrap import Deps
    from shared.ports import TaskRef

log = logging.getLogger("tidemark.ingest")
INGEST_TARGET = "ingest"

EXPIRED = "ingest_expired"
_OPEN = ("pending", "uploaded", "processing")


def event_age_s(time: str | datetime | None, now: datetime | None = None) -> float | None:
    """Seconds since the event happened (its CloudEvent `time`, RFC 3339), or None when
    the event carries no readable time: such an event is never treated as expired."""
    if time is None or time == "":
        return None
    if isinstance(time, str):
        try:
            when = datetime.fromisoformat(time.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        when = time
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return ((now or datetime.now(UTC)) - when).total_seconds()


def expired(time: str | datetime | None, max_age_s: float,
            now: datetime | None = None) -> bool:
    age = event_age_s(time, now)
    return age is not None and age > max_age_s


def give_up(deps: Deps, bucket: str, name: str, generation: str | int,
            age_s: float) -> dict[str, Any]:
    """Acknowledge an expired event: its upload, if still open, becomes `failed` (the
    user sees why and can upload again) and a claim it left behind is closed."""
    parsed = parse_object_name(bucket, name, deps.settings)
    if parsed is None:
        return {"status": "ignored", "reason": "not_an_upload"}
    tid, upload_id = parsed
    uploads = uploads_path(tid)
    key = event_key(bucket, name, str(generation))
    hours = deps.settings.ingest_event_max_age_s / 3600
    error = {"code": EXPIRED,
             "message": f"The file could not be processed within {hours:g} hours of its "
                        "upload, so processing was stopped. Please upload it again.",
             "details": {"event_age_s": round(age_s)}}
    now = datetime.now(UTC)

    def tx_fn(tx) -> bool:
        record = tx.get(uploads, upload_id)
        claim = tx.get(EVENTS, key)
        lease = claim.data.get("lease_until") if claim is not None else None
        if claim is not None and claim.data.get("status") == "processing" and lease \
                and lease > now:
            return False  # handed off to a task that is queued or running: let it end
        failed = record is not None and record.data.get("status") in _OPEN
        if failed:
            tx.update(uploads, upload_id, {"status": "failed", "error": error,
                                           "updated_at": now})
        if claim is not None and claim.data.get("status") == "processing":
            tx.update(EVENTS, key, {"status": "done", "outcome": "expired",
                                    "updated_at": now})
        return failed

    failed = deps.docs.transaction(tx_fn)
    log.warning("finalize event expired after %.0f s; not retried", age_s,
                extra={"upload_id": upload_id, "code": EXPIRED, "marked_failed": failed})
    return {"status": "failed" if failed else "ignored", "reason": EXPIRED,
            "upload_id": upload_id}


@contextmanager
def staged_files_removed(deps: Deps, bucket: str, name: str,
                         generation: str | int) -> Iterator[None]:
    """Remove whatever this object's run staged, however the run ends; first remove what
    runs cut short at the function's timeout left (a timed-out run gets no chance to
    clean up: https://cloud.google.com/functions/docs/configuring/timeout): any staged
    file older than the ingest lease, which no live run holds a file for."""
    import time

    workdir = staging_dir(deps)
    if workdir.is_dir():
        horizon = time.time() - deps.settings.ingest_lease_s
        for path in workdir.iterdir():
            try:
                if path.is_file() and path.stat().st_mtime < horizon:
                    path.unlink(missing_ok=True)
            except FileNotFoundError:
                continue  # removed by another run meanwhile
    try:
        yield
    finally:
        parsed = parse_object_name(bucket, name, deps.settings)
        if parsed is not None:
            for path in workdir.glob(f"{parsed[1]}-{generation}.*"):
                path.unlink(missing_ok=True)


def ingest_task_name(bucket: str, name: str, generation: str | int) -> str:
    """The ingest task of one object generation, and the claim its finalize event takes:
    the same for every delivery of that event."""
    return "ingest-" + event_key(bucket, name, str(generation))[:40]


def ingest_task_payload(bucket: str, name: str, generation: str | int,
                        size: int | None) -> dict[str, Any]:
    return {"bucket": bucket, "name": name, "generation": str(generation), "size": size}


def _enqueue(deps: Deps, run: IngestRun) -> TaskRef:
    return deps.tasks.enqueue(INGEST_TARGET, ingest_task_payload(
        run.bucket, run.name, run.generation, run.size),
        name=ingest_task_name(run.bucket, run.name, run.generation))


def hand_off(deps: Deps, bucket: str, name: str, generation: str | int,
             size: int | None = None) -> dict[str, Any]:
    """Claim the object generation for its ingest task, then enqueue the task. Raises
    on a transient failure (the event is delivered again); a claim this delivery took
    is released first, so the retry is not held off by it."""
    run = IngestRun.of(deps, bucket, name, generation, size,
                       claim=ingest_task_name(bucket, name, generation))
    if run is None:
        log.info("ignored: not an upload object", extra={"bucket": bucket, "object": name})
        return {"status": "ignored", "reason": "not_an_upload"}
    outcome = claims.start(deps, run)
    if outcome == "in_progress" and deps.docs.get(EVENTS, run.key) is None:
        # Another generation of the object holds the upload; it may hand it back
        # (superseded), so ask for a retry.
        raise errors.Unavailable("this upload is being ingested from another generation",
                                 code="ingest_in_progress")
    if outcome not in ("claimed", "committed", "in_progress"):
        log.info("ignored finalize event: %s", outcome,
                 extra={"object": name, "generation": run.generation, "reason": outcome})
        return {"status": "ignored", "reason": outcome, "upload_id": run.upload_id}
    # in_progress on this generation: an earlier delivery claimed it and may have died
    # before its enqueue; the name makes enqueueing again safe.
    try:
        ref = _enqueue(deps, run)
    except BaseException:
        if outcome == "claimed":
            claims.release(deps, run.key, run.claim)
        raise
    log.info("ingest handed off", extra={"upload_id": run.upload_id, "task": ref.name,
                                         "task_created": ref.created,
                                         "claim_outcome": outcome})
    return {"status": "handed_off", "upload_id": run.upload_id, "task": ref.name}


def _payload_field(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and key == "generation":
        value = str(value)
    if not isinstance(value, str) or not value or len(value) > 1024:
        raise errors.InvalidInput(f"ingest task: {key!r} is missing or malformed",
                                  code="invalid_payload", details={"field": key})
    return value


def run_ingest_task(deps: Deps, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The ingest task's work: the ingest job on the object the event handed off. A
    permanent failure is an outcome (the task answers 2xx, no retry) and is logged with
    the field the log-based metric matches; a transient one raises (503, retried)."""
    bucket, name = _payload_field(payload, "bucket"), _payload_field(payload, "name")
    generation = _payload_field(payload, "generation")
    size = payload.get("size")
    if not (size is None or (isinstance(size, int) and not isinstance(size, bool)
                             and size >= 0)):
        raise errors.InvalidInput("ingest task: 'size' must be a byte count",
                                  code="invalid_payload", details={"field": "size"})
    try:
        with staged_files_removed(deps, bucket, name, generation):
            outcome = ingest_object(deps, bucket, name, generation, size=size,
                                    handoff=ingest_task_name(bucket, name, generation))
    except errors.AppError as exc:
        if exc.retryable:
            raise
        # ingest_result: the stable field the log-based metric matches (monitoring.tf)
        log.warning("ingest failed permanently: %s", exc.message,
                    extra={"code": exc.code, "ingest_result": "failed_permanently"})
        return {"status": "failed", "code": exc.code}
    log.info("ingest outcome: %s", outcome.get("status"), extra={"outcome": outcome})
    return outcome
