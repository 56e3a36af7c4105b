"""Bounds on a finalize event's life: how long it may be retried, and what a run leaves.

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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.uploads.job import staging_dir
from shared.uploads.records import EVENTS, event_key, parse_object_name, uploads_path

if TYPE_CHECKING:
    from shared.bootstrap import Deps

log = logging.getLogger("tidemark.ingest")

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
