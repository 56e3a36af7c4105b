"""Factories for the two implementations of each port the contract suites run against.

`local_*` build the embedded adapters on the test's tmp_path. `gcp_*` build the GCP
adapters against their emulators; each skips (fails under CI=true) with the reason when
the adapter module cannot be imported or its emulator is not reachable. Every factory
takes the pytest `request` and registers its own cleanup.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import socket
from typing import Any

from tests.support.environment import emulator_missing

# The bucket the blob suite writes to; the gcp factory must make sure it exists.
BLOB_BUCKET = "tidemark-contract"

# ---------------------------------------------------------------------------- helpers


def _import(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        emulator_missing(f"{module}.{name} adapter not available ({exc})")


def _emulator(env_var: str, what: str) -> str:
    """host:port from env_var, if something listens there; otherwise skip."""
    host = os.environ.get(env_var, "").removeprefix("http://").removeprefix("https://")
    if not host:
        emulator_missing(f"{what} emulator not configured ({env_var} is unset)")
    hostname, _, port = host.rstrip("/").rpartition(":")
    try:
        with socket.create_connection((hostname or "127.0.0.1", int(port)), timeout=1):
            pass
    except (OSError, ValueError):
        emulator_missing(f"{what} emulator not running at {host}")
    return host


def _tmp(request):
    return request.getfixturevalue("tmp_path")


# ---------------------------------------------------------------------------- local


def local_blobstore(request):
    from shared.adapters.local.blobs import FileBlobStore

    return FileBlobStore(_tmp(request) / "blobs", base_url="http://127.0.0.1:8080",
                         signing_key=b"k" * 32, on_finalized=lambda event: None)


def local_warehouse(request):
    from shared.adapters.local.duckdb_warehouse import DuckDbWarehouse

    # Staged shards (gs:// URIs) are read from the local blob store's root.
    wh = DuckDbWarehouse(_tmp(request) / "warehouse.duckdb", blob_root=_tmp(request) / "blobs")
    request.addfinalizer(wh.close)
    return wh


def local_warehouse_segments(request):
    """The local warehouse keeping every load whose file matches the table as a
    Parquet segment (segment_rows=1), so the contract holds for segments too."""
    from shared.adapters.local.duckdb_warehouse import DuckDbWarehouse

    wh = DuckDbWarehouse(_tmp(request) / "warehouse.duckdb", segment_rows=1,
                         blob_root=_tmp(request) / "blobs")
    request.addfinalizer(wh.close)
    return wh


def local_documentstore(request):
    from shared.adapters.local.sqlite_docs import SqliteDocumentStore

    store = SqliteDocumentStore(_tmp(request) / "documents.sqlite")
    request.addfinalizer(store.close)
    return store


def local_taskqueue(request):
    from shared.adapters.local.task_queue import SqliteTaskQueue

    return SqliteTaskQueue(_tmp(request) / "tasks.sqlite", base_url="http://127.0.0.1:9",
                           secret="s" * 32, max_attempts=3, backoff_base_s=0.01,
                           backoff_max_s=0.1)


def local_secretstore(request):
    from shared.adapters.local.secrets import FileSecretStore

    return FileSecretStore(_tmp(request) / "secrets")


# ---------------------------------------------------------------------------- gcp


def gcp_blobstore(request):
    cls = _import("shared.adapters.gcp.gcs", "GcsBlobStore")
    from tests.support import emulators

    emu = emulators.shared_emulator(request, "gcs")
    client = emulators.storage_client(emu)
    if client.lookup_bucket(BLOB_BUCKET) is None:
        from google.api_core.exceptions import Conflict

        with contextlib.suppress(Conflict):  # created meanwhile
            client.create_bucket(BLOB_BUCKET)
    return cls(project=emulators.PROJECT, client=client,
               signing_credentials=emulators.signing_credentials())


def gcp_warehouse(request):
    cls = _import("shared.adapters.gcp.bigquery", "BigQueryWarehouse")
    from tests.support import emulators

    emu = emulators.shared_emulator(request, "bigquery")
    client = emulators.bigquery_client(emu)
    emulators.bigquery_dataset(client, "tidemark")
    return cls(project=emulators.PROJECT, dataset="tidemark", location="EU", client=client)


def gcp_documentstore(request):
    cls = _import("shared.adapters.gcp.firestore", "FirestoreDocumentStore")
    from tests.support import emulators

    emu = emulators.shared_emulator(request, "firestore")
    # Tests use collections of their own (random tenant ids), so the emulator is not
    # reset between them.
    return cls(project=emulators.PROJECT, database="(default)",
               client=emulators.firestore_client(emu))


def gcp_taskqueue(request):
    cls = _import("shared.adapters.gcp.cloud_tasks", "CloudTasksQueue")
    from tests.support import emulators

    emu = emulators.shared_emulator(request, "tasks")
    # Port 9 (discard) refuses connections: dispatched tasks just fail and are retried.
    return cls(project=emulators.PROJECT, location=emulators.TASK_LOCATION,
               queues={q: q for q in emulators.TASK_QUEUES},
               target_urls={"metrics": "http://127.0.0.1:9/tasks/metrics",
                            "forecast": "http://127.0.0.1:9/tasks/forecast"},
               service_account="tasks@tidemark-test.iam.gserviceaccount.com",
               client=emulators.tasks_client(emu))


def gcp_secretstore(request):
    # Secret Manager has no emulator: the adapter runs against an in-process fake of
    # the client's interface, seeded with the secrets terraform and the deploy create.
    import secrets as pysecrets

    cls = _import("shared.adapters.gcp.secret_manager", "SecretManagerStore")
    from tests.support import emulators

    fake = emulators.FakeSecretManagerClient(emulators.PROJECT)
    for name in ("task-secret", "blob-signing-key"):
        fake.seed(f"tidemark-{name}", pysecrets.token_bytes(32))
    return cls(project=emulators.PROJECT, prefix="tidemark", client=fake)


LOCAL = {"blobstore": local_blobstore, "warehouse": local_warehouse,
         "documentstore": local_documentstore, "taskqueue": local_taskqueue,
         "secretstore": local_secretstore}
GCP = {"blobstore": gcp_blobstore, "warehouse": gcp_warehouse,
       "documentstore": gcp_documentstore, "taskqueue": gcp_taskqueue,
       "secretstore": gcp_secretstore}


# Further local configurations a suite may name as its fixture param.
VARIANTS = {("warehouse", "local-segments"): local_warehouse_segments}


def make(port: str, request) -> Any:
    """The implementation of `port` named by the fixture's param ("local", "gcp", or a
    variant of VARIANTS)."""
    variant = VARIANTS.get((port, request.param))
    if variant is not None:
        return variant(request)
    return (LOCAL if request.param == "local" else GCP)[port](request)
