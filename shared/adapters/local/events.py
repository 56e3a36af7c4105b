"""Local delivery of Cloud Storage finalize events: the stand-in for Eventarc.

On Google Cloud, Eventarc delivers `google.cloud.storage.object.v1.finalized` once a
new generation of an object exists
(https://cloud.google.com/functions/docs/calling/storage), at least once, and with
retries on, again until the function completes successfully
(https://cloud.google.com/functions/docs/writing/retries). Here the event goes through
the durable task queue instead, named per object generation, so it is delivered once
per generation and retried like the cloud would; a second finalize of the same
generation (a restart that re-emits it) enqueues nothing. The queue target is
`finalize`; the event's own hand-off to the ingest task (shared.uploads.events) is a
second delivery of the same queue, target `ingest`, as it is a second hop through Cloud
Tasks on Google Cloud.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shared import errors
from shared.ports import TaskQueue, TaskRef

if TYPE_CHECKING:
    from shared.ports import Ports

log = logging.getLogger("tidemark.events")

Received = Callable[[dict[str, Any]], object]


def finalize_task_name(data: dict[str, Any]) -> str:
    key = f'{data["bucket"]}/{data["name"]}#{data["generation"]}'
    return "finalize-" + hashlib.sha256(key.encode()).hexdigest()[:32]


class LocalEventDelivery:
    """Called by the file blob store for every object it commits.

    `tasks` is called on first delivery (the queue is built lazily by the composition
    root). `on_received`, when given, runs after the enqueue with the event's data:
    the use case's own reaction to an object landing, which the cloud has no hook for
    before the ingest runs. It is best effort: the ingest does the same step again.
    """

    def __init__(self, tasks: Callable[[], TaskQueue], *,
                 on_received: Received | None = None) -> None:
        self._tasks = tasks
        self._on_received = on_received

    def __call__(self, event: dict[str, Any]) -> TaskRef:
        data = event["data"]
        ref = self._tasks().enqueue("finalize", event, name=finalize_task_name(data))
        if self._on_received is not None:
            try:
                self._on_received(data)
            except errors.AppError as exc:
                log.warning("could not mark the upload received: %s", exc.message)
        return ref


def delivery_for(deps: Ports) -> LocalEventDelivery:
    """The local stack's delivery: the upload use case marks the upload received as
    soon as its object lands, so the user sees it even while the queue is busy."""
    def received(data: dict[str, Any]) -> bool:
        from shared.uploads.claims import mark_received

        return mark_received(deps, data)

    return LocalEventDelivery(lambda: deps.tasks, on_received=received)
