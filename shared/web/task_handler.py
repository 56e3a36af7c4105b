"""Task targets: who may call them, and how outcomes map to the queue's retry logic.

Cloud Tasks retries on any non-2xx. A permanent failure (bad payload, deleted
dataset) answers 2xx so it is not retried; a transient one (errors.Unavailable or an
unexpected exception) answers 503/500 so it is.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shared import errors

if TYPE_CHECKING:
    from flask import Request, Response

    from shared.bootstrap import Deps

log = logging.getLogger("tidemark.tasks")
SECRET_HEADER = "X-Tidemark-Task-Secret"  # noqa: S105 - a header name


def verify_caller(request: Request, deps: Deps) -> None:
    if deps.local:
        expected = deps.secrets.get("task-secret").decode()
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise errors.Forbidden("task targets accept only the task queue",
                                   code="not_task_queue")
    # On GCP the function is deployed with no public invoker: Cloud Run's IAM has
    # already checked the OIDC token of the queue's service account. Cloud Tasks also
    # sets X-CloudTasks-QueueName, which Google's front end strips from other callers.
    elif not request.headers.get("X-CloudTasks-QueueName"):
        raise errors.Forbidden("task targets accept only the task queue", code="not_task_queue")


def task_info(request: Request) -> dict[str, Any]:
    h = request.headers
    return {"task_name": h.get("X-CloudTasks-TaskName", ""),
            "queue": h.get("X-CloudTasks-QueueName", ""),
            "retry_count": int(h.get("X-CloudTasks-TaskRetryCount", "0") or 0),
            "execution_count": int(h.get("X-CloudTasks-TaskExecutionCount", "0") or 0)}


def run_task(function: str, request: Request,
             work: Callable[[dict[str, Any]], Any]) -> Response:
    """Authenticate the caller, parse the JSON payload, run work(payload). The queue's
    headers (task name, retry count) are logged with a permanent failure, not passed on:
    no worker decides anything by them."""
    from shared.bootstrap import get_deps
    from shared.web.http import handle, read_json

    def run() -> Any:
        deps = get_deps()
        verify_caller(request, deps)
        payload = read_json(request, max_bytes=10 * 1024 * 1024)
        info = task_info(request)
        try:
            result = work(payload)
        except errors.AppError as exc:
            if exc.retryable:
                raise
            log.warning("task failed permanently: %s", exc.message,
                        # task_result: matched by a log-based metric (terraform/monitoring.tf)
                        extra={"task": info, "code": exc.code,
                               "task_result": "failed_permanently"})
            return {"status": "failed", "error": exc.to_dict()["error"]}, 200
        return {"status": "done", "result": result}
    return handle(function, request, run)
