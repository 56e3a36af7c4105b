"""Drive an upload's ingest the way the platform does: the finalize event hands the
object off (claim + named ingest task), then the queue delivers the ingest task.

`finalize_and_ingest` runs both steps in-process and lets the task's exceptions
through, so a test sees a transient failure (the queue would answer it with a retry)
as the exception the task raised."""

from __future__ import annotations

from typing import Any


def deliver_ingest_task(deps: Any, data: dict[str, Any]) -> dict[str, Any]:
    """One delivery of the ingest task of the finalize event's object (`data`)."""
    from shared.uploads import events

    size = str(data.get("size") or "")
    payload = events.ingest_task_payload(data["bucket"], data["name"], data["generation"],
                                         int(size) if size.isdigit() else None)
    return events.run_ingest_task(deps, payload)


def finalize_and_ingest(upload_main: Any, event: Any) -> dict[str, Any]:
    """The finalize event's delivery, then its ingest task's delivery."""
    from shared.bootstrap import get_deps

    upload_main.ingest_finalized(event)
    return deliver_ingest_task(get_deps(), event.data)
