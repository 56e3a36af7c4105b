"""The names of the upload flow, in one place: document paths, object names, the
ingest-event key, and the payload of the tasks that follow a load.

Everything that writes or reads an upload's record, its object or its follow-up task
goes through these, so a path or a name cannot drift between the API, the ingest job,
the local stack's recovery and the task workers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.web import query_params as qp

if TYPE_CHECKING:
    from shared.settings import Settings

TENANT_ID = r"[A-Za-z0-9_-]{1,64}"
UPLOAD_ID = re.compile(r"^up_[0-9a-f]{32}$")
EVENTS = "ingest_events"
_OBJECT = re.compile(rf"^uploads/(?P<tenant>{TENANT_ID})/(?P<upload>up_[0-9a-f]{{32}})\.csv$")
_TENANT = re.compile(rf"^{TENANT_ID}$")


def uploads_path(tenant_id: str) -> str:
    return f"tenants/{tenant_id}/uploads"


def datasets_path(tenant_id: str) -> str:
    return f"tenants/{tenant_id}/datasets"


def fingerprints_path(tenant_id: str) -> str:
    return f"tenants/{tenant_id}/fingerprints"


def fingerprint_key(dataset_id: str, digest: str) -> str:
    """One document per (dataset, content): the duplicate check is a `get` by id, which
    needs no query and so no index."""
    return f"{dataset_id}-{digest}"


def object_name(tenant_id: str, upload_id: str) -> str:
    """Chosen by the server, never by the client."""
    return f"uploads/{tenant_id}/{upload_id}.csv"


def rejected_name(tenant_id: str, upload_id: str) -> str:
    # Outside uploads/, so parse_object_name never takes it for an upload.
    return f"rejected/{tenant_id}/{upload_id}.csv"


def parse_object_name(bucket: str, name: str, settings: Settings) -> tuple[str, str] | None:
    """(tenant_id, upload_id) of an upload object, or None for any other object."""
    match = _OBJECT.match(name or "")
    if bucket != settings.uploads_bucket or match is None:
        return None
    return match.group("tenant"), match.group("upload")


def event_key(bucket: str, name: str, generation: str) -> str:
    """The id of the ingest event of one object generation: every delivery of that
    generation's finalize event claims the same document."""
    return hashlib.sha256(f"{bucket}/{name}#{generation}".encode()).hexdigest()


@dataclass(frozen=True)
class TaskPayload:
    """The body of a metrics or forecast task: which dataset version to work on. Both
    task workers parse it here; the queue carries it as JSON."""

    tenant_id: str
    dataset_id: str
    version: int

    @classmethod
    def parse(cls, payload: Mapping[str, Any]) -> TaskPayload:
        """InvalidInput (a permanent failure: the queue does not retry it) when
        malformed."""
        tenant_id, dataset_id = payload.get("tenant_id"), payload.get("dataset_id")
        version = payload.get("version")
        if not isinstance(tenant_id, str) or not _TENANT.match(tenant_id):
            raise qp.bad("tenant_id", "'tenant_id' is missing or malformed", "invalid_payload")
        if not isinstance(dataset_id, str) or not qp.DATASET_ID.match(dataset_id):
            raise qp.bad("dataset_id", "'dataset_id' is missing or malformed",
                         "invalid_payload")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise qp.bad("version", "'version' must be a positive integer", "invalid_payload")
        return cls(tenant_id, dataset_id, version)

    def to_dict(self) -> dict[str, Any]:
        return {"tenant_id": self.tenant_id, "dataset_id": self.dataset_id,
                "version": self.version}

    def task_name(self, kind: str) -> str:
        """One task per kind and dataset version: enqueueing it twice enqueues once."""
        return f"{kind}-{self.tenant_id}-{self.dataset_id}-v{self.version}"
