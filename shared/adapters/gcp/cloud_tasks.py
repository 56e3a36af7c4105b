"""TaskQueue on Cloud Tasks (google-cloud-tasks, imported on first use).

Each target ("ingest", "metrics", "forecast") has its own queue and its own function URL. Tasks
are HTTP POSTs of the JSON payload carrying an OIDC token of the tasks service account
with the target URL as audience, so the function can stay private (Cloud Run IAM checks
the token). Named tasks de-duplicate: Cloud Tasks refuses a name used in the last hours
(even once the task ran) with ALREADY_EXISTS, which is reported as
TaskRef(created=False). Retries and backoff are the queue's (terraform); the dispatch
deadline bounds one attempt.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from shared import errors
from shared.adapters.gcp._errors import translated
from shared.adapters.gcp._lazy import LazyClient
from shared.ports import TaskQueue, TaskRef

_TASK_ID = re.compile(r"^[A-Za-z0-9_-]{1,500}$")
_MAX_DISPATCH_S = 1800  # Cloud Tasks' ceiling for HTTP targets
_MIN_DISPATCH_S = 15


def task_id(name: str) -> str:
    """A Cloud Tasks task id for our task name. Valid names pass unchanged; others keep
    their readable part plus a hash of the whole, so the mapping stays one to one."""
    if _TASK_ID.match(name):
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:24]
    return (re.sub(r"[^A-Za-z0-9_-]", "_", name)[:400] + "-" + digest)


def _deadline(seconds: float) -> int:
    """Inside the range Cloud Tasks accepts for an HTTP target's dispatch deadline, 15 s
    to 30 min (Task.dispatchDeadline,
    https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks)."""
    return int(min(max(seconds, _MIN_DISPATCH_S), _MAX_DISPATCH_S))


class CloudTasksQueue(TaskQueue):
    def __init__(self, project: str, location: str, queues: Mapping[str, str],
                 target_urls: Mapping[str, str], service_account: str, *,
                 client: Any = None, dispatch_deadline_s: float = 600.0,
                 audiences: Mapping[str, str] | None = None,
                 dispatch_deadlines: Mapping[str, float] | None = None) -> None:
        """queues and target_urls are keyed by target; `audiences` overrides the OIDC
        audience per target (default: the target URL), `dispatch_deadlines` the
        dispatch deadline per target (the ingest task runs longer than the others).
        `client` is injectable."""
        self.project = project
        self.location = location
        self.queues = dict(queues)
        self.target_urls = dict(target_urls)
        self.service_account = service_account
        self.audiences = dict(audiences or {})
        self.dispatch_deadline_s = _deadline(dispatch_deadline_s)
        self.dispatch_deadlines = {t: _deadline(v) for t, v in
                                   (dispatch_deadlines or {}).items()}

        def build() -> Any:
            import os

            from google.cloud import tasks_v2

            from shared.adapters.gcp._emulators import CLOUD_TASKS

            host = os.environ.get(CLOUD_TASKS)
            if host:  # shared/adapters/gcp/_emulators.py
                import grpc
                from google.cloud.tasks_v2.services.cloud_tasks.transports import (
                    CloudTasksGrpcTransport,
                )

                return tasks_v2.CloudTasksClient(
                    transport=CloudTasksGrpcTransport(channel=grpc.insecure_channel(host)))
            return tasks_v2.CloudTasksClient()

        self._client = LazyClient(build, client)

    @property
    def client(self) -> Any:
        return self._client.get()

    def _target(self, target: str) -> tuple[str, str]:
        queue, url = self.queues.get(target), self.target_urls.get(target)
        if not queue or not url:
            raise errors.InvalidInput(f"no task queue is configured for target {target!r}",
                                      code="unknown_task_target")
        if not self.project or not self.location:
            raise errors.AppError("Cloud Tasks needs a project and a location",
                                  code="misconfigured")
        return f"projects/{self.project}/locations/{self.location}/queues/{queue}", url

    def enqueue(self, target: str, payload: Mapping[str, Any], *, name: str | None = None,
                delay_s: float = 0.0) -> TaskRef:
        from google.api_core.exceptions import AlreadyExists
        from google.protobuf import duration_pb2, timestamp_pb2

        parent, url = self._target(target)
        try:
            body = json.dumps(dict(payload), separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            raise errors.InvalidInput(f"task payload is not JSON: {exc}") from exc
        name = name or f"{target}-{uuid.uuid4().hex}"
        http_request: dict[str, Any] = {
            "http_method": "POST", "url": url, "body": body,
            "headers": {"Content-Type": "application/json"},
        }
        if self.service_account:
            http_request["oidc_token"] = {
                "service_account_email": self.service_account,
                "audience": self.audiences.get(target) or url.split("?", 1)[0]}
        task: dict[str, Any] = {
            "name": f"{parent}/tasks/{task_id(name)}",
            "http_request": http_request,
            "dispatch_deadline": duration_pb2.Duration(
                seconds=self.dispatch_deadlines.get(target, self.dispatch_deadline_s)),
        }
        if delay_s > 0:
            ts = timestamp_pb2.Timestamp()
            ts.FromDatetime(datetime.now(UTC) + timedelta(seconds=float(delay_s)))
            task["schedule_time"] = ts
        with translated(f"enqueue {target} task"):
            try:
                self.client.create_task(request={"parent": parent, "task": task},
                                        timeout=30.0)
            except AlreadyExists:
                return TaskRef(name=name, created=False)
        return TaskRef(name=name, created=True)
