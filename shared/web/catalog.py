"""Every deployable entry point, in one table: the local stack mounts these, the
packaging script builds them, and the terraform tests check each is deployed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class EntryPoint:
    function: str           # folder under functions/
    target: str             # the decorated function in its main.py
    kind: Literal["http", "task", "event"]
    mount: str              # local path prefix (http/task) or event type (event)
    deploy_name: str        # Cloud Functions name (without environment prefix)


ENTRY_POINTS: tuple[EntryPoint, ...] = (
    EntryPoint("auth", "auth_http", "http", "/api/auth", "auth"),
    EntryPoint("upload", "upload_http", "http", "/api/uploads", "upload"),
    EntryPoint("upload", "ingest_finalized", "event",
               "google.cloud.storage.object.v1.finalized", "ingest"),
    EntryPoint("upload", "ingest_task", "task", "/tasks/ingest", "ingest-task"),
    EntryPoint("metrics", "metrics_http", "http", "/api/metrics", "metrics"),
    EntryPoint("metrics", "metrics_task", "task", "/tasks/metrics", "metrics-task"),
    EntryPoint("predict", "predict_http", "http", "/api/predictions", "predict"),
    EntryPoint("predict", "forecast_task", "task", "/tasks/forecast", "forecast-task"),
)

# Task queue targets -> the entry point that serves them. "finalize" is the local
# stand-in for Eventarc (shared/adapters/local/events.py); "ingest" is the task the
# finalize event hands the work to, on Google Cloud as locally.
TASK_TARGETS: dict[str, str] = {"metrics": "/tasks/metrics", "forecast": "/tasks/forecast",
                                "ingest": "/tasks/ingest", "finalize": "/events/ingest"}
